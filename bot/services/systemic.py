"""Systemic issues: several tickets of one category in a short window are flagged together, once."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.domain.tickets import LIVE_STATES, ticket_ref
from bot.services.context import ServiceContext
from bot.services.messages import SystemicNotice
from bot.services.ports import DeliveryFailed, Once
from bot.services.readmodel import MessageRef
from bot.services.queue import NoPayload, OutboxKind, Payload, enqueue
from bot.services.tickets import BOT_ACTOR, get_ticket, record
from models import SystemicAlert, Ticket
from models.timeline import Source

SYSTEMIC_REASON = "systemic"


def queue_systemic_check(session: Session, ticket_id: int, now: datetime) -> None:
    """Decided with the ticket, in its transaction: the check runs when the outbox relays this row
    (right after the ack, or after a restart), so a crash after the ack can't lose it."""
    enqueue(session, key=f"{OutboxKind.SYSTEMIC_CHECK}:{ticket_id}", kind=OutboxKind.SYSTEMIC_CHECK, ticket_id=ticket_id,
            payload=NoPayload(), now=now)


def send_systemic_check(ctx: ServiceContext, payload: NoPayload, ticket_id: int, once: Once) -> None:
    """The outbox sender: run the check of a filed ticket (idempotent: a retried row changes nothing more)."""
    check_systemic(ctx, ticket_id)


def check_systemic(ctx: ServiceContext, ticket_id: int) -> int | None:
    """After a ticket is filed: join the category's live alert, or raise one when the threshold is met;
    the notice (posted or refreshed) is queued in the same transaction. Idempotent: a second run for
    the same ticket changes nothing and queues nothing."""
    rule = ctx.policy.systemic
    with ctx.sessions.begin() as session:
        ticket = get_ticket(session, ticket_id)
        now = ticket.created_at
        _serialise_category(session, ticket.category)
        alerts = session.scalars(
            select(SystemicAlert).where(SystemicAlert.category == ticket.category, SystemicAlert.window_ends_at >= now)
            .order_by(SystemicAlert.id.desc()).with_for_update()
        ).all()
        if member_of := next((a for a in alerts if ticket_id in a.ticket_ids), None):
            return member_of.id  # checked before (a retried row, a replay): already counted
        alert = next((a for a in alerts if a.escalated_at is None), None)
        if alert is not None:
            alert.ticket_ids = [*alert.ticket_ids, ticket_id]
            raised = False
        else:
            recent = session.scalars(
                select(Ticket.id).where(Ticket.category == ticket.category, Ticket.created_at >= now - rule.window,
                                        Ticket.created_at <= now, Ticket.status.in_(LIVE_STATES)).order_by(Ticket.id)
            ).all()
            if len(recent) < rule.threshold:
                return None
            alert = SystemicAlert(category=ticket.category, opened_at=now, window_ends_at=now + rule.window,
                                  ticket_ids=list(recent))
            session.add(alert)
            session.flush()
            for member in recent:
                record(session, member, "systemic_flagged", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       alert=alert.id, category=ticket.category, tickets=list(recent))
            raised = True
        queue_notice(ctx, session, alert, ticket_id, ctx.clock.now(), change=str(len(alert.ticket_ids)), post=raised)
        return alert.id


def _serialise_category(session: Session, category: str) -> None:
    """Two tickets of one category checked at once must not raise two alerts: on PostgreSQL a
    transaction-scoped advisory lock per category (SQLite serialises writers by itself)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(category.encode())})


@dataclass(frozen=True)
class SystemicNoticePayload(Payload):
    alert: int
    post: bool = False  # only the row that raised the alert posts its notice; the others refresh it
    channel: str | None = None  # the last level's channel, where it goes

    def where(self) -> str:
        return self.channel or "card"


def queue_notice(ctx: ServiceContext, session: Session, alert: SystemicAlert, ticket_id: int, now: datetime, *,
                  change: str, post: bool = False) -> None:
    """One row per change of the alert (a new member, the escalation), rendered when sent. Only the
    row that raised the alert posts the notice; every other one refreshes it, so two rows relayed at
    once never post two notices."""
    enqueue(session, key=f"{OutboxKind.SYSTEMIC_NOTICE}:{alert.id}:{change}", kind=OutboxKind.SYSTEMIC_NOTICE,
            ticket_id=ticket_id, now=now,
            payload=SystemicNoticePayload(alert=alert.id, post=post, channel=ctx.policy.last_level.channel))


def send_systemic_notice(ctx: ServiceContext, payload: SystemicNoticePayload, once: Once) -> None:
    """The outbox sender: post the notice (or update it in place once it exists) as the alert is now."""
    alert_id = payload.alert
    with ctx.sessions() as session:
        alert = session.get_one(SystemicAlert, alert_id)
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_(alert.ticket_ids)).order_by(Ticket.id)).all()
        existing = MessageRef(alert.notice_channel, alert.notice_ts) if alert.notice_channel and alert.notice_ts else None
        cards = [(t.id, t.title, MessageRef(t.card_channel, t.card_ts) if t.card_channel and t.card_ts else None)
                 for t in tickets]
        category, escalated_by = alert.category, alert.escalated_by
    if existing is None and not payload.post:
        raise DeliveryFailed("systemic notice not posted yet")  # the raising row posts it; retried after that
    links = tuple((ticket_ref(i), title, _permalink(ctx, ref)) for i, title, ref in cards)
    notice = SystemicNotice(alert_id=alert_id, category=category, channel=ctx.policy.last_level.channel, tickets=links,
                            window=ctx.policy.systemic.window, escalated_by=escalated_by)
    try:
        posted = ctx.relay.post_systemic_notice(notice, existing, once=once)
    except DeliveryFailed as exc:
        if existing is None or not exc.gone:  # someone deleted the notice: post a new one, don't give up
            raise
        ctx.log.warning("systemic notice %s: its message is gone from Slack (%s); posting it again", alert_id, exc.reason)
        existing, posted = None, ctx.relay.post_systemic_notice(notice, None, once=once)
    if existing is None:
        with ctx.sessions.begin() as session:
            alert = session.get_one(SystemicAlert, alert_id, with_for_update=True)
            alert.notice_channel, alert.notice_ts = posted.channel, posted.ts


def _permalink(ctx: ServiceContext, ref: MessageRef | None) -> str | None:
    if ref is None:
        return None
    try:
        return ctx.relay.permalink(ref)
    except DeliveryFailed:
        return None  # the notice without a link is better than no notice
