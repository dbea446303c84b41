"""Timers end to end: the real bot's sweep against fake Slack, through rate limits and an outage."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.services.sweep import sweep
from fakeslack import FakeSlack, SlackSender
from models import OutboxMessage
from tests.e2e.harness import RunningBot, file_ticket, mrkdwn_texts, timeline_kinds


def tick(bot: RunningBot, clock: ManualClock, total: timedelta, step: timedelta = timedelta(minutes=1)) -> None:
    """What the scheduler does every SCHEDULER_INTERVAL, over simulated time."""
    end = clock.now() + total
    while clock.now() < end:
        clock.advance(step)
        sweep(bot.runtime.deps.services, worker="e2e")


def successful_posts(fake: FakeSlack, since: int) -> list[tuple[str, str]]:
    return [(c.params["channel"], "\n".join(mrkdwn_texts(c.params.get("blocks") or [])))
            for c in fake.calls[since:] if c.method == "chat.postMessage" and c.status == 200 and c.response.get("ok")]


def test_after_rate_limits_and_an_hour_long_outage_every_notification_arrives_exactly_once(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    categories = ["Database corruption and recovery", "Server and application troubleshooting", "Custom application support"]
    for n, category in enumerate(categories):  # three categories: no systemic-issue notice in the count
        file_ticket(slack, fake, bot, triggers=["data_loss"], category=category, title=f"Orders table corrupted ({n})")

    def settled() -> bool:
        with bot.runtime.deps.services.sessions() as session:
            return not session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).first()

    fake.wait_until(settled, message="intake messages relayed")
    start, started_at = len(fake.calls), clock.now()
    fake.fail("chat.postMessage", status=429, retry_after=2, times=3)
    tick(bot, clock, timedelta(minutes=16))  # pre-breach warnings and breaches fall due; the first posts are rate limited
    fake.outage(503)
    tick(bot, clock, timedelta(hours=1))  # Slack is down: follow-ups and manager notices fall due too
    fake.end_outage()
    tick(bot, clock, timedelta(hours=3), step=timedelta(minutes=5))
    with bot.runtime.deps.services.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.created_at > started_at)).all()
    assert rows and all(r.status == "sent" for r in rows), [(r.dedupe_key, r.status, r.last_error) for r in rows]
    posts = successful_posts(fake, start)
    # Every row was sent, and there are exactly as many successful posts as rows: each notification
    # went out once (two status checks may read the same, so texts alone can't tell them apart).
    assert len(posts) == len(rows)
    breaches = [p for p in posts if p[0] == "#support-l3" and "SLA breached" in p[1]]
    assert len(breaches) == 3
    manager_dms = [p for p in posts if p[0] == "U0MANAGER"]
    assert sum("SLA breach on" in text for _, text in manager_dms) == 3
    assert sum("has been open for" in text for _, text in manager_dms) == 3
    for ticket_id in (1, 2, 3):
        assert timeline_kinds(bot, ticket_id).count("sla_breached") == 1


def test_a_breach_reaches_the_channel_and_the_managers_with_buttons_to_act(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot)  # L2: 8h SLA
    tick(bot, clock, timedelta(hours=8, minutes=1), step=timedelta(minutes=30))
    breach = next(m for m in fake.messages("#support-l2") if "SLA breached" in "\n".join(mrkdwn_texts(m["blocks"])))
    actions = [e["action_id"] for b in breach["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions[:2] == ["ticket_acknowledge", "ticket_escalate"]
    dm = next(m for m in fake.messages("U0MANAGER") if "SLA breach on ESC-1" in "\n".join(mrkdwn_texts(m["blocks"])))
    assert [e["action_id"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]][:2] == [
        "ticket_escalate", "ticket_reassign"]


def test_a_status_check_lands_in_the_thread_with_a_post_update_button(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    card = file_ticket(slack, fake, bot, triggers=["data_loss"])
    slack.block_action("U0L3ENG", action_id="ticket_acknowledge", value="1", channel_id=card["channel"], message_ts=card["ts"])
    fake.wait_until(lambda: "acknowledged" in timeline_kinds(bot, 1))
    tick(bot, clock, timedelta(hours=2, minutes=1), step=timedelta(minutes=10))
    checks = [m for m in fake.thread(card["channel"], card["ts"]) if "Status check for ESC-1" in "\n".join(mrkdwn_texts(m["blocks"]))]
    assert len(checks) == 1
    text = "\n".join(mrkdwn_texts(checks[0]["blocks"]))
    assert "<@U0L3ENG>" in text and "every 2h" in text
    assert "ticket_post_update" in str(checks[0]["blocks"])


def test_a_manager_reassigns_a_breached_ticket_from_the_dm_and_the_new_assignee_hears(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    from tests.e2e.harness import latest_view, ticket

    file_ticket(slack, fake, bot)
    tick(bot, clock, timedelta(hours=8, minutes=1), step=timedelta(minutes=30))
    dm = next(m for m in fake.messages("U0MANAGER") if "SLA breach on ESC-1" in "\n".join(mrkdwn_texts(m["blocks"])))
    slack.block_action("U0STRANGER", action_id="ticket_reassign", value="1", channel_id=dm["channel"], message_ts=dm["ts"])
    slack.block_action("U0MANAGER", action_id="ticket_reassign", value="1", channel_id=dm["channel"], message_ts=dm["ts"])
    view = latest_view(fake, "reassign_ticket")
    reply = slack.view_submission("U0MANAGER", view, {"assignee": "U0ONCALL1"})
    assert reply.status == 200 and not reply.body
    fake.wait_until(lambda: "reassigned" in timeline_kinds(bot, 1))
    assert ticket(bot, 1).assignee_id == "U0ONCALL1"
    fake.wait_until(lambda: any("now assigned to <@U0ONCALL1>" in "\n".join(mrkdwn_texts(m["blocks"])) for m in fake.messages("U0ONCALL1")))
    refusals = [r for r in fake.responses if r["body"].get("text", "").startswith(":no_entry:")]
    assert len(refusals) == 1 and refusals[0]["body"]["text"].startswith(":no_entry: You can't reassign ESC-1")
