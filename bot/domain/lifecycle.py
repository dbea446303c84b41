"""What people type when they escalate, post an update, resolve, or close a post-mortem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.forms import URL, FormInvalid, check_optional, check_text, has_control_characters
from bot.domain.intake import MIN_BUSINESS_IMPACT, MIN_TROUBLESHOOTING
from bot.domain.policy import Level, Policy
from bot.domain.tickets import TRANSITIONS, DomainError, Move, TicketStatus, transition
from bot.domain.timers import response_due

MIN_UPDATE = 10
MIN_RESOLUTION = 10

# The moves each state allows, in the transition table's order (the card's buttons come from here).
ALLOWED_MOVES: dict[TicketStatus, tuple[Move, ...]] = {
    status: tuple(move for move in Move if (status, move) in TRANSITIONS) for status in TicketStatus
}


def moves_offered(status: TicketStatus, *, at_last_level: bool) -> tuple[Move, ...]:
    """What a ticket offers its people: the moves its state allows, less escalation from the last level."""
    return tuple(move for move in ALLOWED_MOVES[status] if not (move == Move.ESCALATE and at_last_level))


def enter_level(level: Level, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """The values a ticket takes on entering a level (filed, escalated, reopened): the level's SLA
    snapshotted and started now, and nobody has acknowledged it there yet."""
    return {"level_key": level.key, "level_entered_at": now, "response_sla_seconds": int(level.response_sla.total_seconds()),
            "response_due_at": response_due(level, now, tz).astimezone(timezone.utc), "acknowledged_by": None, "acknowledged_at": None,
            "assignee_id": None}


@dataclass(frozen=True)
class Asked:
    """Who asks for a move on which ticket; `once` names the request (a modal's view id, a click), so a
    replay of it changes nothing."""
    ticket_id: int
    actor_id: str
    once: str | None = None


@dataclass(frozen=True)
class EscalationAsked(Asked):
    reason: str = ""
    target_level: str = ""
    business_impact: str = ""
    troubleshooting: str = ""
    notes: str = ""


@dataclass(frozen=True)
class UpdateAsked(Asked):
    status: str = ""
    next_steps: str = ""
    next_update_by: datetime | None = None


@dataclass(frozen=True)
class ResolutionAsked(Asked):
    resolution: str = ""
    root_cause: str = ""
    lessons: str = ""
    postmortem_owner: str | None = None


@dataclass(frozen=True)
class PostmortemAsked(Asked):
    url: str = ""


@dataclass(frozen=True)
class ReassignAsked(Asked):
    assignee_id: str | None = None


def validate_assignee(assignee_id: str | None) -> str:
    if not assignee_id:
        raise FormInvalid({"assignee": "Pick the new assignee."})  # ReassignBlock.ASSIGNEE
    return assignee_id


@dataclass(frozen=True)
class EscalationForm:
    reason: str  # a manual-escalation reason key from the policy
    target_level: str
    business_impact: str
    troubleshooting: str
    notes: str


def validate_escalation(policy: Policy, current_level: str, *, reason: str, target_level: str, business_impact: str,
                        troubleshooting: str, notes: str) -> EscalationForm:
    """The seed: all escalations include a business impact assessment; only upwards."""
    errors: dict[str, str] = {}
    if reason not in {r.key for r in policy.reasons}:
        errors["reason"] = "Pick the reason for escalating."
    keys = [level.key for level in policy.levels]
    if target_level not in keys:
        errors["target_level"] = "Pick the level to escalate to."
    elif keys.index(target_level) <= keys.index(current_level):
        errors["target_level"] = f"Pick a level above {current_level}."
    impact = check_text(errors, "business_impact", business_impact, minimum=MIN_BUSINESS_IMPACT,
                        what="All escalations must include a business impact assessment")
    tried = check_text(errors, "troubleshooting", troubleshooting, minimum=MIN_TROUBLESHOOTING,
                       what="Say what has been tried so far")
    notes = check_optional(errors, "notes", notes)
    if errors:
        raise FormInvalid(errors)
    return EscalationForm(reason, target_level, impact, tried, notes)


def landing(policy: Policy, status: TicketStatus, level_key: str, severity: str, move: Move, *, ref: str) -> TicketStatus:
    """Where `move` takes a ticket in this state, at this level, of this severity; or a DomainError saying
    why it can't go there (IllegalTransition, or an escalation from the last level)."""
    if move == Move.ESCALATE:
        default_target(policy, level_key)  # nothing above the last level
    return transition(status, move, postmortem_required=policy.postmortem.required(severity), ref=ref)


def default_target(policy: Policy, current_level: str) -> str:
    """The next level up; raises a clear error at the top."""
    following = policy.next_level(current_level)
    if following is None:
        raise DomainError(f"The ticket is already at {policy.level(current_level).title}, the last level; it can't be escalated further.")
    return following.key


@dataclass(frozen=True)
class UpdateForm:
    status: str
    next_steps: str
    next_update_by: datetime | None


def validate_update(*, status: str, next_steps: str, next_update_by: datetime | None, now: datetime) -> UpdateForm:
    errors: dict[str, str] = {}
    status = check_text(errors, "status", status, minimum=MIN_UPDATE, what="Say where things stand")
    next_steps = check_optional(errors, "next_steps", next_steps)
    if next_update_by is not None and next_update_by <= now:
        errors["next_update_by"] = "Pick a time in the future."
    if errors:
        raise FormInvalid(errors)
    return UpdateForm(status, next_steps, next_update_by)


@dataclass(frozen=True)
class ResolutionForm:
    resolution: str
    root_cause: str
    lessons: str
    postmortem_owner: str | None


def validate_resolution(*, resolution: str, root_cause: str, lessons: str, postmortem_owner: str | None,
                        postmortem_required: bool) -> ResolutionForm:
    """The seed: document resolution and lessons learned."""
    errors: dict[str, str] = {}
    resolution = check_text(errors, "resolution", resolution, minimum=MIN_RESOLUTION, what="Summarise the resolution")
    root_cause = check_text(errors, "root_cause", root_cause, minimum=MIN_RESOLUTION, what="Name the root cause")
    lessons = check_text(errors, "lessons", lessons, minimum=MIN_RESOLUTION, what="Write down the lessons learned")
    if postmortem_required and not postmortem_owner:
        errors["postmortem_owner"] = "A critical ticket needs a post-mortem owner."
    if errors:
        raise FormInvalid(errors)
    return ResolutionForm(resolution, root_cause, lessons, postmortem_owner if postmortem_required else None)


def validate_postmortem_link(url: str) -> str:
    url = url.strip()
    if not URL.match(url) or len(url) > 2000 or has_control_characters(url):
        raise FormInvalid({"postmortem_url": "Paste the link to the post-mortem document (http:// or https://)."})
    return url
