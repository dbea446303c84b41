"""Ticket states, the transition table, acknowledgement maths and who may act."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.durations import format_duration
from bot.domain.policy import Level

TICKET_PREFIX = "ESC-"
MAX_TICKET_ID = 2**31 - 1  # fits every database's INTEGER; a larger id is no ticket of ours
_TICKET_REF = re.compile(rf"^\s*{re.escape(TICKET_PREFIX)}(\d{{1,9}})\s*$", re.IGNORECASE)


class TicketStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    POSTMORTEM_DUE = "postmortem_due"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            TicketStatus.OPEN: "Open",
            TicketStatus.ACKNOWLEDGED: "Acknowledged",
            TicketStatus.POSTMORTEM_DUE: "Resolved, post-mortem due",
            TicketStatus.CLOSED: "Closed",
        }[self]


LIVE_STATES = (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED)  # being worked on: timers run, follow-ups are asked
OPEN_STATES = (*LIVE_STATES, TicketStatus.POSTMORTEM_DUE)  # not closed: listed as someone's open ticket


class Move(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    COMPLETE_POSTMORTEM = "complete_postmortem"
    REOPEN = "reopen"
    POST_UPDATE = "post_update"  # lands where it started: a ticket that is not closed takes updates
    REASSIGN = "reassign"


class DomainError(Exception):
    """A rule said no; the message is safe to show to the person who asked."""


class IllegalTransition(DomainError):
    def __init__(self, move: Move, status: TicketStatus, *, ref: str | None = None):
        if move in _REOPEN_FIRST:
            message = f"{ref or 'The ticket'} is {status.label.lower()}; reopen it before {_REOPEN_FIRST[move]}."
        else:
            message = f"A ticket that is {status.label.lower()} can't be {_PAST[move]}."
        super().__init__(message)
        self.move, self.status = move, status


class NotAllowed(DomainError):
    """The actor is not among those who may do this; `who` names the people who may."""

    def __init__(self, message: str, who: tuple[str, ...] = ()):
        super().__init__(message)
        self.who = who


_PAST = {
    Move.ACKNOWLEDGE: "acknowledged",
    Move.ESCALATE: "escalated",
    Move.RESOLVE: "resolved",
    Move.COMPLETE_POSTMORTEM: "closed with a post-mortem",
    Move.REOPEN: "reopened",
}
_REOPEN_FIRST = {Move.POST_UPDATE: "posting updates", Move.REASSIGN: "reassigning"}

# The one place that says which move is legal from which state, and where it lands.
# RESOLVE lands on CLOSED, or on POSTMORTEM_DUE when the ticket's severity needs a post-mortem (`transition`).
TRANSITIONS: dict[tuple[TicketStatus, Move], TicketStatus] = {
    (TicketStatus.OPEN, Move.ACKNOWLEDGE): TicketStatus.ACKNOWLEDGED,
    (TicketStatus.OPEN, Move.ESCALATE): TicketStatus.OPEN,
    (TicketStatus.ACKNOWLEDGED, Move.ESCALATE): TicketStatus.OPEN,
    (TicketStatus.OPEN, Move.RESOLVE): TicketStatus.CLOSED,  # or POSTMORTEM_DUE: see transition
    (TicketStatus.ACKNOWLEDGED, Move.RESOLVE): TicketStatus.CLOSED,
    (TicketStatus.POSTMORTEM_DUE, Move.COMPLETE_POSTMORTEM): TicketStatus.CLOSED,
    (TicketStatus.POSTMORTEM_DUE, Move.REOPEN): TicketStatus.OPEN,
    (TicketStatus.CLOSED, Move.REOPEN): TicketStatus.OPEN,
    **{(status, move): status for status in (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED, TicketStatus.POSTMORTEM_DUE)
       for move in (Move.POST_UPDATE, Move.REASSIGN)},
}


def transition(status: TicketStatus, move: Move, *, postmortem_required: bool = False,
               ref: str | None = None) -> TicketStatus:
    """The state after `move`, or IllegalTransition naming what was tried (and `ref`, where the wording
    names it). Resolving closes a ticket, unless its severity needs a post-mortem first."""
    try:
        landing = TRANSITIONS[(status, move)]
    except KeyError:
        raise IllegalTransition(move, status, ref=ref) from None
    return TicketStatus.POSTMORTEM_DUE if move == Move.RESOLVE and postmortem_required else landing


def takes_updates(status: TicketStatus) -> bool:
    return (status, Move.POST_UPDATE) in TRANSITIONS


def ticket_ref(ticket_id: int) -> str:
    return f"{TICKET_PREFIX}{ticket_id}"


def parse_ticket_ref(text: str) -> int | None:
    """`ESC-42` (any case, surrounding spaces) -> 42; anything else -> None."""
    match = _TICKET_REF.match(text or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class AckTiming:
    elapsed: timedelta
    sla: timedelta

    @property
    def within_sla(self) -> bool:
        return self.elapsed <= self.sla

    @property
    def summary(self) -> str:
        verdict = "within" if self.within_sla else "outside"
        return f"after {format_duration(self.elapsed)} — {verdict} the {format_duration(self.sla)} SLA"


def ack_timing(level_entered_at: datetime, acknowledged_at: datetime, sla: timedelta) -> AckTiming:
    return AckTiming(elapsed=max(acknowledged_at - level_entered_at, timedelta(0)), sla=sla)


def responders_may_act(level: Level, actor_id: str, group_members: frozenset[str]) -> bool:
    """A level's responders (users, or members of its user groups) may act on its tickets.

    Fails closed: a level with nobody named lets nobody act, unless the policy opened it to everyone
    explicitly (`responders: everyone`); start-up refuses a policy that leaves a level empty.
    """
    if level.open_to_everyone:
        return True
    return actor_id in level.responders or actor_id in group_members


class TicketNotFound(DomainError):
    def __init__(self, ticket_id: int):
        super().__init__(f"There is no ticket {ticket_ref(ticket_id)}.")
        self.ticket_id = ticket_id
