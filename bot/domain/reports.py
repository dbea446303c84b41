"""SLA report figures, computed from the timeline (pure: the service hands in what it read).

The contract between the report service, the `/escalate report` reply, the weekly digest and its
chart, and `python -m bot report`. How each figure is counted is defined in the README ("Reports").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


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


@dataclass(frozen=True)
class Report:
    since: datetime  # aware UTC, inclusive
    until: datetime  # aware UTC, exclusive
    levels: tuple[LevelFigures, ...]  # in the policy's level order
    total: LevelFigures
    filters: tuple[tuple[str, str], ...] = field(default=())  # ("level", "L2"), ("category", …), ("severity", …)

    @property
    def span(self) -> timedelta:
        return self.until - self.since
