"""Use case: a responder acknowledges a ticket at its current level (and becomes its assignee)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update

from bot.domain.permissions import Act
from bot.domain.tickets import DomainError, Move, ack_timing, ticket_ref, transition
from bot.services import timers
from bot.services.context import ServiceContext
from bot.services.announce import queue_change
from bot.services.outbox import relay_all
from bot.services.ports import Notice, TicketCard
from bot.services.tickets import authorize, card_of, first_time, get_ticket, record
from models import Ticket
from models.timeline import Source


@dataclass(frozen=True)
class Acknowledged:
    card: TicketCard
    first: bool  # False when someone had already acknowledged: nothing changed
    by: str
    at: datetime


def acknowledge_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, source: Source = Source.BUTTON,
                       once: str | None = None) -> Acknowledged | None:
    """Record who acknowledged and when, once; later clicks change nothing and say who was first.
    `once` names the click: a re-sent copy of it answers None (nothing to say, nothing done)."""
    seen = authorize(ctx, ticket_id, actor_id, Act.ACKNOWLEDGE)
    if seen.acknowledged_at is None:
        target = transition(seen.status, Move.ACKNOWLEDGE)  # IllegalTransition for closed tickets
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "acknowledge", now):
            return None  # this very click was already applied: a replay changes nothing
        # Conditional update: of two simultaneous clicks (even on two replicas) exactly one wins.
        claimed = seen.acknowledged_at is None and session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.level_key == seen.level_key,
                   Ticket.status == seen.status, Ticket.acknowledged_at.is_(None))
            .values(status=target, acknowledged_by=actor_id, acknowledged_at=now, assignee_id=actor_id)
        ).rowcount == 1
        ticket = get_ticket(session, ticket_id)
        if claimed:
            timing = ack_timing(ticket.level_entered_at, now, timedelta(seconds=ticket.response_sla_seconds))
            event = record(session, ticket_id, "acknowledged", actor=actor_id, source=source, at=now, level=ticket.level_key,
                           elapsed_seconds=int(timing.elapsed.total_seconds()), within_sla=timing.within_sla)
            timers.on_acknowledged(session, ticket_id)
            queue_change(session, ticket, event, Notice.ACKNOWLEDGED, now, actor_id=actor_id)
        card = card_of(ctx.policy, ticket)
    if ticket.acknowledged_at is None:
        raise DomainError(f"{ticket_ref(ticket_id)} changed while you clicked; look at the card and try again.")
    if claimed:
        relay_all(ctx, ticket_id=ticket_id)
    return Acknowledged(card=card, first=claimed, by=ticket.acknowledged_by or actor_id, at=ticket.acknowledged_at)
