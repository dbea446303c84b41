"""Exactly one copy in Slack: a post whose outcome is unknown is looked up (by the outbox key it carries
as message metadata) before it is sent again — the real bot against fake Slack losing answers."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.services.outbox import relay_due
from bot.services.sweep import sweep
from bot.slack.gateway import METADATA_EVENT
from fakeslack import FakeSlack, SlackSender
from models import OutboxMessage
from tests.e2e.harness import GOOD_FORM, RunningBot, file_ticket, open_modal, press, ticket, tickets, timeline_kinds

POSTING = ("notice", "card_post")  # the kinds that become one chat.postMessage each


def copies(fake: FakeSlack) -> Counter[str]:
    """How many messages in Slack carry each outbox key."""
    keys = Counter()
    for message in fake.all_messages():
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT:
            keys[metadata["event_payload"]["outbox_key"]] += 1
    return keys


def rows(bot: RunningBot) -> list[OutboxMessage]:
    with bot.runtime.deps.services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def relay_until_settled(bot: RunningBot, clock: ManualClock, fake: FakeSlack, *, rounds: int = 20) -> None:
    """What the relay does every 2 s, with the clock moving past each backoff. The bot's own relay thread
    is let finish what it holds first: moving the clock past a live send's lease would make this pass take
    that row over as a dead sender's, and look it up."""
    for _ in range(rounds):
        fake.wait_until(lambda: all(r.claimed_until is None for r in rows(bot)), message="the bot's sends finished")
        if all(r.status != "pending" for r in rows(bot)):
            return
        clock.advance(timedelta(seconds=10))
        relay_due(bot.runtime.deps.services, worker="e2e")
    raise AssertionError([(r.dedupe_key, r.status, r.last_error) for r in rows(bot) if r.status == "pending"])


def test_a_card_whose_answer_was_dropped_is_found_in_the_channel_and_not_posted_again(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    view = open_modal(slack, fake)
    fake.lose_answer("chat.postMessage")  # the card reaches the channel; the connection drops before the answer
    assert slack.view_submission("U0AGENT", view, GOOD_FORM).status == 200
    fake.wait_until(lambda: "delivery_failed" in timeline_kinds(bot, 1), message="the lost answer noticed")
    card_row = next(r for r in rows(bot) if r.kind == "card_post")
    assert card_row.status == "pending" and card_row.in_doubt_since is not None
    relay_until_settled(bot, clock, fake)
    cards = [m for m in fake.messages("#support-l2") if not m.get("thread_ts")]
    assert len(cards) == 1  # one card, not an orphan plus a copy
    row = ticket(bot, 1)
    assert (row.card_channel, row.card_ts) == (cards[0]["channel"], cards[0]["ts"])  # the ticket points at it
    assert fake.calls_to("conversations.history")  # it looked before deciding
    assert all(n == 1 for n in copies(fake).values()), copies(fake)
    assert press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1).status == 200  # the one card's buttons work
    fake.wait_until(lambda: ticket(bot, 1).status == "acknowledged", message="acknowledged from the card")
    fake.wait_until(lambda: fake.message(row.card_channel, row.card_ts)["edited"], message="the card updated in place")


def test_notices_whose_answers_came_after_the_timeout_or_never_are_sent_once_each(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot, triggers=["data_loss"])  # critical: breach notices go to the channel, thread and managers
    fake.lose_answer("chat.postMessage", times=4)  # the next four posts land, and nobody hears back
    clock.advance(timedelta(minutes=20))
    sweep(bot.runtime.deps.services, worker="e2e")  # the breach and pre-breach notices fall due
    assert any(r.in_doubt_since is not None for r in rows(bot) if r.status == "pending")
    relay_until_settled(bot, clock, fake)
    posting = [r for r in rows(bot) if r.kind in POSTING]
    assert all(r.status == "sent" for r in posting)
    counted = copies(fake)
    assert {r.dedupe_key for r in posting} == set(counted)  # every message is in Slack…
    assert set(counted.values()) == {1}, counted  # …once
    assert Counter(timeline_kinds(bot, 1))["notified"] == sum(1 for r in posting if r.kind == "notice")


def test_a_post_in_a_public_channel_the_bot_never_joined_is_looked_up_after_joining(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    level1 = fake.channel("#support-l2")["id"]
    fake.add_channel("support-l2", id=level1, bot_member=False)  # cards go there through chat:write.public
    view = open_modal(slack, fake)
    fake.lose_answer("chat.postMessage")
    assert slack.view_submission("U0AGENT", view, GOOD_FORM).status == 200
    fake.wait_until(lambda: "delivery_failed" in timeline_kinds(bot, 1), message="the lost answer noticed")
    relay_until_settled(bot, clock, fake)
    assert [c.params["channel"] for c in fake.calls_to("conversations.join")] == [level1]
    assert len([m for m in fake.messages(level1) if not m.get("thread_ts")]) == 1


def lookups(fake: FakeSlack) -> int:
    return len(fake.calls_to("conversations.history")) + len(fake.calls_to("conversations.replies"))


def test_a_rate_limited_post_is_sent_without_a_lookup_and_a_5xx_one_is_looked_up_first(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    for failure, looked in ((dict(status=429, retry_after=1), False), (dict(status=503), True)):
        before, count = lookups(fake), len(tickets(bot))
        view = open_modal(slack, fake)
        fake.fail("chat.postMessage", **failure)  # 429: surely not posted; 503: Slack may have posted it
        assert slack.view_submission("U0AGENT", view, GOOD_FORM).status == 200
        fake.wait_until(lambda: len(tickets(bot)) > count and any(r.last_error for r in rows(bot) if r.status == "pending"),
                        message="the failed card post")
        relay_until_settled(bot, clock, fake)
        assert (lookups(fake) > before) is looked, failure
    assert set(copies(fake).values()) == {1}
    assert all(t.card_ts for t in tickets(bot))
