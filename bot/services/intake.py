"""Use cases: file a new ticket (document + route), then announce it (contact the level)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.domain.intake import IntakeForm
from bot.domain.routing import route
from bot.services import timers
from bot.services.context import ServiceContext
from bot.services.delivery import deliver_all, safely
from bot.services.ports import Delivery, MessageRef, Notice, TicketCard
from bot.services.tickets import BOT_ACTOR, card_of, get_ticket, record, responder_users
from models import Ticket
from models.timeline import Source


@dataclass(frozen=True)
class Filed:
    ticket_id: int
    created: bool  # False when the same modal submission was already filed (Slack retry, double submit)


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
        level_key=level.key,
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
        level_entered_at=now,
        response_sla_seconds=int(level.response_sla.total_seconds()),
        response_due_at=now + level.response_sla,
        intake_key=intake_key,
    )
    try:
        with ctx.sessions.begin() as session:
            session.add(ticket)
            session.flush()
            record(session, ticket.id, "created", actor=reporter_id, source=Source.MODAL, at=now,
                   title=form.title, category=form.category, severity=form.severity.value,
                   affected_users=form.affected_users, requested_triggers=sorted(form.triggers),
                   customer_executive=form.customer_executive, regulatory=form.regulatory)
            record(session, ticket.id, "routed", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                   level=level.key, severity=decision.severity.value, reason=decision.reason,
                   triggers=[t.key for t in decision.triggers],
                   response_due_at=ticket.response_due_at.isoformat())
            timers.on_level_entered(ctx, session, ticket, now)
        return Filed(ticket.id, created=True)
    except IntegrityError:
        if intake_key is None:
            raise
        with ctx.sessions() as session:
            existing = session.scalars(select(Ticket.id).where(Ticket.intake_key == intake_key)).one()
        return Filed(existing, created=False)


def announce_ticket(ctx: ServiceContext, ticket_id: int) -> None:
    """Contact the level: post the card, confirm to the reporter, page on critical, alert contacts."""
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id)
        card = card_of(ctx.policy, ticket)
    posted = safely(ctx, ticket_id, "card", lambda: ctx.notifier.post_card(card), where=card.level.channel)
    if posted is not None:
        with ctx.sessions.begin() as session:
            ticket = get_ticket(session, ticket_id, for_update=True)
            ticket.card_channel, ticket.card_ts = posted.channel, posted.ts
            record(session, ticket_id, "card_posted", actor=BOT_ACTOR, source=Source.SYSTEM, at=ctx.clock.now(),
                   channel=posted.channel, ts=posted.ts, level=card.level.key)
        link = safely(ctx, ticket_id, "permalink", lambda: ctx.notifier.permalink(posted), record_failure=False)
        with ctx.sessions() as session:
            card = card_of(ctx.policy, get_ticket(session, ticket_id), card_link=link)
    deliver_all(ctx, card, _announcements(ctx, card, posted))


def _announcements(ctx: ServiceContext, card: TicketCard, posted: MessageRef | None) -> list[Delivery]:
    deliveries = [Delivery(Notice.REPORTER_CONFIRMATION, user=card.reporter_id)]
    if card.critical:
        for user in responder_users(ctx, card.level.responders):
            deliveries.append(Delivery(Notice.PAGE, user=user))
    for trigger in ctx.policy.triggers:
        if trigger.label not in card.triggers:
            continue
        for key in trigger.notify:
            contact = ctx.policy.contact(key)
            extra = {"contact": contact.key, "trigger": trigger.label}
            if contact.slack:
                deliveries += [Delivery(Notice.CONTACT_ALERT, user=u, extra=extra) for u in responder_users(ctx, (contact.slack,))]
            elif posted is not None:
                deliveries.append(Delivery(Notice.CONTACT_NO_SLACK, thread=posted, extra=extra))
    return deliveries
