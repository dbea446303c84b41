"""Timers on a real database with a fixed clock: each fires once, at the right time, for the right state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.lifecycle import ResolutionForm, UpdateForm
from tests.policies import open_seed_policy
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import ServiceContext
from bot.services.intake import open_ticket
from bot.services.ports import DeliveryFailed
from bot.services.resolve import resolve_ticket
from bot.services.sweep import sweep
from bot.services.updates import post_update
from models import OutboxMessage, Timer, TimelineEvent
from tests.integration.recording import RecordingNotifier
from tests.integration.test_services import FORM

BASE = open_seed_policy()
POLICY = replace(BASE, management=replace(BASE.management, managers=("U0BOSS", "U0DIRECTOR")))


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock, notifier: RecordingNotifier) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=notifier)


def file(ctx: ServiceContext, **changes: object) -> int:
    return open_ticket(ctx, replace(FORM, **changes), reporter_id="U0AGENT", intake_key=None).ticket_id


def run_until(ctx: ServiceContext, clock: ManualClock, end: timedelta, step: timedelta = timedelta(minutes=5)) -> None:
    """Tick the sweep every `step` of simulated time, like the scheduler would."""
    stop = clock.now() + end
    while clock.now() < stop:
        clock.advance(step)
        sweep(ctx, worker="w1")


def kinds(ctx: ServiceContext, ticket_id: int) -> list[str]:
    with ctx.sessions() as session:
        return list(session.scalars(select(TimelineEvent.kind).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.id)))


def sent(notifier: RecordingNotifier, notice: str) -> list[str | None]:
    return [d.user or d.channel or (d.thread.channel if d.thread else None) for d, _ in notifier.deliveries if d.notice.value == notice]


def test_an_unacknowledged_ticket_breaches_once_at_its_sla_with_channel_and_manager_notices(
    ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    ticket = file(ctx)  # L2, 8h SLA
    run_until(ctx, clock, timedelta(hours=7, minutes=55))
    assert kinds(ctx, ticket).count("sla_breached") == 0
    run_until(ctx, clock, timedelta(hours=3))
    assert kinds(ctx, ticket).count("sla_breached") == 1
    assert sent(notifier, "breach") == ["#support-l2"] and sorted(sent(notifier, "breach_manager")) == ["U0BOSS", "U0DIRECTOR"]


def test_acknowledging_in_time_cancels_the_breach_and_the_warning(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket = file(ctx)
    clock.advance(timedelta(hours=1))
    acknowledge_ticket(ctx, ticket, actor_id="U0L2ENG")
    run_until(ctx, clock, timedelta(hours=10))
    assert "sla_breached" not in kinds(ctx, ticket) and "sla_warning" not in kinds(ctx, ticket)
    assert not sent(notifier, "breach") and not sent(notifier, "prebreach")


def test_the_pre_breach_warning_comes_at_three_quarters_of_the_sla(ctx: ServiceContext, clock: ManualClock) -> None:
    ticket = file(ctx)
    run_until(ctx, clock, timedelta(hours=5, minutes=55))
    assert "sla_warning" not in kinds(ctx, ticket)
    run_until(ctx, clock, timedelta(minutes=10))
    assert kinds(ctx, ticket).count("sla_warning") == 1


def test_critical_tickets_get_a_status_check_every_two_hours_and_an_update_resets_it(
    ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    ticket = file(ctx, triggers=frozenset({"data_loss"}))
    acknowledge_ticket(ctx, ticket, actor_id="U0L3ENG")
    run_until(ctx, clock, timedelta(hours=4, minutes=1))
    assert kinds(ctx, ticket).count("followup_requested") == 2  # at 2h and 4h
    post_update(ctx, ticket, actor_id="U0L3ENG", form=UpdateForm("Restoring from backup.", "", None))
    run_until(ctx, clock, timedelta(hours=1, minutes=55))
    assert kinds(ctx, ticket).count("followup_requested") == 2  # the cadence restarted at the update
    run_until(ctx, clock, timedelta(minutes=10))
    assert kinds(ctx, ticket).count("followup_requested") == 3


def test_a_promised_next_update_replaces_the_next_reminder(ctx: ServiceContext, clock: ManualClock) -> None:
    ticket = file(ctx, triggers=frozenset({"data_loss"}))
    promise = clock.now() + timedelta(hours=5)
    post_update(ctx, ticket, actor_id="U0L3ENG", form=UpdateForm("Vendor engaged; ETA five hours.", "", promise))
    run_until(ctx, clock, timedelta(hours=4, minutes=55))
    assert "followup_requested" not in kinds(ctx, ticket)
    run_until(ctx, clock, timedelta(minutes=10))
    assert kinds(ctx, ticket).count("followup_requested") == 1


def test_standard_tickets_are_asked_daily_at_nine_local(engine: Engine, clock: ManualClock, notifier: RecordingNotifier) -> None:
    from zoneinfo import ZoneInfo

    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=notifier, tz=ZoneInfo("Europe/Berlin"))
    ticket = file(ctx)  # filed 09:00 UTC = 10:00 Berlin: first check tomorrow 09:00 Berlin = 08:00 UTC
    with ctx.sessions() as session:
        due = session.scalars(select(Timer.due_at).where(Timer.ticket_id == ticket, Timer.kind == "followup")).one()
    assert due == clock.now() + timedelta(hours=23)


def test_managers_hear_once_when_a_ticket_is_open_four_hours(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket = file(ctx)
    acknowledge_ticket(ctx, ticket, actor_id="U0L2ENG")
    run_until(ctx, clock, timedelta(hours=3, minutes=55))
    assert not sent(notifier, "manager_notice")
    run_until(ctx, clock, timedelta(hours=20))
    assert sorted(sent(notifier, "manager_notice")) == ["U0BOSS", "U0DIRECTOR"]
    assert kinds(ctx, ticket).count("managers_notified") == 1


def test_resolving_stops_every_reminder(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket = file(ctx)
    resolve_ticket(ctx, ticket, actor_id="U0L2ENG", form=ResolutionForm("Fixed the pool.", "A connection leak.", "Alert earlier on pool use.", None))
    run_until(ctx, clock, timedelta(days=2), step=timedelta(minutes=30))
    assert [k for k in kinds(ctx, ticket) if k in ("sla_breached", "followup_requested", "managers_notified")] == []


def test_a_due_post_mortem_is_reminded_daily_to_its_owner(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket = file(ctx, triggers=frozenset({"security_incident"}))
    resolve_ticket(ctx, ticket, actor_id="U0L3ENG", form=ResolutionForm("Rotated the keys.", "A leaked token.", "Scan repositories for secrets.", "U0PM"))
    run_until(ctx, clock, timedelta(days=3, minutes=5), step=timedelta(hours=1))
    assert sent(notifier, "postmortem_reminder") == ["U0PM"] * 3


def test_after_downtime_one_off_timers_fire_once_late_and_reminders_coalesce(
    ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier
) -> None:
    ticket = file(ctx, triggers=frozenset({"data_loss"}))  # L3: 15m SLA, 2h follow-ups, managers at 4h
    clock.advance(timedelta(hours=10))  # the bot was down for ten hours
    sweep(ctx, worker="w1")
    assert kinds(ctx, ticket).count("sla_breached") == 1
    assert kinds(ctx, ticket).count("followup_requested") == 1  # five missed checks become one
    assert kinds(ctx, ticket).count("managers_notified") == 1
    with ctx.sessions() as session:
        fired = session.scalars(select(Timer).where(Timer.status == "fired")).all()
    assert fired and all(t.delayed for t in fired)
    sweep(ctx, worker="w1")
    assert kinds(ctx, ticket).count("followup_requested") == 1


def test_an_unresolved_ticket_is_offered_escalation_when_its_sla_window_ends(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket = file(ctx)
    acknowledge_ticket(ctx, ticket, actor_id="U0L2ENG")
    run_until(ctx, clock, timedelta(hours=8, minutes=5))
    assert kinds(ctx, ticket).count("escalation_suggested") == 1
    (delivery, _), = [(d, c) for d, c in notifier.deliveries if d.notice.value == "sla_unresolved"]
    assert delivery.extra == {"next_level": "L3 Engineering"}


def test_two_workers_sweeping_together_fire_each_timer_once(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    import threading

    tickets = [file(ctx) for _ in range(20)]
    clock.advance(timedelta(hours=9))
    barrier = threading.Barrier(2)

    def work(name: str) -> None:
        barrier.wait()
        sweep(ctx, worker=name)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for ticket in tickets:
        assert kinds(ctx, ticket).count("sla_breached") == 1
    assert len(sent(notifier, "breach")) == 20 and len(sent(notifier, "breach_manager")) == 40


class FlakySlack(RecordingNotifier):
    """For the breach notice in the channel: the scripted failures first (429s, an outage), then fine."""

    def __init__(self, script: list[DeliveryFailed | None]):
        super().__init__()
        self.script = script

    def deliver(self, delivery, card, *, once=None):  # noqa: ANN001, ANN201
        if delivery.notice.value == "breach" and self.script:
            problem = self.script.pop(0)
            if problem is not None:
                raise problem
        return super().deliver(delivery, card, once=once)


def test_rate_limits_wait_without_counting_and_outages_back_off_until_delivered_once(engine: Engine, clock: ManualClock) -> None:
    flaky = FlakySlack([DeliveryFailed("ratelimited", retry_after=30), DeliveryFailed("ratelimited", retry_after=30),
                        DeliveryFailed("http_503"), DeliveryFailed("http_503"), DeliveryFailed("http_503")])
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=flaky, directory=flaky)
    ticket = file(ctx, triggers=frozenset({"data_loss"}))
    clock.advance(timedelta(minutes=16))
    run_until(ctx, clock, timedelta(hours=3), step=timedelta(seconds=30))
    assert sent(flaky, "breach") == ["#support-l3"]
    with ctx.sessions() as session:
        breach = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "#support-l3")).one()  # the breach notice
    assert (breach.status, breach.attempts) == ("sent", 4)  # 3 outage failures + the success; the 429s didn't count
    assert kinds(ctx, ticket).count("delivery_failed") >= 3


def test_a_permanent_refusal_is_a_dead_letter_and_never_retried(engine: Engine, clock: ManualClock) -> None:
    flaky = FlakySlack([DeliveryFailed("channel_not_found", permanent=True)])
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=flaky, directory=flaky)
    file(ctx, triggers=frozenset({"data_loss"}))
    run_until(ctx, clock, timedelta(hours=1))
    with ctx.sessions() as session:
        breach = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "#support-l3")).one()  # the breach notice
    assert (breach.status, breach.last_error) == ("dead", "channel_not_found")
    assert not sent(flaky, "breach")




def test_with_business_hours_the_sla_clock_stops_overnight_and_at_the_weekend(engine: Engine, clock: ManualClock,
                                                                               notifier: RecordingNotifier) -> None:
    from datetime import time
    from zoneinfo import ZoneInfo

    from bot.domain.policy import WorkingHours

    office = WorkingHours(days=frozenset(range(5)), start=time(9), end=time(17))
    levels = tuple(replace(lv, business_hours=office) if lv.key == "L2" else lv for lv in POLICY.levels)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=replace(POLICY, levels=levels), clock=clock,
                         notifier=notifier, directory=notifier, tz=ZoneInfo("Europe/Berlin"))
    ticket = file(ctx)  # Friday 27 Nov 2026, 10:00 in Berlin; 8 working hours: 7 on Friday, 1 on Monday
    with ctx.sessions() as session:
        from models import Ticket

        due = session.get_one(Ticket, ticket).response_due_at
    assert due == clock.now() + timedelta(days=3)  # Monday 10:00 Berlin
    run_until(ctx, clock, timedelta(days=2, hours=23), step=timedelta(hours=1))  # Friday 17:00 and the weekend pass
    assert "sla_breached" not in kinds(ctx, ticket)
    run_until(ctx, clock, timedelta(hours=1, minutes=5))
    assert kinds(ctx, ticket).count("sla_breached") == 1
