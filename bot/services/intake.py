"""Use cases: file a new ticket (document + route), and contact its level (card, pages, alerts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.intake import IntakeDraft, IntakeForm, validate_intake
from bot.domain.lifecycle import enter_level
from bot.domain.policy import Trigger
from bot.domain.routing import route
from bot.domain.severity import Severity
from bot.services import timers
from bot.services.announce import queue_card, queue_notice, queue_people
from bot.services.context import ServiceContext
from bot.services.messages import Notice
from bot.services.outbox import relay_all
from bot.services.systemic import queue_systemic_check
from bot.services.tickets import BOT_ACTOR, record
from models import Ticket, TimelineEvent
from models.timeline import Source

@dataclass(frozen=True)
class Filed:
    ticket_id: int
    created: bool  # False when the same modal submission was already filed (Slack retry, double submit)


def check_intake(ctx: ServiceContext, draft: IntakeDraft) -> IntakeForm:
    """The New escalation modal's check, against the policy in force: the validated form, or FormInvalid
    naming each bad field (nothing written)."""
    return validate_intake(draft, ctx.policy)


def open_ticket(ctx: ServiceContext, form: IntakeForm, *, reporter_id: str, intake_key: str | None) -> Filed:
    """Route and store the ticket with its first timeline events, in one transaction."""
    now = ctx.clock.now()
    decision = route(
        ctx.policy,
        category=form.category,
        severity=form.severity,
        trigger_keys=form.triggers,
        affected_users=form.affected_users,
    )
    level = ctx.policy.level(decision.level_key)
    ticket = Ticket(
        title=form.title,
        category=form.category,
        severity=decision.severity,
        description=form.description,
        error_messages=form.error_messages,
        troubleshooting=form.troubleshooting,
        business_impact=form.business_impact,
        affected_users=form.affected_users,
        links=list(form.links),
        attachments=[{"id": a.file_id, "name": a.name, "permalink": a.permalink or ""} for a in form.attachments],
        triggers=[t.key for t in decision.triggers],
        customer_executive=form.customer_executive,
        regulatory=form.regulatory,
        reporter_id=reporter_id,
        created_at=now,
        intake_key=intake_key,
        **enter_level(level, now, ctx.tz),
    )
    try:
        with ctx.sessions.begin() as session:
            session.add(ticket)
            session.flush()
            record(session, ticket.id, "created", actor=reporter_id, source=Source.MODAL, at=now,
                   title=form.title, category=form.category, severity=form.severity.value,
                   affected_users=form.affected_users, requested_triggers=sorted(form.triggers),
                   customer_executive=form.customer_executive, regulatory=form.regulatory)
            routed = record(session, ticket.id, "routed", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                            level=level.key, severity=decision.severity.value, reason=decision.reason,
                            triggers=[t.key for t in decision.triggers],
                            response_due_at=ticket.response_due_at.isoformat())
            timers.on_level_entered(ctx, session, ticket, now)
            _announcements(ctx, session, ticket, routed, now, decision.triggers)
            queue_systemic_check(session, ticket.id, now)
        return Filed(ticket.id, created=True)
    except IntegrityError:
        if intake_key is None:
            raise
        with ctx.sessions() as session:
            existing = session.scalars(select(Ticket.id).where(Ticket.intake_key == intake_key)).one()
        return Filed(existing, created=False)


def announce_ticket(ctx: ServiceContext, ticket_id: int) -> None:
    """Contact the level now: relay what filing the ticket queued (card, confirmation, pages, alerts,
    the systemic-issue check and the notice it may queue)."""
    relay_all(ctx, ticket_id=ticket_id)


def _announcements(ctx: ServiceContext, session: Session, ticket: Ticket, event: TimelineEvent, now: datetime,
                   triggers: tuple[Trigger, ...]) -> None:
    """The seed's "Contact Next Level" for a new ticket, queued with the ticket itself (no Slack call
    before the ack: user groups are expanded when the outbox relays them)."""
    queue_card(session, ticket, event, now)
    queue_notice(session, ticket.id, event, Notice.REPORTER_CONFIRMATION, now, user=ticket.reporter_id)
    if ticket.severity == Severity.CRITICAL:
        queue_people(session, ticket.id, event, Notice.PAGE, ctx.policy.level(ticket.level_key).responders, now,
                     directory=ctx.directory)
    for trigger in triggers:
        for key in trigger.notify:
            contact = ctx.policy.contact(key)
            extra = {"contact": contact.key, "trigger": trigger.label}
            if contact.slack:
                queue_people(session, ticket.id, event, Notice.CONTACT_ALERT, (contact.slack,), now, extra=extra,
                             directory=ctx.directory)
            else:
                queue_notice(session, ticket.id, event, Notice.CONTACT_NO_SLACK, now, thread=True, extra=extra)
