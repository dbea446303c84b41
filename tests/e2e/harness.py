"""Runs the real bot (Bolt on waitress, over loopback HTTP) against the project's fake Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app import BackgroundServer, Runtime, build, check_slack
from bot.clock import ManualClock
from bot.config import Settings
from models import Ticket, TimelineEvent
from fakeslack import FakeSlack, SlackSender

SIGNING_SECRET = "e2e-signing-secret"

# The seed's policy with people in it: one responder per level, an on-call user group at L3.
PEOPLE = {
    "U0AGENT": "agent", "U0L1ENG": "l1eng", "U0L2ENG": "l2eng", "U0L3ENG": "l3eng",
    "U0ONCALL1": "oncall1", "U0ONCALL2": "oncall2", "U0MANAGER": "manager", "U0STRANGER": "stranger",
}


def write_policy(directory: Path, *, bridge: bool = True, reports: bool = False) -> Path:
    """The seed with this workspace's people; the weekly digest only when `reports` (its rows wait a
    week in the outbox, and tests that wait for the outbox to drain would wait for them)."""
    text = Path("policy.yaml").read_text()
    if not reports:
        text = text.replace('channel: "#support-reports"', "channel: null", 1)
    for level, responders in (("l1", "[U0L1ENG]"), ("l2", "[U0L2ENG]"), ("l3", "[U0L3ENG, S0ONCALL]")):
        text, replaced = re.subn(rf'(channel: "#support-{level}".*\n\s+responders: )\[\]', rf"\g<1>{responders}", text, count=1)
        assert replaced == 1, level
    if bridge:
        text = text.replace("    bridge_url: null           # conference bridge", "    bridge_url: https://meet.example.com/eng  # conference bridge", 1)
    text = text.replace("  managers: []", "  managers: [U0MANAGER]", 1)
    path = directory / "policy.yaml"
    path.write_text(text)
    return path


def start_fake_slack() -> FakeSlack:
    fake = FakeSlack().start()
    for name in ("support-l1", "support-l2", "support-l3", "support-reports", "general"):
        fake.add_channel(name)
    for user_id, name in PEOPLE.items():
        fake.add_user(user_id, name)
    fake.add_usergroup("S0ONCALL", "eng-oncall", ["U0ONCALL1", "U0ONCALL2"])
    return fake


@dataclass
class RunningBot:
    runtime: Runtime
    server: BackgroundServer

    @property
    def events_url(self) -> str:
        return self.server.url + "/slack/events"

    def stop(self) -> None:
        self.server.stop()
        self.runtime.close()


def start_bot(settings: Settings, clock: ManualClock | None = None) -> RunningBot:
    runtime = build(settings, clock=clock, pace=timedelta(0))  # tests don't wait a second per channel
    check_slack(runtime, attempts=1)  # as main() does: auth.test, which Bolt then reuses
    return RunningBot(runtime=runtime, server=BackgroundServer(runtime.wsgi, threads=8).start())


def settings_for(fake: FakeSlack, database_url: str, policy_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        slack_bot_token=fake.bot_token, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
        database_url=database_url, policy_file=str(policy_file), _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


def sender_for(bot: RunningBot, fake: FakeSlack) -> SlackSender:
    return SlackSender(bot.events_url, SIGNING_SECRET, fake)


GOOD_FORM: dict[str, Any] = {
    "title": "Payroll returns 502 for everyone",
    "category": "Server and application troubleshooting",
    "severity": "high",
    "description": "Payroll web app returns 502 for every request since 08:10.",
    "error_messages": "502 Bad Gateway from lb-02",
    "troubleshooting": "Restarted the app pool; checked the load balancer health checks.",
    "business_impact": "Finance cannot run the monthly payroll due today at noon.",
    "affected_users": "40",
}


def open_modal(slack: SlackSender, fake: FakeSlack, user: str = "U0AGENT") -> dict[str, Any]:
    before = len(fake.calls_to("views.open"))
    reply = slack.slash_command(user, "", channel_id=fake.add_channel("war-room"))
    assert reply.status == 200 and reply.body == ""
    call = fake.wait_for("views.open", count=before + 1)[-1]
    assert call.response["ok"], call.response
    return fake.views[call.response["view"]["id"]]


def file_ticket(slack: SlackSender, fake: FakeSlack, bot: RunningBot, *, reporter: str = "U0AGENT",
                **changes: Any) -> dict[str, Any]:
    """Submit the New escalation modal; wait until the card is posted and the reporter told.

    Returns the card message as the fake holds it (with "channel" and "ts")."""
    before = len(tickets(bot))
    view = open_modal(slack, fake, reporter)
    reply = slack.view_submission(reporter, view, {**GOOD_FORM, **changes})
    assert reply.status == 200 and not reply.body, reply.body

    def announced() -> Ticket | None:
        rows = tickets(bot)
        kinds = timeline_kinds(bot, rows[-1].id) if len(rows) > before else []
        if rows[-1:] and len(rows) > before and rows[-1].card_ts and ("notified" in kinds or "notice_folded" in kinds):
            return rows[-1]
        return None

    ticket = fake.wait_until(announced, message="ticket filed and announced")
    settle(bot, fake)
    return card_message(fake, ticket)


def card_message(fake: FakeSlack, ticket: Ticket) -> dict[str, Any]:
    message = fake.message(ticket.card_channel, ticket.card_ts)
    assert message is not None
    return message


def ticket(bot: RunningBot, ticket_id: int) -> Ticket:
    with bot.runtime.deps.services.sessions() as session:
        return session.get_one(Ticket, ticket_id)


def press(slack: SlackSender, fake: FakeSlack, bot: RunningBot, user: str, action: str, ticket_id: int) -> Any:
    """Click a button on the ticket's current card, as `user`."""
    row = ticket(bot, ticket_id)
    return slack.block_action(user, action_id=action, value=str(ticket_id), channel_id=row.card_channel,
                              message_ts=row.card_ts)


def latest_view(fake: FakeSlack, callback_id: str, *, after: int = 0) -> dict[str, Any]:
    """Wait for the bot to open a modal with this callback id (the (after+1)-th one); return it."""
    def opened() -> list[dict[str, Any]]:
        return [c for c in fake.calls_to("views.open") if c.ok and c.response["view"].get("callback_id") == callback_id]

    fake.wait_until(lambda: len(opened()) > after, message=f"{callback_id} modal opened")
    return fake.views[opened()[after].response["view"]["id"]]


def tickets(bot: RunningBot) -> list[Ticket]:
    with bot.runtime.deps.services.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def timeline_kinds(bot: RunningBot, ticket_id: int) -> list[str]:
    with bot.runtime.deps.services.sessions() as session:
        return list(session.scalars(select(TimelineEvent.kind).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.id)))


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn string in a block tree (where Slack parses mentions and links)."""
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn_texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str) else []
        return own + [text for value in node.values() for text in mrkdwn_texts(value)]
    return []


def dms_to(fake: FakeSlack, user: str) -> list[dict[str, Any]]:
    return fake.messages(user)


def settle(bot: RunningBot, fake: FakeSlack) -> None:
    """Wait until the outbox has nothing left to send now (what the bot decided has reached fake Slack;
    a storm-control digest waits for its window to end)."""
    from models import OutboxMessage

    def idle() -> bool:
        ctx = bot.runtime.deps.services
        with ctx.sessions() as session:
            return session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= ctx.clock.now())).first() is None

    fake.wait_until(idle, message="outbox drained")
