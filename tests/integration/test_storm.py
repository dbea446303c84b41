"""Storm control in the outbox: the limit per recipient and window, the digest, and what joins it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.services.context import Burst, ServiceContext
from bot.services.delivery import enqueue_notice
from bot.services.outbox import relay_all
from bot.services.messages import Notice
from models import OutboxMessage
from tests.integration.recording import RecordingNotifier
from tests.integration.test_timers import POLICY, file


def context(engine: Engine, clock: ManualClock, burst: Burst | None) -> tuple[ServiceContext, RecordingNotifier]:
    slack = RecordingNotifier()
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=slack, directory=slack, burst=burst), slack


def notify(ctx: ServiceContext, tickets: list[int], user: str = "U0BOSS", tag: str = "a") -> None:
    with ctx.sessions.begin() as session:
        for t in tickets:
            enqueue_notice(session, key=f"test:{tag}:{t}:{user}", ticket_id=t, notice=Notice.MANAGER_NOTICE, user=user,
                           now=ctx.clock.now())


def dms(slack: RecordingNotifier, user: str) -> int:
    return sum(1 for d, _ in slack.deliveries if d.user == user and d.notice is Notice.MANAGER_NOTICE)


def test_past_the_limit_notices_wait_for_one_digest_per_window_and_other_recipients_are_unaffected(
    engine: Engine, clock: ManualClock
) -> None:
    ctx, slack = context(engine, clock, Burst(limit=2, window=timedelta(minutes=1)))
    tickets = [file(ctx, title=f"Ticket {n}") for n in range(5)]
    relay_all(ctx)
    notify(ctx, tickets)
    notify(ctx, tickets[:1], user="U0DIRECTOR")
    relay_all(ctx)
    assert dms(slack, "U0BOSS") == 2 and dms(slack, "U0DIRECTOR") == 1
    assert not [d for d in slack.digests if d.user == "U0BOSS"]
    clock.advance(timedelta(minutes=1, seconds=3))
    relay_all(ctx)
    (digest,) = [d for d in slack.digests if d.user == "U0BOSS"]
    assert digest.user == "U0BOSS" and [i.ref for i in digest.items] == [f"ESC-{t}" for t in tickets[2:]]
    assert {i.notice for i in digest.items} == {Notice.MANAGER_NOTICE}
    with ctx.sessions() as session:
        assert {r.status for r in session.scalars(select(OutboxMessage))} == {"sent"}


def test_storm_control_off_sends_every_notice(engine: Engine, clock: ManualClock) -> None:
    ctx, slack = context(engine, clock, None)
    tickets = [file(ctx, title=f"Ticket {n}") for n in range(6)]
    relay_all(ctx)
    notify(ctx, tickets)
    relay_all(ctx)
    assert dms(slack, "U0BOSS") == 6 and not slack.digests


def test_a_digest_once_tried_takes_no_more_notices_they_go_to_the_next_window(engine: Engine, clock: ManualClock) -> None:
    ctx, slack = context(engine, clock, Burst(limit=1, window=timedelta(minutes=1)))
    tickets = [file(ctx, title=f"Ticket {n}") for n in range(4)]
    relay_all(ctx)
    notify(ctx, tickets[:2])
    relay_all(ctx)  # one sent, one folded
    with ctx.sessions.begin() as session:  # the digest was tried once (its answer lost, say)
        session.execute(update(OutboxMessage).where(OutboxMessage.kind == "digest").values(attempts=1))
    notify(ctx, tickets[2:], tag="b")
    relay_all(ctx)
    with ctx.sessions() as session:
        keys = {r.digest_key for r in session.scalars(select(OutboxMessage).where(
            OutboxMessage.status == "folded", OutboxMessage.recipient == "U0BOSS"))}
    assert len(keys) == 2  # the late notices wait for the next window's digest
    clock.advance(timedelta(minutes=3))
    relay_all(ctx)
    boss = [d for d in slack.digests if d.user == "U0BOSS"]
    assert sorted(len(d.items) for d in boss) == [1, 2]
    assert sum(len(d.items) for d in boss) + dms(slack, "U0BOSS") == 4  # nothing dropped
