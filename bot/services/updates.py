"""Use cases: post a status update (the seed's "communicate status"), and subscribe to a ticket."""

from __future__ import annotations

from sqlalchemy import delete

from bot.domain.lifecycle import UpdateForm
from bot.domain.permissions import Act
from bot.domain.tickets import DomainError, takes_updates, ticket_ref
from bot.services import timers
from bot.services.context import ServiceContext
from bot.services.announce import queue_change
from bot.services.outbox import relay_all
from bot.services.ports import Notice
from bot.services.tickets import add_participant, authorize, first_time, get_ticket, participants, record
from models import Participant, ParticipantRole, Ticket
from models.timeline import Source


def prepare_update(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> str:
    """Check the actor may post an update on this ticket now; returns its ref."""
    ticket = authorize(ctx, ticket_id, actor_id, Act.POST_UPDATE)
    if not takes_updates(ticket.status):
        raise DomainError(f"{ticket_ref(ticket_id)} is closed; reopen it before posting updates.")
    return ticket_ref(ticket_id)


def post_update(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: UpdateForm,
                source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Post in the thread and DM the reporter, escalators and subscribers; a promised time is kept.
    `once`: the modal's view id; a replayed submission posts nothing."""
    prepare_update(ctx, ticket_id, actor_id=actor_id)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "post_update", now):
            return  # this modal was already applied: a replayed submission changes nothing
        ticket = get_ticket(session, ticket_id, for_update=True)
        ticket.last_update_at, ticket.next_update_by = now, form.next_update_by
        event = record(session, ticket_id, "update_posted", actor=actor_id, source=source, at=now, status=form.status,
                       next_steps=form.next_steps,
                       next_update_by=form.next_update_by.isoformat() if form.next_update_by else None)
        timers.on_update(ctx, session, ticket, now)
        queue_change(session, ticket, event, Notice.UPDATE, now, actor_id=actor_id,
                     extra={"status": form.status, "next_steps": form.next_steps})
    if relay:
        relay_all(ctx, ticket_id=ticket_id)


def prepare_reassign(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> Ticket:
    ticket = authorize(ctx, ticket_id, actor_id, Act.REASSIGN)
    if not takes_updates(ticket.status):
        raise DomainError(f"{ticket_ref(ticket_id)} is closed; reopen it before reassigning.")
    return ticket


def reassign_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, assignee_id: str,
                    source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """A manager (or the level) hands the ticket to someone; they are told, and so is everyone on it."""
    seen = prepare_reassign(ctx, ticket_id, actor_id=actor_id)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "reassign", now):
            return  # this modal was already applied: a replayed submission changes nothing
        ticket = get_ticket(session, ticket_id, for_update=True)
        ticket.assignee_id = assignee_id
        event = record(session, ticket_id, "reassigned", actor=actor_id, source=source, at=now, assignee=assignee_id,
                       previous=seen.assignee_id)
        add_participant(session, ticket_id, assignee_id, ParticipantRole.SUBSCRIBER, now)
        queue_change(session, ticket, event, Notice.REASSIGNED, now, actor_id=actor_id)
    if relay:
        relay_all(ctx, ticket_id=ticket_id)


def toggle_subscription(ctx: ServiceContext, ticket_id: int, *, user_id: str, once: str | None = None) -> bool | None:
    """Subscribe (True) or, when already subscribed, unsubscribe (False); either is on the timeline.

    Only someone who may view the ticket may subscribe (NotAllowed otherwise); leaving is always allowed.
    `once` names the click: a replayed click toggles nothing and answers None."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        subscribed = user_id in participants(session, ticket_id, ParticipantRole.SUBSCRIBER)
    if not subscribed:
        authorize(ctx, ticket_id, user_id, Act.SUBSCRIBE)
    with ctx.sessions.begin() as session:
        get_ticket(session, ticket_id, for_update=True)
        if not first_time(session, once, ticket_id, "subscribe", now):
            return None
        added = add_participant(session, ticket_id, user_id, ParticipantRole.SUBSCRIBER, now) if not subscribed else False
        if not subscribed and not added:  # subscribed meanwhile (a double click): the click stays a subscribe
            return True
        if subscribed:
            session.execute(delete(Participant).where(Participant.ticket_id == ticket_id, Participant.user_id == user_id,
                                                      Participant.role == ParticipantRole.SUBSCRIBER.value))
        record(session, ticket_id, "subscribed" if added else "unsubscribed", actor=user_id, source=Source.BUTTON, at=now)
    return added
