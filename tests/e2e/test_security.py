"""End to end, as an attacker would try it: subscriptions that widen reading, replayed submissions,
attachments that point anywhere, and payload values Slack could never send.

Each case runs the real bot over signed HTTP against fake Slack (and a real SMTP server for e-mail),
on SQLite and on PostgreSQL, and checks what Slack received and what the database holds.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import urllib.parse
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.tickets import TicketStatus
from fakeslack import FakeSlack, SlackSender
from fakeslack.sender import fill_state
from models import Participant, TimelineEvent
from tests.e2e.harness import (
    GOOD_FORM, PEOPLE, RunningBot, dms_to, file_ticket, mrkdwn_texts, open_modal, press, settle, ticket, tickets,
    timeline_kinds,
)
from tests.e2e.test_permissions_and_hostile_text import (
    ESCALATE_FORM, UPDATE_FORM, changes_to_slack_since, click_and_submit, modal_opened_by, quiet, row,
)
from tests.smtp import SmtpServer


def text_of(message: dict[str, Any]) -> str:
    return "\n".join([message.get("text") or "", *mrkdwn_texts(message.get("blocks") or [])])


def answered(fake: FakeSlack, before: int) -> str:
    """The text of the next ephemeral answer (via response_url) after `before` answers."""
    fake.wait_until(lambda: len(fake.responses) > before, message="an ephemeral answer")
    return str(fake.responses[before]["body"].get("text") or "")


def events(bot: RunningBot, ticket_id: int, kind: str) -> list[TimelineEvent]:
    with bot.runtime.deps.services.sessions() as session:
        query = select(TimelineEvent).where(TimelineEvent.ticket_id == ticket_id, TimelineEvent.kind == kind)
        return list(session.scalars(query.order_by(TimelineEvent.id)))


def participants(bot: RunningBot, ticket_id: int) -> set[tuple[str, str]]:
    with bot.runtime.deps.services.sessions() as session:
        rows = session.scalars(select(Participant).where(Participant.ticket_id == ticket_id))
        return {(p.user_id, p.role) for p in rows}


def submission_body(slack: SlackSender, fake: FakeSlack, user: str, view: dict[str, Any], values: dict[str, Any],
                    *, edit: Any = None) -> str:
    """The exact bytes Slack would send for this submission (optionally edited as an attacker would)."""
    submitted = copy.deepcopy(fake.views[view["id"]])
    submitted["state"] = {"values": fill_state(submitted, values)}
    if edit is not None:
        edit(submitted)
    payload = {
        "type": "view_submission",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "user": {"id": user, "username": PEOPLE.get(user, "x"), "name": PEOPLE.get(user, "x"), "team_id": fake.team_id},
        "api_app_id": fake.app_id, "token": slack.verification_token, "trigger_id": fake.mint_trigger_id(),
        "view": submitted, "response_urls": [], "is_enterprise_install": False, "enterprise": None,
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def forged_click(slack: SlackSender, fake: FakeSlack, user: str, action: str, value: str) -> Any:
    """A button press on a message of the attacker's own making (his DM with the bot), naming any value."""
    button = {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": "x"}, "value": value}
    message = {"type": "message", "ts": "1700000000.000100", "text": "x",
               "blocks": [{"type": "actions", "block_id": "forged", "elements": [button]}]}
    return slack.block_action(user, action_id=action, value=value, message=message, channel_id="D0FORGED")


# -- 1. Subscribing is checked, and never widens who may read ------------------------------------------------


def test_a_stranger_may_not_subscribe_to_a_security_incident_so_he_reads_and_hears_nothing(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot, triggers=["security_incident"])
    before = len(fake.responses)
    press(slack, fake, bot, "U0STRANGER", "ticket_subscribe", 1)
    refusal = answered(fake, before)
    assert refusal.startswith(":no_entry: You can't subscribe to ESC-1")
    assert ("U0STRANGER", "subscriber") not in participants(bot, 1) and not events(bot, 1, "subscribed")

    before = len(fake.responses)
    slack.slash_command("U0STRANGER", "status ESC-1")
    refusal = answered(fake, before)
    assert refusal.startswith(":no_entry: You can't view the timeline of ESC-1")
    assert "L3" not in refusal and "<@" not in refusal and "subteam" not in refusal  # names neither level nor people
    before, files = len(fake.responses), len(fake.files)
    slack.slash_command("U0STRANGER", "export ESC-1")
    assert "You can't view the timeline of ESC-1" in answered(fake, before)

    click_and_submit(slack, fake, bot, "U0L3ENG", "ticket_post_update", 1, UPDATE_FORM)
    fake.wait_until(lambda: events(bot, 1, "update_posted"), message="update posted")
    quiet(fake, bot, 1)
    assert len(fake.files) == files and dms_to(fake, "U0STRANGER") == []


def test_a_forged_subscribe_for_a_ticket_whose_card_he_never_saw_is_refused(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot)
    before = len(fake.responses)
    assert forged_click(slack, fake, "U0STRANGER", "ticket_subscribe", "1").status == 200
    assert "You can't subscribe to ESC-1" in answered(fake, before)
    assert not events(bot, 1, "subscribed") and ("U0STRANGER", "subscriber") not in participants(bot, 1)


def test_who_may_view_may_subscribe_and_unsubscribing_is_always_allowed(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot)  # an L2 ticket; L1's responder may read every ticket, so may subscribe
    for clicks, expected in ((1, "You'll get a DM for every change to ESC-1"), (2, "won't get DMs about ESC-1")):
        before = len(fake.responses)
        press(slack, fake, bot, "U0L1ENG", "ticket_subscribe", 1)
        assert expected in answered(fake, before)
    assert [e.actor_id for e in events(bot, 1, "subscribed")] == ["U0L1ENG"]


def test_a_subscription_grants_no_reading_once_the_role_that_allowed_it_is_gone(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    """The manager hands the ticket to someone outside support (who becomes assignee and subscriber);
    after escalation he is no longer the assignee: the subscription alone lets him read nothing."""
    file_ticket(slack, fake, bot)
    forged_click(slack, fake, "U0MANAGER", "ticket_reassign", "1")  # the breach DM's button, in short
    view = modal_opened_by(fake, str(slack.last_trigger_id))
    assert slack.view_submission("U0MANAGER", view, {"assignee": "U0STRANGER"}).status == 200
    fake.wait_until(lambda: ticket(bot, 1).assignee_id == "U0STRANGER", message="reassigned")
    quiet(fake, bot, 1)
    before = len(fake.responses)
    slack.slash_command("U0STRANGER", "status ESC-1")  # as the assignee he may read it
    fake.wait_until(lambda: len(fake.responses) > before)
    assert "ESC-1" in json.dumps(fake.responses[before]["body"]) and "can view" not in json.dumps(fake.responses[before]["body"])

    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_escalate", 1, ESCALATE_FORM)
    fake.wait_until(lambda: ticket(bot, 1).level_key == "L3", message="escalated")
    quiet(fake, bot, 1)
    assert ticket(bot, 1).assignee_id is None and ("U0STRANGER", "subscriber") in participants(bot, 1)
    dms_before = len(dms_to(fake, "U0STRANGER"))

    before = len(fake.responses)
    slack.slash_command("U0STRANGER", "status ESC-1")
    assert "You can't view the timeline of ESC-1" in answered(fake, before)
    click_and_submit(slack, fake, bot, "U0L3ENG", "ticket_post_update", 1, UPDATE_FORM)
    fake.wait_until(lambda: events(bot, 1, "update_posted"), message="update posted")
    quiet(fake, bot, 1)
    assert len(dms_to(fake, "U0STRANGER")) == dms_before  # not one word of the update
    withheld = [(e.details["to"], e.details["notice"]) for e in events(bot, 1, "notice_withheld")]
    assert ("U0STRANGER", "update") in withheld and {to for to, _ in withheld} == {"U0STRANGER"}, withheld
    assert any(UPDATE_FORM["status"] in text_of(m) for m in dms_to(fake, "U0AGENT"))  # the reporter still hears


def test_forty_subscribe_toggles_do_not_push_real_updates_out_of_the_handoff_summary(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot)
    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_post_update", 1, UPDATE_FORM)
    fake.wait_until(lambda: events(bot, 1, "update_posted"), message="update posted")
    for n in range(40):
        before = len(fake.responses)
        press(slack, fake, bot, "U0L1ENG", "ticket_subscribe", 1)
        fake.wait_until(lambda b=before: len(fake.responses) > b, message=f"toggle {n}")
    assert len(events(bot, 1, "subscribed")) == 20 and len(events(bot, 1, "unsubscribed")) == 20
    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_escalate", 1, ESCALATE_FORM)
    fake.wait_until(lambda: ticket(bot, 1).level_key == "L3" and ticket(bot, 1).card_channel == fake.channel("support-l3")["id"],
                    message="card in L3")
    quiet(fake, bot, 1)
    card = text_of(fake.message(ticket(bot, 1).card_channel, ticket(bot, 1).card_ts))
    assert "posted an update: " + UPDATE_FORM["status"] in card and "filed the ticket" in card
    assert "subscribed" not in card


# -- 5. Each modal submission is applied once per view -------------------------------------------------------


@pytest.mark.parametrize("at_once", [False, True], ids=["one after the other", "at the same moment"])
def test_a_replayed_update_submission_posts_once(bot: RunningBot, slack: SlackSender, fake: FakeSlack, at_once: bool) -> None:
    file_ticket(slack, fake, bot)
    press(slack, fake, bot, "U0L2ENG", "ticket_post_update", 1)
    view = modal_opened_by(fake, str(slack.last_trigger_id))
    body = submission_body(slack, fake, "U0L2ENG", view, UPDATE_FORM)
    replies: list[Any] = []
    if at_once:
        senders = [threading.Thread(target=lambda: replies.append(slack.post(body))) for _ in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
    else:
        replies = [slack.post(body) for _ in range(3)]
    assert all(r.status == 200 for r in replies)
    fake.wait_until(lambda: events(bot, 1, "update_posted"), message="update posted")
    quiet(fake, bot, 1)
    assert len(events(bot, 1, "update_posted")) == 1
    row_ = ticket(bot, 1)
    in_thread = [m for m in fake.thread(row_.card_channel, row_.card_ts) if UPDATE_FORM["status"] in text_of(m)]
    assert len(in_thread) == 1
    assert len([m for m in dms_to(fake, "U0AGENT") if UPDATE_FORM["status"] in text_of(m)]) == 1


def test_a_replayed_reassign_submission_reassigns_and_tells_once(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    forged_click(slack, fake, "U0MANAGER", "ticket_reassign", "1")
    view = modal_opened_by(fake, str(slack.last_trigger_id))
    body = submission_body(slack, fake, "U0MANAGER", view, {"assignee": "U0L2ENG"})
    assert [slack.post(body).status for _ in range(3)] == [200, 200, 200]
    fake.wait_until(lambda: events(bot, 1, "reassigned"), message="reassigned")
    quiet(fake, bot, 1)
    assert len(events(bot, 1, "reassigned")) == 1
    reassigned_dms = [m for m in dms_to(fake, "U0L2ENG") if "assigned" in text_of(m).lower()]
    assert len(reassigned_dms) == 1, [text_of(m) for m in dms_to(fake, "U0L2ENG")]


def test_a_replayed_subscribe_click_toggles_once(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    row_ = ticket(bot, 1)
    payload = slack._block_action_payload("U0L1ENG", action_id="ticket_subscribe", value="1", block_id=None,
                                          channel_id=row_.card_channel, message_ts=row_.card_ts, message=None, view=None)
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    assert [slack.post(body).status for _ in range(3)] == [200, 200, 200]
    fake.wait_until(lambda: events(bot, 1, "subscribed"), message="subscribed")
    quiet(fake, bot, 1)
    assert [e.kind for e in events(bot, 1, "subscribed") + events(bot, 1, "unsubscribed")] == ["subscribed"]
    assert ("U0L1ENG", "subscriber") in participants(bot, 1)


# -- 7. Attachments come from Slack; every e-mail link is http(s) -------------------------------------------


def test_a_forged_attachment_link_is_not_shown_as_a_link_on_the_card_nor_written_into_the_email(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, smtp: SmtpServer
) -> None:
    view = open_modal(slack, fake)
    files = [
        {"id": "F0SLACK1", "name": "lb-02.log", "permalink": f"https://{fake.team_domain}.slack.com/files/U0AGENT/F0SLACK1/lb-02.log"},
        {"id": "F0EVIL1", "name": "screenshot.png", "permalink": "https://evil.example.com/login"},
        {"id": "F0EVIL2", "name": "trace.txt", "permalink": "javascript:alert(document.cookie)"},
    ]

    def attach(submitted: dict[str, Any]) -> None:
        submitted["state"]["values"]["attachments"]["value"]["files"] = files

    reply = slack.post(submission_body(slack, fake, "U0AGENT", view, GOOD_FORM, edit=attach))
    assert reply.status == 200 and not reply.body
    fake.wait_until(lambda: tickets(bot) and ticket(bot, 1).card_ts, message="card posted")
    settle(bot, fake)
    card = text_of(fake.message(ticket(bot, 1).card_channel, ticket(bot, 1).card_ts))
    assert f"<https://{fake.team_domain}.slack.com/files/U0AGENT/F0SLACK1/lb-02.log|lb-02.log>" in card
    assert "evil.example.com" not in card and "javascript:" not in card
    assert "screenshot.png" in card and "trace.txt" in card  # named, but not linked

    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_escalate", 1, {**ESCALATE_FORM, "target_level": "L3"})
    html = smtp.sink.wait(1, timeout=10)[-1].part("html")
    hrefs = [h.split('"', 1)[0] for h in html.split('href="')[1:]]
    assert hrefs and all(h.startswith(("https://", "http://")) for h in hrefs), hrefs
    assert "evil.example.com" not in html and "javascript:" not in html
    assert "screenshot.png (attached in Slack)" in html


# -- 8. Strict reading: a typed request or a named error, never a failure after the ack ----------------------


def _update_modal(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> dict[str, Any]:
    file_ticket(slack, fake, bot)
    quiet(fake, bot, 1)
    press(slack, fake, bot, "U0L2ENG", "ticket_post_update", 1)
    return modal_opened_by(fake, str(slack.last_trigger_id))


def _set_metadata(value: Any) -> Any:
    def edit(submitted: dict[str, Any]) -> None:
        submitted["private_metadata"] = json.dumps({"ticket": value})
    return edit


def _set_element(block: str, key: str, value: Any) -> Any:
    def edit(submitted: dict[str, Any]) -> None:
        submitted["state"]["values"][block]["value"][key] = value
    return edit


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(_set_metadata(True), id="metadata ticket is true"),
        pytest.param(_set_metadata(10**40), id="metadata ticket is huge"),
        pytest.param(_set_metadata(1.0), id="metadata ticket is a float"),
        pytest.param(_set_metadata("1"), id="metadata ticket is a string"),
        pytest.param(_set_element("status", "value", {"a": 1}), id="an object where the status text belongs"),
        pytest.param(_set_element("next_update_by", "selected_date_time", 10**30), id="a date far beyond any picker"),
        pytest.param(_set_element("next_update_by", "selected_date_time", True), id="a date that is true"),
    ],
)
def test_a_lifecycle_submission_slack_could_not_send_is_refused_inline_and_changes_nothing(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, edit: Any
) -> None:
    view = _update_modal(slack, fake, bot)
    before, kinds, calls = row(bot, 1), timeline_kinds(bot, 1), len(fake.calls)
    reply = slack.post(submission_body(slack, fake, "U0L2ENG", view, UPDATE_FORM, edit=edit))
    assert reply.status == 200
    answer = reply.json()
    assert answer and answer["response_action"] == "errors", reply.body
    (message,) = answer["errors"].values()
    assert "could not be read" in message and "ESC-True" not in message
    quiet(fake, bot, 1)
    assert (row(bot, 1), timeline_kinds(bot, 1)) == (before, kinds)
    assert changes_to_slack_since(fake, calls) == []


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x85"], ids=["NUL", "BEL", "ANSI escape", "C1 next line"])
def test_control_characters_are_refused_inline_while_the_modal_is_open(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, bad: str
) -> None:
    view = open_modal(slack, fake)
    reply = slack.post(submission_body(slack, fake, "U0AGENT", view, {**GOOD_FORM, "description": GOOD_FORM["description"] + bad}))
    answer = reply.json()
    assert answer and answer.get("response_action") == "errors" and list(answer["errors"]) == ["description"], reply
    assert "control characters" in answer["errors"]["description"]
    assert tickets(bot) == []

    update = _update_modal(slack, fake, bot)
    kinds = timeline_kinds(bot, 1)
    reply = slack.post(submission_body(slack, fake, "U0L2ENG", update, {**UPDATE_FORM, "status": "Still failing" + bad + " on lb-02"}))
    answer = reply.json()
    assert answer and list(answer["errors"]) == ["status"] and "control characters" in answer["errors"]["status"]
    quiet(fake, bot, 1)
    assert timeline_kinds(bot, 1) == kinds


def test_a_lone_surrogate_no_database_can_store_is_refused_before_anything_is_saved(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    view = open_modal(slack, fake)
    reply = slack.post(submission_body(slack, fake, "U0AGENT", view, {**GOOD_FORM, "title": "VPN \ud800 down"}))
    assert 400 <= reply.status < 500 or (reply.json() or {}).get("response_action") == "errors", reply
    assert tickets(bot) == []


def test_an_over_long_or_malformed_user_id_is_refused_before_anything_is_saved(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    view = open_modal(slack, fake)
    for user in ("U" + "A" * 200, "u0agent", "U0AGENT'; DROP TABLE tickets;--"):
        reply = slack.post(submission_body(slack, fake, user, view, GOOD_FORM))
        assert reply.status == 200
        answer = reply.json()
        assert answer and answer["response_action"] == "errors" and "could not be read" in json.dumps(answer)
    assert tickets(bot) == []
    file_ticket(slack, fake, bot)
    quiet(fake, bot, 1)
    before = row(bot, 1)
    assert forged_click(slack, fake, "U" + "9" * 100, "ticket_acknowledge", "1").status == 200
    quiet(fake, bot, 1)
    assert row(bot, 1) == before and not events(bot, 1, "acknowledged")


def test_a_huge_ticket_number_on_a_button_or_in_a_command_is_no_ticket(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    file_ticket(slack, fake, bot)
    quiet(fake, bot, 1)
    before = row(bot, 1)
    for value in ("9" * 40, "²", "1" + "0" * 12, "-1", "1.0"):
        assert forged_click(slack, fake, "U0L2ENG", "ticket_acknowledge", value).status == 200
    reply = slack.slash_command("U0L2ENG", "status ESC-" + "9" * 40)
    assert reply.status == 200 and "didn't understand" in (reply.json() or {}).get("text", "")
    quiet(fake, bot, 1)
    assert row(bot, 1) == before and ticket(bot, 1).status is TicketStatus.OPEN
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


# -- found by trying it from outside once more ----------------------------------------------------------------


def test_whether_a_ticket_exists_is_no_answer_a_stranger_gets(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot, triggers=["security_incident"])
    answers = []
    for text in ("ESC-1", "ESC-2", "status ESC-1", "status ESC-2"):
        before = len(fake.responses)
        reply = slack.slash_command("U0STRANGER", text)
        answers.append((reply.json() or {}).get("text") if reply.body else answered(fake, before))
    assert [a.replace("ESC-2", "ESC-1") for a in answers[1::2]] == answers[0::2], answers
    assert all(a.startswith(":no_entry: You can't") and "L3" not in a and "<@" not in a for a in answers), answers
    before = len(fake.responses)
    slack.slash_command("U0L1ENG", "status ESC-2")  # support staff are told plainly
    assert "There is no ticket ESC-2" in answered(fake, before)


def test_a_replayed_reopen_click_reopens_once(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    from tests.e2e.test_permissions_and_hostile_text import RESOLVE_FORM

    file_ticket(slack, fake, bot)
    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_resolve", 1, RESOLVE_FORM)
    fake.wait_until(lambda: ticket(bot, 1).status is TicketStatus.CLOSED, message="closed")
    quiet(fake, bot, 1)
    body = urllib.parse.urlencode({"payload": json.dumps(slack._block_action_payload(
        "U0AGENT", action_id="ticket_reopen", value="1", block_id=None, channel_id=ticket(bot, 1).card_channel,
        message_ts=ticket(bot, 1).card_ts, message=None, view=None))})
    assert slack.post(body).status == 200
    fake.wait_until(lambda: ticket(bot, 1).status is TicketStatus.OPEN, message="reopened")
    quiet(fake, bot, 1)
    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_resolve", 1, RESOLVE_FORM)
    fake.wait_until(lambda: ticket(bot, 1).status is TicketStatus.CLOSED, message="closed again")
    quiet(fake, bot, 1)
    assert slack.post(body).status == 200  # the captured click, re-sent inside the signature window
    quiet(fake, bot, 1)
    assert ticket(bot, 1).status is TicketStatus.CLOSED and len(events(bot, 1, "reopened")) == 1


def test_replayed_acknowledge_clicks_and_export_commands_do_nothing_more(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot)
    row_ = ticket(bot, 1)
    click = urllib.parse.urlencode({"payload": json.dumps(slack._block_action_payload(
        "U0L2ENG", action_id="ticket_acknowledge", value="1", block_id=None, channel_id=row_.card_channel,
        message_ts=row_.card_ts, message=None, view=None))})
    for _ in range(6):
        assert slack.post(click).status == 200
    fake.wait_until(lambda: events(bot, 1, "acknowledged"), message="acknowledged")
    quiet(fake, bot, 1)
    assert len(events(bot, 1, "acknowledged")) == 1 and fake.responses == []  # no "already acknowledged" to a replay

    fields = slack._command_fields("U0AGENT", "export ESC-1", command="/escalate", channel_id="C0GENERAL", user_name=None)
    command = urllib.parse.urlencode(fields)
    for _ in range(3):
        assert slack.post(command).status == 200
    fake.wait_until(lambda: events(bot, 1, "timeline_exported"), message="exported")
    quiet(fake, bot, 1)
    assert len(events(bot, 1, "timeline_exported")) == 1 and len(fake.files) == 2


@pytest.mark.parametrize("permalink", [
    "https://evil.example\\.slack.com/files/x", "https://evil.example\\@files.slack.com/x",
    "https://user:pw@files.slack.com/x", "https://files.slack.com./x",
])
def test_a_file_link_a_browser_would_read_as_another_host_is_not_believed(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, permalink: str
) -> None:
    view = open_modal(slack, fake)

    def attach(submitted: dict[str, Any]) -> None:
        submitted["state"]["values"]["attachments"]["value"]["files"] = [{"id": "F0EVIL1", "name": "lb.log", "permalink": permalink}]

    assert slack.post(submission_body(slack, fake, "U0AGENT", view, GOOD_FORM, edit=attach)).status == 200
    fake.wait_until(lambda: tickets(bot) and ticket(bot, 1).card_ts, message="card posted")
    card = json.dumps(fake.message(ticket(bot, 1).card_channel, ticket(bot, 1).card_ts))
    assert "evil" not in card and "pw@" not in card and "lb.log" in card


@pytest.mark.parametrize("blocks", [["x"], {"a": 1}, 5, [5], "abc"], ids=["list of text", "object", "number", "list of numbers", "text"])
def test_a_view_with_odd_blocks_gets_its_inline_error_without_a_traceback(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, caplog: pytest.LogCaptureFixture, blocks: Any
) -> None:
    view = _update_modal(slack, fake, bot)
    kinds = timeline_kinds(bot, 1)

    def odd(submitted: dict[str, Any]) -> None:
        submitted["blocks"] = blocks

    reply = slack.post(submission_body(slack, fake, "U0L2ENG", view, {**UPDATE_FORM, "status": "short"}, edit=odd))
    assert 200 <= reply.status < 500, reply
    quiet(fake, bot, 1)
    assert timeline_kinds(bot, 1) == kinds and dms_to(fake, "U0L2ENG") == []
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("trigger", ["", None], ids=["empty", "missing"])
def test_a_command_or_click_without_a_trigger_opens_no_modal_and_says_so(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, caplog: pytest.LogCaptureFixture, trigger: str | None
) -> None:
    fields = slack._command_fields("U0AGENT", "", command="/escalate", channel_id="C0GENERAL", user_name=None)
    if trigger is None:
        del fields["trigger_id"]
    else:
        fields["trigger_id"] = trigger
    reply = slack.post(urllib.parse.urlencode(fields))
    assert 200 <= reply.status < 500
    quiet(fake, bot)

    def told() -> list[str]:  # the ack, or the reply through response_url (which may come after the ack)
        return [reply.body] + [str(r["body"].get("text")) for r in fake.responses]

    fake.wait_until(lambda: any("could not be read" in t for t in told()), message=f"told why: {told()}")
    assert fake.calls_to("views.open") == []
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_of_two_escalations_submitted_at_once_the_loser_keeps_his_modal_and_what_he_typed(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot)
    quiet(fake, bot, 1)
    views = []
    for user in ("U0L2ENG", "U0MANAGER", "U0AGENT"):
        press(slack, fake, bot, user, "ticket_escalate", 1)
        views.append((user, modal_opened_by(fake, str(slack.last_trigger_id))))
    bodies = [(u, v, submission_body(slack, fake, u, v, {**ESCALATE_FORM, "notes": f"Handoff notes from {u}, keep them."}))
              for u, v in views]
    replies: dict[str, Any] = {}
    barrier = threading.Barrier(len(bodies))

    def send(user: str, body: str) -> None:
        barrier.wait()
        replies[user] = slack.post(body)

    senders = [threading.Thread(target=send, args=(u, b)) for u, _, b in bodies]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    quiet(fake, bot, 1)
    closed = [u for u, r in replies.items() if r.status == 200 and not r.body]
    kept_open = [u for u, r in replies.items() if r.status == 200 and r.body and (r.json() or {}).get("response_action") == "errors"]
    assert len(closed) == 1 and len(kept_open) == 2, {u: r.body for u, r in replies.items()}
    (event,) = events(bot, 1, "escalated")
    assert event.actor_id == closed[0] and ticket(bot, 1).handoffs == 1
    for user in kept_open:
        assert not any("changed meanwhile" in text_of(m) for m in dms_to(fake, user))
