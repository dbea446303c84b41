"""Use case: a responder acknowledges a ticket at its current level (and becomes its assignee)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.permissions import Act
from bot.domain.tickets import Move, ack_timing
from bot.services.context import ServiceContext
from bot.services.moves import Change, ChangedMeanwhile, apply_move, checked_as
from bot.services.messages import Notice
from bot.services.readmodel import TicketView
from bot.services.tickets import authorize, first_time, get_ticket, view_of
from models import Ticket
from models.timeline import Source


@dataclass(frozen=True)
class Acknowledged:
    ticket: TicketView
    first: bool  # False when someone had already acknowledged: nothing changed
    by: str
    at: datetime


def acknowledge_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, source: Source = Source.BUTTON,
                       once: str | None = None) -> Acknowledged | None:
    """Record who acknowledged and when, once; later clicks change nothing and say who was first.
    `once` names the click: a re-sent copy of it answers None (nothing to say, nothing done)."""
    seen = authorize(ctx, ticket_id, actor_id, Act.ACKNOWLEDGE)
    now = ctx.clock.now()
    if seen.acknowledged_at is None:
        checked = checked_as(ctx, seen, actor_id, Move.ACKNOWLEDGE, once=once)  # IllegalTransition for closed tickets
        timing = ack_timing(seen.level_entered_at, now, timedelta(seconds=seen.response_sla_seconds))
        change = Change(values={"acknowledged_by": actor_id, "acknowledged_at": now, "assignee_id": actor_id},
                        event="acknowledged", notice=Notice.ACKNOWLEDGED,
                        details={"level": seen.level_key, "elapsed_seconds": int(timing.elapsed.total_seconds()),
                                 "within_sla": timing.within_sla},
                        guard=(Ticket.acknowledged_at.is_(None),))  # of two clicks (even on two replicas) one wins
        try:
            applied = apply_move(ctx, checked, change, now=now, source=source)
        except ChangedMeanwhile:
            pass  # someone else was first, or the ticket moved: say which below
        else:
            if applied is None:
                return None  # this very click was already applied: a replay changes nothing
            return Acknowledged(ticket=view_of(ctx.policy, applied.ticket), first=True, by=actor_id, at=now)
    return _already_acknowledged(ctx, ticket_id, once, now)


def _already_acknowledged(ctx: ServiceContext, ticket_id: int, once: str | None, now: datetime) -> Acknowledged | None:
    """The click came second: it is remembered (a replay says nothing) and answers who was first."""
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, Move.ACKNOWLEDGE.value, now):
            return None
        ticket = get_ticket(session, ticket_id)
        view = view_of(ctx.policy, ticket)
    if ticket.acknowledged_at is None or ticket.acknowledged_by is None:
        raise ChangedMeanwhile(ticket_id)
    return Acknowledged(ticket=view, first=False, by=ticket.acknowledged_by, at=ticket.acknowledged_at)
