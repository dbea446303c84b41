"""The dry-run shows what the real timers do: a ticket filed through the intake service on a real
database gets timer rows due exactly when the preview says, follow-ups included as they re-arm."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.preview import StepKind, dry_run
from bot.domain.severity import Severity
from bot.domain.timers import TimerKind
from bot.services.context import ServiceContext
from bot.services.intake import open_ticket
from bot.services.sweep import sweep
from models import Ticket, Timer, TimerStatus
from tests.integration.recording import Groups, RecordingNotifier
from tests.integration.test_services import FORM
from tests.unit.test_preview import staffed_policy

BERLIN = ZoneInfo("Europe/Berlin")
STEP_TIMERS = {StepKind.PREBREACH: TimerKind.PREBREACH, StepKind.BREACH: TimerKind.RESPONSE_BREACH,
               StepKind.ESCALATION_SUGGESTED: TimerKind.SLA_UNRESOLVED, StepKind.FOLLOWUP: TimerKind.FOLLOWUP,
               StepKind.MANAGER_NOTICE: TimerKind.MANAGER_NOTICE}
CASES = {
    # a security incident: L3, critical, 15m, follow-ups every 2h
    "critical trigger": (datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc), Severity.MEDIUM,
                         {"triggers": frozenset({"security_incident"})}),
    # L2 with business hours, filed on Friday evening the weekend the clocks go back
    "business hours across DST": (datetime(2026, 10, 23, 17, 30, tzinfo=timezone.utc), Severity.HIGH,
                                  {"category": "Database connectivity problems", "affected_users": 3}),
}


@pytest.mark.parametrize("case", CASES)
def test_the_preview_lists_the_timers_the_intake_schedules_and_the_followups_as_they_fire(engine: Engine, case: str) -> None:
    filed_at, severity, form_changes = CASES[case]
    policy = staffed_policy(business_hours_l2=True)
    clock = ManualClock(filed_at)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=policy, clock=clock, notifier=RecordingNotifier(), directory=Groups(), tz=BERLIN)
    form = replace(FORM, severity=severity, **form_changes)
    trigger = policy.trigger(next(iter(form.triggers))) if form.triggers else None
    preview = dry_run(policy, severity=severity, category=None if trigger else form.category, trigger=trigger,
                      affected_users=form.affected_users, now=filed_at, tz=BERLIN)
    expected = sorted((STEP_TIMERS[s.kind].value, s.at) for s in preview.steps if s.kind in STEP_TIMERS)

    ticket_id = open_ticket(ctx, form, reporter_id="U0AGENT", intake_key=None).ticket_id
    with ctx.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.level_key, ticket.severity, ticket.response_due_at) == (preview.level.key, preview.severity, preview.response_due)
        pending = session.scalars(select(Timer).where(Timer.ticket_id == ticket_id)).all()
    first_followup = min(at for kind, at in expected if kind == TimerKind.FOLLOWUP.value)
    scheduled = sorted((t.kind, t.due_at) for t in pending)
    assert scheduled == sorted((k, at) for k, at in expected if k != TimerKind.FOLLOWUP.value or at == first_followup)

    # Nobody acknowledges: move the clock to each due time in turn and let the sweep fire what is due.
    while True:
        with ctx.sessions() as session:
            due = session.scalar(select(Timer.due_at).where(Timer.ticket_id == ticket_id, Timer.status == TimerStatus.PENDING.value)
                                 .order_by(Timer.due_at).limit(1))
            fired = session.scalars(select(Timer).where(Timer.ticket_id == ticket_id, Timer.status == TimerStatus.FIRED.value)).all()
        if len([t for t in fired if t.kind == TimerKind.FOLLOWUP.value]) == len([k for k, _ in expected if k == TimerKind.FOLLOWUP.value]):
            break
        assert due is not None
        clock.set(due)
        sweep(ctx, worker="w1")
    assert sorted((t.kind, t.due_at) for t in fired) == [(k, at) for k, at in expected if at <= clock.now()]
    assert [t.delayed for t in fired] == [False] * len(fired)
