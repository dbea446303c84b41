"""The seed's documentation rules for a new ticket ("1. Document Issue"), as pure validation."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.forms import CONTROL_CHARACTERS, MAX_TEXT, URL, FormInvalid, check_optional, check_text, has_control_characters
from bot.domain.policy import OTHER_CATEGORY, Policy
from bot.domain.severity import Severity

MIN_DESCRIPTION = 20
MIN_TROUBLESHOOTING = 10
MIN_BUSINESS_IMPACT = 20
MAX_AFFECTED_USERS = 10_000_000


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


IntakeInvalid = FormInvalid


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
    if len(title) > 150:
        errors["title"] = "Keep the title under 150 characters."
    elif has_control_characters(title):
        errors["title"] = CONTROL_CHARACTERS
    description = check_text(errors, "description", draft.description, minimum=MIN_DESCRIPTION,
                             what="Describe the problem: what happens, where, since when")
    error_messages = check_optional(errors, "error_messages", draft.error_messages)
    if not error_messages and "error_messages" not in errors:
        errors["error_messages"] = "Paste the exact error text, or write “none shown”."
    troubleshooting = check_text(errors, "troubleshooting", draft.troubleshooting, minimum=MIN_TROUBLESHOOTING,
                                 what="List what was already tried, so nobody repeats it")
    business_impact = check_text(errors, "business_impact", draft.business_impact, minimum=MIN_BUSINESS_IMPACT,
                                 what="Every escalation needs a business impact assessment: who can't work, what is at risk")
    affected = _parse_affected(draft.affected_users)
    if affected is None:
        errors["affected_users"] = "Enter the number of affected users as a whole number, 0 or more."
    links = tuple(draft.log_links.split())
    bad_links = [link for link in links if not URL.match(link)]
    if len(draft.log_links) > MAX_TEXT:
        errors["log_links"] = f"Keep the links under {MAX_TEXT:,} characters in all."
    elif has_control_characters(draft.log_links):
        errors["log_links"] = CONTROL_CHARACTERS
    elif bad_links:
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
        description=description,
        error_messages=error_messages,
        links=links,
        attachments=draft.attachments,
        troubleshooting=troubleshooting,
        business_impact=business_impact,
        affected_users=affected or 0,
        triggers=frozenset(draft.triggers),
        customer_executive=draft.customer_executive,
        regulatory=draft.regulatory,
    )


def _parse_affected(text: str) -> int | None:
    cleaned = (text or "").strip().replace(",", "").replace("_", "")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 9:  # "²".isdigit() is True too
        return None
    value = int(cleaned)
    return value if value <= MAX_AFFECTED_USERS else None
