"""Shared ticket plumbing for services: loading, the timeline, and the card snapshot."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.policy import Contact, Policy
from bot.domain.routing import affected_share_percent
from bot.domain.tickets import TicketNotFound, ack_timing, ticket_ref
from bot.services.ports import MessageRef, TicketCard
from models import Ticket, TimelineEvent
from models.timeline import Source

BOT_ACTOR = "bot"


def get_ticket(session: Session, ticket_id: int, *, for_update: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def record(
    session: Session, ticket_id: int, kind: str, *, actor: str, source: Source, at: datetime, **details: Any
) -> TimelineEvent:
    """Append one timeline event (never updated, never deleted)."""
    event = TimelineEvent(ticket_id=ticket_id, at=at, actor_id=actor, kind=kind, source=source.value, details=details)
    session.add(event)
    return event


def timeline(session: Session, ticket_id: int) -> list[TimelineEvent]:
    query = select(TimelineEvent).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.at, TimelineEvent.id)
    return list(session.scalars(query))


def hotline_for(policy: Policy, ticket: Ticket) -> tuple[Contact, ...]:
    """The contacts a critical ticket shows: the level's hotline, plus the contacts its triggers notify."""
    if ticket.severity != "critical":
        return ()
    hotline = policy.hotline_from(ticket.level_key)
    contacts = ([hotline] if hotline else []) + [
        policy.contact(key) for t in policy.triggers if t.key in ticket.triggers for key in t.notify
    ]
    return tuple({c.key: c for c in contacts}.values())


def card_of(policy: Policy, ticket: Ticket, *, card_link: str | None = None) -> TicketCard:
    """A plain snapshot of the ticket for messages; resolves policy names at this moment."""
    level = policy.level(ticket.level_key)
    sla = timedelta(seconds=ticket.response_sla_seconds)
    ack_summary = None
    if ticket.acknowledged_at is not None:
        ack_summary = ack_timing(ticket.level_entered_at, ticket.acknowledged_at, sla).summary
    labels = {t.key: t.label for t in policy.triggers}
    return TicketCard(
        id=ticket.id,
        ref=ticket_ref(ticket.id),
        title=ticket.title,
        category=ticket.category,
        severity=ticket.severity,
        status=ticket.status,
        level=level,
        reporter_id=ticket.reporter_id,
        created_at=ticket.created_at,
        level_entered_at=ticket.level_entered_at,
        response_sla=sla,
        response_due_at=ticket.response_due_at,
        description=ticket.description,
        error_messages=ticket.error_messages,
        troubleshooting=ticket.troubleshooting,
        business_impact=ticket.business_impact,
        affected_users=ticket.affected_users,
        affected_share=affected_share_percent(policy, ticket.affected_users),
        links=tuple(ticket.links),
        attachments=tuple(ticket.attachments),
        triggers=tuple(labels.get(key, key) for key in ticket.triggers),
        customer_executive=ticket.customer_executive,
        regulatory=ticket.regulatory,
        hotline=hotline_for(policy, ticket),
        acknowledged_by=ticket.acknowledged_by,
        acknowledged_at=ticket.acknowledged_at,
        ack_summary=ack_summary,
        card=MessageRef(ticket.card_channel, ticket.card_ts) if ticket.card_channel and ticket.card_ts else None,
        card_link=card_link,
    )
