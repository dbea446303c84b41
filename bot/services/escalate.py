"""Use case: escalate a ticket to a higher level and hand it off (the seed's "Contact Next Level")."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import update

from bot.domain.lifecycle import EscalationForm, default_target
from bot.domain.permissions import Act
from bot.domain.severity import Severity
from bot.domain.tickets import DomainError, Move, ticket_ref, transition
from bot.services import timers
from bot.services.context import ServiceContext
from bot.services.announce import queue_card, queue_change, queue_people
from bot.services.delivery import QUIET_KINDS, RECENT_ENTRIES, enqueue_email
from bot.services.outbox import relay_all
from bot.services.ports import Email, Handoff, MessageRef, Notice, TicketCard
from bot.services.tickets import (
    BOT_ACTOR, add_participant, authorize, card_of, entries, first_time, get_ticket, record, response_due,
)
from models import ParticipantRole, Ticket
from models.timeline import Source


def escalate_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: EscalationForm,
                    source: Source = Source.MODAL, authorized: bool = False, once: str | None = None,
                    relay: bool = True) -> None:
    """Move the ticket up, snapshot the new SLA, clear the acknowledgement, then hand off and tell everyone.

    `once`: the modal's view id; a second submission of the same view changes nothing.
    `relay=False`: the caller relays the queued Slack work itself (a modal does, after its ack)."""
    seen = get_ticket_now(ctx, ticket_id) if authorized else authorize(ctx, ticket_id, actor_id, Act.ESCALATE)
    target = transition(seen.status, Move.ESCALATE)
    level = ctx.policy.level(form.target_level)
    now = ctx.clock.now()
    changes = _changes(seen, form)
    reason = next((r.label for r in ctx.policy.reasons if r.key == form.reason), form.reason)
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "escalate", now):
            return  # this modal was already applied: a replayed submission changes nothing
        moved = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.level_key == seen.level_key, Ticket.status == seen.status)
            .values(level_key=level.key, status=target, level_entered_at=now,
                    response_sla_seconds=int(level.response_sla.total_seconds()), response_due_at=response_due(ctx, level, now),
                    acknowledged_by=None, acknowledged_at=None, assignee_id=None,
                    business_impact=form.business_impact, troubleshooting=form.troubleshooting,
                    handoffs=Ticket.handoffs + 1)
        ).rowcount == 1
        if not moved:
            raise DomainError(f"{ticket_ref(ticket_id)} changed while you were escalating; look at the card and try again.")
        add_participant(session, ticket_id, actor_id, ParticipantRole.ESCALATOR, now)
        ticket = get_ticket(session, ticket_id)
        event = record(session, ticket_id, "escalated", actor=actor_id, source=source, at=now,
                       from_level=seen.level_key, to_level=level.key, reason=form.reason, reason_label=reason,
                       notes=form.notes, changes=list(changes), response_due_at=ticket.response_due_at.isoformat())
        timers.on_level_entered(ctx, session, ticket, now)
        # Contact the next level: the handoff card (the old card will link to it), pages or the handoff e-mail.
        previous = MessageRef(seen.card_channel, seen.card_ts) if seen.card_channel and seen.card_ts else None
        queue_card(session, ticket, event, now, previous=previous)
        if ticket.severity == Severity.CRITICAL:
            queue_people(session, ticket_id, event, Notice.PAGE, level.responders, now, directory=ctx.directory)
        if ticket.severity != Severity.CRITICAL:
            handoff = Handoff(escalated_by=actor_id, from_level=seen.level_key, reason=reason, notes=form.notes,
                              changes=changes, number=ticket.handoffs)
            card = replace(card_of(ctx.policy, ticket), handoff=handoff,
                           recent=entries(session, ticket_id, last=RECENT_ENTRIES, skip=QUIET_KINDS))
            _queue_handoff_email(ctx, session, card, now)
        queue_change(session, ticket, event, Notice.ESCALATED, now, actor_id=actor_id, card_changed=False,
                     extra={"from_level": seen.level_key, "reason": reason})
    if relay:
        relay_all(ctx, ticket_id=ticket_id)


def get_ticket_now(ctx: ServiceContext, ticket_id: int) -> Ticket:
    with ctx.sessions() as session:
        return get_ticket(session, ticket_id)


def _changes(seen: Ticket, form: EscalationForm) -> tuple[str, ...]:
    changed = []
    if form.business_impact != seen.business_impact:
        changed.append("business impact reassessed")
    if form.troubleshooting != seen.troubleshooting:
        changed.append("more troubleshooting done")
    return tuple(changed)


def _queue_handoff_email(ctx: ServiceContext, session, card: TicketCard, now) -> None:  # noqa: ANN001
    """Standard escalations send the detailed handoff e-mail (text and HTML) to the level's address."""
    if not card.level.email:
        return
    context = {"t": card, "h": card.handoff}
    email = Email(
        to=(card.level.email,),
        subject=ctx.renderer.render_email("email/handoff_subject.txt.j2", **context).strip(),
        text=ctx.renderer.render_email("email/handoff.txt.j2", **context),
        html=ctx.renderer.render_email("email/handoff.html.j2", **context),
    )
    enqueue_email(session, key=f"handoff-email:{card.id}:{card.handoff.number if card.handoff else 0}",
                  ticket_id=card.id, email=email, now=now)
    if ctx.mailer is None:
        record(session, card.id, "email_skipped", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
               to=card.level.email, reason="SMTP_HOST is not set")


@dataclass(frozen=True)
class EscalationDefaults:
    ticket_id: int
    ref: str
    current_level: str
    target_level: str
    business_impact: str
    troubleshooting: str


def prepare_escalation(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> EscalationDefaults:
    """Check the actor may escalate and the ticket can go up; the modal is pre-filled from the ticket."""
    ticket = authorize(ctx, ticket_id, actor_id, Act.ESCALATE)
    transition(ticket.status, Move.ESCALATE)
    return EscalationDefaults(ticket_id, ticket_ref(ticket_id), ticket.level_key, default_target(ctx.policy, ticket.level_key),
                              ticket.business_impact, ticket.troubleshooting)
