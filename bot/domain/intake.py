"""The seed's documentation rules for a new ticket ("1. Document Issue"), as pure validation."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain.policy import OTHER_CATEGORY, Policy
from bot.domain.severity import Severity

MIN_DESCRIPTION = 20
MIN_TROUBLESHOOTING = 10
MIN_BUSINESS_IMPACT = 20
MAX_AFFECTED_USERS = 10_000_000
_PLACEHOLDERS = {"n/a", "na", "none", "tbd", "unknown", "-", "?", "no impact", "idk"}
_URL = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Attachment:
    """A file the reporter attached in the modal (Slack's file_input)."""

    file_id: str
    name: str
    permalink: str | None = None


@dataclass(frozen=True)
class IntakeDraft:
    """What the reporter typed, unvalidated (all text as given; missing = empty)."""

    title: str = ""
    category: str = ""
    severity: str = ""
    description: str = ""
    error_messages: str = ""
    log_links: str = ""
    attachments: tuple[Attachment, ...] = ()
    troubleshooting: str = ""
    business_impact: str = ""
    affected_users: str = ""
    triggers: frozenset[str] = field(default_factory=frozenset)
    customer_executive: bool = False
    regulatory: bool = False


@dataclass(frozen=True)
class IntakeForm:
    """A validated new ticket, ready to be routed and filed."""

    title: str
    category: str
    severity: Severity
    description: str
    error_messages: str
    links: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    troubleshooting: str
    business_impact: str
    affected_users: int
    triggers: frozenset[str]
    customer_executive: bool
    regulatory: bool


class IntakeInvalid(Exception):
    """Field -> message, for Slack's inline modal errors."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _meaningful(text: str, minimum: int) -> bool:
    stripped = " ".join(text.split())
    return len(stripped) >= minimum and stripped.lower() not in _PLACEHOLDERS


def validate_intake(draft: IntakeDraft, policy: Policy) -> IntakeForm:
    """Return the validated form, or raise IntakeInvalid with one message per bad field."""
    errors: dict[str, str] = {}
    title = " ".join(draft.title.split())
    if not title:
        errors["title"] = "Give the ticket a short title."
    if draft.category not in (*policy.categories, OTHER_CATEGORY):
        errors["category"] = "Pick the category that fits best (or Other)."
    try:
        severity = Severity(draft.severity)
    except ValueError:
        errors["severity"] = "Pick a severity."
        severity = Severity.MEDIUM
    if not _meaningful(draft.description, MIN_DESCRIPTION):
        errors["description"] = f"Describe the problem in at least {MIN_DESCRIPTION} characters: what happens, where, since when."
    if not draft.error_messages.strip():
        errors["error_messages"] = "Paste the exact error text, or write “none shown”."
    if not _meaningful(draft.troubleshooting, MIN_TROUBLESHOOTING):
        errors["troubleshooting"] = f"List what was already tried (at least {MIN_TROUBLESHOOTING} characters), so nobody repeats it."
    if not _meaningful(draft.business_impact, MIN_BUSINESS_IMPACT):
        errors["business_impact"] = (
            f"Every escalation needs a business impact assessment (at least {MIN_BUSINESS_IMPACT} characters): "
            "who can't work, what is at risk."
        )
    affected = _parse_affected(draft.affected_users)
    if affected is None:
        errors["affected_users"] = "Enter the number of affected users as a whole number, 0 or more."
    links = tuple(draft.log_links.split())
    bad_links = [link for link in links if not _URL.match(link)]
    if bad_links:
        errors["log_links"] = "Links must start with http:// or https:// (one per line)."
    unknown = draft.triggers - {t.key for t in policy.triggers}
    if unknown:
        errors["triggers"] = "Unknown automatic-escalation trigger."
    if errors:
        raise IntakeInvalid(errors)
    return IntakeForm(
        title=title,
        category=draft.category,
        severity=severity,
        description=draft.description.strip(),
        error_messages=draft.error_messages.strip(),
        links=links,
        attachments=draft.attachments,
        troubleshooting=draft.troubleshooting.strip(),
        business_impact=draft.business_impact.strip(),
        affected_users=affected or 0,
        triggers=frozenset(draft.triggers),
        customer_executive=draft.customer_executive,
        regulatory=draft.regulatory,
    )


def _parse_affected(text: str) -> int | None:
    cleaned = (text or "").strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit():
        return None
    value = int(cleaned)
    return value if value <= MAX_AFFECTED_USERS else None
