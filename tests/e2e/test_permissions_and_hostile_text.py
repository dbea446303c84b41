"""End to end: who may press which button (and submit which modal), and hostile text through a whole ticket's life.

Every case runs the real bot over signed HTTP against fake Slack and checks what Slack received and what the
database holds; the `fake` fixture also asserts at teardown that no call broke a Slack or Block Kit limit.
"""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

import markupsafe
import pytest
from sqlalchemy import inspect, select

from bot.domain.tickets import TicketStatus
from fakeslack import FakeSlack, SlackSender
from fakeslack.sender import fill_state
from fakeslack.server import Call
from models import Ticket, TimelineEvent
from tests.e2e.harness import (
    GOOD_FORM, PEOPLE, RunningBot, file_ticket, mrkdwn_texts, open_modal, press, settle, ticket, tickets, timeline_kinds,
)
from tests.smtp import SmtpServer

# What allowed actors type into the lifecycle modals (block id -> value, as fill_state takes them).
ESCALATE_FORM: dict[str, Any] = {
    "reason": "complexity",
    "target_level": "L3",
    "business_impact": GOOD_FORM["business_impact"],
    "troubleshooting": GOOD_FORM["troubleshooting"] + " Failed over to lb-03; still 502.",
    "notes": "Handing over to Engineering; I stay available for questions.",
}
UPDATE_FORM: dict[str, Any] = {
    "status": "Failover in progress; the 502 rate is down to 10%.",
    "next_steps": "Watch the error rate for an hour, then close.",
}
RESOLVE_FORM: dict[str, Any] = {
    "resolution": "Replaced the faulty load balancer node lb-02.",
    "root_cause": "A failing NIC on lb-02 dropped upstream connections.",
    "lessons": "Alert on load balancer health-check flaps before users notice.",
}
POSTMORTEM_URL = "https://docs.example.com/postmortems/esc-1"
POSTMORTEM_OWNER = "U0L1ENG"  # someone with no other role on the critical (L3) ticket
SLACK_SIDE_CHANGES = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update",
                      "views.push", "files.completeUploadExternal")


# -- helpers ------------------------------------------------------------------------------------------------


def quiet(fake: FakeSlack, bot: RunningBot, ticket_id: int | None = None, *, still_for: float = 0.15,
          timeout: float = 10.0) -> None:
    """Wait until the bot has stopped talking: its outbox is drained, and no new Slack call, response or
    timeline event for `still_for` s."""
    settle(bot, fake)

    def state() -> tuple[int, int, int]:
        events = len(timeline_kinds(bot, ticket_id)) if ticket_id is not None else 0
        return len(fake.calls), len(fake.responses), events

    last, since, deadline = state(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < still_for:
        assert time.monotonic() < deadline, "the bot never went quiet"
        time.sleep(0.02)
        now = state()
        if now != last:
            last, since = now, time.monotonic()


def row(bot: RunningBot, ticket_id: int) -> dict[str, Any]:
    """Every column of the ticket, for before/after comparisons."""
    loaded = ticket(bot, ticket_id)
    return {attr.key: getattr(loaded, attr.key) for attr in inspect(Ticket).column_attrs}


def events(bot: RunningBot, ticket_id: int, kind: str) -> list[TimelineEvent]:
    with bot.runtime.deps.services.sessions() as session:
        query = select(TimelineEvent).where(TimelineEvent.ticket_id == ticket_id, TimelineEvent.kind == kind)
        return list(session.scalars(query.order_by(TimelineEvent.id)))


def modal_opened_by(fake: FakeSlack, trigger_id: str) -> dict[str, Any]:
    """The modal the bot opened with this trigger (i.e. for the click that minted it); it must have opened."""
    def opened() -> Call | None:
        return next((c for c in fake.calls_to("views.open") if c.params.get("trigger_id") == trigger_id), None)

    call = fake.wait_until(opened, message="a modal opened for the click")
    assert call.ok, call.response
    return fake.views[call.response["view"]["id"]]


def click_and_submit(slack: SlackSender, fake: FakeSlack, bot: RunningBot, user: str, action: str, ticket_id: int,
                     values: dict[str, Any]) -> dict[str, Any]:
    """Press a modal button on the card, fill the modal like Slack and submit it; the modal must close."""
    press(slack, fake, bot, user, action, ticket_id)
    view = modal_opened_by(fake, str(slack.last_trigger_id))
    reply = slack.view_submission(user, view, values)
    assert reply.status == 200 and not reply.body, reply.body
    return view


def changes_to_slack_since(fake: FakeSlack, count: int) -> list[str]:
    """Methods of the calls since `count` that would change what someone sees in Slack."""
    return [c.method for c in list(fake.calls)[count:] if c.method in SLACK_SIDE_CHANGES]


# -- the states a button is pressed in --------------------------------------------------------------------------


def an_open_l2_ticket(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> int:
    file_ticket(slack, fake, bot)
    quiet(fake, bot, 1)
    assert (ticket(bot, 1).level_key, ticket(bot, 1).status) == ("L2", TicketStatus.OPEN)
    return 1


def a_closed_l2_ticket(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> int:
    file_ticket(slack, fake, bot)
    quiet(fake, bot, 1)
    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_resolve", 1, RESOLVE_FORM)
    fake.wait_until(lambda: ticket(bot, 1).status is TicketStatus.CLOSED, message="ticket closed")
    quiet(fake, bot, 1)
    return 1


def a_critical_ticket_waiting_for_its_postmortem(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> int:
    file_ticket(slack, fake, bot, triggers=["security_incident"])
    quiet(fake, bot, 1)
    assert (ticket(bot, 1).level_key, ticket(bot, 1).severity) == ("L3", "critical")
    click_and_submit(slack, fake, bot, "U0L3ENG", "ticket_resolve", 1, {**RESOLVE_FORM, "postmortem_owner": POSTMORTEM_OWNER})
    fake.wait_until(lambda: ticket(bot, 1).status is TicketStatus.POSTMORTEM_DUE, message="post-mortem due")
    quiet(fake, bot, 1)
    assert ticket(bot, 1).postmortem_owner == POSTMORTEM_OWNER
    return 1


# -- what each allowed press must achieve ------------------------------------------------------------------------


def acknowledged(bot: RunningBot, actor: str) -> None:
    done = ticket(bot, 1)
    assert (done.status, done.acknowledged_by, done.assignee_id) == (TicketStatus.ACKNOWLEDGED, actor, actor)
    assert [e.actor_id for e in events(bot, 1, "acknowledged")] == [actor]


def escalated(bot: RunningBot, actor: str) -> None:
    done = ticket(bot, 1)
    assert (done.level_key, done.status, done.handoffs) == ("L3", TicketStatus.OPEN, 1)
    assert done.troubleshooting == ESCALATE_FORM["troubleshooting"]
    (event,) = events(bot, 1, "escalated")
    assert (event.actor_id, event.details["reason"], event.details["notes"]) == (actor, "complexity", ESCALATE_FORM["notes"])


def updated(bot: RunningBot, actor: str) -> None:
    done = ticket(bot, 1)
    assert done.last_update_at is not None and done.status is TicketStatus.OPEN
    (event,) = events(bot, 1, "update_posted")
    assert (event.actor_id, event.details["status"], event.details["next_steps"]) == (
        actor, UPDATE_FORM["status"], UPDATE_FORM["next_steps"])


def resolved(bot: RunningBot, actor: str) -> None:
    done = ticket(bot, 1)
    assert (done.status, done.resolved_by, done.resolution, done.root_cause, done.lessons_learned) == (
        TicketStatus.CLOSED, actor, RESOLVE_FORM["resolution"], RESOLVE_FORM["root_cause"], RESOLVE_FORM["lessons"])
    assert [e.actor_id for e in events(bot, 1, "resolved")] == [actor]


def reopened(bot: RunningBot, actor: str) -> None:
    done = ticket(bot, 1)
    assert (done.status, done.resolved_at, done.closed_at) == (TicketStatus.OPEN, None, None)
    assert [e.actor_id for e in events(bot, 1, "reopened")] == [actor]


def postmortem_closed(bot: RunningBot, actor: str) -> None:
    done = ticket(bot, 1)
    assert (done.status, done.postmortem_url) == (TicketStatus.CLOSED, POSTMORTEM_URL)
    assert done.closed_at is not None
    assert [e.actor_id for e in events(bot, 1, "postmortem_completed")] == [actor]


@dataclass(frozen=True)
class Button:
    action: str
    state: Callable[[SlackSender, FakeSlack, RunningBot], int]
    refusal: str  # the sentence a refused person reads
    ask: tuple[str, ...]  # the people the refusal names (mrkdwn mentions)
    done: Callable[[RunningBot], bool]  # the effect has landed
    check: Callable[[RunningBot, str], None]  # ...and is exactly right for this actor
    callback: str | None = None  # the modal the button opens, if any
    form: dict[str, Any] | None = None  # what an allowed actor submits in it


L2_ASK = ("<@U0L2ENG>", "<@U0MANAGER>")
BUTTONS: dict[str, Button] = {
    "Acknowledge": Button(
        "ticket_acknowledge", an_open_l2_ticket,
        "Only L2 Technical Support's responders, the assignee or a manager can acknowledge ESC-1.", L2_ASK,
        lambda bot: ticket(bot, 1).acknowledged_at is not None, acknowledged),
    "Escalate": Button(
        "ticket_escalate", an_open_l2_ticket,
        "Only L2 Technical Support's responders, the assignee, a manager or the reporter can escalate ESC-1.", L2_ASK,
        lambda bot: ticket(bot, 1).level_key == "L3", escalated, "escalate_ticket", ESCALATE_FORM),
    "Post update": Button(
        "ticket_post_update", an_open_l2_ticket,
        "Only L2 Technical Support's responders, the assignee, a manager or the reporter can post updates on ESC-1.",
        L2_ASK, lambda bot: bool(events(bot, 1, "update_posted")), updated, "post_update", UPDATE_FORM),
    "Resolve": Button(
        "ticket_resolve", an_open_l2_ticket,
        "Only L2 Technical Support's responders, the assignee or a manager can resolve ESC-1.", L2_ASK,
        lambda bot: ticket(bot, 1).status is TicketStatus.CLOSED, resolved, "resolve_ticket", RESOLVE_FORM),
    "Reopen": Button(
        "ticket_reopen", a_closed_l2_ticket,
        "Only L2 Technical Support's responders, a manager or the reporter can reopen ESC-1.", L2_ASK,
        lambda bot: ticket(bot, 1).status is TicketStatus.OPEN, reopened),
    "Post-mortem done": Button(
        "ticket_postmortem_done", a_critical_ticket_waiting_for_its_postmortem,
        "Only L3 Engineering's responders, a manager or the post-mortem owner can close the post-mortem of ESC-1.",
        ("<@U0L3ENG>", "<!subteam^S0ONCALL>", "<@U0MANAGER>", f"<@{POSTMORTEM_OWNER}>"),
        lambda bot: ticket(bot, 1).status is TicketStatus.CLOSED, postmortem_closed, "postmortem_done",
        {"postmortem_url": POSTMORTEM_URL}),
}

# (button, actor, what the actor is to the ticket, may act)
MATRIX: list[tuple[str, str, str, bool]] = [
    ("Acknowledge", "U0L2ENG", "the level's responder", True),
    ("Acknowledge", "U0L3ENG", "another level's responder", False),
    ("Acknowledge", "U0AGENT", "the reporter", False),
    ("Acknowledge", "U0MANAGER", "a manager", True),
    ("Acknowledge", "U0STRANGER", "a stranger", False),
    ("Escalate", "U0L2ENG", "the level's responder", True),
    ("Escalate", "U0L3ENG", "another level's responder", False),
    ("Escalate", "U0AGENT", "the reporter", True),
    ("Escalate", "U0MANAGER", "a manager", True),
    ("Escalate", "U0STRANGER", "a stranger", False),
    ("Post update", "U0L2ENG", "the level's responder", True),
    ("Post update", "U0L1ENG", "another level's responder", False),
    ("Post update", "U0AGENT", "the reporter", True),
    ("Post update", "U0MANAGER", "a manager", True),
    ("Post update", "U0STRANGER", "a stranger", False),
    ("Resolve", "U0L2ENG", "the level's responder", True),
    ("Resolve", "U0L3ENG", "another level's responder", False),
    ("Resolve", "U0AGENT", "the reporter", False),
    ("Resolve", "U0MANAGER", "a manager", True),
    ("Resolve", "U0STRANGER", "a stranger", False),
    ("Reopen", "U0L2ENG", "the level's responder", True),
    ("Reopen", "U0L1ENG", "another level's responder", False),
    ("Reopen", "U0AGENT", "the reporter", True),
    ("Reopen", "U0MANAGER", "a manager", True),
    ("Reopen", "U0STRANGER", "a stranger", False),
    ("Post-mortem done", "U0L3ENG", "the level's responder", True),
    ("Post-mortem done", "U0ONCALL2", "the level's responder through the on-call user group", True),
    ("Post-mortem done", "U0L2ENG", "another level's responder", False),
    ("Post-mortem done", "U0AGENT", "the reporter", False),
    ("Post-mortem done", "U0MANAGER", "a manager", True),
    ("Post-mortem done", POSTMORTEM_OWNER, "the post-mortem owner", True),
    ("Post-mortem done", "U0STRANGER", "a stranger", False),
]


@pytest.mark.parametrize(
    ("button", "actor", "allowed"),
    [pytest.param(b, a, ok, id=f"{b} by {who} ({a}): {'acts' if ok else 'refused'}") for b, a, who, ok in MATRIX],
)
def test_each_button_works_for_exactly_the_people_allowed_and_a_refused_click_changes_nothing(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, button: str, actor: str, allowed: bool
) -> None:
    spec = BUTTONS[button]
    ticket_id = spec.state(slack, fake, bot)
    before_row, before_events = row(bot, ticket_id), timeline_kinds(bot, ticket_id)
    card_before = fake.message(before_row["card_channel"], before_row["card_ts"])
    calls_before, responses_before = len(fake.calls), len(fake.responses)

    reply = press(slack, fake, bot, actor, spec.action, ticket_id)
    trigger = str(slack.last_trigger_id)
    assert reply.status == 200

    if allowed:
        if spec.callback is not None:
            view = modal_opened_by(fake, trigger)
            assert view["callback_id"] == spec.callback
            assert json.loads(view["private_metadata"]) == {"ticket": ticket_id}
            submitted = slack.view_submission(actor, view, spec.form or {})
            assert submitted.status == 200 and not submitted.body, submitted.body
        fake.wait_until(lambda: spec.done(bot), message=f"{button} by {actor} took effect")
        quiet(fake, bot, ticket_id)
        spec.check(bot, actor)
        assert fake.responses[responses_before:] == [], "an allowed click got an ephemeral answer"
        if spec.callback is None:
            assert not [c for c in fake.calls_to("views.open") if c.params.get("trigger_id") == trigger]
        return

    def answered() -> list[Any]:
        ephemerals = [c for c in list(fake.calls)[calls_before:] if c.method == "chat.postEphemeral"]
        return fake.responses[responses_before:] + ephemerals

    fake.wait_until(answered, message=f"{button} refused for {actor}: no answer at all")
    quiet(fake, bot, ticket_id)
    refusals = fake.responses[responses_before:]
    assert len(refusals) == 1, f"the refusal must answer on the click's response_url; the bot sent {answered()}"
    body = refusals[0]["body"]
    assert body["response_type"] == "ephemeral" and not body.get("replace_original")
    if actor == "U0STRANGER":  # may not read the ticket: the refusal tells him nothing about it
        assert body["text"].startswith(":no_entry: You can't ") and "ESC-1" in body["text"], body["text"]
        assert "<@" not in body["text"] and "subteam" not in body["text"] and "L2" not in body["text"] and "L3" not in body["text"]
    else:
        assert body["text"].startswith(":no_entry: Only"), body["text"]
        assert spec.refusal in body["text"]
        for mention in spec.ask:
            assert mention in body["text"], (mention, body["text"])
    assert row(bot, ticket_id) == before_row
    assert timeline_kinds(bot, ticket_id) == before_events
    assert changes_to_slack_since(fake, calls_before) == []  # no modal, no card change, no message
    assert not [c for c in fake.calls_to("views.open") if c.params.get("trigger_id") == trigger]
    assert fake.message(before_row["card_channel"], before_row["card_ts"]) == card_before


def test_a_resolve_modal_submitted_after_the_ticket_moved_out_of_the_submitters_reach_gets_an_inline_error(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    an_open_l2_ticket(slack, fake, bot)
    press(slack, fake, bot, "U0L2ENG", "ticket_resolve", 1)
    stale = modal_opened_by(fake, str(slack.last_trigger_id))  # L2's responder opens Resolve...
    click_and_submit(slack, fake, bot, "U0MANAGER", "ticket_escalate", 1, ESCALATE_FORM)  # ...the manager escalates
    fake.wait_until(lambda: ticket(bot, 1).level_key == "L3", message="escalated to L3")
    quiet(fake, bot, 1)
    before_row, before_events, calls_before = row(bot, 1), timeline_kinds(bot, 1), len(fake.calls)

    reply = slack.view_submission("U0L2ENG", stale, RESOLVE_FORM)

    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["resolution"]
    assert "Only L3 Engineering's responders, the assignee or a manager can resolve ESC-1." in answer["errors"]["resolution"]
    assert stale["id"] in fake.views  # the modal stays open, with what was typed
    quiet(fake, bot, 1)
    assert row(bot, 1) == before_row
    assert timeline_kinds(bot, 1) == before_events
    assert changes_to_slack_since(fake, calls_before) == []
    assert fake.responses == []


# -- hostile text ------------------------------------------------------------------------------------------------

FORBIDDEN = ("<!channel>", "<!here>", "<@U0MANAGER>", "<!subteam^S0ONCALL>", "<https://evil.example")
HOSTILE_UNIT = "<!channel> <!here> <@U0MANAGER> <!subteam^S0ONCALL> Tom & Jerry say 1 < 2 > 0, <https://evil.example|login> "
HOSTILE_TITLE = "<!channel> <!here> <@U0MANAGER> <!subteam^S0ONCALL> & < > <https://evil.example|login> payroll down"


def hostile(label: str, length: int = 3000) -> str:
    """`length` characters (Slack's input cap) of mentions, links and mrkdwn control characters, no edge spaces."""
    text = (f"{label}: " + HOSTILE_UNIT * (length // len(HOSTILE_UNIT) + 1))[:length].rstrip()
    return text + "." * (length - len(text))


def everything_shown_in_slack(fake: FakeSlack) -> list[tuple[str, str]]:
    """(where, text) for every string Slack parses as mrkdwn in what the bot posted, updated or answered."""
    shown: list[tuple[str, str]] = []
    for call in fake.calls:
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "files.completeUploadExternal"):
            texts = [call.params.get("text"), call.params.get("initial_comment"), *mrkdwn_texts(call.params.get("blocks") or [])]
            shown += [(call.method, t) for t in texts if isinstance(t, str)]
    for response in fake.responses:
        body = response["body"]
        texts = [body.get("text"), *mrkdwn_texts(body.get("blocks") or [])]
        shown += [("response_url", t) for t in texts if isinstance(t, str)]
    return shown


@dataclass(frozen=True)
class Typed:
    """What people typed along the way."""

    intake: dict[str, str]
    handoff: dict[str, str]
    update: dict[str, str]
    resolution: dict[str, str]


def a_hostile_ticket_from_intake_to_resolution(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> Typed:
    """File, acknowledge, escalate L2 -> L3 (high, so a handoff e-mail), post an update and resolve, each with
    Slack's full 3,000 characters of mentions, links and control characters in every free-text field."""
    typed = Typed(
        intake={"title": HOSTILE_TITLE, "description": hostile("description"), "error_messages": hostile("errors"),
                "troubleshooting": hostile("tried"), "business_impact": hostile("impact")},
        handoff={"business_impact": hostile("reassessed impact"), "troubleshooting": hostile("tried at L2"),
                 "notes": hostile("handoff notes")},
        update={"status": hostile("status"), "next_steps": hostile("next steps")},
        resolution={"resolution": hostile("resolution"), "root_cause": hostile("root cause"), "lessons": hostile("lessons")},
    )
    file_ticket(slack, fake, bot, **typed.intake)
    quiet(fake, bot, 1)

    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)
    fake.wait_until(lambda: ticket(bot, 1).acknowledged_by == "U0L2ENG", message="acknowledged")
    quiet(fake, bot, 1)

    click_and_submit(slack, fake, bot, "U0L2ENG", "ticket_escalate", 1,
                     {"reason": "complexity", "target_level": "L3", **typed.handoff})
    fake.wait_until(lambda: events(bot, 1, "email_sent"), message="handoff e-mail sent")
    quiet(fake, bot, 1)
    assert (ticket(bot, 1).level_key, ticket(bot, 1).severity) == ("L3", "high")

    click_and_submit(slack, fake, bot, "U0L3ENG", "ticket_post_update", 1, typed.update)
    fake.wait_until(lambda: events(bot, 1, "update_posted"), message="update posted")
    quiet(fake, bot, 1)

    click_and_submit(slack, fake, bot, "U0L3ENG", "ticket_resolve", 1, typed.resolution)
    fake.wait_until(lambda: ticket(bot, 1).status is TicketStatus.CLOSED, message="resolved and closed")
    quiet(fake, bot, 1)
    return typed


def leaks_in(shown: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    return [(where, token, text[:160]) for where, text in shown for token in FORBIDDEN if token in text]


def test_hostile_text_through_the_whole_lifecycle_never_becomes_a_mention_or_link_in_slack(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    typed = a_hostile_ticket_from_intake_to_resolution(slack, fake, bot)

    shown = everything_shown_in_slack(fake)
    assert {where for where, _ in shown} >= {"chat.postMessage", "chat.update"}
    assert leaks_in(shown) == []
    assert any("&lt;!channel&gt;" in text for _, text in shown)  # the words are still there, escaped
    assert fake.violations == []  # and no Block Kit or message limit was broken by 3,000-character fields

    closed = ticket(bot, 1)  # stored exactly as typed; only rendering escapes
    assert (closed.title, closed.description, closed.error_messages) == (
        typed.intake["title"], typed.intake["description"], typed.intake["error_messages"])
    assert (closed.business_impact, closed.troubleshooting) == (typed.handoff["business_impact"], typed.handoff["troubleshooting"])
    assert (closed.resolution, closed.root_cause, closed.lessons_learned) == (
        typed.resolution["resolution"], typed.resolution["root_cause"], typed.resolution["lessons"])
    (update,) = events(bot, 1, "update_posted")
    assert (update.details["status"], update.details["next_steps"]) == (typed.update["status"], typed.update["next_steps"])
    (escalation,) = events(bot, 1, "escalated")
    assert escalation.details["notes"] == typed.handoff["notes"]


def test_the_handoff_email_escapes_hostile_text_in_html_and_keeps_it_verbatim_in_plain_text(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, smtp: SmtpServer
) -> None:
    typed = a_hostile_ticket_from_intake_to_resolution(slack, fake, bot)

    (mail,) = smtp.sink.wait(1)
    assert mail.rcpt_tos == ["eng-oncall@company.com"]
    subject = str(mail.message["Subject"])
    assert subject.startswith("[ESC-1] ") and "\n" not in subject and "\r" not in subject
    html, text = mail.part("html"), mail.part("plain")
    for value in (typed.intake["title"], typed.intake["description"], typed.intake["error_messages"],
                  typed.handoff["business_impact"], typed.handoff["troubleshooting"], typed.handoff["notes"]):
        assert value in text  # the plain-text part carries what people typed, verbatim
    assert [token for token in FORBIDDEN if token in html] == []
    assert "&lt;!channel&gt;" in html
    for value in (typed.intake["description"], typed.handoff["notes"]):
        assert str(markupsafe.escape(value)) in html  # the HTML part carries it, escaped


def test_status_and_list_replies_render_hostile_text_inert(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    a_hostile_ticket_from_intake_to_resolution(slack, fake, bot)
    before = len(fake.responses)
    for command in ("status ESC-1", "list"):  # the timeline and the reporter's tickets show the same text again
        count = len(fake.responses)
        assert slack.slash_command("U0AGENT", command).status == 200
        fake.wait_until(lambda: len(fake.responses) > count, message=f"/escalate {command} answered")
    quiet(fake, bot, 1)

    answers = fake.responses[before:]
    shown = [("response_url " + str(r["body"].get("text"))[:20], t) for r in answers
             for t in [r["body"].get("text"), *mrkdwn_texts(r["body"].get("blocks") or [])] if isinstance(t, str)]
    assert any("ESC-1" in text for _, text in shown)
    assert leaks_in(shown) == []


# -- forged oversize input ---------------------------------------------------------------------------------------


def forged_submission(slack: SlackSender, fake: FakeSlack, user: str, view: dict[str, Any], values: dict[str, Any],
                      field: str, text: str) -> Any:
    """A view_submission Slack's client could never send: state built from short values, then one value replaced."""
    submitted = copy.deepcopy(fake.views[view["id"]])
    state = fill_state(submitted, values)
    (element,) = state[field].values()
    element["value"] = text
    submitted["state"] = {"values": state}
    payload = {
        "type": "view_submission",
        "team": {"id": fake.team_id, "domain": fake.team_domain},
        "user": {"id": user, "username": PEOPLE[user], "name": PEOPLE[user], "team_id": fake.team_id},
        "api_app_id": fake.app_id,
        "token": slack.verification_token,
        "trigger_id": fake.mint_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    reply = slack.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))
    fake.apply_view_ack(view["id"], reply.status, reply.body)  # Slack shows the errors (and checks they fit the view)
    return reply


def _intake_modal(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "U0AGENT", open_modal(slack, fake), dict(GOOD_FORM)


def _ticket_modal(action: str, form: dict[str, Any]) -> Callable[..., tuple[str, dict[str, Any], dict[str, Any]]]:
    def opened(slack: SlackSender, fake: FakeSlack, bot: RunningBot) -> tuple[str, dict[str, Any], dict[str, Any]]:
        an_open_l2_ticket(slack, fake, bot)
        press(slack, fake, bot, "U0L2ENG", action, 1)
        return "U0L2ENG", modal_opened_by(fake, str(slack.last_trigger_id)), dict(form)

    return opened


LINKS_5000 = "\n".join(f"https://logs.example.com/lb-02/{n:06d}" for n in range(200))[:5000].rstrip("/\n")


@pytest.mark.parametrize(
    ("modal", "field", "text", "says"),
    [
        pytest.param(_intake_modal, "description", "d" * 5000, "3,000", id="new escalation: 5,000-character description"),
        pytest.param(_intake_modal, "title", "t" * 5000, "150", id="new escalation: 5,000-character title"),
        pytest.param(_intake_modal, "log_links", LINKS_5000, "3,000", id="new escalation: 5,000 characters of log links"),
        pytest.param(_ticket_modal("ticket_post_update", UPDATE_FORM), "status", "s" * 5000, "3,000", id="update: status"),
        pytest.param(_ticket_modal("ticket_post_update", UPDATE_FORM), "next_steps", "n" * 5000, "3,000", id="update: next steps"),
        pytest.param(_ticket_modal("ticket_escalate", ESCALATE_FORM), "notes", "h" * 5000, "3,000", id="escalate: notes"),
        pytest.param(_ticket_modal("ticket_resolve", RESOLVE_FORM), "resolution", "r" * 5000, "3,000", id="resolve: resolution"),
    ],
)
def test_a_forged_oversize_field_gets_an_inline_error_and_nothing_is_saved(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, modal: Callable[..., Any], field: str, text: str, says: str
) -> None:
    user, view, values = modal(slack, fake, bot)
    assert len(text) == 5000 or field == "log_links"
    filed = tickets(bot)
    before = (row(bot, 1), timeline_kinds(bot, 1)) if filed else None
    calls_before = len(fake.calls)

    reply = forged_submission(slack, fake, user, view, values, field, text)

    assert reply.status == 200
    answer = reply.json()
    assert answer is not None, f"the forged {field} was accepted (empty ack); tickets now: {len(tickets(bot))}"
    assert answer["response_action"] == "errors", answer
    assert list(answer["errors"]) == [field]
    assert says in answer["errors"][field]
    assert view["id"] in fake.views  # still open
    quiet(fake, bot, 1 if filed else None)
    assert len(tickets(bot)) == len(filed)
    if before is not None:
        assert (row(bot, 1), timeline_kinds(bot, 1)) == before
    assert changes_to_slack_since(fake, calls_before) == []
