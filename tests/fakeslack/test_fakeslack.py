"""Tests of fakeslack: the fake Web API driven by a real slack_sdk WebClient, the signed
requests SlackSender sends to a small stand-in app that checks them with slack_sdk, and Socket
Mode against slack_sdk's builtin SocketModeClient."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
import websockets.exceptions
import websockets.sync.client

import fakeslack.server
from fakeslack import FakeSlack, SlackSender, SocketSender, fill_state, methods, validate_blocks, validate_view
from fakeslack.spec import EXTRA_METHODS

TOKEN = "xoxb-fake-token"
SECRET = "s3cr3t-signing"


class Clock:
    """A settable clock for FakeSlack(clock=...)."""

    def __init__(self, now: float = 1764236400.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(clock=clock) as server:
        server.add_channel("escalations", id="C0ESC")
        server.add_user("U0ALICE", "alice", real_name="Alice A", tz="Europe/Paris", is_admin=True)
        server.add_user("U0BOB", "bob")
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def modal(**extra: Any) -> dict[str, Any]:
    """A valid modal with one required text input and one optional select."""
    view = {
        "type": "modal",
        "callback_id": "escalate",
        "title": {"type": "plain_text", "text": "Escalate"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "summary",
                "label": {"type": "plain_text", "text": "Summary"},
                "element": {"type": "plain_text_input", "action_id": "summary_in"},
            },
            {
                "type": "input",
                "block_id": "severity",
                "optional": True,
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "severity_in",
                    "options": [
                        {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
                        {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
                    ],
                },
            },
        ],
    }
    view.update(extra)
    return view


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str, value: str, text: str = "Go") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": text}}


# ------------------------------------------------------------------------------------------
# Spec
# ------------------------------------------------------------------------------------------


def test_spec_lists_spec_methods_with_required_params_and_scopes() -> None:
    post = methods()["chat.postMessage"]
    assert "channel" in post.required and "blocks" in post.params
    assert {"metadata", "markdown_text"} <= post.params
    assert "chat:write:bot" in post.scopes


def test_spec_adds_upload_methods_newer_than_the_spec() -> None:
    for name in EXTRA_METHODS:
        assert methods()[name] is EXTRA_METHODS[name]
    assert methods()["files.getUploadURLExternal"].required == {"filename", "length"}
    assert "interactivity_pointer" in methods()["views.open"].params
    assert "trigger_id" not in methods()["views.open"].required


# ------------------------------------------------------------------------------------------
# Web API through slack_sdk
# ------------------------------------------------------------------------------------------


def test_auth_test_names_the_bot_and_the_team(client: WebClient) -> None:
    data = client.auth_test().data
    assert data == {
        "ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "fakebot",
        "team_id": "T0FAKE", "user_id": "UBOT0001", "bot_id": "BBOT0001", "is_enterprise_install": False,
    }


def test_post_message_to_a_hash_name_lands_in_that_channel(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="#escalations", text="one")
    second = client.chat_postMessage(channel="escalations", text="two")
    third = client.chat_postMessage(channel="C0ESC", text="three", blocks=[section("*three*")])
    assert {first["channel"], second["channel"], third["channel"]} == {"C0ESC"}
    assert first["ts"] < second["ts"] < third["ts"]
    assert third["message"]["text"] == "three" and third["message"]["bot_id"] == "BBOT0001"
    assert third["message"]["blocks"][0]["block_id"]  # Slack generates missing block_ids
    assert [m["text"] for m in fake.messages("#escalations")] == ["one", "two", "three"]
    assert fake.violations == []


def test_post_message_to_a_user_id_goes_to_a_stable_im(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0ALICE", text="psst")
    opened = client.conversations_open(users="U0ALICE")
    assert posted["channel"] == opened["channel"]["id"] == "D0ALICE"
    assert [m["text"] for m in fake.messages("U0ALICE")] == ["psst"]
    assert client.conversations_open(users=["U0ALICE"], return_im=True)["channel"]["is_im"] is True


def test_thread_replies_are_stored_with_their_thread_ts(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0ESC", text="parent")
    reply = client.chat_postMessage(channel="C0ESC", text="reply", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [m["text"] for m in fake.thread("C0ESC", parent["ts"])] == ["reply"]
    link = client.chat_getPermalink(channel="C0ESC", message_ts=reply["ts"])["permalink"]
    assert link.endswith(f"?thread_ts={parent['ts']}&cid=C0ESC")


def test_update_replaces_text_and_blocks_and_marks_the_message_edited(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="#escalations", text="open", blocks=[section("open")])
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="closed")
    assert updated["ts"] == posted["ts"] and updated["text"] == "closed"
    (message,) = fake.messages("C0ESC")
    assert message["text"] == "closed" and message["edited"]
    assert message["blocks"][0]["text"]["text"] == "open"  # blocks not sent are kept, as in Slack
    client.chat_update(channel="C0ESC", ts=posted["ts"], text="closed", blocks=[section("done")])
    assert fake.messages("C0ESC")[0]["blocks"][0]["text"]["text"] == "done"


def test_update_needs_a_channel_id_and_an_existing_ts(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0ESC", text="x")
    with pytest.raises(SlackApiError) as by_name:
        client.chat_update(channel="#escalations", ts=posted["ts"], text="y")
    with pytest.raises(SlackApiError) as by_ts:
        client.chat_update(channel="C0ESC", ts="1.000001", text="y")
    assert by_name.value.response["error"] == "channel_not_found"
    assert by_ts.value.response["error"] == "message_not_found"
    assert fake.violations == []


def test_permalink_points_at_the_message_archive(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0ESC", text="x")
    link = client.chat_getPermalink(channel="C0ESC", message_ts=posted["ts"])
    assert link["permalink"] == f"https://fake.slack.com/archives/C0ESC/p{posted['ts'].replace('.', '')}"
    with pytest.raises(SlackApiError) as missing:
        client.chat_getPermalink(channel="C0ESC", message_ts="123.456")
    assert missing.value.response["error"] == "message_not_found"


def test_unknown_channel_is_channel_not_found_without_a_violation(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="#nope", text="x")
    assert err.value.response["error"] == "channel_not_found"
    assert fake.violations == []


def test_post_ephemeral_is_recorded_for_the_user(fake: FakeSlack, client: WebClient) -> None:
    result = client.chat_postEphemeral(channel="C0ESC", user="U0BOB", text="only you")
    assert result["message_ts"]
    assert fake.ephemerals == [
        {"channel": "C0ESC", "user": "U0BOB", "text": "only you", "blocks": None,
         "thread_ts": None, "message_ts": result["message_ts"]}
    ]
    assert fake.messages("C0ESC") == []


def test_unknown_method_is_a_404_and_a_violation(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.postMessages", json={"channel": "C0ESC", "text": "x"})
    assert err.value.response.status_code == 404
    assert err.value.response["error"] == "unknown_method"
    assert fake.violations == ["chat.postMessages: unknown_method"]


def test_unknown_parameter_is_invalid_arguments_and_a_violation(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0ESC", text="x", colour="red")
    assert err.value.response["error"] == "invalid_arguments"
    assert err.value.response["response_metadata"]["messages"] == ["[ERROR] unknown parameter: colour"]
    assert len(fake.violations) == 1 and "colour" in fake.violations[0]


def test_missing_required_parameter_is_invalid_arguments(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.postMessage", json={"text": "x"})
    assert err.value.response["response_metadata"]["messages"] == ["[ERROR] missing required field: channel"]
    assert fake.violations


def test_spec_method_the_fake_lacks_is_fake_not_implemented(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.reactions_add(channel="C0ESC", timestamp="1.2", name="eyes")
    assert err.value.response["error"] == "fake_not_implemented"
    assert fake.violations == ["reactions.add: fake_not_implemented"]


def test_a_3001_character_section_is_invalid_blocks(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0ESC", text="x", blocks=[section("a" * 3001)])
    body = err.value.response.data
    assert body["error"] == "invalid_blocks"
    assert body["errors"] == ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]
    assert body["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    assert fake.violations and fake.messages("C0ESC") == []


def test_message_without_text_or_blocks_is_no_text(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.postMessage", json={"channel": "C0ESC"})
    assert err.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as long:
        client.chat_postMessage(channel="C0ESC", text="x" * 40001)
    assert long.value.response["error"] == "msg_too_long"
    assert len(fake.violations) == 2


def test_tokens_are_checked_like_slack(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    assert fake.violations == []


def test_form_encoded_calls_with_a_token_param_decode_json_fields(fake: FakeSlack) -> None:
    blocks = [section("from a form")]
    body = urllib.parse.urlencode({"token": TOKEN, "channel": "C0ESC", "blocks": json.dumps(blocks)})
    with urllib.request.urlopen(f"{fake.api_url}chat.postMessage", data=body.encode()) as response:
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.load(response)["ok"] is True
    (call,) = fake.calls_to("chat.postMessage")
    assert call.params["blocks"] == blocks and call.status == 200 and call.ok


def test_users_info_reports_profile_and_time_zone(client: WebClient) -> None:
    user = client.users_info(user="U0ALICE")["user"]
    assert (user["id"], user["name"], user["real_name"], user["is_admin"]) == ("U0ALICE", "alice", "Alice A", True)
    assert user["tz"] == "Europe/Paris" and user["tz_offset"] == 3600  # November: CET
    assert user["profile"]["display_name"] == "alice"
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"


def test_usergroup_members_are_listed_and_unknown_groups_refused(fake: FakeSlack, client: WebClient) -> None:
    fake.add_usergroup("S0ONCALL", "oncall", ["U0ALICE", "U0BOB"])
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ALICE", "U0BOB"]
    with pytest.raises(SlackApiError) as err:
        client.usergroups_users_list(usergroup="S0NONE")
    assert err.value.response["error"] == "no_such_subteam"


def test_views_open_with_a_fresh_trigger_stores_the_modal(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal(private_metadata="42"))["view"]
    assert view["id"].startswith("V") and view["type"] == "modal" and view["team_id"] == "T0FAKE"
    assert view["state"] == {"values": {}} and view["private_metadata"] == "42" and view["hash"]
    assert view["title"] == {"type": "plain_text", "text": "Escalate"}
    assert fake.views[view["id"]] == view
    assert fake.violations == []


def test_views_open_refuses_an_expired_trigger(fake: FakeSlack, client: WebClient, clock: Clock) -> None:
    trigger = fake.mint_trigger_id()
    clock.now += 3.5
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger, view=modal())
    assert err.value.response["error"] == "expired_trigger_id"
    assert fake.views == {} and fake.violations == []


def test_views_open_refuses_a_reused_or_unknown_trigger(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.mint_trigger_id()
    client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger, view=modal())
    with pytest.raises(SlackApiError) as unknown:
        client.views_open(trigger_id="123.456.abc", view=modal())
    assert reused.value.response["error"] == "exchanged_trigger_id"
    assert unknown.value.response["error"] == "invalid_trigger_id"


def test_views_open_refuses_an_invalid_view_without_using_the_trigger(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.mint_trigger_id()
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id=trigger, view=modal(title={"type": "plain_text", "text": "x" * 25}))
    assert err.value.response["error"] == "invalid_arguments"
    assert err.value.response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert fake.violations
    assert client.views_open(trigger_id=trigger, view=modal())["ok"]


def test_views_push_update_and_publish_keep_slack_semantics(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal())["view"]
    pushed = client.views_push(trigger_id=fake.mint_trigger_id(), view=modal(callback_id="step2"))["view"]
    assert pushed["id"] != opened["id"] and set(fake.views) == {opened["id"], pushed["id"]}
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal(callback_id="v2"))["view"]
    assert updated["id"] == opened["id"] and fake.views[opened["id"]]["callback_id"] == "v2"
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="V0GONE", view=modal())
    assert (stale.value.response["error"], missing.value.response["error"]) == ("hash_conflict", "not_found")
    home = client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [section("hi")]})["view"]
    assert fake.home_views["U0ALICE"] == home and home["type"] == "home"
    assert fake.violations == []


def test_fail_injects_a_429_with_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0ESC", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C0ESC", text="x")["ok"]  # only the next call fails
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_fail_injects_a_503_with_a_plain_body_and_error_codes(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("users.info", status=503)
    fake.fail("auth.test", error="account_inactive", times=2)
    with pytest.raises(SlackApiError) as unavailable:
        client.users_info(user="U0ALICE")
    assert unavailable.value.response.status_code == 503
    (call,) = fake.calls_to("users.info")
    assert call.status == 503 and call.response == {"ok": False, "raw": "503 Service Unavailable"}
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.auth_test()
        assert err.value.response["error"] == "account_inactive"
    assert client.auth_test()["ok"] and fake.violations == []


def test_files_upload_v2_runs_the_external_upload_flow(fake: FakeSlack, client: WebClient) -> None:
    result = client.files_upload_v2(
        channel="C0ESC", content="incident timeline", filename="timeline.txt", title="Timeline",
        initial_comment="postmortem attached",
    )
    (shared,) = result["files"]
    assert shared["title"] == "Timeline" and shared["name"] == "timeline.txt"
    stored = fake.files[shared["id"]]
    assert stored["content"] == b"incident timeline" and stored["channel_id"] == "C0ESC"
    (message,) = fake.messages("C0ESC")
    assert message["text"] == "postmortem attached" and message["files"][0]["id"] == shared["id"]
    assert [c.method for c in fake.calls] == ["files.getUploadURLExternal", "files.completeUploadExternal"]
    assert fake.violations == []


def test_completing_an_upload_that_never_happened_is_file_not_found(fake: FakeSlack, client: WebClient) -> None:
    reserved = client.files_getUploadURLExternal(filename="a.txt", length=3)
    assert reserved["upload_url"] == f"{fake.url}/upload/{reserved['file_id']}"
    with pytest.raises(SlackApiError) as err:
        client.files_completeUploadExternal(files=[{"id": reserved["file_id"], "title": "A"}])
    assert err.value.response["error"] == "file_not_found"


def test_wait_for_returns_matching_calls_or_lists_what_was_seen(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C0ESC", text="a")
    client.chat_postMessage(channel="C0ESC", text="b")
    calls = fake.wait_for("chat.postMessage", count=1, where=lambda c: c.params["text"] == "b")
    assert [c.params["text"] for c in calls] == ["b"]
    with pytest.raises(AssertionError, match="chat.postMessage -> 200 ok"):
        fake.wait_for("chat.update", timeout=0.02)
    assert fake.wait_until(lambda: len(fake.calls) == 2, timeout=0.1)


def test_reset_forgets_traffic_but_keeps_the_directory(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="#escalations", text="x")
    fake.reset()
    assert fake.calls == [] and fake.messages("C0ESC") == []
    assert client.users_info(user="U0BOB")["ok"] and client.chat_postMessage(channel="#escalations", text="y")["ok"]


# ------------------------------------------------------------------------------------------
# Block Kit validation
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}], '[ERROR] must be "plain_text" [json-pointer:/blocks/0/text/type]'),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}], "[ERROR] invalid additional property: emoji [json-pointer:/blocks/0/text]"),
        ([{"type": "section"}], "[ERROR] must define either `text` or `fields` [json-pointer:/blocks/0/type]"),
        ([{"type": "carousel"}], "[ERROR] unsupported type: carousel [json-pointer:/blocks/0/type]"),
        ([{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}], "[ERROR] block_id must be unique: a [json-pointer:/blocks/1/block_id]"),
        ([{"type": "actions", "elements": [button("x", "1"), button("x", "2")]}], "[ERROR] action_id must be unique within the block: x [json-pointer:/blocks/0/elements/1/action_id]"),
        ([{"type": "actions", "elements": [dict(button("x", "1"), style="green")]}], '[ERROR] must be one of "primary", "danger" [json-pointer:/blocks/0/elements/0/style]'),
        ([{"type": "actions", "elements": [button(f"b{i}", "v") for i in range(26)]}], "[ERROR] no more than 25 items allowed [json-pointer:/blocks/0/elements]"),
        ([{"type": "actions", "elements": [button("b", "v", text="t" * 76)]}], "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"),
        ([{"type": "divider"}] * 51, "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/fields]"),
        ([{"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "button", "text": {"type": "plain_text", "text": "b"}}}], "[ERROR] unsupported type: button [json-pointer:/blocks/0/element/type]"),
        ([{"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "number_input"}}], "[ERROR] missing required field: is_decimal_allowed [json-pointer:/blocks/0/element]"),
        ([{"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "file_input", "max_files": 11}}], "[ERROR] must be at most 10 [json-pointer:/blocks/0/element/max_files]"),
        ([{"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "plain_text_input", "max_length": 3001}}], "[ERROR] must be at most 3000 [json-pointer:/blocks/0/element/max_length]"),
    ],
)
def test_validate_blocks_reports_what_slack_refuses(blocks: list[Any], error: str) -> None:
    assert validate_blocks(blocks, surface="message") == [error]


def test_validate_blocks_accepts_a_rich_escalation_message() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "P1: database down", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Owner* <@U0ALICE>"},
         "accessory": {"type": "overflow", "action_id": "more", "options": [
             {"text": {"type": "plain_text", "text": "Snooze"}, "value": "snooze"}]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*SLA*"}, {"type": "plain_text", "text": "30m"}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened by bob"},
                                         {"type": "image", "image_url": "https://x/y.png", "alt_text": "y"}]},
        {"type": "divider"},
        {"type": "actions", "block_id": "ticket-1", "elements": [
            dict(button("ack", "1", "Acknowledge"), style="primary"),
            {"type": "static_select", "action_id": "reassign", "placeholder": {"type": "plain_text", "text": "Team"},
             "option_groups": [{"label": {"type": "plain_text", "text": "Infra"}, "options": [
                 {"text": {"type": "plain_text", "text": "DBA"}, "value": "dba"}]}],
             "initial_option": {"text": {"type": "plain_text", "text": "DBA"}, "value": "dba"}},
        ]},
        {"type": "actions", "block_id": "ticket-2", "elements": [button("ack", "2", "Acknowledge")]},
    ]
    assert validate_blocks(blocks, surface="message") == []


def raw(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": text}


def test_a_table_block_is_checked_against_slacks_documented_limits() -> None:
    good = {"type": "table", "column_settings": [{"is_wrapped": True}, None, {"align": "right"}],
            "rows": [[raw("Level"), raw("Opened"), raw("SLA met")], [raw("L1"), raw("3"),
                     {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "80%"}]}]}]]}
    assert validate_blocks([good], surface="message") == []
    assert validate_blocks([good, dict(good, block_id="second")], surface="message") == [
        "[ERROR] only_one_table_allowed [json-pointer:/blocks/1/type]"]
    assert validate_blocks([good], surface="modal") == ["[ERROR] unsupported type: table [json-pointer:/blocks/0/type]"]
    assert validate_blocks([{"type": "table", "rows": [[raw("x")]] * 101}], surface="message") == [
        "[ERROR] no more than 100 items allowed [json-pointer:/blocks/0/rows]"]
    assert validate_blocks([{"type": "table", "rows": [[raw("x")] * 21]}], surface="message") == [
        "[ERROR] no more than 20 items allowed [json-pointer:/blocks/0/rows/0]"]
    bad_cells = {"type": "table", "rows": [[raw(""), {"type": "mrkdwn", "text": "*x*"}, dict(raw("x"), emoji=True)]],
                 "column_settings": [{"align": "middle"}, {"is_wrapped": "yes"}]}
    assert validate_blocks([bad_cells], surface="message") == [
        "[ERROR] must be more than 0 characters [json-pointer:/blocks/0/rows/0/0/text]",
        "[ERROR] unsupported type: mrkdwn [json-pointer:/blocks/0/rows/0/1/type]",
        "[ERROR] invalid additional property: emoji [json-pointer:/blocks/0/rows/0/2]",
        '[ERROR] must be one of "left", "center", "right" [json-pointer:/blocks/0/column_settings/0/align]',
        "[ERROR] must be a boolean [json-pointer:/blocks/0/column_settings/1/is_wrapped]",
    ]
    assert validate_blocks([{"type": "table"}], surface="message") == ["[ERROR] missing required field: rows [json-pointer:/blocks/0]"]


def test_option_limits_and_initial_option_membership_are_checked() -> None:
    def opt(value: str, kind: str = "plain_text") -> dict[str, Any]:
        return {"text": {"type": kind, "text": value}, "value": value}

    select = {"type": "static_select", "action_id": "s", "options": [opt("a")], "initial_option": opt("b")}
    checks = {"type": "checkboxes", "action_id": "c", "options": [opt(str(i), "mrkdwn") for i in range(11)]}
    radio = {"type": "radio_buttons", "action_id": "r", "options": [opt("m", "mrkdwn")]}
    mrkdwn_select = {"type": "static_select", "action_id": "t", "options": [opt("a", "mrkdwn")]}
    blocks = [{"type": "actions", "elements": [select, checks, radio, mrkdwn_select]}]
    assert validate_blocks(blocks, surface="modal") == [
        "[ERROR] initial_option must match one of the provided options [json-pointer:/blocks/0/elements/0/initial_option]",
        "[ERROR] no more than 10 items allowed [json-pointer:/blocks/0/elements/1/options]",
        '[ERROR] must be "plain_text" [json-pointer:/blocks/0/elements/3/options/0/text/type]',
    ]


def test_validate_view_checks_modal_fields() -> None:
    assert validate_view(modal()) == []
    view = modal(callback_id="c" * 256, private_metadata="m" * 3001)
    del view["submit"]
    assert validate_view(view) == [
        "[ERROR] submit is required when the view has input blocks [json-pointer:/view/submit]",
        "[ERROR] must be less than 256 characters [json-pointer:/view/callback_id]",
        "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]",
    ]
    assert validate_view({"type": "modal", "blocks": []}) == ["[ERROR] missing required field: title [json-pointer:/view]"]
    assert validate_view({"type": "home", "blocks": [{"type": "divider"}] * 101}) == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]


# ------------------------------------------------------------------------------------------
# fill_state
# ------------------------------------------------------------------------------------------


def _input(block_id: str, element: dict[str, Any], optional: bool = True) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "optional": optional,
            "label": {"type": "plain_text", "text": block_id}, "element": element}


def _opt(value: str, kind: str = "plain_text") -> dict[str, Any]:
    return {"text": {"type": kind, "text": value.title()}, "value": value}


STATE_VIEW = {
    "type": "modal",
    "blocks": [
        _input("text", {"type": "plain_text_input", "action_id": "t", "max_length": 10}),
        _input("number", {"type": "number_input", "action_id": "n", "is_decimal_allowed": False}),
        _input("url", {"type": "url_text_input", "action_id": "u"}),
        _input("select", {"type": "static_select", "action_id": "s", "option_groups": [
            {"label": {"type": "plain_text", "text": "G"}, "options": [_opt("high"), _opt("low")]}]}),
        _input("boxes", {"type": "checkboxes", "action_id": "c", "options": [_opt("a", "mrkdwn"), _opt("b")]}),
        _input("radio", {"type": "radio_buttons", "action_id": "r", "options": [_opt("yes"), _opt("no")]}),
        _input("files", {"type": "file_input", "action_id": "f", "max_files": 1}),
        _input("who", {"type": "users_select", "action_id": "w"}),
    ],
}


def test_fill_state_builds_slack_value_objects_for_each_element_type() -> None:
    state = fill_state(STATE_VIEW, {
        "text": "db down", "number": 3, "url": "https://status", "select": "high",
        "boxes": ["a", "b"], "radio": "no", "files": [{"id": "F1", "name": "log.txt"}], "who": "U0BOB",
    })
    assert state == {
        "text": {"t": {"type": "plain_text_input", "value": "db down"}},
        "number": {"n": {"type": "number_input", "value": "3"}},
        "url": {"u": {"type": "url_text_input", "value": "https://status"}},
        "select": {"s": {"type": "static_select", "selected_option": _opt("high")}},
        "boxes": {"c": {"type": "checkboxes", "selected_options": [_opt("a", "mrkdwn"), _opt("b")]}},
        "radio": {"r": {"type": "radio_buttons", "selected_option": _opt("no")}},
        "files": {"f": {"type": "file_input", "files": [{"id": "F1", "name": "log.txt"}]}},
        "who": {"w": {"type": "users_select", "selected_user": "U0BOB"}},
    }


def test_fill_state_gives_blank_optional_inputs_their_empty_value() -> None:
    state = fill_state(STATE_VIEW, {})
    assert state["text"] == {"t": {"type": "plain_text_input", "value": None}}
    assert state["select"] == {"s": {"type": "static_select", "selected_option": None}}
    assert state["boxes"] == {"c": {"type": "checkboxes", "selected_options": []}}
    assert state["files"] == {"f": {"type": "file_input", "files": []}}


def test_fill_state_refuses_values_a_user_could_not_submit() -> None:
    with pytest.raises(ValueError, match="no option"):
        fill_state(STATE_VIEW, {"select": "medium"})
    with pytest.raises(ValueError, match="no input block"):
        fill_state(STATE_VIEW, {"nope": "x"})
    with pytest.raises(ValueError, match="max_length"):
        fill_state(STATE_VIEW, {"text": "x" * 11})
    with pytest.raises(ValueError, match="required"):
        fill_state(modal(), {})


# ------------------------------------------------------------------------------------------
# SlackSender against a stand-in app
# ------------------------------------------------------------------------------------------


class App:
    """A stand-in Slack app: verifies signatures with slack_sdk and records what it received."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.requests: list[dict[str, Any]] = []
        self.answer: Callable[[dict[str, Any]], tuple[int, str, str]] = lambda request: (200, "text/plain", "")
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k: v for k, v in self.headers.items()}
                request = {"headers": headers, "body": body.decode(), "valid": app.verifier.is_valid_request(body, headers)}
                app.requests.append(request)
                status, content_type, text = app.answer(request) if request["valid"] else (401, "text/plain", "bad")
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"

    def payload(self, index: int = -1) -> dict[str, Any]:
        form = urllib.parse.parse_qs(self.requests[index]["body"])
        return json.loads(form["payload"][0])


@pytest.fixture
def app() -> Iterator[App]:
    stand_in = App()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture
def sender(app: App, fake: FakeSlack) -> SlackSender:
    return SlackSender(app.url, SECRET, fake)


def test_sender_signatures_verify_with_slack_sdk(app: App, sender: SlackSender) -> None:
    reply = sender.post("a=1")
    assert reply.status == 200 and app.requests[-1]["valid"]
    assert sender.post("a=1", signature="v0=deadbeef").status == 401
    assert sender.post("a=1", timestamp=1).status == 401  # stale timestamps fail verification


def test_slash_command_sends_slack_form_fields_and_shows_the_ack(app: App, fake: FakeSlack, sender: SlackSender) -> None:
    app.answer = lambda request: (200, "application/json", json.dumps({"text": "Escalation opened"}))
    reply = sender.slash_command("U0ALICE", "db is down", channel_id="C0ESC")
    form = {k: v[0] for k, v in urllib.parse.parse_qs(app.requests[-1]["body"]).items()}
    assert reply.json() == {"text": "Escalation opened"}
    assert form["command"] == "/escalate" and form["text"] == "db is down"
    assert (form["user_id"], form["user_name"], form["channel_name"]) == ("U0ALICE", "alice", "escalations")
    assert form["trigger_id"] == sender.last_trigger_id and form["response_url"].startswith(f"{fake.url}/response/")
    assert fake.ephemerals[-1]["text"] == "Escalation opened" and fake.ephemerals[-1]["user"] == "U0ALICE"


def test_response_url_posts_are_recorded_and_checked(app: App, fake: FakeSlack, sender: SlackSender) -> None:
    sender.slash_command("U0ALICE", channel_id="C0ESC")
    url = urllib.parse.parse_qs(app.requests[-1]["body"])["response_url"][0]

    def post(body: dict[str, Any]) -> int:
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as response:
                return response.status
        except urllib.error.HTTPError as err:
            return err.code

    assert post({"response_type": "in_channel", "text": "On it"}) == 200
    assert fake.responses == [{"url": url, "body": {"response_type": "in_channel", "text": "On it"}}]
    assert [m["text"] for m in fake.messages("C0ESC")] == ["On it"]
    assert post({"blocks": [section("")]}) == 400 and fake.violations


def test_view_submission_fills_state_and_closes_the_modal_on_an_empty_ack(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    view = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal())["view"]
    sender.view_submission("U0ALICE", view, {"summary": "db down", "severity": "high"})
    payload = app.payload()
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U0ALICE"
    assert payload["view"]["id"] == view["id"] and payload["response_urls"] == []
    assert payload["view"]["state"]["values"]["severity"]["severity_in"]["selected_option"]["value"] == "high"
    assert payload["api_app_id"] == fake.app_id and payload["team"] == {"id": "T0FAKE", "domain": "fake"}
    assert fake.views == {} and fake.violations == []


def test_view_submission_errors_must_name_input_blocks(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    view = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal())["view"]
    app.answer = lambda request: (200, "application/json",
                                  json.dumps({"response_action": "errors", "errors": {"summary": "Too short", "nope": "x"}}))
    sender.view_submission("U0ALICE", view, {"summary": "x"})
    assert view["id"] in fake.views
    assert fake.violations == ["view_submission ack: errors names 'nope', not an input block_id of the view"]


def test_block_action_on_a_message_button_carries_slack_fields(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    posted = client.chat_postMessage(channel="C0ESC", text="P1", blocks=[
        section("P1"), {"type": "actions", "block_id": "t1", "elements": [button("ack", "ticket-1", "Ack")]}])
    sender.block_action("U0BOB", action_id="ack", channel_id="C0ESC", message_ts=posted["ts"])
    payload = app.payload()
    assert payload["type"] == "block_actions" and payload["trigger_id"] == sender.last_trigger_id
    assert payload["container"] == {"type": "message", "message_ts": posted["ts"], "channel_id": "C0ESC", "is_ephemeral": False}
    assert payload["channel"] == {"id": "C0ESC", "name": "escalations"}
    assert payload["message"]["ts"] == posted["ts"] and payload["message"]["text"] == "P1"
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["type"], action["value"]) == ("ack", "t1", "button", "ticket-1")
    assert action["text"] == {"type": "plain_text", "text": "Ack"} and action["action_ts"]
    with pytest.raises(ValueError, match="no element"):
        sender.block_action("U0BOB", action_id="missing", channel_id="C0ESC", message_ts=posted["ts"])


def test_event_callbacks_carry_retry_headers(app: App, sender: SlackSender) -> None:
    reply = sender.event({"type": "app_mention", "user": "U0ALICE", "text": "<@UBOT0001> help", "channel": "C0ESC"},
                         retry_num=1, retry_reason="http_timeout", event_id="Ev123")
    request = app.requests[-1]
    body = json.loads(request["body"])
    assert reply.status == 200 and request["valid"]
    assert (request["headers"]["X-Slack-Retry-Num"], request["headers"]["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert body["type"] == "event_callback" and body["event_id"] == "Ev123" and body["event"]["type"] == "app_mention"
    assert body["authorizations"][0]["user_id"] == "UBOT0001"


# ------------------------------------------------------------------------------------------
# The workspace as a person sees it (what the sandbox UI reads)
# ------------------------------------------------------------------------------------------


def answer_json(app: App, body: dict[str, Any] | None) -> None:
    """Make the stand-in app acknowledge with this JSON body (None: an empty 200)."""
    app.answer = lambda request: (200, "application/json", json.dumps(body) if body is not None else "")


def post_to(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.status


def test_a_modal_opened_or_pushed_for_a_person_is_the_top_of_their_stack_until_acks_close_it(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    sender.slash_command("U0ALICE", channel_id="C0ESC")
    first = client.views_open(trigger_id=sender.last_trigger_id, view=modal())["view"]
    assert fake.open_view("U0ALICE") == first and fake.open_view("U0BOB") is None
    sender.block_action("U0ALICE", action_id="severity_in", value="high", view=first)  # a click inside the modal
    second = client.views_push(trigger_id=sender.last_trigger_id, view=modal(callback_id="step2"))["view"]
    assert fake.open_view("U0ALICE") == second
    assert (second["previous_view_id"], second["root_view_id"]) == (first["id"], first["id"])
    client.views_update(view_id=first["id"], view=modal(callback_id="v2"))
    assert fake.open_view("U0ALICE") == second  # updating the view below keeps it below
    answer_json(app, None)
    sender.view_submission("U0ALICE", second, {"summary": "db down"})
    assert fake.open_view("U0ALICE")["callback_id"] == "v2"  # an empty ack closes the top view only
    answer_json(app, {"response_action": "push", "view": modal(callback_id="step3")})
    sender.view_submission("U0ALICE", first, {"summary": "db down"})
    pushed = fake.open_view("U0ALICE")
    assert pushed["callback_id"] == "step3" and pushed["previous_view_id"] == first["id"]
    answer_json(app, {"response_action": "update", "view": modal(callback_id="step3b")})
    sender.view_submission("U0ALICE", pushed, {"summary": "db down"})
    assert fake.open_view("U0ALICE")["id"] == pushed["id"] and fake.open_view("U0ALICE")["callback_id"] == "step3b"
    answer_json(app, {"response_action": "clear"})
    sender.view_submission("U0ALICE", pushed, {"summary": "db down"})
    assert fake.open_view("U0ALICE") is None and fake.views == {}
    orphan = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal())["view"]
    assert orphan["id"] in fake.views and fake.open_view("U0ALICE") is None  # minted for nobody
    assert fake.violations == []


def test_view_errors_are_the_last_errors_answer_until_the_modal_is_updated_or_closed(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    sender.slash_command("U0ALICE", channel_id="C0ESC")
    view = client.views_open(trigger_id=sender.last_trigger_id, view=modal())["view"]
    assert fake.view_errors(view["id"]) == {}
    answer_json(app, {"response_action": "errors", "errors": {"summary": "Too short"}})
    sender.view_submission("U0ALICE", view, {"summary": "x"})
    assert fake.view_errors(view["id"]) == {"summary": "Too short"} and fake.open_view("U0ALICE")["id"] == view["id"]
    answer_json(app, {"response_action": "errors", "errors": {"severity": "Pick one"}})
    sender.view_submission("U0ALICE", view, {"summary": "longer"})
    assert fake.view_errors(view["id"]) == {"severity": "Pick one"}  # the last answer, not a merge
    answer_json(app, {"response_action": "update", "view": modal(callback_id="again")})
    sender.view_submission("U0ALICE", view, {"summary": "longer", "severity": "low"})
    assert fake.view_errors(view["id"]) == {}
    answer_json(app, {"response_action": "errors", "errors": {"summary": "Still wrong"}})
    sender.view_submission("U0ALICE", fake.open_view("U0ALICE"), {"summary": "x"})
    answer_json(app, None)
    sender.view_submission("U0ALICE", fake.open_view("U0ALICE"), {"summary": "fine"})
    assert fake.view_errors(view["id"]) == {} and fake.open_view("U0ALICE") is None
    assert fake.violations == []


def test_conversations_lists_channels_then_ims_and_a_persons_own_dm(fake: FakeSlack, client: WebClient) -> None:
    private = fake.add_channel("incident-42", is_private=True)
    client.chat_postMessage(channel="U0BOB", text="your ticket")
    channels = [
        {"id": "C0GENERAL", "name": "general", "is_private": False, "is_im": False},
        {"id": "C0ESC", "name": "escalations", "is_private": False, "is_im": False},
        {"id": private, "name": "incident-42", "is_private": True, "is_im": False},
    ]
    bob = {"id": "D0BOB", "name": "bob", "is_private": True, "is_im": True, "user": "U0BOB"}
    assert fake.conversations() == channels + [bob]
    alice = {"id": "D0ALICE", "name": "alice", "is_private": True, "is_im": True, "user": "U0ALICE"}
    assert fake.conversations("U0ALICE") == channels + [alice]  # her DM with the bot, empty so far
    assert fake.messages("D0ALICE") == []
    with pytest.raises(KeyError):
        fake.conversations("U0NOBODY")


def test_users_lists_every_member_with_the_bot_marked(fake: FakeSlack) -> None:
    assert [(u["id"], u["name"], u["is_bot"]) for u in fake.users()] == [
        ("UBOT0001", "fakebot", True), ("U0ALICE", "alice", False), ("U0BOB", "bob", False)]
    assert fake.users()[1]["real_name"] == "Alice A" and fake.users()[1]["tz"] == "Europe/Paris"


def test_history_gives_top_level_messages_with_their_thread_summary(fake: FakeSlack, client: WebClient) -> None:
    card = client.chat_postMessage(channel="C0ESC", text="ESC-1")
    client.chat_postMessage(channel="C0ESC", text="ESC-2")
    client.chat_postMessage(channel="C0ESC", text="acknowledged", thread_ts=card["ts"])
    last = client.chat_postMessage(channel="C0ESC", text="update", thread_ts=card["ts"])
    history = fake.history("#escalations")
    assert [(m["text"], m["reply_count"], m["latest_reply"]) for m in history] == [
        ("ESC-1", 2, last["ts"]), ("ESC-2", 0, None)]
    assert [m["text"] for m in fake.thread("C0ESC", card["ts"])] == ["acknowledged", "update"]
    with pytest.raises(KeyError):
        fake.history("#nope")


def test_ephemerals_for_shows_what_one_person_sees_in_a_channel_and_replies_replace_them(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    answer_json(app, {"text": "Opening the form…"})
    sender.slash_command("U0ALICE", channel_id="C0ESC")  # the ack's text, shown to her only
    client.chat_postEphemeral(channel="C0ESC", user="U0BOB", text="for bob")
    picked = client.chat_postEphemeral(channel="C0ESC", user="U0ALICE", text="Which ticket?", blocks=[
        {"type": "actions", "block_id": "pick", "elements": [button("pick", "ESC-1", "ESC-1")]}])
    assert [e["text"] for e in fake.ephemerals_for("C0ESC", "U0ALICE")] == ["Opening the form…", "Which ticket?"]
    assert [e["text"] for e in fake.ephemerals_for("#escalations", "U0BOB")] == ["for bob"]
    assert fake.ephemerals_for("C0GENERAL", "U0ALICE") == []
    sender.block_action("U0ALICE", action_id="pick", channel_id="C0ESC", message_ts=picked["message_ts"])
    response_url = app.payload()["response_url"]
    assert post_to(response_url, {"replace_original": True, "text": "ESC-1 picked"}) == 200
    assert [e["text"] for e in fake.ephemerals_for("C0ESC", "U0ALICE")] == ["Opening the form…", "ESC-1 picked"]
    assert post_to(response_url, {"text": "Here is ESC-1"}) == 200  # an ephemeral reply by response_url
    assert post_to(response_url, {"delete_original": True}) == 200
    assert [e["text"] for e in fake.ephemerals_for("C0ESC", "U0ALICE")] == ["Opening the form…", "Here is ESC-1"]
    assert fake.messages("C0ESC") == [] and fake.violations == []


def test_home_view_is_the_tab_last_published_for_that_person(fake: FakeSlack, client: WebClient) -> None:
    assert fake.home_view("U0ALICE") is None
    client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [section("first")]})
    latest = client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [section("your tickets")]})["view"]
    assert fake.home_view("U0ALICE") == latest and fake.home_view("U0BOB") is None
    fake.home_view("U0ALICE")["blocks"].clear()  # a copy: the caller can't change what Slack shows
    assert fake.home_view("U0ALICE") == latest


def test_version_moves_with_every_change_a_person_sees_and_wait_for_change_wakes_at_once(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender
) -> None:
    started = fake.version
    before = time.perf_counter()
    assert fake.wait_for_change(started, timeout=0.05) == started and time.perf_counter() - before >= 0.04
    woke: list[tuple[int, float]] = []
    waiter = threading.Thread(target=lambda: woke.append((fake.wait_for_change(started, 5), time.perf_counter())))
    waiter.start()
    time.sleep(0.05)
    posted = client.chat_postMessage(channel="C0ESC", text="ESC-1")
    posted_at = time.perf_counter()
    waiter.join(5)
    (version, at), = woke
    assert version > started and at - posted_at < 1  # woken by the post, not by the 5 s timeout

    def bumped(change: Callable[[], Any]) -> bool:
        seen = fake.version
        change()
        return fake.version > seen

    assert bumped(lambda: client.chat_update(channel="C0ESC", ts=posted["ts"], text="ESC-1 acknowledged"))
    assert bumped(lambda: client.chat_postEphemeral(channel="C0ESC", user="U0BOB", text="only you"))
    assert bumped(lambda: client.views_publish(user_id="U0BOB", view={"type": "home", "blocks": [section("hi")]}))
    assert not bumped(lambda: sender.slash_command("U0ALICE", channel_id="C0ESC"))  # an empty ack shows nothing
    view = {}
    assert bumped(lambda: view.update(client.views_open(trigger_id=sender.last_trigger_id, view=modal())["view"]))
    answer_json(app, {"response_action": "errors", "errors": {"summary": "Too short"}})
    assert bumped(lambda: sender.view_submission("U0ALICE", view, {"summary": "x"}))
    answer_json(app, None)
    assert bumped(lambda: sender.view_submission("U0ALICE", view, {"summary": "fine"}))
    response_url = urllib.parse.parse_qs(app.requests[0]["body"])["response_url"][0]
    assert bumped(lambda: post_to(response_url, {"response_type": "in_channel", "text": "On it"}))
    assert bumped(lambda: fake.delete_message("C0ESC", posted["ts"]))
    assert not bumped(lambda: (fake.messages("C0ESC"), client.conversations_history(channel="C0ESC"), fake.conversations()))
    assert fake.violations == []


# ------------------------------------------------------------------------------------------
# Latency injection
# ------------------------------------------------------------------------------------------


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_delay_answers_late_while_other_calls_go_through(fake: FakeSlack, client: WebClient) -> None:
    fake.delay("chat.postMessage", 0.3, times=1)
    slow = threading.Thread(target=lambda: client.chat_postMessage(channel="C0ESC", text="slow"))
    started = time.perf_counter()
    slow.start()
    time.sleep(0.05)
    assert timed(client.auth_test) < 0.2
    assert fake.calls_to("chat.postMessage") == [] and fake.messages("C0ESC") == []  # still being answered
    slow.join()
    assert time.perf_counter() - started >= 0.3
    assert [m["text"] for m in fake.messages("C0ESC")] == ["slow"]  # it took effect when answered
    assert timed(lambda: client.chat_postMessage(channel="C0ESC", text="fast")) < 0.3  # times=1: only one
    assert fake.violations == []


def test_delay_holds_valid_calls_until_cleared_and_combines_with_fail(fake: FakeSlack, client: WebClient) -> None:
    fake.delay("users.info", 0.1)
    fake.fail("users.info", error="user_not_visible")
    started = time.perf_counter()
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="U0ALICE")
    assert err.value.response["error"] == "user_not_visible" and time.perf_counter() - started >= 0.1
    assert timed(lambda: client.users_info(user="U0ALICE")) >= 0.1
    with pytest.raises(SlackApiError):
        client.api_call("users.info", params={"user": "U0ALICE", "nope": 1})  # refused at once, not delayed
    fake.clear_delays()
    assert timed(lambda: client.users_info(user="U0ALICE")) < 0.1
    fake.delay("users.info", 5)
    fake.reset()
    assert timed(lambda: client.users_info(user="U0ALICE")) < 0.1
    with pytest.raises(ValueError):
        fake.delay("chat.nope", 1)
    with pytest.raises(ValueError):
        fake.delay("users.info", 1, times=0)


# ------------------------------------------------------------------------------------------
# Socket Mode
# ------------------------------------------------------------------------------------------


def test_apps_connections_open_takes_only_the_app_level_token(fake: FakeSlack) -> None:
    assert methods()["apps.connections.open"].scopes == ("connections:write",)
    url = WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]
    assert url.startswith(f"{fake.ws_url}/socket/") and fake.ws_url.startswith("ws://127.0.0.1:")
    with pytest.raises(SlackApiError) as bot_token:
        WebClient(base_url=fake.api_url).apps_connections_open(app_token=TOKEN)
    with pytest.raises(SlackApiError) as wrong:
        WebClient(base_url=fake.api_url).apps_connections_open(app_token="xapp-wrong")
    with pytest.raises(SlackApiError) as app_token_for_a_bot_method:
        WebClient(token=fake.app_token, base_url=fake.api_url).auth_test()
    assert bot_token.value.response["error"] == "not_allowed_token_type"
    assert wrong.value.response["error"] == "invalid_auth"
    assert app_token_for_a_bot_method.value.response["error"] == "not_allowed_token_type"
    assert fake.violations == []


def handshake(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    """Send a WebSocket opening handshake by hand (what slack_sdk never gets wrong); the status and headers."""
    parts = urllib.parse.urlsplit(url)
    fields = {"Host": f"{parts.hostname}:{parts.port}", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), "Sec-WebSocket-Version": "13", **headers}
    with socket.create_connection((parts.hostname, parts.port), timeout=2) as sock, sock.makefile("rb") as answer:
        request = f"GET {parts.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        sock.sendall(request.encode())
        status = int(answer.readline().split()[1])
        received: dict[str, str] = {}
        while (line := answer.readline().decode().strip()):
            name, _, value = line.partition(":")
            received[name.lower()] = value.strip()
    return status, received


def socket_url(fake: FakeSlack) -> str:
    return WebClient(base_url=fake.api_url).apps_connections_open(app_token=fake.app_token)["url"]


def test_websocket_handshakes_on_urls_not_issued_or_off_the_rfc_are_refused(fake: FakeSlack) -> None:
    assert handshake(f"{fake.ws_url}/socket/not-issued")[0] == 404
    assert fake.violations == []  # a stale URL is the app's bad luck, not a broken client
    status, headers = handshake(socket_url(fake), **{"Sec-WebSocket-Version": "8"})
    assert status == 400
    assert fake.violations == ["socket mode handshake: 400 invalid Sec-WebSocket-Version header: 8"]
    fake.violations.clear()
    status, headers = handshake(socket_url(fake))
    assert status == 101 and headers["upgrade"] == "websocket" and fake.violations == []


def test_a_socket_mode_connection_says_hello_answers_pings_and_reports_what_slack_would_refuse(fake: FakeSlack) -> None:
    fake.socket_ping_interval = None  # no pings from the fake between the frames this test reads
    url = socket_url(fake)
    with websockets.sync.client.connect(url, compression=None) as client:
        assert json.loads(client.recv(timeout=2)) == {
            "type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0FAKEAPP"},
            "debug_info": {"host": "fakeslack-t0fake", "build_number": 1, "approximate_connection_time": 18060},
        }
        fake.wait_for_socket(timeout=2)  # counted once hello is sent
        assert fake.socket_connections == 1
        assert client.ping(b"are you there").wait(2)
        client.send('{"envelope_id": "never-sent"}')
        client.send("not json")
        client.ping().wait(2)  # the fake has read both messages
        client.socket.sendall(b"\x81\x02{}")  # an unmasked text frame: clients must mask (RFC 6455 5.1)
        with pytest.raises(websockets.exceptions.ConnectionClosedError) as closed:
            client.recv(timeout=2)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
    fake.wait_until(lambda: len(fake.violations) == 3, timeout=2)  # the fake notes it as the connection ends
    ticket = url.rsplit("/", 1)[1][:8]
    assert fake.violations == [
        "socket mode: ack for an envelope that is not awaiting one (unknown, late or acked twice): never-sent",
        "socket mode: message is not an ack {envelope_id, payload?}: 'not json'",
        f"socket mode connection {ticket}: the client broke RFC 6455; closed with 1002 (incorrect masking)",
    ]
    fake.violations.clear()
    url = socket_url(fake)
    with websockets.sync.client.connect(url, compression=None) as client:
        client.recv(timeout=2)
        client.send(b"{}")
        with pytest.raises(websockets.exceptions.ConnectionClosedError) as binary:
            client.recv(timeout=2)
    assert binary.value.rcvd is not None and binary.value.rcvd.code == 1003
    fake.wait_until(lambda: fake.violations, timeout=2)
    assert fake.violations == [
        f"socket mode connection {url.rsplit('/', 1)[1][:8]}: binary message; Socket Mode speaks JSON text only"]
    fake.violations.clear()


def test_socket_send_needs_a_connected_client(fake: FakeSlack) -> None:
    with pytest.raises(AssertionError, match="no Socket Mode client connected within 0.05s"):
        fake.wait_for_socket(timeout=0.05)
    with pytest.raises(AssertionError, match="no Socket Mode client is connected"):
        fake.socket_send("slash_commands", {"command": "/escalate"})
    with pytest.raises(ValueError, match="unknown Socket Mode envelope type"):
        fake.socket_send("slash_command", {})


NO_ACK = object()


class SocketApp:
    """A Socket Mode app on slack_sdk's builtin client: records what arrives and acks with `answer`."""

    def __init__(self, fake: FakeSlack) -> None:
        self.messages: list[dict[str, Any]] = []
        self.requests: list[SocketModeRequest] = []
        self.answer: Callable[[SocketModeRequest], Any] = lambda request: None
        self.client = SocketModeClient(
            app_token=fake.app_token, web_client=WebClient(token=TOKEN, base_url=fake.api_url),
            auto_reconnect_enabled=False,
        )
        self.client.message_listeners.append(lambda client, message, raw: self.messages.append(message))
        self.client.socket_mode_request_listeners.append(self._handle)

    def _handle(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        self.requests.append(request)
        answer = self.answer(request)
        if answer is not NO_ACK:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=answer))


@pytest.fixture
def socket_app(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketApp]:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)  # the builtin client would tunnel loopback through a proxy
    app = SocketApp(fake)
    app.client.connect()
    fake.wait_for_socket()
    yield app
    app.client.close()  # ~1 s: slack_sdk's message queue poller only notices close() after its 1 s timeout


def test_slack_sdks_builtin_client_connects_gets_hello_and_acks_a_slash_command(
    fake: FakeSlack, socket_app: SocketApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.wait_until(lambda: socket_app.messages, timeout=2)
    assert socket_app.messages[0]["type"] == "hello" and fake.socket_connections == 1
    socket_app.answer = lambda request: {"text": f"Got {request.payload['text']}"}
    assert fake.socket_send("slash_commands", {"command": "/escalate", "text": "db down"}) == {"text": "Got db down"}
    (request,) = socket_app.requests
    assert (request.type, request.payload, request.accepts_response_payload) == (
        "slash_commands", {"command": "/escalate", "text": "db down"}, True)
    assert request.retry_attempt == 0 and request.retry_reason == ""
    socket_app.answer = lambda request: None
    assert fake.socket_send("interactive", {"type": "block_actions"}) == {}  # an ack without payload
    # Pings both ways: the fake answers the client's (sent on connect), the client answers the fake's.
    fake.wait_until(lambda: socket_app.client.current_session.last_ping_pong_time, timeout=2)
    assert fake.socket_ping() < 1
    # An ack after Slack's deadline is a violation; no ack at all fails the test.
    monkeypatch.setattr(fakeslack.server, "ACK_DEADLINE", 0.01)
    socket_app.answer = lambda request: time.sleep(0.05)
    fake.socket_send("events_api", {"event": {"type": "app_mention"}})
    (late,) = fake.violations
    assert re.fullmatch(r"socket mode events_api app_mention: app acknowledged after 0\.\d\ds; Slack gives up after 0s", late)
    fake.violations.clear()
    socket_app.answer = lambda request: NO_ACK
    with pytest.raises(AssertionError, match="did not acknowledge envelope .* within 0.1s"):
        fake.socket_send("interactive", {"type": "view_submission"}, timeout=0.1)
    assert fake.violations == []


def test_socket_sender_sends_what_the_http_sender_sends_and_slack_applies_the_acks(
    app: App, fake: FakeSlack, client: WebClient, sender: SlackSender, socket_app: SocketApp
) -> None:
    over_socket = SocketSender(fake)
    sender.slash_command("U0ALICE", "db is down", channel_id="C0ESC")
    socket_app.answer = lambda request: {"text": "Escalation opened", "response_type": "ephemeral"}
    assert over_socket.slash_command("U0ALICE", "db is down", channel_id="C0ESC") == {
        "text": "Escalation opened", "response_type": "ephemeral"}
    form = {k: v[0] for k, v in urllib.parse.parse_qs(app.requests[-1]["body"], keep_blank_values=True).items()}
    command = socket_app.requests[-1]
    assert command.type == "slash_commands" and command.payload["trigger_id"] == over_socket.last_trigger_id
    unique = {"trigger_id", "response_url"}
    assert {k: v for k, v in command.payload.items() if k not in unique} == {k: v for k, v in form.items() if k not in unique}
    assert fake.ephemerals[-1]["text"] == "Escalation opened"

    first = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal())["view"]
    second = client.views_open(trigger_id=fake.mint_trigger_id(), view=modal())["view"]
    sender.view_submission("U0ALICE", first, {"summary": "db down", "severity": "high"})
    socket_app.answer = lambda request: {"response_action": "errors", "errors": {"summary": "Too short"}}
    ack = over_socket.view_submission("U0ALICE", second, {"summary": "db down", "severity": "high"})
    assert ack == {"response_action": "errors", "errors": {"summary": "Too short"}}
    assert second["id"] in fake.views  # the errors ack keeps the modal open, as over HTTP
    http_payload, socket_payload = app.payload(), socket_app.requests[-1].payload
    assert socket_app.requests[-1].type == "interactive"
    for payload in (http_payload, socket_payload):
        del payload["trigger_id"], payload["view"]["id"], payload["view"]["hash"]
        payload["view"]["root_view_id"] = None
    assert socket_payload == http_payload

    posted = client.chat_postMessage(channel="C0ESC", text="P1", blocks=[
        section("P1"), {"type": "actions", "block_id": "t1", "elements": [button("ack", "ticket-1", "Ack")]}])
    socket_app.answer = lambda request: None
    assert over_socket.block_action("U0BOB", action_id="ack", channel_id="C0ESC", message_ts=posted["ts"]) == {}
    (action,) = socket_app.requests[-1].payload["actions"]
    assert (action["action_id"], action["value"]) == ("ack", "ticket-1")

    assert over_socket.event({"type": "app_mention", "user": "U0ALICE", "text": "hi", "channel": "C0ESC"},
                             retry_num=1, retry_reason="timeout", event_id="Ev9") == {}
    event = socket_app.requests[-1]
    assert (event.type, event.accepts_response_payload, event.retry_attempt, event.retry_reason) == (
        "events_api", False, 1, "timeout")
    assert event.payload["type"] == "event_callback" and event.payload["event_id"] == "Ev9"
    assert fake.violations == []


def test_history_returns_top_level_messages_newest_first_with_metadata_only_when_asked(
    fake: FakeSlack, client: WebClient, clock: Clock
) -> None:
    first = client.chat_postMessage(channel="C0ESC", text="one", metadata={"event_type": "t", "event_payload": {"k": "1"}})
    clock.now += 10
    client.chat_postMessage(channel="C0ESC", text="reply", thread_ts=first["ts"])
    second = client.chat_postMessage(channel="C0ESC", text="two")
    page = client.conversations_history(channel="C0ESC")
    assert [m["text"] for m in page["messages"]] == ["two", "one"]
    assert all("metadata" not in m for m in page["messages"])
    with_meta = client.conversations_history(channel="C0ESC", include_all_metadata=True, oldest=str(float(first["ts"]) - 1))
    assert with_meta["messages"][1]["metadata"] == {"event_type": "t", "event_payload": {"k": "1"}}
    assert [m["ts"] for m in client.conversations_history(channel="C0ESC", oldest=first["ts"])["messages"]] == [second["ts"]]
    paged = client.conversations_history(channel="C0ESC", limit=1)
    assert paged["has_more"] and len(paged["messages"]) == 1
    rest = client.conversations_history(channel="C0ESC", limit=1, cursor=paged["response_metadata"]["next_cursor"])
    assert rest["messages"][0]["text"] == "one" and not rest["has_more"]
    thread = client.conversations_replies(channel="C0ESC", ts=first["ts"], include_all_metadata=True)
    assert [m["text"] for m in thread["messages"]] == ["one", "reply"]
    assert not fake.violations


def test_history_of_a_channel_the_bot_has_not_joined_is_refused_until_it_joins(fake: FakeSlack, client: WebClient) -> None:
    channel = fake.add_channel("outside", bot_member=False)
    client.chat_postMessage(channel=channel, text="posted with chat:write.public")
    with pytest.raises(SlackApiError) as refused:
        client.conversations_history(channel=channel)
    assert refused.value.response["error"] == "not_in_channel"
    client.conversations_join(channel=channel)
    assert [m["text"] for m in client.conversations_history(channel=channel)["messages"]] == ["posted with chat:write.public"]
    listed = client.conversations_list(types="public_channel,private_channel", limit=1)
    names, cursor = [c["name"] for c in listed["channels"]], listed["response_metadata"]["next_cursor"]
    while cursor:
        more = client.conversations_list(types="public_channel,private_channel", limit=1, cursor=cursor)
        names, cursor = names + [c["name"] for c in more["channels"]], more["response_metadata"]["next_cursor"]
    assert "outside" in names
    private = fake.add_channel("secret", is_private=True, bot_member=False)
    assert "secret" not in [c["name"] for c in client.conversations_list(types="private_channel")["channels"]]
    with pytest.raises(SlackApiError) as cannot:
        client.conversations_join(channel=private)
    assert cannot.value.response["error"] == "method_not_supported_for_channel_type"


def test_a_lost_answer_takes_effect_but_the_client_sees_a_dropped_connection_or_a_timeout(fake: FakeSlack) -> None:
    client = WebClient(token=TOKEN, base_url=fake.api_url, timeout=1)
    client.retry_handlers = []  # slack_sdk retries a dropped connection by default: that is how posts double
    fake.lose_answer("chat.postMessage")
    with pytest.raises(Exception) as dropped:
        client.chat_postMessage(channel="C0ESC", text="dropped")
    assert not isinstance(dropped.value, SlackApiError)
    fake.lose_answer("chat.postMessage", late=2)
    started = time.monotonic()
    with pytest.raises(Exception) as late:
        client.chat_postMessage(channel="C0ESC", text="late")
    assert not isinstance(late.value, SlackApiError) and time.monotonic() - started < 1.9
    assert [m["text"] for m in fake.messages("C0ESC")] == ["dropped", "late"]
    assert client.chat_postMessage(channel="C0ESC", text="answered")["ok"]


def test_a_file_a_person_uploaded_has_a_slack_id_and_a_permalink_that_serves_it(fake: FakeSlack) -> None:
    shown = fake.add_file("U0ALICE", "vpn log.txt", b"02:10 login from 203.0.113.7", mimetype="text/plain")
    assert re.fullmatch(r"F[0-9]{9}", shown["id"]) and shown["size"] == 28 and "content" not in shown
    with urllib.request.urlopen(shown["permalink"], timeout=5) as answer:
        assert answer.read() == b"02:10 login from 203.0.113.7"
        assert answer.headers["Content-Disposition"] == "attachment"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(fake.url + "/files/F000000000/x", timeout=5)
