"""Use cases: post a status update (the seed's "communicate status"), reassign, and subscribe to a ticket."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.domain.lifecycle import ReassignAsked, UpdateAsked, UpdateForm, validate_assignee, validate_update
from bot.domain.permissions import Act
from bot.domain.tickets import Move
from bot.services.context import ServiceContext
from bot.services.messages import Notice
from bot.services.moves import Change, Validated, apply_move, check_move
from bot.services.tickets import add_participant, authorize, first_time, get_ticket, participants, record
from models import Participant, ParticipantRole, Ticket, TimelineEvent
from models.timeline import Source


def check_update(ctx: ServiceContext, asked: UpdateAsked) -> Validated[UpdateForm]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Move.POST_UPDATE, once=asked.once)
    form = validate_update(status=asked.status, next_steps=asked.next_steps, next_update_by=asked.next_update_by,
                           now=ctx.clock.now())
    return Validated(checked, form)


def post_update(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: UpdateForm,
                source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check (the form validated again, as a modal's is) and apply in one call: tests, the bench."""
    asked = UpdateAsked(ticket_id, actor_id, once, status=form.status, next_steps=form.next_steps,
                        next_update_by=form.next_update_by)
    apply_update(ctx, check_update(ctx, asked), source=source, relay=relay)


def apply_update(ctx: ServiceContext, request: Validated[UpdateForm], *, source: Source = Source.MODAL, relay: bool = True) -> None:
    """Post in the thread and DM the reporter, escalators and subscribers; a promised time is kept."""
    form, now = request.form, ctx.clock.now()
    change = Change(values={"last_update_at": now, "next_update_by": form.next_update_by},
                    event="update_posted", notice=Notice.UPDATE,
                    details={"status": form.status, "next_steps": form.next_steps,
                             "next_update_by": form.next_update_by.isoformat() if form.next_update_by else None},
                    extra={"status": form.status, "next_steps": form.next_steps})
    apply_move(ctx, request.checked, change, now=now, source=source, relay=relay)


def check_reassign(ctx: ServiceContext, asked: ReassignAsked) -> Validated[str]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Move.REASSIGN, once=asked.once)
    return Validated(checked, validate_assignee(asked.assignee_id))


def reassign_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, assignee_id: str,
                    source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check (the assignee validated again) and apply in one call."""
    apply_reassign(ctx, check_reassign(ctx, ReassignAsked(ticket_id, actor_id, once, assignee_id=assignee_id)),
                   source=source, relay=relay)


def apply_reassign(ctx: ServiceContext, request: Validated[str], *, source: Source = Source.MODAL, relay: bool = True) -> None:
    """A manager (or the level) hands the ticket to someone; they are told, and so is everyone on it."""
    now, assignee = ctx.clock.now(), request.form
    change = Change(values={"assignee_id": assignee}, event="reassigned", notice=Notice.REASSIGNED,
                    details={"assignee": assignee, "previous": request.checked.seen.assignee_id})

    def subscribe_assignee(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
        add_participant(session, ticket.id, assignee, ParticipantRole.SUBSCRIBER, now)

    apply_move(ctx, request.checked, change, now=now, source=source, effects=subscribe_assignee, relay=relay)


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
