"""The read model: a ticket as people see it (its card, its e-mail, the Home, its status), its timeline
entries and its handoff, where a message is in Slack, and a person's App Home. Plain data: no session,
no Slack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.policy import Contact, Level
from bot.domain.reports import Report
from bot.domain.severity import Severity
from bot.domain.tickets import TicketStatus


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


@dataclass(frozen=True)
class TicketView:
    """Everything a person needs to see about a ticket, as plain data (no session, no Slack)."""

    id: int
    ref: str
    title: str
    category: str
    severity: Severity
    status: TicketStatus
    level: Level
    reporter_id: str
    created_at: datetime
    level_entered_at: datetime
    response_sla: timedelta
    response_due_at: datetime
    description: str
    error_messages: str
    troubleshooting: str
    business_impact: str
    affected_users: int
    affected_share: float | None
    links: tuple[str, ...]
    attachments: tuple[dict[str, str], ...]
    triggers: tuple[str, ...]  # labels of the automatic-escalation triggers that fired
    customer_executive: bool
    regulatory: bool
    hotline: tuple[Contact, ...]  # contacts shown on a critical ticket's card
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    ack_summary: str | None = None
    posted: MessageRef | None = None  # where its card is in Slack, once posted
    card_link: str | None = None
    assignee_id: str | None = None
    last_update_at: datetime | None = None
    next_update_by: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    root_cause: str | None = None
    lessons_learned: str | None = None
    postmortem_owner: str | None = None
    postmortem_due_at: datetime | None = None
    postmortem_url: str | None = None
    closed_at: datetime | None = None
    handoff: "Handoff | None" = None  # set on the card posted by an escalation
    moved_to: "MessageRef | None" = None  # set on a card the ticket has been escalated away from
    moved_to_link: str | None = None
    moved_to_level: str | None = None
    recent: tuple["Entry", ...] = ()
    actor: str | None = None  # who made the change being announced

    @property
    def critical(self) -> bool:
        return self.severity is Severity.CRITICAL


@dataclass(frozen=True)
class Entry:
    """One timeline event, as people read it."""

    at: datetime
    actor: str
    kind: str
    source: str
    details: dict[str, object]


@dataclass(frozen=True)
class Handoff:
    """What the next level needs beyond the ticket itself (the seed's "Contact Next Level")."""

    escalated_by: str
    from_level: str
    reason: str
    notes: str
    changes: tuple[str, ...]  # what changed since the last handoff, in words
    number: int


# The App Home as a person sees it (bot/services/home.py builds it; the Slack layer draws it).

class Section(StrEnum):
    """A listed section of the Home; its value is the "see all" button's value."""

    AWAITING_ACK = "awaiting_ack"
    FOLLOWUPS = "followups"
    POSTMORTEMS = "postmortems"
    MINE = "mine"
    OPEN_LONG = "open_long"

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    Section.AWAITING_ACK: "Waiting for your acknowledgement",
    Section.FOLLOWUPS: "Follow-ups you owe",
    Section.POSTMORTEMS: "Post-mortems you own",
    Section.MINE: "Your tickets",
    Section.OPEN_LONG: "Open too long",
}


@dataclass(frozen=True)
class HomeTicket:
    id: int
    ref: str
    title: str
    severity: Severity
    status: TicketStatus
    level_key: str
    level_title: str
    created_at: datetime
    due_at: datetime | None  # the next thing due: response, follow-up, promised update or post-mortem
    breached: bool  # open, unacknowledged, past its response SLA
    overdue: bool  # the next thing due is past


@dataclass(frozen=True)
class Listing:
    """A section's first rows (most urgent first) and how many there are in all."""

    section: Section
    items: tuple[HomeTicket, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class QueueFigures:
    level_key: str
    title: str
    open: int  # live: open or acknowledged
    unacknowledged: int
    breached: int
    oldest: datetime | None  # when the longest-waiting live ticket entered this level


@dataclass(frozen=True)
class ManagerView:
    since: datetime  # this week: from Monday 00:00 (TIMEZONE) …
    until: datetime  # … to now
    figures: Report | None  # None: no report service plugged in
    open_long: Listing  # live tickets open longer than the policy's notify_after
    notify_after: timedelta


@dataclass(frozen=True)
class Home:
    user_id: str
    now: datetime
    awaiting_ack: Listing
    followups: Listing
    postmortems: Listing
    mine: Listing
    queues: tuple[QueueFigures, ...]  # levels the person may see, the most urgent first
    managers: ManagerView | None  # only for managers

    @property
    def listings(self) -> tuple[Listing, ...]:
        extra = (self.managers.open_long,) if self.managers else ()
        return (self.awaiting_ack, self.followups, self.postmortems, self.mine, *extra)
