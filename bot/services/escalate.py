"""Use case: escalate a ticket to a higher level and hand it off (the seed's "Contact Next Level")."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain.lifecycle import EscalationAsked, EscalationForm, enter_level, validate_escalation
from bot.domain.severity import Severity
from bot.domain.tickets import Move
from bot.services.announce import queue_card, queue_people
from bot.services.context import ServiceContext
from bot.services.delivery import QUIET_KINDS, RECENT_ENTRIES, enqueue_email
from bot.services.messages import Email, Notice
from bot.services.moves import Change, Validated, apply_move, check_move
from bot.services.readmodel import Handoff, MessageRef, TicketView
from bot.services.tickets import BOT_ACTOR, add_participant, entries, record, view_of
from models import ParticipantRole, Ticket, TimelineEvent
from models.timeline import Source


def check_escalation(ctx: ServiceContext, asked: EscalationAsked) -> Validated[EscalationForm]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Move.ESCALATE, once=asked.once)
    form = validate_escalation(ctx.policy, checked.seen.level_key, reason=asked.reason, target_level=asked.target_level,
                               business_impact=asked.business_impact, troubleshooting=asked.troubleshooting,
                               notes=asked.notes)
    return Validated(checked, form)


def escalate_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: EscalationForm,
                    source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check (the form validated again, as a modal's is) and apply in one call: tests, the bench."""
    asked = EscalationAsked(ticket_id, actor_id, once, reason=form.reason, target_level=form.target_level,
                            business_impact=form.business_impact, troubleshooting=form.troubleshooting, notes=form.notes)
    apply_escalation(ctx, check_escalation(ctx, asked), source=source, relay=relay)


def apply_escalation(ctx: ServiceContext, request: Validated[EscalationForm], *, source: Source = Source.MODAL,
                     relay: bool = True) -> None:
    """Move the ticket up, snapshot the new SLA, clear the acknowledgement, then hand off and tell everyone.
    `relay=False`: the caller relays the queued Slack work itself (a modal does, after its ack)."""
    checked, form = request.checked, request.form
    seen, level, now = checked.seen, ctx.policy.level(form.target_level), ctx.clock.now()
    entered = enter_level(level, now, ctx.tz)
    changes = _changes(seen, form)
    reason = next((r.label for r in ctx.policy.reasons if r.key == form.reason), form.reason)
    change = Change(
        values={**entered, "business_impact": form.business_impact, "troubleshooting": form.troubleshooting,
                "handoffs": Ticket.handoffs + 1},
        event="escalated", notice=Notice.ESCALATED, card_changed=False,
        details={"from_level": seen.level_key, "to_level": level.key, "reason": form.reason, "reason_label": reason,
                 "notes": form.notes, "changes": list(changes), "response_due_at": entered["response_due_at"].isoformat()},
        extra={"from_level": seen.level_key, "reason": reason})

    def hand_off(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
        """Contact the next level: the handoff card (the old card will link to it), pages or the handoff e-mail."""
        add_participant(session, ticket.id, checked.actor_id, ParticipantRole.ESCALATOR, now)
        previous = MessageRef(seen.card_channel, seen.card_ts) if seen.card_channel and seen.card_ts else None
        queue_card(session, ticket, event, now, previous=previous)
        if ticket.severity == Severity.CRITICAL:
            queue_people(session, ticket.id, event, Notice.PAGE, level.responders, now, directory=ctx.directory)
        else:
            handoff = Handoff(escalated_by=checked.actor_id, from_level=seen.level_key, reason=reason, notes=form.notes,
                              changes=changes, number=ticket.handoffs)
            card = replace(view_of(ctx.policy, ticket), handoff=handoff,
                           recent=entries(session, ticket.id, last=RECENT_ENTRIES, skip=QUIET_KINDS))
            _queue_handoff_email(ctx, session, card, handoff, now)

    apply_move(ctx, checked, change, now=now, source=source, effects=hand_off, relay=relay)


def _changes(seen: Ticket, form: EscalationForm) -> tuple[str, ...]:
    changed = []
    if form.business_impact != seen.business_impact:
        changed.append("business impact reassessed")
    if form.troubleshooting != seen.troubleshooting:
        changed.append("more troubleshooting done")
    return tuple(changed)


def _queue_handoff_email(ctx: ServiceContext, session: Session, card: TicketView, handoff: Handoff,
                         now: datetime) -> None:
    """Standard escalations send the detailed handoff e-mail (text and HTML) to the level's address."""
    if not card.level.email:
        return
    context = {"t": card, "h": handoff}
    email = Email(
        to=(card.level.email,),
        subject=ctx.renderer.render_email("email/handoff_subject.txt.j2", **context).strip(),
        text=ctx.renderer.render_email("email/handoff.txt.j2", **context),
        html=ctx.renderer.render_email("email/handoff.html.j2", **context),
    )
    enqueue_email(session, key=f"handoff-email:{card.id}:{handoff.number}",
                  ticket_id=card.id, email=email, now=now)
    if ctx.mailer is None:
        record(session, card.id, "email_skipped", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
               to=card.level.email, reason="SMTP_HOST is not set")
