"""Every effect after an ack is durable: the systemic-issue check and notice and the timeline export
go through the outbox, so a crash right after the ack or a Slack outage loses none of them.

The real bot (a `python app.py` process for the crash, in-process otherwise) against fake Slack,
with signed requests and a real database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.db import make_engine, make_sessions
from bot.services.sweep import sweep
from fakeslack import FakeSlack, SlackSender
from models import OutboxMessage, SystemicAlert, Ticket
from tests.e2e.harness import (
    GOOD_FORM, SIGNING_SECRET, RunningBot, dms_to, file_ticket, mrkdwn_texts, open_modal, settings_for, settle, start_bot,
    timeline_kinds, write_policy,
)

ROOT = Path(__file__).resolve().parents[2]
VPN = {"category": "VPN connection troubleshooting"}


def systemic_notices(fake: FakeSlack) -> list[dict]:
    return [m for m in fake.messages("#support-l3") if "Possible systemic issue" in "\n".join(mrkdwn_texts(m.get("blocks") or []))]


def after_outage(bot: RunningBot, fake: FakeSlack, clock: ManualClock) -> None:
    """Slack answers again; the scheduler's next relay ticks (a few seconds later) send what waited."""
    fake.end_outage()
    for _ in range(3):
        clock.advance(timedelta(seconds=3))
        sweep(bot.runtime.deps.services, worker="e2e")
    settle(bot, fake)  # the click's own relay may still be sending what it claimed when Slack came back


def launch(tmp_path: Path, fake: FakeSlack, database_url: str) -> tuple[subprocess.Popen[str], str]:
    """`python app.py` serving HTTP against fake Slack on this database; returns it and its events URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "POLICY_", "SMTP_"))}
    env.update(SLACK_BOT_TOKEN=fake.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
               POLICY_FILE=str(write_policy(tmp_path)), DATABASE_URL=database_url, HOST="127.0.0.1", PORT=str(port))
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    return process, f"http://127.0.0.1:{port}/slack/events"
        except OSError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "the bot did not start"
        time.sleep(0.1)


def test_a_crash_right_after_the_intake_ack_still_flags_the_systemic_issue_after_the_restart(
    fake: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    process, events_url = launch(tmp_path, fake, database_url)
    sessions = make_sessions(engine := make_engine(database_url))

    def row(ticket_id: int, kind: str) -> OutboxMessage | None:
        with sessions() as session:
            return session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id,
                                                               OutboxMessage.kind == kind)).first()

    def card_posted(ticket_id: int) -> bool:
        with sessions() as session:
            found = session.get(Ticket, ticket_id)
            return found is not None and found.card_ts is not None

    try:
        slack = SlackSender(events_url, SIGNING_SECRET, fake)
        for n in (1, 2):
            assert slack.view_submission("U0AGENT", open_modal(slack, fake), {**GOOD_FORM, **VPN}).status == 200
            fake.wait_until(lambda n=n: card_posted(n) and (r := row(n, "systemic_check")) and r.status == "sent",
                            message=f"ESC-{n} filed and checked")
        fake.delay("chat.postMessage", 60)  # the relay after the third ack hangs in its first post…
        view = open_modal(slack, fake)
        assert slack.view_submission("U0AGENT", view, {**GOOD_FORM, **VPN}).status == 200  # acked: the modal closes
        fake.wait_until(lambda: (r := row(3, "card_post")) and r.claimed_by, message="the relay started")
        process.kill()  # …and the process dies: SIGKILL, right after the ack, before the check ran
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    with sessions() as session:
        assert session.scalars(select(SystemicAlert)).all() == []
        assert row(3, "systemic_check").status == "pending"  # the check was decided with the ticket
    fake.clear_delays()
    restarted = start_bot(settings_for(fake, database_url, tmp_path / "policy.yaml"))  # frees the dead claims
    try:
        sweep(restarted.runtime.deps.services, worker="restarted")
        assert [timeline_kinds(restarted, i).count("systemic_flagged") for i in (1, 2, 3)] == [1, 1, 1]
        notices = systemic_notices(fake)
        assert len(notices) == 1 and "ESC-3" in "\n".join(mrkdwn_texts(notices[0]["blocks"]))
        with sessions() as session:
            alert = session.scalars(select(SystemicAlert)).one()
            assert (alert.notice_channel, alert.notice_ts) == (notices[0]["channel"], notices[0]["ts"])
    finally:
        restarted.stop()
        engine.dispose()


def test_with_slack_down_when_the_threshold_is_met_the_notice_arrives_once_slack_is_back(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    for n in (1, 2):
        clock.advance(timedelta(minutes=10))
        file_ticket(slack, fake, bot, title=f"VPN drops ({n})", **VPN)
    view = open_modal(slack, fake)
    fake.outage(503)
    clock.advance(timedelta(minutes=10))
    assert slack.view_submission("U0AGENT", view, {**GOOD_FORM, **VPN, "title": "VPN drops (3)"}).status == 200
    fake.wait_until(lambda: "systemic_flagged" in timeline_kinds(bot, 3), message="flagged while Slack is down")
    fake.wait_until(lambda: "delivery_failed" in timeline_kinds(bot, 3), message="the relay tried")
    assert systemic_notices(fake) == []
    after_outage(bot, fake, clock)
    notices = systemic_notices(fake)
    assert len(notices) == 1
    text = "\n".join(mrkdwn_texts(notices[0]["blocks"]))
    assert all(f"ESC-{i}" in text for i in (1, 2, 3)) and "archives" in text  # rendered when sent: with card links
    with bot.runtime.deps.services.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(["systemic_check", "systemic_notice"]))).all()
    assert {r.status for r in rows} == {"sent"}


def test_an_export_asked_for_while_slack_is_down_arrives_once_after_recovery(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot)
    fake.outage(503)
    body = urllib.parse.urlencode(slack._command_fields("U0AGENT", "export ESC-1", command="/escalate",
                                                        channel_id="C0GENERAL", user_name=None))
    assert slack.post(body).status == 200
    fake.wait_until(lambda: "delivery_failed" in timeline_kinds(bot, 1), message="the upload tried")
    assert fake.files == {} and timeline_kinds(bot, 1).count("timeline_exported") == 1
    clock.advance(timedelta(minutes=30))  # what happens meanwhile is not in the export
    after_outage(bot, fake, clock)
    assert slack.post(body).status == 200  # Slack re-sends the command: nothing more
    after_outage(bot, fake, clock)
    files = sorted(fake.files.values(), key=lambda f: f["title"])
    assert [f["title"].rsplit(".", 1)[1] for f in files] == ["csv", "json"]  # exactly one of each
    assert all(f["channel_id"] == fake.channel("U0AGENT")["id"] for f in files)
    assert b"delivery_failed" not in files[0]["content"]  # the timeline as it was when asked
    assert timeline_kinds(bot, 1).count("timeline_exported") == 1


def test_an_export_slack_refuses_is_an_expected_failure_not_the_error_boundary(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    """Issue 11, item 6: the refused upload is a dead letter on the timeline; the asker got the export's
    own reply, never "something went wrong", and nothing is logged as unexpected; then one DM saying
    the export will not come, and why."""
    file_ticket(slack, fake, bot)
    fake.fail("files.completeUploadExternal", error="invalid_channel", times=2)
    answered, dms = len(fake.responses), len(dms_to(fake, "U0AGENT"))
    slack.slash_command("U0AGENT", "export ESC-1")
    fake.wait_until(lambda: timeline_kinds(bot, 1).count("delivery_failed") == 2, message="both uploads refused")
    settle(bot, fake)
    replies = [r["body"]["text"] for r in fake.responses[answered:]]
    assert len(replies) == 1 and "on its way to your DMs" in replies[0] and "went wrong" not in replies[0]
    assert fake.files == {}
    with bot.runtime.deps.services.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "timeline_export")).all()
    assert [(r.status, r.last_error) for r in rows] == [("dead", "invalid_channel")] * 2
    (told,) = [m for m in dms_to(fake, "U0AGENT")[dms:] if "did not arrive" in m["text"]]
    assert "ESC-1" in told["text"] and "invalid_channel" in told["text"]


def test_the_export_files_are_named_per_request(bot: RunningBot, slack: SlackSender, fake: FakeSlack,
                                                 clock: ManualClock) -> None:
    """Two exports of one ticket, even in the same second: four distinct titles (a look-up by title finds one)."""
    file_ticket(slack, fake, bot)
    slack.slash_command("U0AGENT", "export ESC-1")
    slack.slash_command("U0AGENT", "export ESC-1")
    fake.wait_until(lambda: len(fake.files) == 4, message="two exports")
    assert len({f["title"] for f in fake.files.values()}) == 4


def test_a_systemic_notice_someone_deleted_is_posted_again_at_its_next_refresh(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    for n in (1, 2, 3):
        clock.advance(timedelta(minutes=5))
        file_ticket(slack, fake, bot, title=f"VPN drops ({n})", **VPN)
    (first,) = systemic_notices(fake)
    fake.delete_message(first["channel"], first["ts"])
    clock.advance(timedelta(minutes=5))
    file_ticket(slack, fake, bot, title="VPN drops (4)", **VPN)  # the alert's refresh finds its message gone
    settle(bot, fake)
    (again,) = systemic_notices(fake)
    assert all(f"ESC-{i}" in "\n".join(mrkdwn_texts(again["blocks"])) for i in (1, 2, 3, 4))
    with bot.runtime.deps.services.sessions() as session:
        alert = session.scalars(select(SystemicAlert)).one()
        assert alert.notice_ts == again["ts"]
        assert not session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")).all()
