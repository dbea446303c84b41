"""SLA report figures, computed from the timeline (pure: the service hands in what it read).

The contract between the report service, the `/escalate report` reply, the weekly digest and its
chart, and `python -m bot report`. How each figure is counted is defined in the README ("Reports").

Two steps: `history_of` folds one ticket's timeline (the few kinds `REPORT_KINDS` lists, in order)
into stints, resolutions and markers; `build_report` counts those that fall in [since, until).
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from bot.domain.schedule import BusinessHours, business_time_between
from bot.domain.tickets import DomainError

ALL_LEVELS = "all"
TOP_CATEGORIES = 5
# The timeline kinds a report reads; every other event (notices sent, updates, reminders…) is ignored.
STINT_STARTS = ("routed", "escalated", "reopened")
REPORT_KINDS = (*STINT_STARTS, "acknowledged", "resolved", "sla_breached", "managers_notified",
                "postmortem_requested", "postmortem_completed")
# `/escalate report 7d|30d|quarter`: rolling windows ending now ("quarter" is the last 90 days).
PERIODS: dict[str, timedelta] = {"7d": timedelta(days=7), "30d": timedelta(days=30), "quarter": timedelta(days=90)}
DEFAULT_PERIOD = "7d"


@dataclass(frozen=True)
class LevelFigures:
    """One level's figures for a period (or all levels together, `level == "all"`)."""

    level: str  # level key, or "all"
    title: str  # "L2 Technical Support", or "All levels"
    opened: int = 0  # tickets that started a stint at this level in the period (filed, escalated in, reopened)
    acknowledged: int = 0
    mtta: timedelta | None = None  # mean time to acknowledge; None: nothing acknowledged
    mtta_median: timedelta | None = None
    mttr: timedelta | None = None  # mean time to resolve
    mttr_median: timedelta | None = None
    resolved: int = 0
    attainment: float | None = None  # 0..1 share of stints acknowledged within the response SLA; None: nothing counted
    sla_counted: int = 0  # stints the attainment is over
    breaches: int = 0
    escalations: tuple[tuple[str, int], ...] = ()  # (reason key, count) escalated away from this level, most first
    manager_notices: int = 0
    top_categories: tuple[tuple[str, int], ...] = ()  # (category, count), most first, at most five
    postmortems_done: int = 0
    postmortems_overdue: int = 0
    stints: int = 0  # stints started at this level in the period (a ticket reopened twice counts twice)
    sla_met: int = 0  # of `sla_counted`, those acknowledged by their response due


@dataclass(frozen=True)
class Report:
    since: datetime  # aware UTC, inclusive
    until: datetime  # aware UTC, exclusive
    levels: tuple[LevelFigures, ...]  # in the policy's level order
    total: LevelFigures
    filters: tuple[tuple[str, str], ...] = field(default=())  # ("level", "L2"), ("category", …), ("severity", …)
    as_of: datetime | None = None  # when it was computed: open stints and post-mortems are judged as of then


class ReportQueryInvalid(DomainError):
    """A report asked for a level or category the policy does not know."""


# --- one ticket's timeline, folded ------------------------------------------------------------

class Fact(NamedTuple):
    """One timeline event as a report reads it (the service selects these columns by these names)."""

    at: datetime
    kind: str
    level: str | None = None  # routed/reopened: `level`; escalated: `to_level`; sla_breached: `level`
    due: datetime | None = None  # routed/escalated/reopened: `response_due_at`; postmortem_requested: `due_at`
    from_level: str | None = None  # escalated
    reason: str | None = None  # escalated: the reason key


class Stint(NamedTuple):
    """A ticket's time at one level: from being routed, escalated or reopened into it to its end."""

    level: str
    start: datetime
    due: datetime | None  # the response due the event recorded (business hours already counted)
    acknowledged: datetime | None = None
    end: datetime | None = None  # escalated away or resolved; None: still there
    entry: str = "routed"  # routed | escalated | reopened


class Resolution(NamedTuple):
    level: str
    clock_start: datetime  # filed, or the last reopen before it
    at: datetime


class Marker(NamedTuple):
    """Something that happened at a level at a moment: a breach, a manager notice."""

    level: str
    at: datetime


class Escalation(NamedTuple):
    from_level: str
    reason: str
    at: datetime


class Postmortem(NamedTuple):
    level: str  # the level that resolved the ticket
    requested: datetime
    due: datetime | None
    completed: datetime | None = None
    cancelled: datetime | None = None  # the ticket was reopened before it was written


class TicketHistory(NamedTuple):
    ticket_id: int
    category: str
    severity: str
    stints: tuple[Stint, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    breaches: tuple[Marker, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    notices: tuple[Marker, ...] = ()
    postmortems: tuple[Postmortem, ...] = ()


def history_of(ticket_id: int, category: str, severity: str, facts: Iterable[Fact]) -> TicketHistory:
    """Fold one ticket's report events (in timeline order) into stints, resolutions and markers."""
    rows = ((ticket_id, f.at, f.kind, f.level, f.due, f.from_level, f.reason, category, severity) for f in facts)
    return next(histories_of(rows), TicketHistory(ticket_id, category, severity))


def histories_of(rows: Iterable[Sequence], moment: Callable[[Any], datetime] | None = None) -> Iterator[TicketHistory]:
    """Fold many tickets' report events, grouped by ticket and in timeline order, as rows
    (ticket_id, at, kind, level, due, from_level, reason, category, severity). `moment` turns a stored
    `at` into an aware datetime (None: it already is one); `due` may be ISO text, as the timeline's
    details hold it. One pass with no per-event objects: a 30-day report folds some 200,000 events."""
    ticket_id: Any = None
    category = severity = ""
    stints: list[list] = []  # [level, start, due, acknowledged, end, entry]
    resolutions: list[Resolution] = []
    breaches: list[Marker] = []
    escalations: list[Escalation] = []
    notices: list[Marker] = []
    postmortems: list[list] = []  # [level, requested, due, completed, cancelled]
    clock_start: datetime | None = None
    level = ""
    current: list | None = None
    for row in rows:
        if row[0] != ticket_id:
            if ticket_id is not None:
                yield _history(ticket_id, category, severity, stints, resolutions, breaches, escalations, notices,
                               postmortems)
            ticket_id, category, severity = row[0], row[7], row[8]
            stints, resolutions, breaches, escalations, notices, postmortems = [], [], [], [], [], []
            clock_start, level, current = None, "", None
        at = row[1] if moment is None else moment(row[1])
        kind = row[2]
        if kind in _STARTS:
            if current is not None:
                current[4] = at
            if kind == "escalated":
                escalations.append(_new(Escalation, (row[5] or level, row[6] or "other", at)))
                if clock_start is None:
                    clock_start = at
            else:
                clock_start = at  # filed or reopened: the resolution clock starts (over)
                if kind == "reopened":
                    for pm in postmortems:
                        if pm[3] is None and pm[4] is None:
                            pm[4] = at
            level = row[3] or level
            current = [level, at, _due(row[4]), None, None, kind]
            stints.append(current)
        elif kind == "acknowledged":
            if current is not None and current[3] is None:
                current[3] = at
        elif kind == "resolved":
            if current is not None:
                current[4] = at
                current = None
            resolutions.append(_new(Resolution, (level, clock_start or at, at)))
        elif kind == "sla_breached":
            breaches.append(_new(Marker, (row[3] or level, at)))
        elif kind == "managers_notified":
            notices.append(_new(Marker, (level, at)))
        elif kind == "postmortem_requested":
            postmortems.append([level, at, _due(row[4]), None, None])
        elif kind == "postmortem_completed":
            for pm in postmortems:
                if pm[3] is None and pm[4] is None:
                    pm[3] = at
    if ticket_id is not None:
        yield _history(ticket_id, category, severity, stints, resolutions, breaches, escalations, notices, postmortems)


def _history(ticket_id: int, category: str, severity: str, stints: list[list], resolutions: list[Resolution],
             breaches: list[Marker], escalations: list[Escalation], notices: list[Marker],
             postmortems: list[list]) -> TicketHistory:
    return _new(TicketHistory, (ticket_id, category, severity, tuple([_new(Stint, s) for s in stints]), tuple(resolutions),
                                tuple(breaches), tuple(escalations), tuple(notices),
                                tuple([_new(Postmortem, p) for p in postmortems])))


def _due(value: Any) -> datetime | None:
    """A due time as the timeline's details store it (ISO 8601 text), or already a datetime."""
    if not value or isinstance(value, datetime):
        return value or None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


_STARTS = frozenset(STINT_STARTS)
_new = tuple.__new__  # builds a NamedTuple from its fields in order without the Python-level __new__ (5x faster)


# --- a period's figures -------------------------------------------------------------------------

@dataclass
class _Tally:
    tickets: set[int] = field(default_factory=set)
    categories: dict[int, str] = field(default_factory=dict)
    stints: int = 0
    to_ack: list[timedelta] = field(default_factory=list)
    counted: int = 0
    met: int = 0
    to_resolve: list[timedelta] = field(default_factory=list)
    breaches: int = 0
    reasons: Counter = field(default_factory=Counter)
    notices: int = 0
    pm_done: int = 0
    pm_overdue: int = 0

    def figures(self, level: str, title: str) -> LevelFigures:
        return LevelFigures(
            level=level, title=title, opened=len(self.tickets), acknowledged=len(self.to_ack),
            mtta=_mean(self.to_ack), mtta_median=_median(self.to_ack), mttr=_mean(self.to_resolve),
            mttr_median=_median(self.to_resolve), resolved=len(self.to_resolve),
            attainment=self.met / self.counted if self.counted else None, sla_counted=self.counted,
            breaches=self.breaches, escalations=_most(self.reasons), manager_notices=self.notices,
            top_categories=_most(Counter(self.categories.values()))[:TOP_CATEGORIES],
            postmortems_done=self.pm_done, postmortems_overdue=self.pm_overdue, stints=self.stints, sla_met=self.met,
        )


def _mean(values: list[timedelta]) -> timedelta | None:
    return sum(values, timedelta(0)) / len(values) if values else None


def _median(values: list[timedelta]) -> timedelta | None:
    return statistics.median(values) if values else None


def _most(counter: Counter) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def sla_verdict(stint: Stint, now: datetime) -> bool | None:
    """True: acknowledged by its response due; False: a miss (acknowledged late, or unacknowledged
    past its due, whether still open or ended after the due); None: no verdict (no due recorded,
    still open and not yet due, or ended unacknowledged before its due: escalated or resolved in time)."""
    if stint.due is None:
        return None
    if stint.acknowledged is not None:
        return stint.acknowledged <= stint.due
    ended = stint.end if stint.end is not None else now
    return False if ended > stint.due else None


def build_report(histories: Iterable[TicketHistory], *, since: datetime, until: datetime, now: datetime,
                 levels: Sequence[tuple[str, str]], hours: Mapping[str, BusinessHours | None] | None = None,
                 level: str | None = None, filters: tuple[tuple[str, str], ...] = ()) -> Report:
    """Each level's figures for [since, until), and all levels together; `levels` is (key, title) in the
    policy's order; `hours` the business hours of the levels that have them; `level` keeps one level.
    Open stints are judged as of `now`; post-mortems overdue as of min(until, now)."""
    return build_reports(histories, windows=[(since, until)], now=now, levels=levels, hours=hours, level=level,
                         filters=filters)[0]


def build_reports(histories: Iterable[TicketHistory], *, windows: Sequence[tuple[datetime, datetime]], now: datetime,
                  levels: Sequence[tuple[str, str]], hours: Mapping[str, BusinessHours | None] | None = None,
                  level: str | None = None, filters: tuple[tuple[str, str], ...] = ()) -> list[Report]:
    """One report per window, from one pass over the histories (the weekly digest's weeks). The windows
    are in order and do not overlap, so each moment falls in at most one (found by bisection)."""
    if any(a[1] > b[0] for a, b in zip(windows, windows[1:])) or any(s >= u for s, u in windows):
        raise ValueError("windows must be non-empty, in order and not overlapping")
    hours = hours or {}
    keys = [key for key, _ in levels if level is None or key == level]
    tallies = [{key: _Tally() for key in keys} for _ in windows]
    totals = [_Tally() for _ in windows]
    starts = [since for since, _ in windows]
    untils = [until for _, until in windows]
    pm_as_of = [min(until, now) for until in untils]
    first, last = starts[0], untils[-1]

    def window(moment: datetime) -> int:
        """The index of the window holding `moment`, or -1."""
        if moment < first or moment >= last:
            return -1
        i = bisect_right(starts, moment) - 1
        return i if moment < untils[i] else -1

    for h in histories:
        for s in h.stints:
            if (i := window(s.start)) < 0 or (t := tallies[i].get(s.level)) is None:
                continue
            total = totals[i]
            for tally in (t, total):
                tally.tickets.add(h.ticket_id)
                tally.categories[h.ticket_id] = h.category
                tally.stints += 1
            if s.acknowledged is not None:
                took = business_time_between(s.start, s.acknowledged, hours.get(s.level))
                t.to_ack.append(took)
                total.to_ack.append(took)
            verdict = sla_verdict(s, now)
            if verdict is not None:
                t.counted += 1
                total.counted += 1
                t.met += verdict
                total.met += verdict
        for r in h.resolutions:
            if (i := window(r.at)) >= 0 and (t := tallies[i].get(r.level)) is not None:
                t.to_resolve.append(r.at - r.clock_start)
                totals[i].to_resolve.append(r.at - r.clock_start)
        for b in h.breaches:
            if (i := window(b.at)) >= 0 and (t := tallies[i].get(b.level)) is not None:
                t.breaches += 1
                totals[i].breaches += 1
        for e in h.escalations:
            if (i := window(e.at)) >= 0 and (t := tallies[i].get(e.from_level)) is not None:
                t.reasons[e.reason] += 1
                totals[i].reasons[e.reason] += 1
        for n in h.notices:
            if (i := window(n.at)) >= 0 and (t := tallies[i].get(n.level)) is not None:
                t.notices += 1
                totals[i].notices += 1
        for pm in h.postmortems:
            if pm.level not in tallies[0]:
                continue
            if pm.completed is not None and (i := window(pm.completed)) >= 0:
                tallies[i][pm.level].pm_done += 1
                totals[i].pm_done += 1
            for i, as_of in enumerate(pm_as_of):
                if _overdue(pm, as_of):
                    tallies[i][pm.level].pm_overdue += 1
                    totals[i].pm_overdue += 1
    titles = dict(levels)
    return [
        Report(since=since, until=until, as_of=now, filters=filters,
               levels=tuple(tallies[i][key].figures(key, titles[key]) for key in keys),
               total=totals[i].figures(ALL_LEVELS, "All levels"))
        for i, (since, until) in enumerate(windows)
    ]


def _overdue(pm: Postmortem, as_of: datetime) -> bool:
    """Requested before `as_of`, due before it, and neither written nor cancelled by then."""
    if pm.requested >= as_of or pm.due is None or pm.due >= as_of:
        return False
    return not any(moment is not None and moment < as_of for moment in (pm.completed, pm.cancelled))


def weekly_windows(until: datetime, weeks: int) -> list[tuple[datetime, datetime]]:
    """`weeks` consecutive 7-day windows ending at `until`, oldest first."""
    week = timedelta(days=7)
    return [(until - (weeks - i) * week, until - (weeks - i - 1) * week) for i in range(weeks)]
