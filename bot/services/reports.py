"""Read-side use cases: SLA reports for a period, and the weekly series the digest charts.

One read: the report kinds of the timeline (`REPORT_KINDS`) for every ticket the period touches,
with the few detail fields the figures need extracted in SQL, joined to the ticket's category and
severity; the domain folds them (`bot.domain.reports`).
"""

from __future__ import annotations

import csv
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import String, case, or_, select, type_coerce
from sqlalchemy.orm import Session

from bot.domain.exports import defuse
from bot.domain.policy import OTHER_CATEGORY
from bot.domain.reports import (
    PERIODS, REPORT_KINDS, STINT_STARTS, Report, ReportQueryInvalid, TicketHistory, build_reports, histories_of, weekly_windows,
)
from bot.domain.severity import Severity
from bot.domain.tickets import NotAllowed, ticket_ref
from bot.services.context import ServiceContext
from bot.services.tickets import calendar_of, supports
from models import Ticket, TimelineEvent

EVENTS = TimelineEvent.__table__
TICKETS = Ticket.__table__
REPORT_REFUSAL = "Only support responders and managers can see SLA reports."


def report(ctx: ServiceContext, *, since: datetime, until: datetime, level: str | None = None,
           category: str | None = None, severity: str | None = None, asked_by: str | None = None) -> Report:
    """The figures for [since, until), per level and for all levels. `asked_by`: the Slack user asking
    (a manager or a responder of any level, else NotAllowed); None for the bot itself and the
    operator's command line."""
    return _reports(ctx, [(since, until)], level=level, category=category, severity=severity, asked_by=asked_by)[0]


def recent(ctx: ServiceContext, *, period: str, level: str | None = None, category: str | None = None,
           severity: str | None = None, asked_by: str | None = None) -> Report:
    """`/escalate report 7d|30d|quarter`: the figures for that rolling window, ending now."""
    if period not in PERIODS:
        raise ReportQueryInvalid(f"There is no period {period!r}; use {', '.join(PERIODS)}.")
    until = ctx.clock.now()
    return report(ctx, since=until - PERIODS[period], until=until, level=level, category=category, severity=severity,
                  asked_by=asked_by)


def weekly(ctx: ServiceContext, *, weeks: int, until: datetime, level: str | None = None, category: str | None = None,
           severity: str | None = None, asked_by: str | None = None) -> list[Report]:
    """One report per 7-day week ending at `until`, oldest first, from one read over the whole span."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    return _reports(ctx, weekly_windows(until, weeks), level=level, category=category, severity=severity,
                    asked_by=asked_by)


def may_see_reports(ctx: ServiceContext, actor_id: str) -> bool:
    """Managers and the responders of any level (user groups expanded) may read every ticket, so the figures too."""
    return supports(ctx, actor_id)


def _reports(ctx: ServiceContext, windows: list[tuple[datetime, datetime]], *, level: str | None = None,
             category: str | None = None, severity: str | None = None, asked_by: str | None = None) -> list[Report]:
    if asked_by is not None and not may_see_reports(ctx, asked_by):
        raise NotAllowed(REPORT_REFUSAL)
    filters = _filters(ctx, level=level, category=category, severity=severity)
    keys = dict(filters)
    now = ctx.clock.now()
    since, until = windows[0][0], windows[-1][1]
    policy = ctx.policy
    with ctx.sessions() as session, cyclic_gc_paused():
        histories = read_histories(session, since=since, until=until, category=keys.get("category"),
                                   severity=keys.get("severity"))
        return build_reports(histories, windows=windows, now=now, levels=[(lv.key, lv.title) for lv in policy.levels],
                             hours={lv.key: calendar_of(ctx, lv) for lv in policy.levels}, level=keys.get("level"),
                             filters=filters)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while some 200,000 acyclic tuples are made and dropped (it would
    otherwise scan them again and again: a third of a 30-day report's time); reference counting still
    frees everything. Process-wide, for well under a second."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _filters(ctx: ServiceContext, *, level: str | None, category: str | None,
             severity: str | None) -> tuple[tuple[str, str], ...]:
    """The filters in the policy's own spelling (matched case-insensitively), or ReportQueryInvalid."""
    found: list[tuple[str, str]] = []
    if level is not None:
        keys = {lv.key.lower(): lv.key for lv in ctx.policy.levels}
        if level.lower() not in keys:
            raise ReportQueryInvalid(f"There is no level {level!r}; the levels are {', '.join(keys.values())}.")
        found.append(("level", keys[level.lower()]))
    if category is not None:
        names = {c.lower(): c for c in (*ctx.policy.categories, OTHER_CATEGORY)}
        if category.lower() not in names:
            raise ReportQueryInvalid(f"There is no category {category!r} in the policy.")
        found.append(("category", names[category.lower()]))
    if severity is not None:
        values = {s.value: s.value for s in Severity}
        if severity.lower() not in values:
            raise ReportQueryInvalid(f"There is no severity {severity!r}; use {', '.join(values)}.")
        found.append(("severity", severity.lower()))
    return tuple(found)


def _detail(key: str) -> Any:
    return EVENTS.c.details[key].as_string()


def report_query(*, since: datetime, until: datetime, category: str | None = None, severity: str | None = None,
                 sqlite: bool = False) -> Any:
    """The one statement: the report kinds of every ticket the period may touch, oldest first per ticket.

    Which tickets: filed before `until` and not closed before `since` (`closed_at` is the last close, after
    a reopen too, and nothing a report counts happens to a closed ticket), so every ticket with a report
    event in the period, or a post-mortem still open at its end, is read; the fold keeps what falls in it."""
    kinds = list(REPORT_KINDS)
    # SQLite keeps UTC times as naive text: read raw with the offset appended, fromisoformat parses them
    # several times faster than the column type's own conversion.
    at = (type_coerce(EVENTS.c.at, String) + "+00:00") if sqlite else EVENTS.c.at
    starts = EVENTS.c.kind.in_(STINT_STARTS)
    escalated = EVENTS.c.kind == "escalated"
    # Details are extracted only from the kinds that carry them (acknowledged and resolved rows, the most
    # numerous, parse no JSON at all).
    query = (
        select(EVENTS.c.ticket_id, at.label("at"), EVENTS.c.kind,
               case((escalated, _detail("to_level")),
                    (EVENTS.c.kind.in_(("routed", "reopened", "sla_breached")), _detail("level"))).label("level"),
               case((starts, _detail("response_due_at")),
                    (EVENTS.c.kind == "postmortem_requested", _detail("due_at"))).label("due"),
               case((escalated, _detail("from_level"))).label("from_level"),
               case((escalated, _detail("reason"))).label("reason"),
               TICKETS.c.category, type_coerce(TICKETS.c.severity, String).label("severity"))
        .select_from(EVENTS.join(TICKETS, TICKETS.c.id == EVENTS.c.ticket_id))
        .where(EVENTS.c.kind.in_(kinds), TICKETS.c.created_at < until,
               or_(TICKETS.c.closed_at.is_(None), TICKETS.c.closed_at >= since))
        .order_by(EVENTS.c.ticket_id, EVENTS.c.at, EVENTS.c.id)
    )
    if category is not None:
        query = query.where(TICKETS.c.category == category)
    if severity is not None:
        query = query.where(TICKETS.c.severity == severity)
    return query


def read_histories(session: Session, *, since: datetime, until: datetime, category: str | None = None,
                   severity: str | None = None) -> Iterator[TicketHistory]:
    """Each touched ticket's report events, folded into its history."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    result = session.execute(report_query(since=since, until=until, category=category, severity=severity, sqlite=sqlite))
    # Plain cursor tuples: every column is already what the fold needs (PostgreSQL's times come aware).
    return histories_of(result.cursor.fetchall(), datetime.fromisoformat if sqlite else None)


AUDIT_COLUMNS = ("ticket", "title", "category", "severity", "level", "status", "at_utc", "actor", "event", "source",
                 "details")


def export_period(ctx: ServiceContext, out: TextIO, *, since: datetime, until: datetime, level: str | None = None) -> int:
    """The auditors' CSV: one row per timeline event (whole timelines) of every ticket with an event in
    [since, until) — with `level`, of those that were at that level at some time — oldest ticket first.
    `level` and `status` are the ticket's now. Cells that a spreadsheet would run as formulas are
    defused. Returns the number of rows written."""
    keys = dict(_filters(ctx, level=level, category=None, severity=None))
    touched = select(EVENTS.c.ticket_id).where(EVENTS.c.at >= since, EVENTS.c.at < until)
    if "level" in keys:
        entered = case((EVENTS.c.kind == "escalated", _detail("to_level")), else_=_detail("level"))
        touched = touched.where(EVENTS.c.ticket_id.in_(
            select(EVENTS.c.ticket_id).where(EVENTS.c.kind.in_(STINT_STARTS), entered == keys["level"])))
    query = (
        select(TICKETS.c.id, TICKETS.c.title, TICKETS.c.category, TICKETS.c.severity, TICKETS.c.level_key,
               TICKETS.c.status, EVENTS.c.at, EVENTS.c.actor_id, EVENTS.c.kind, EVENTS.c.source, EVENTS.c.details)
        .select_from(EVENTS.join(TICKETS, TICKETS.c.id == EVENTS.c.ticket_id))
        .where(EVENTS.c.ticket_id.in_(touched))
        .order_by(EVENTS.c.ticket_id, EVENTS.c.at, EVENTS.c.id)
    )
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    written = 0
    with ctx.sessions() as session:
        for row in session.execute(query.execution_options(yield_per=2000)):
            writer.writerow([defuse(str(cell)) for cell in (
                ticket_ref(row.id), row.title, row.category, row.severity.value, row.level_key, row.status.value,
                row.at.isoformat(), row.actor_id, row.kind, row.source,
                json.dumps(row.details, ensure_ascii=False, sort_keys=True))])
            written += 1
    return written
