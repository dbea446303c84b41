"""Which timers a ticket gets when it enters a level, and when: pure, so the services that schedule
them and the policy dry-run that shows them read the same rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.policy import Level, Policy
from bot.domain.schedule import BusinessHours, add_business_time, next_followup
from bot.domain.severity import Severity


class TimerKind(StrEnum):
    RESPONSE_BREACH = "response_breach"
    PREBREACH = "prebreach"
    SLA_UNRESOLVED = "sla_unresolved"
    FOLLOWUP = "followup"
    MANAGER_NOTICE = "manager_notice"
    POSTMORTEM_REMINDER = "postmortem_reminder"


@dataclass(frozen=True)
class PlannedTimer:
    kind: TimerKind
    due: datetime
    once: bool = False  # never a second one of this kind for the ticket (the manager notice)


def response_due(level: Level, start: datetime, tz: ZoneInfo, *, fraction: float = 1.0) -> datetime:
    """When `fraction` of the level's response SLA has passed, counting business hours when the level has them."""
    return add_business_time(start, level.response_sla * fraction, business_calendar(level, tz))


def business_calendar(level: Level, tz: ZoneInfo) -> BusinessHours | None:
    """The level's business hours in `tz`, or None when its SLA clock runs on calendar time."""
    hours = level.business_hours
    return BusinessHours(tz=tz, days=hours.days, start=hours.start, end=hours.end) if hours else None


def followup_after(policy: Policy, severity: Severity, after: datetime, tz: ZoneInfo) -> datetime:
    """The next status check after `after`: critical every `followups.critical`; others daily at `standard_at`."""
    cadence = policy.followups
    if severity == Severity.CRITICAL:
        return next_followup(after, cadence.critical)
    return next_followup(after, cadence.standard, anchor=cadence.standard_at, tz=tz)


def level_entered_timers(policy: Policy, *, level_key: str, severity: Severity, level_entered_at: datetime,
                         response_due_at: datetime, created_at: datetime, next_update_by: datetime | None,
                         now: datetime, tz: ZoneInfo) -> tuple[PlannedTimer, ...]:
    """Filed, escalated or reopened: the level's SLA clock starts over (breach; the pre-breach warning when
    the policy has one; the escalation suggestion unless this is the last level), the follow-up cadence
    restarts from now (or the promised "next update by"), and managers hear once, `notify_after` after filing."""
    level = policy.level(level_key)
    planned = [PlannedTimer(TimerKind.RESPONSE_BREACH, response_due_at)]
    if policy.prebreach_fraction:
        warn_at = response_due(level, level_entered_at, tz, fraction=policy.prebreach_fraction)
        planned.append(PlannedTimer(TimerKind.PREBREACH, min(warn_at, response_due_at)))
    if policy.next_level(level_key) is not None:
        planned.append(PlannedTimer(TimerKind.SLA_UNRESOLVED, response_due_at))
    planned.append(PlannedTimer(TimerKind.FOLLOWUP, next_update_by or followup_after(policy, severity, now, tz)))
    planned.append(PlannedTimer(TimerKind.MANAGER_NOTICE, created_at + policy.management.notify_after, once=True))
    return tuple(planned)
