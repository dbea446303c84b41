"""After a Slack outage of any length, what fell due goes out within seconds of Slack answering again.

Service level, on a real database with a fixed clock: a notifier that is down for a while (every call
an HTTP 503), the sweep ticking every 2 s of simulated time as the scheduler's relay job does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.services.context import ServiceContext
from bot.services.outbox import PROBE_EVERY, RETRY_CAP, relay_all
from bot.services.messages import Delivery
from bot.services.ports import DeliveryFailed, Once
from bot.services.readmodel import MessageRef, TicketView
from bot.services.sweep import sweep
from models import OutboxMessage
from tests.integration.recording import Groups, RecordingNotifier
from tests.integration.test_timers import POLICY, file

TICK = timedelta(seconds=2)


@dataclass
class OutageSlack(RecordingNotifier):
    """Answers 503 to everything while `down`; remembers when each message got through."""

    down: bool = False
    clock: ManualClock | None = None
    calls_while_down: int = 0
    arrived: list[datetime] = field(default_factory=list)

    def _gate(self) -> None:
        if self.down:
            self.calls_while_down += 1
            raise DeliveryFailed("http_503")
        assert self.clock is not None
        self.arrived.append(self.clock.now())

    def post_card(self, card: TicketView, *, once: Once | None = None) -> MessageRef:
        self._gate()
        return super().post_card(card, once=once)

    def update_card(self, card: TicketView) -> None:
        self._gate()
        super().update_card(card)

    def deliver(self, delivery: Delivery, card: TicketView, *, once: Once | None = None) -> MessageRef | None:
        self._gate()
        return super().deliver(delivery, card, once=once)


def pending(ctx: ServiceContext) -> int:
    with ctx.sessions() as session:
        return len(session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")).all())


@pytest.mark.parametrize("outage", [timedelta(seconds=5), timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=3)],
                         ids=["5 s", "1 min", "10 min", "3 h"])
def test_everything_that_fell_due_during_an_outage_is_sent_within_10_s_of_recovery(
    engine: Engine, clock: ManualClock, outage: timedelta
) -> None:
    slack = OutageSlack(clock=clock)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=slack, directory=slack)
    slack.down = True
    tickets = [file(ctx, triggers=frozenset({"data_loss"})) for _ in range(5)]  # critical: cards, pages, alerts
    end = clock.now() + outage
    step = TICK if outage <= timedelta(minutes=10) else timedelta(minutes=1)  # a long outage: fewer ticks, same backoff
    while clock.now() < end:
        clock.advance(step)
        sweep(ctx, worker="w1")
    queued = pending(ctx)
    assert queued >= 5 * 3 and slack.arrived == []  # nothing got through
    slack.down = False
    recovered = clock.now()
    while pending(ctx) and clock.now() - recovered < timedelta(minutes=10):
        clock.advance(TICK)
        relay_all(ctx, worker="w1")
    assert pending(ctx) == 0
    lag = max(slack.arrived) - recovered
    assert lag <= timedelta(seconds=10), f"{queued} messages, the last {lag} after Slack recovered"
    with ctx.sessions() as session:
        assert session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "dead")).all() == []
    assert len(slack.cards) == len(tickets)  # each card once
    # Probing is cheap: while Slack is down, at most one probe per PROBE_EVERY on top of each row's own
    # backoff (doubling from 1-2 s, then one try per 2.5-5 min).
    per_row = math.ceil(math.log2(max(outage.total_seconds(), 2))) + 2 + outage / (RETRY_CAP / 2)
    assert slack.calls_while_down <= outage / max(PROBE_EVERY, step) + queued * per_row
    print(f"\noutage {outage}: {queued} messages queued, {slack.calls_while_down} calls while down, "
          f"all sent {lag.total_seconds():.0f} s after recovery")


def test_a_rate_limited_message_keeps_waiting_for_retry_after_even_when_slack_answers_others(
    engine: Engine, clock: ManualClock
) -> None:
    slack = OutageSlack(clock=clock)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=slack, directory=slack)
    file(ctx)
    with ctx.sessions.begin() as session:
        message = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        message.last_error, message.failing_since = "rate_limited: ratelimited", clock.now()
        message.last_attempt_at, message.next_attempt_at = clock.now(), clock.now() + timedelta(seconds=30)
        waiting = message.id
    clock.advance(timedelta(seconds=3))
    relay_all(ctx, worker="w1")  # the others go out; Slack answers
    with ctx.sessions() as session:
        row = session.get_one(OutboxMessage, waiting)
    assert row.status == "pending" and row.next_attempt_at == clock.now() + timedelta(seconds=27)


def test_at_start_up_the_claims_of_dead_processes_on_this_host_are_released_at_once(
    engine: Engine, clock: ManualClock
) -> None:
    import os
    import subprocess
    import sys

    from bot.services.claims import HOST
    from bot.services.sweep import release_dead_claims
    from models import Timer

    slack = OutageSlack(clock=clock)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=slack, directory=slack)
    file(ctx, triggers=frozenset({"data_loss"}))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = f"{HOST}:{int(gone.stdout)}", f"{HOST}:{os.getppid()}"
    with ctx.sessions.begin() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        holders = [dead, alive, f"other-host:{int(gone.stdout)}"]
        for n, row in enumerate(rows):
            row.claimed_by, row.claimed_until = holders[n % 3], clock.now() + timedelta(seconds=20)
        timer = session.scalars(select(Timer).order_by(Timer.id)).first()
        timer.claimed_by, timer.claimed_until = dead, clock.now() + timedelta(seconds=20)
    freed = release_dead_claims(ctx)
    assert freed == len([r for n, r in enumerate(rows) if n % 3 == 0]) + 1
    assert relay_all(ctx, worker="restarted") == freed - 1  # sent at once, not after the lease
    with ctx.sessions() as session:
        still = {r.claimed_by for r in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))}
        assert still == {alive, f"other-host:{int(gone.stdout)}"}  # a live process, another host: theirs
        assert session.get_one(Timer, timer.id).claimed_by is None



def test_readiness_names_each_failing_check(engine: Engine, clock: ManualClock) -> None:
    from bot.readiness import OUTBOX_LAG_LIMIT, Readiness

    ticks = [0.0]
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=OutageSlack(clock=clock), directory=Groups())
    ready = Readiness(ctx, sweep_interval=timedelta(seconds=10), monotonic=lambda: ticks[0])
    assert ready.problems() == ["slack: Slack has not answered auth.test yet"]
    ready.slack_answered()
    assert ready.problems() == []
    file(ctx)  # its messages are due now and nobody relays them
    clock.advance(OUTBOX_LAG_LIMIT + timedelta(seconds=1))
    ticks[0] = 31.0  # three sweep intervals without a sweep
    assert ready.problems() == ["outbox: a message has waited 121 s past its time", "sweep: no run in the last 30 s"]
    ready.swept()
    relay_all(ctx, worker="w1")
    assert ready.problems() == []
