"""The one path every lifecycle move takes: *check* (authorise once, ask the transition table, nothing
written), then *apply* (one guarded update with the values the domain computed, the timeline event,
the timer hook the landing calls for, the queued Slack change, commit, relay)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from bot.domain.lifecycle import landing
from bot.domain.permissions import ACT_OF
from bot.domain.tickets import TRANSITIONS, DomainError, Move, TicketStatus, ticket_ref
from bot.services import timers
from bot.services.announce import queue_change
from bot.services.context import ServiceContext
from bot.services.messages import Notice
from bot.services.outbox import relay_all
from bot.services.readmodel import TicketView
from bot.services.tickets import authorize, first_time, get_ticket, record, view_of
from models import Ticket, TimelineEvent
from models.timeline import Source


class ChangedMeanwhile(DomainError):
    """Someone else moved the ticket between the check and the apply: the one wording for a lost race."""

    def __init__(self, ticket_id: int):
        super().__init__(f"{ticket_ref(ticket_id)} changed meanwhile; look at the card and try again.")


@dataclass(frozen=True)
class Checked:
    """A move that may go ahead: who asked, the ticket as it was when they were authorised, where it lands."""

    move: Move
    actor_id: str
    seen: Ticket
    target: TicketStatus
    once: str | None = None

    @property
    def ticket_id(self) -> int:
        return self.seen.id


def check_move(ctx: ServiceContext, ticket_id: int, actor_id: str, move: Move, *, once: str | None = None) -> Checked:
    """Authorise the actor for the move's act (once) and ask the domain where the move lands; writes nothing."""
    return checked_as(ctx, authorize(ctx, ticket_id, actor_id, ACT_OF[move]), actor_id, move, once=once)


def checked_as(ctx: ServiceContext, seen: Ticket, actor_id: str, move: Move, *, once: str | None = None) -> Checked:
    """The move of a ticket the caller has authorised (by the move's act, or by its own rule: a systemic
    escalation's, an acknowledgement that must first know whether someone was first)."""
    target = landing(ctx.policy, seen.status, seen.level_key, seen.severity, move, ref=ticket_ref(seen.id))
    return Checked(move, actor_id, seen, target, once)


def open_move(ctx: ServiceContext, ticket_id: int, move: Move, *, actor_id: str) -> TicketView:
    """Opening a move's modal: the same check as its submission (nothing written); the ticket as the modal
    opens with it."""
    return view_of(ctx.policy, check_move(ctx, ticket_id, actor_id, move).seen)


F = TypeVar("F")


@dataclass(frozen=True)
class Validated(Generic[F]):
    """A checked move and its validated request (a form, a link, an assignee): what an apply takes."""

    checked: Checked
    form: F


Effects = Callable[[Session, Ticket, TimelineEvent], None]


@dataclass(frozen=True)
class Change:
    """What a move writes and says: the columns the domain computed, its timeline event (after any
    `recorded_first`), and the notice everyone on the ticket gets."""

    values: dict[str, Any]
    event: str
    details: dict[str, Any]
    notice: Notice
    extra: dict[str, str] | None = None
    card_changed: bool = True
    recorded_first: tuple[tuple[str, dict[str, Any]], ...] = ()
    guard: tuple[ColumnElement[bool], ...] = ()  # conditions of its own (acknowledge: nobody has yet)


@dataclass(frozen=True)
class Applied:
    ticket: Ticket  # as the move left it
    event: TimelineEvent
    now: datetime = field(compare=False)


def apply_move(ctx: ServiceContext, checked: Checked, change: Change, *, now: datetime, source: Source,
               effects: Effects | None = None, relay: bool = True) -> Applied | None:
    """Apply a checked move in one transaction: None when this very request was already applied (a
    replay), ChangedMeanwhile when the ticket moved since the check. `effects` is the use case's own
    work (a handoff, a post-mortem request), queued after the event and before the change is said."""
    ticket_id, seen = checked.ticket_id, checked.seen
    with ctx.sessions.begin() as session:
        if not first_time(session, checked.once, ticket_id, checked.move.value, now):
            return None
        moved = session.execute(
            update(Ticket).where(Ticket.id == ticket_id, *_guard(checked), *change.guard)
            .values(**_landing(checked), **change.values)
        ).rowcount == 1
        if not moved:
            raise ChangedMeanwhile(ticket_id)
        for kind, details in change.recorded_first:
            record(session, ticket_id, kind, actor=checked.actor_id, source=source, at=now, **details)
        event = record(session, ticket_id, change.event, actor=checked.actor_id, source=source, at=now, **change.details)
        ticket = get_ticket(session, ticket_id)
        if effects is not None:
            effects(session, ticket, event)
        timers.on_move(ctx, session, ticket, checked.move, now)
        queue_change(session, ticket, event, change.notice, now, actor_id=checked.actor_id, extra=change.extra,
                     card_changed=change.card_changed)
    if relay:
        relay_all(ctx, ticket_id=ticket_id)
    return Applied(ticket, event, now)


def _stays(move: Move) -> bool:
    """A move that leaves the state as it is (an update, a reassignment)."""
    return all(landing == status for (status, m), landing in TRANSITIONS.items() if m == move)


def _guard(checked: Checked) -> tuple[ColumnElement[bool], ...]:
    """A move that changes the state needs the ticket as it was checked (state and level); one that
    keeps it needs only a state the move is legal from (a ticket acknowledged meanwhile still takes an update)."""
    if _stays(checked.move):
        return (Ticket.status.in_([status for (status, m) in TRANSITIONS if m == checked.move]),)
    return Ticket.status == checked.seen.status, Ticket.level_key == checked.seen.level_key


def _landing(checked: Checked) -> dict[str, Any]:
    return {} if _stays(checked.move) else {"status": checked.target}
