"""The report service on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set): a
history made by driving the real services with a ManualClock, then the figures read back from it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.lifecycle import EscalationForm, ResolutionForm
from bot.domain.reports import ReportQueryInvalid
from bot.domain.severity import Severity
from bot.domain.tickets import NotAllowed
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import ServiceContext
from bot.services.escalate import escalate_ticket
from bot.services.intake import open_ticket
from bot.services.reports import report, weekly
from bot.services.resolve import reopen_ticket, resolve_ticket
from bot.services.sweep import sweep
from tests.integration.recording import Groups, RecordingNotifier
from tests.integration.test_services import FORM
from tests.policies import open_seed_policy

BASE = open_seed_policy()
POLICY = replace(BASE, management=replace(BASE.management, managers=("U0BOSS",)))
H, M = timedelta(hours=1), timedelta(minutes=1)
FIXED = ResolutionForm("Fixed the pool.", "A leak in the pool.", "Alert earlier.", None)


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=RecordingNotifier(), directory=Groups())


def file(ctx: ServiceContext, **changes: object) -> int:
    return open_ticket(ctx, replace(FORM, **changes), reporter_id="U0AGENT", intake_key=None).ticket_id


def at(ctx: ServiceContext, clock: ManualClock, start, offset: timedelta) -> None:  # noqa: ANN001
    """Move the clock to start + offset, sweeping on the way as the scheduler would."""
    clock.set(start + offset)
    sweep(ctx, worker="w1")


@pytest.fixture
def history(ctx: ServiceContext, clock: ManualClock) -> dict[str, int]:
    """A at L1 (resolved, reopened, resolved); B at L2 escalated mid-SLA to L3; C at L2 breached;
    D critical at L3 whose post-mortem goes overdue."""
    t0 = clock.now()
    a = file(ctx, category="Password resets and account lockouts", severity=Severity.LOW)
    b = file(ctx)
    c = file(ctx, category="Database connectivity problems")
    d = file(ctx, category="Security incidents and breaches", severity=Severity.CRITICAL)
    at(ctx, clock, t0, 5 * M)
    acknowledge_ticket(ctx, d, actor_id="U0L3ENG")
    at(ctx, clock, t0, 30 * M)
    resolve_ticket(ctx, d, actor_id="U0L3ENG", form=replace(FIXED, postmortem_owner="U0L3ENG"))
    at(ctx, clock, t0, H)
    acknowledge_ticket(ctx, a, actor_id="U0L1ENG")
    at(ctx, clock, t0, 2 * H)
    resolve_ticket(ctx, a, actor_id="U0L1ENG", form=FIXED)
    escalate_ticket(ctx, b, actor_id="U0L2ENG", form=EscalationForm("complexity", "L3", FORM.business_impact,
                                                                    FORM.troubleshooting, "Needs engineering."))
    at(ctx, clock, t0, 2 * H + 10 * M)
    acknowledge_ticket(ctx, b, actor_id="U0L3ENG")
    at(ctx, clock, t0, 3 * H)
    resolve_ticket(ctx, b, actor_id="U0L3ENG", form=FIXED)
    for hour in range(4, 6):
        at(ctx, clock, t0, hour * H)  # C's manager notice at 4h
    reopen_ticket(ctx, a, actor_id="U0AGENT")
    at(ctx, clock, t0, 5 * H + 30 * M)
    acknowledge_ticket(ctx, a, actor_id="U0L1ENG")
    at(ctx, clock, t0, 6 * H)
    resolve_ticket(ctx, a, actor_id="U0L1ENG", form=FIXED)
    for hour in range(7, 10):
        at(ctx, clock, t0, hour * H)  # C breaches at 8h
    at(ctx, clock, t0, timedelta(days=6))  # D's post-mortem (due after 5 days) is overdue
    return {"A": a, "B": b, "C": c, "D": d, "t0": t0}  # type: ignore[dict-item]


def test_the_report_reads_each_levels_figures_from_the_timeline(ctx: ServiceContext, clock: ManualClock,
                                                                history: dict) -> None:
    figures = report(ctx, since=history["t0"] - H, until=clock.now(), asked_by="U0BOSS")
    l1, l2, l3 = figures.levels
    assert (l1.opened, l1.stints, l1.acknowledged, l1.mtta, l1.attainment) == (1, 2, 2, 45 * M, 1.0)
    assert (l1.resolved, l1.mttr, l1.mttr_median) == (2, 90 * M, 90 * M)  # 2h, then 1h from the reopen
    assert (l2.opened, l2.acknowledged, l2.mtta) == (2, 0, None)
    assert (l2.sla_counted, l2.attainment) == (1, 0.0)  # B left for L3 before its due: no verdict; C breached
    assert (l2.breaches, l2.manager_notices, l2.escalations) == (1, 1, (("complexity", 1),))
    assert (l3.opened, l3.acknowledged, l3.mtta, l3.attainment) == (2, 2, 7.5 * M, 1.0)  # D 5m, B 10m at L3
    assert (l3.resolved, l3.mttr) == (2, 105 * M)  # D 30m, B 3h from filing
    assert (l3.postmortems_done, l3.postmortems_overdue) == (0, 1)
    total = figures.total
    assert (total.opened, total.acknowledged, total.resolved, total.breaches, total.postmortems_overdue) == (4, 4, 4, 1, 1)
    assert total.top_categories[0] == ("Database connectivity problems", 1) and len(total.top_categories) == 4


def test_filters_keep_the_tickets_of_a_category_a_severity_or_a_level(ctx: ServiceContext, clock: ManualClock,
                                                                     history: dict) -> None:
    since, until = history["t0"] - H, clock.now()
    database = report(ctx, since=since, until=until, category="database connectivity problems")
    assert (database.total.opened, database.total.breaches, database.filters) == (
        1, 1, (("category", "Database connectivity problems"),))
    critical = report(ctx, since=since, until=until, severity="critical")
    assert (critical.total.opened, critical.total.postmortems_overdue, critical.total.breaches) == (1, 1, 0)
    l3 = report(ctx, since=since, until=until, level="l3")
    assert [f.level for f in l3.levels] == ["L3"] and l3.total.opened == 2 and l3.filters == (("level", "L3"),)
    with pytest.raises(ReportQueryInvalid, match="no level 'L9'"):
        report(ctx, since=since, until=until, level="L9")
    with pytest.raises(ReportQueryInvalid, match="no category"):
        report(ctx, since=since, until=until, category="Coffee machine")


def test_weekly_reports_come_from_one_read_oldest_first(ctx: ServiceContext, clock: ManualClock, history: dict) -> None:
    weeks = weekly(ctx, weeks=3, until=clock.now())
    assert [w.until - w.since for w in weeks] == [timedelta(days=7)] * 3 and weeks[-1].until == clock.now()
    assert [w.total.opened for w in weeks] == [0, 0, 4]
    assert weeks[-1].total == report(ctx, since=clock.now() - timedelta(days=7), until=clock.now()).total


def test_someone_who_neither_manages_nor_responds_is_refused(engine: Engine, clock: ManualClock) -> None:
    named = replace(POLICY, levels=tuple(replace(lv, responders=(f"U0{lv.key}ENG",), open_to_everyone=False)
                                         for lv in POLICY.levels))
    ctx = ServiceContext(sessions=make_sessions(engine), policy=named, clock=clock, notifier=RecordingNotifier(), directory=Groups())
    with pytest.raises(NotAllowed, match="Only support responders and managers"):
        report(ctx, since=clock.now() - H, until=clock.now(), asked_by="U0AGENT")
    assert report(ctx, since=clock.now() - H, until=clock.now(), asked_by="U0L2ENG").total.opened == 0
    assert report(ctx, since=clock.now() - H, until=clock.now(), asked_by="U0BOSS").total.opened == 0
