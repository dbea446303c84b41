"""The gate in front of Bolt: cap, signature and timestamp on the raw bytes, payload shape, response_url hosts."""

from __future__ import annotations

import io
import json
import logging
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from app import BackgroundServer, server_options
from bot.policy_file import load_policy
from bot.slack.blocks import escalate_modal, new_escalation_modal
from bot.slack.gate import MAX_BODY, TIMESTAMP_WINDOW, SlackGate, response_url_allowed, shape_problem
from fakeslack.sender import sign
from tests.e2e.harness import write_policy

SECRET = "unit-signing-secret"
API_URL = "http://127.0.0.1:4010/api/"
NOW = 1_800_000_000


class Downstream:
    """Stands in for Bolt: records what reached it and answers 200 (or what it is told)."""

    def __init__(self, status: str = "200 OK", raises: Exception | None = None) -> None:
        self.bodies: list[bytes] = []
        self.lengths: list[str] = []
        self.status, self.raises = status, raises

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.bodies.append(environ["wsgi.input"].read())
        self.lengths.append(environ["CONTENT_LENGTH"])
        if self.raises is not None:
            raise self.raises
        start_response(self.status, [("Content-Type", "text/plain")])
        return [b"from bolt"]


class Unreadable(io.RawIOBase):
    """A request body that must never be read."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the gate read a body it should have refused")


def environ(body: bytes, *, content_type: str = "application/x-www-form-urlencoded", timestamp: str | None = None,
            signature: str | None = None, length: str | None = None, stream: Any = None) -> dict[str, Any]:
    stamp = str(NOW) if timestamp is None else timestamp
    env = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "wsgi.input": stream if stream is not None else io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": sign(SECRET, stamp, body) if signature is None else signature,
    }
    return env


def call(gate: SlackGate, env: dict[str, Any]) -> tuple[int, bytes]:
    seen: list[str] = []
    body = b"".join(gate(env, lambda status, headers, exc_info=None: seen.append(status)))
    return int(seen[0][:3]), body


def gate_for(downstream: Downstream, now: float = NOW) -> SlackGate:
    return SlackGate(downstream, signing_secret=SECRET, api_url=API_URL, now=lambda: now)


def form(payload: Any) -> bytes:
    return urllib.parse.urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


def block_actions(**changes: Any) -> dict[str, Any]:
    payload = {
        "type": "block_actions", "user": {"id": "U0AGENT", "team_id": "T0FAKE"}, "team": {"id": "T0FAKE"},
        "channel": {"id": "C0GENERAL"}, "container": {"type": "message", "channel_id": "C0GENERAL", "message_ts": "1.2"},
        "trigger_id": "1.2.abc", "response_url": "https://hooks.slack.com/actions/T0FAKE/1/abc",
        "actions": [{"type": "button", "action_id": "acknowledge", "block_id": "b", "value": "1", "action_ts": "1.3"}],
    }
    payload.update(changes)
    return payload


SLASH = urllib.parse.urlencode({
    "token": "t", "team_id": "T0FAKE", "channel_id": "C0GENERAL", "user_id": "U0AGENT", "command": "/escalate", "text": "",
    "response_url": "https://hooks.slack.com/commands/T0FAKE/1/abc", "trigger_id": "1.2.abc",
}).encode()


def test_a_signed_request_reaches_bolt_as_the_exact_bytes_that_were_verified() -> None:
    downstream = Downstream()
    status, answer = call(gate_for(downstream), environ(SLASH))
    assert (status, answer) == (200, b"from bolt")
    assert downstream.bodies == [SLASH] and downstream.lengths == [str(len(SLASH))]


@pytest.mark.parametrize("body", [b"\xff\xfe garbage \x00", b"{not json", b"payload=not-json", b"[" * 5000,
                                  b'{"n": ' + b"9" * 10000 + b"}", b""])
def test_an_unsigned_body_is_refused_with_401_before_anything_parses_it(body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    downstream = Downstream()
    with caplog.at_level(logging.INFO):
        status, _ = call(gate_for(downstream), environ(body, signature="v0=" + "0" * 64))
    assert status == 401 and downstream.bodies == []
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None


@pytest.mark.parametrize("skew, passes", [(0, True), (TIMESTAMP_WINDOW, True), (-TIMESTAMP_WINDOW, True),
                                          (TIMESTAMP_WINDOW + 1, False), (-TIMESTAMP_WINDOW - 1, False), (86_400, False)])
def test_the_timestamp_must_be_within_five_minutes_of_now(skew: int, passes: bool) -> None:
    downstream = Downstream()
    status, _ = call(gate_for(downstream, now=NOW + skew), environ(SLASH))
    assert (status == 200) is passes and (downstream.bodies == [SLASH]) is passes


@pytest.mark.parametrize("stamp", ["", "1.8e9", " 1800000000", "+1800000000", "1_800_000_000", "１８００", "-5", "9" * 40])
def test_a_timestamp_that_is_not_a_plain_integer_is_refused(stamp: str) -> None:
    downstream = Downstream()
    status, _ = call(gate_for(downstream), environ(SLASH, timestamp=stamp, signature=sign(SECRET, stamp, SLASH)))
    assert status == 401 and downstream.bodies == []


@pytest.mark.parametrize("signature", ["", "v0=", "v1=" + "a" * 64, sign(SECRET, NOW, SLASH).upper(),
                                       sign("another-secret", NOW, SLASH), sign(SECRET, NOW, SLASH + b"&x=1"), "v0=é" + "a" * 63])
def test_a_wrong_or_malformed_signature_is_refused(signature: str) -> None:
    downstream = Downstream()
    status, _ = call(gate_for(downstream), environ(SLASH, signature=signature))
    assert status == 401 and downstream.bodies == []


def test_without_a_signing_secret_nothing_gets_through() -> None:
    downstream = Downstream()
    gate = SlackGate(downstream, signing_secret=None, api_url=API_URL, now=lambda: NOW)
    assert call(gate, environ(SLASH))[0] == 401 and downstream.bodies == []


def test_a_body_over_the_cap_is_refused_with_413_from_its_length_alone() -> None:
    downstream = Downstream()
    status, _ = call(gate_for(downstream), environ(b"", length=str(MAX_BODY + 1), stream=Unreadable()))
    assert status == 413 and downstream.bodies == []


def test_a_body_of_exactly_the_cap_is_read() -> None:
    body = b"text=" + b"a" * (MAX_BODY - 5)
    status, _ = call(gate_for(Downstream()), environ(body))
    assert status != 413


@pytest.mark.parametrize("length, status", [("", 411), ("abc", 400), ("-5", 400), ("１２", 400), ("50", 400)])
def test_a_missing_malformed_or_short_content_length_is_refused(length: str, status: int) -> None:
    downstream = Downstream()
    assert call(gate_for(downstream), environ(b"text=1", length=length))[0] == status
    assert downstream.bodies == []


@pytest.mark.parametrize("body, content_type", [
    (b"\xff\xfe", "application/x-www-form-urlencoded"),
    (b"{not json", "application/json"),
    (b"payload=not-json", "application/x-www-form-urlencoded"),
    (b"[1, 2]", "application/json"),
    (b'"just a string"', "application/json"),
    (form(5), "application/x-www-form-urlencoded"),
    (form("[]"), "application/x-www-form-urlencoded"),
    (form("null"), "application/x-www-form-urlencoded"),
    (b'{"n": ' + b"9" * 10000 + b"}", "application/json"),
    (b"[" * 100_000, "application/json"),
    (form({"type": "block_actions", "deep": json.loads("[" * 100 + "]" * 100)}), "application/x-www-form-urlencoded"),
])
def test_a_signed_body_that_cannot_be_parsed_is_refused_with_400(body: bytes, content_type: str, caplog: pytest.LogCaptureFixture) -> None:
    downstream = Downstream()
    with caplog.at_level(logging.INFO):
        status, _ = call(gate_for(downstream), environ(body, content_type=content_type))
    assert status == 400 and downstream.bodies == []
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None


ODD = {
    "user is a number": block_actions(user=5),
    "user is a list": block_actions(user=["id"]),
    "user.id is a number": block_actions(user={"id": 5}),
    "team is a list": block_actions(team=["id"]),
    "team is a number": block_actions(team=7),
    "channel is a list": block_actions(channel=["id"]),
    "enterprise is a number": block_actions(enterprise=5),
    "actions is a string": block_actions(actions="x"),
    "actions is empty": block_actions(actions=[]),
    "actions holds a number": block_actions(actions=[5]),
    "an action without action_id": block_actions(actions=[{"block_id": "b"}]),
    "action_id is a number": block_actions(actions=[{"action_id": 5}]),
    "view is a list": {"type": "view_submission", "user": {"id": "U1"}, "view": []},
    "view is a string": {"type": "view_submission", "user": {"id": "U1"}, "view": "callback_id"},
    "view without a type": {"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "new_escalation"}},
    "view.callback_id is a number": {"type": "view_closed", "view": {"type": "modal", "callback_id": 5}},
    "a workflow step without its step": {"type": "view_submission", "view": {"type": "workflow_step", "callback_id": "x"}},
    "event is a number": {"type": "event_callback", "event": 7},
    "event is null": {"type": "event_callback", "event": None},
    "event.user is a list": {"type": "event_callback", "event": {"type": "app_home_opened", "user": ["U1"]}},
    "event.message.user is a number": {"type": "event_callback", "event": {"type": "message", "message": {"user": 5}}},
    "authorizations is a string": {"type": "event_callback", "authorizations": "x", "event": {"type": "app_home_opened"}},
    "authorizations[0] is a number": {"type": "event_callback", "authorizations": [5], "event": {"type": "app_home_opened"}},
    "authorizations[0].team_id is a list": {"type": "event_callback", "authorizations": [{"team_id": []}], "event": {"type": "x"}},
    "response_urls holds a number": {"type": "view_submission", "view": {"type": "modal", "callback_id": "x"}, "response_urls": [5]},
    "block_suggestion action_id is a number": {"type": "block_suggestion", "action_id": 5, "value": "x"},
    "ssl_check without token": {"ssl_check": "1"},
    "events nested ten deep": {"type": "event_callback", "event": json.loads('{"event": ' * 10 + "{}" + "}" * 10)},
    "a lone surrogate": block_actions(actions=[{"action_id": "acknowledge", "value": "\ud800"}]),
    "thread_ts is a number": {"type": "event_callback", "event": {"type": "message", "thread_ts": 1.5}},
}


@pytest.mark.parametrize("payload", list(ODD.values()), ids=list(ODD))
def test_a_signed_payload_of_the_wrong_shape_never_reaches_bolt(payload: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    downstream = Downstream()
    with caplog.at_level(logging.INFO):
        status, _ = call(gate_for(downstream), environ(form(payload)))
    assert status == (200 if payload.get("type") == "event_callback" else 400)
    assert downstream.bodies == []
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None


def test_an_unreadable_event_is_acknowledged_with_an_empty_200_so_slack_does_not_retry_it() -> None:
    body = json.dumps({"type": "event_callback", "event": 7}).encode()
    assert call(gate_for(Downstream()), environ(body, content_type="application/json")) == (200, b"")


READABLE = {
    "slash command": SLASH,
    "block_actions": form(block_actions()),
    "view_submission": form({"type": "view_submission", "user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"},
                             "view": {"type": "modal", "callback_id": "new_escalation", "state": {"values": {}}},
                             "response_urls": [], "enterprise": None, "is_enterprise_install": False}),
    "view_closed": form({"type": "view_closed", "user": {"id": "U1"}, "view": {"type": "modal", "callback_id": "x"}}),
    "block_suggestion": form({"type": "block_suggestion", "action_id": "a", "block_id": "b", "value": "q", "user": {"id": "U1"}}),
    "event_callback": json.dumps({"type": "event_callback", "team_id": "T1", "event": {"type": "app_home_opened", "user": "U1",
                                  "tab": "home", "view": {"team_id": "T1"}}, "authorizations": [{"team_id": "T1", "user_id": "UB",
                                  "enterprise_id": None, "is_enterprise_install": False}]}).encode(),
    "url_verification": json.dumps({"type": "url_verification", "token": "t", "challenge": "abc"}).encode(),
    "ssl_check": b"ssl_check=1&token=t",
    "user_change event": json.dumps({"type": "event_callback", "event": {"type": "user_change", "user": {"id": "U1", "team_id": "T1"}}}).encode(),
}


@pytest.mark.parametrize("body", list(READABLE.values()), ids=list(READABLE))
def test_payloads_shaped_as_slack_sends_them_pass(body: bytes) -> None:
    downstream = Downstream()
    content_type = "application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"
    assert call(gate_for(downstream), environ(body, content_type=content_type))[0] == 200
    assert downstream.bodies == [body]


@pytest.mark.parametrize("url, allowed", [
    ("https://hooks.slack.com/commands/T1/2/abc", True),
    ("https://hooks.slack.com/actions/T1/2/abc", True),
    ("https://HOOKS.SLACK.COM/actions/T1/2/abc", True),
    ("https://hooks.slack-gov.com/actions/T1/2/abc", True),
    ("https://hooks.slack.com:443/actions/T1/2/abc", True),
    ("http://127.0.0.1:4010/response/abc", True),  # the configured API host (the fake Slack)
    ("http://hooks.slack.com/actions/T1/2/abc", False),
    ("https://hooks.slack.com:8443/actions/T1/2/abc", False),
    ("https://hooks.slack.com.attacker.example/actions", False),
    ("https://attacker.example/hooks.slack.com/actions", False),
    ("https://hooks.slack.com@attacker.example/actions", False),
    ("https://user:pw@hooks.slack.com/actions", False),
    ("https://hooks.slack.com\\@attacker.example/", False),
    ("https://hooks.slack.com /actions", False),
    ("https://hooks.slack.com:99999/actions", False),
    ("http://127.0.0.1:4011/response/abc", False),  # another port on the API's host
    ("https://127.0.0.1:4010/response/abc", False),  # another scheme
    ("http://attacker.example/x", False),
    ("//hooks.slack.com/actions", False),
    ("file:///etc/passwd", False),
    ("http://[abc/response/abc", False),
    ("", False),
])
def test_response_urls_are_followed_only_on_slacks_hosts_and_the_api_host(url: str, allowed: bool) -> None:
    assert response_url_allowed(url, API_URL) is allowed


@pytest.mark.parametrize("payload", [
    block_actions(response_url="http://attacker.example/steal"),
    {"type": "view_submission", "user": {"id": "U1"}, "view": {"type": "modal", "callback_id": "x"},
     "response_urls": [{"response_url": "https://hooks.slack.com/a/1"}, {"response_url": "https://attacker.example/"}]},
], ids=["block_actions", "view_submission response_urls"])
def test_a_payload_naming_a_foreign_response_url_never_reaches_bolt(payload: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    downstream = Downstream()
    with caplog.at_level(logging.INFO):
        assert call(gate_for(downstream), environ(form(payload)))[0] == 400
    assert downstream.bodies == [] and "attacker.example" in caplog.text and len(caplog.records) == 1


def test_a_response_url_that_cannot_be_parsed_is_refused_not_raised() -> None:
    downstream = Downstream()
    assert call(gate_for(downstream), environ(form(block_actions(response_url="http://[abc/x"))))[0] == 400
    assert downstream.bodies == []


def test_a_body_that_fails_to_arrive_is_refused() -> None:
    class Broken(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise ConnectionResetError("client went away")

    assert call(gate_for(Downstream()), environ(SLASH, stream=Broken()))[0] == 400


def test_a_slash_command_naming_a_foreign_response_url_never_reaches_bolt() -> None:
    downstream = Downstream()
    body = SLASH.replace(b"hooks.slack.com", b"attacker.example")
    assert call(gate_for(downstream), environ(body))[0] == 400 and downstream.bodies == []


@pytest.mark.parametrize("downstream", [Downstream(raises=KeyError("actions")), Downstream(status="500 Internal Server Error")],
                         ids=["raises", "answers 500"])
def test_whatever_escapes_bolt_becomes_a_400_and_one_line_without_a_traceback(downstream: Downstream,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.gate"):
        assert call(gate_for(downstream), environ(SLASH))[0] == 400
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is None


def test_shape_problem_names_the_field() -> None:
    assert shape_problem(block_actions(user=5)) == "payload.user is a number"
    assert shape_problem({"type": "event_callback", "event": {"type": "x", "user": {"id": []}}}) == "payload.event.user.id is a array"
    assert shape_problem(block_actions()) is None


def _worst_case_submission(view: dict[str, Any]) -> bytes:
    """A view_submission of `view` with every text input full of the character that URL-encodes longest."""
    widest = "€"  # three UTF-8 bytes, nine once URL-encoded; Slack counts it as one character
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if element.get("type") == "plain_text_input":
            text = widest * element.get("max_length", 3000)
            element["initial_value"] = text  # pre-filled fields are in the view too
            values[block["block_id"]] = {element["action_id"]: {"type": "plain_text_input", "value": text}}
        elif block.get("type") == "input":
            values[block["block_id"]] = {element.get("action_id"): {"type": element.get("type"), "selected_option": None}}
    payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T1"},
               "view": {**view, "id": "V1", "state": {"values": values}}, "response_urls": []}
    return urllib.parse.urlencode({"payload": json.dumps(payload, ensure_ascii=False)}).encode()


def test_the_largest_modal_submission_fits_well_under_the_cap(tmp_path: Path) -> None:
    policy = load_policy(write_policy(tmp_path))  # the shipped policy with people in it
    last = policy.levels[-2]
    views = [new_escalation_modal(policy, origin_channel="C0GENERAL"),
             escalate_modal(policy, ticket_id=1, ref="ESC-1", current_level=policy.levels[0].key, default_target=last.key,
                            business_impact="x", troubleshooting="y")]
    largest = max(len(_worst_case_submission(view)) for view in views)
    assert largest < MAX_BODY / 2, largest


def test_the_server_keeps_its_connections_within_the_open_file_limit() -> None:
    assert server_options(fd_limit=20_000)["connection_limit"] == 1000
    assert server_options(fd_limit=1024)["connection_limit"] == 1024 - 128
    assert server_options(fd_limit=20_000)["max_request_body_size"] == MAX_BODY + 1  # waitress refuses >= this


def test_test_servers_run_with_the_production_settings() -> None:
    server = BackgroundServer(lambda environ, start_response: [])
    try:
        assert server.options == server_options()
        assert server._server.adj.channel_timeout == server_options()["channel_timeout"] <= 15
        assert server._server.adj.connection_limit >= 1000 or server._server.adj.connection_limit == server_options()["connection_limit"]
    finally:
        server._server.close()
