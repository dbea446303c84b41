"""Routing: which level a new ticket goes to, at what severity, and why."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.policy import Policy, Trigger
from bot.domain.severity import Severity

WIDESPREAD_OUTAGE = "widespread_outage"


@dataclass(frozen=True)
class Routing:
    level_key: str
    severity: Severity
    triggers: tuple[Trigger, ...]
    reason: str

    @property
    def automatic(self) -> bool:
        return bool(self.triggers)


def exceeds_outage_threshold(policy: Policy, affected_users: int | None) -> bool:
    """True when the affected users are *more than* the threshold share of the organization."""
    if not affected_users or policy.total_users <= 0:
        return False
    return affected_users * 100 > policy.outage_threshold_percent * policy.total_users


def affected_share_percent(policy: Policy, affected_users: int | None) -> float | None:
    if affected_users is None or policy.total_users <= 0:
        return None
    return affected_users * 100 / policy.total_users


def route(
    policy: Policy,
    *,
    category: str,
    severity: Severity,
    trigger_keys: frozenset[str] | set[str],
    affected_users: int | None,
) -> Routing:
    """Any automatic trigger sends the ticket to the last level as critical; else the category decides."""
    keys = set(trigger_keys)
    if exceeds_outage_threshold(policy, affected_users) and any(t.key == WIDESPREAD_OUTAGE for t in policy.triggers):
        keys.add(WIDESPREAD_OUTAGE)
    fired = tuple(t for t in policy.triggers if t.key in keys)
    if fired:
        return Routing(
            level_key=policy.last_level.key,
            severity=Severity.CRITICAL,
            triggers=fired,
            reason="automatic escalation: " + "; ".join(t.label for t in fired),
        )
    level = policy.level_for_category(category)
    in_scope = category in level.scope
    reason = f"category “{category}” is in {level.title}'s scope" if in_scope else f"category “{category}” starts at {level.title}"
    return Routing(level_key=level.key, severity=severity, triggers=(), reason=reason)
