"""What the services need from the outside world, in domain words (Slack is one implementation)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.domain.reports import Report
from bot.domain.severity import Severity
from bot.services.readmodel import MessageRef, TicketView

if TYPE_CHECKING:
    from bot.services.home import Home


class DeliveryFailed(Exception):
    """Raised by a Notifier when Slack (or e-mail) refused or could not be reached.

    `permanent`: retrying can't help (channel_not_found, invalid_auth…); `retry_after`: Slack asked
    us to wait that many seconds (HTTP 429), which is not a failure of the message; `maybe_done`: the
    request may have taken effect (a timeout, a dropped connection, a 5xx), so look before sending again.
    """

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None,
                 maybe_done: bool = False):
        super().__init__(reason)
        self.reason, self.permanent, self.retry_after, self.maybe_done = reason, permanent, retry_after, maybe_done


@dataclass(frozen=True)
class Once:
    """What makes a post exactly-once: the outbox key it carries (as Slack message metadata), and,
    when an earlier send's outcome is unknown, since when — the notifier then looks for it first."""

    key: str
    in_doubt_since: datetime | None = None


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


@dataclass(frozen=True)
class Delivery:
    """One notice to one place: a user's DM (`user`), the ticket's thread (`thread`), or a channel."""

    notice: Notice
    user: str | None = None
    thread: MessageRef | None = None
    extra: dict[str, str] = field(default_factory=dict)
    channel: str | None = None


class Notifier(Protocol):
    """How services tell people things. Called only after the transaction commits.

    Posting methods take `once`: the post carries its key, and is looked up before it is sent again
    when an earlier attempt's outcome is unknown (then the earlier message is returned, not a copy)."""

    def post_card(self, card: TicketView, *, once: Once | None = None) -> MessageRef: ...

    def update_card(self, card: TicketView) -> None: ...

    def permalink(self, ref: MessageRef) -> str | None: ...

    def deliver(self, delivery: Delivery, card: TicketView, *, once: Once | None = None) -> MessageRef | None: ...

    def upload(self, to: str, *, filename: str, content: bytes, title: str, comment: str,
               once: Once | None = None) -> None: ...

    def post_systemic_notice(self, notice: "SystemicNotice", existing: MessageRef | None, *,
                             once: Once | None = None) -> MessageRef: ...

    def deliver_digest(self, digest: "Digest", *, once: Once | None = None) -> MessageRef: ...

    def publish_home(self, user_id: str, home: "Home") -> None: ...

    def post_report(self, message: "ReportMessage", *, once: Once | None = None) -> MessageRef: ...

    def upload_chart(self, message: "ReportMessage", *, once: Once | None = None) -> None: ...


class Directory(Protocol):
    """Who is in a user group (responders, people to DM may name one): asked of the workspace (Slack's
    user groups), which alone knows what a group's ID looks like."""

    def is_group(self, member_id: str) -> bool: ...

    def members_of(self, group_id: str) -> frozenset[str]:
        """The group's members; raises DeliveryFailed when the workspace can't say."""
        ...


class NoGroups:
    """A directory with no user groups (the offline command line, tests that need none)."""

    def is_group(self, member_id: str) -> bool:
        return False

    def members_of(self, group_id: str) -> frozenset[str]:
        return frozenset()


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


class MailFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...
