"""What the bot says, in domain words: the notices about a ticket (each with its template) and where
one goes, and the messages that are about no single ticket (a digest, a systemic-issue notice, SLA
figures, an e-mail). Plain data: the Notifier and Mailer ports (bot/services/ports.py) send them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.domain.reports import Report
from bot.domain.severity import Severity
from bot.services.readmodel import MessageRef


class Notice(StrEnum):
    """A message the bot sends about a ticket; each has a template `templates/notices/<value>.md.j2`."""

    REPORTER_CONFIRMATION = "reporter_confirmation"
    PAGE = "page"
    CONTACT_ALERT = "contact_alert"
    CONTACT_NO_SLACK = "contact_no_slack"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    UPDATE = "update"
    RESOLVED = "resolved"
    POSTMORTEM_REQUESTED = "postmortem_requested"
    CLOSED = "closed"
    REOPENED = "reopened"
    REASSIGNED = "reassigned"
    BREACH = "breach"
    BREACH_MANAGER = "breach_manager"
    PREBREACH = "prebreach"
    SLA_UNRESOLVED = "sla_unresolved"
    FOLLOWUP = "followup"
    MANAGER_NOTICE = "manager_notice"
    POSTMORTEM_REMINDER = "postmortem_reminder"
    EXPORT_FAILED = "export_failed"


@dataclass(frozen=True)
class Delivery:
    """One notice to one place: a user's DM (`user`), the ticket's thread (`thread`), or a channel."""

    notice: Notice
    user: str | None = None
    thread: MessageRef | None = None
    extra: dict[str, str] = field(default_factory=dict)
    channel: str | None = None


@dataclass(frozen=True)
class ReportMessage:
    """SLA figures for a channel (the weekly digest) or a person's DM (on demand): the period's `report`,
    and the figures week by week (oldest first) that its chart draws."""

    report: Report | None  # the period's figures, for a post; None when only the chart is sent (on demand)
    weeks: tuple[Report, ...]
    week_labels: tuple[str, ...]  # each week's start date in TIMEZONE, for the chart's axis
    title: str  # the chart's title and file title (unique per report: an in-doubt upload is found by it)
    period: str  # what the figures cover, in words or as asked ("7d", "30d", "quarter", "week of 23 Nov 2026")
    channel: str | None = None
    user: str | None = None

    @property
    def destination(self) -> str:
        return self.user or self.channel or ""


@dataclass(frozen=True)
class SystemicNotice:
    alert_id: int
    category: str
    channel: str
    tickets: tuple[tuple[str, str, str | None], ...]  # (ref, title, card link)
    window: timedelta
    escalated_by: str | None = None


@dataclass(frozen=True)
class DigestItem:
    """One notice folded into a digest: which ticket, and what it was about."""

    ref: str
    title: str
    severity: Severity
    notice: Notice
    card_link: str | None


@dataclass(frozen=True)
class Digest:
    """The notices a burst held back from one recipient (a DM's `user`, or a `channel`), in one message."""

    items: tuple[DigestItem, ...]
    limit: int
    window: timedelta
    user: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Email:
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    message_key: str | None = None  # the outbox key: a stable Message-ID, so a resent copy is the same mail
