"""The outbox: messages decided in a transaction, sent after it, retried with backoff until sent or dead."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.context import ServiceContext
from bot.services.ports import Email, MailFailed
from bot.services.tickets import BOT_ACTOR, record
from models import OutboxMessage, OutboxStatus
from models.timeline import Source

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3))
MAX_ATTEMPTS = 8
EMAIL = "email"


def enqueue_email(session: Session, *, key: str, ticket_id: int | None, email: Email, now: datetime) -> None:
    """Queue an e-mail in the caller's transaction; the same key twice queues it once."""
    exists = session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    if exists is None:
        session.add(OutboxMessage(dedupe_key=key, kind=EMAIL, ticket_id=ticket_id, payload=asdict(email),
                                  next_attempt_at=now, created_at=now))


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]


def relay_due(ctx: ServiceContext, *, limit: int = 50) -> int:
    """Send what is due (outside any transaction); record each outcome on its ticket's timeline."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        due = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
        ).all()
    return sum(_send_one(ctx, message_id) for message_id in due)


def _send_one(ctx: ServiceContext, message_id: int) -> bool:
    with ctx.sessions() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status != OutboxStatus.PENDING.value:
            return False
        payload, ticket_id, attempts = dict(message.payload), message.ticket_id, message.attempts + 1
    email = Email(to=tuple(payload["to"]), subject=payload["subject"], text=payload["text"], html=payload["html"])
    error: MailFailed | None = None
    if ctx.mailer is None:
        error = MailFailed("SMTP_HOST is not set; e-mail is switched off", permanent=True)
    else:
        try:
            ctx.mailer.send(email)
        except MailFailed as exc:
            error = exc
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        message = session.get_one(OutboxMessage, message_id)
        message.attempts = attempts
        if error is None:
            message.status, message.sent_at, message.last_error = OutboxStatus.SENT.value, now, None
        else:
            message.last_error = error.reason
            dead = error.permanent or attempts >= MAX_ATTEMPTS
            message.status = OutboxStatus.DEAD.value if dead else OutboxStatus.PENDING.value
            message.next_attempt_at = now + backoff(attempts)
        if ticket_id is not None:
            if error is None:
                record(session, ticket_id, "email_sent", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       to=list(email.to), subject=email.subject, attempt=attempts)
            else:
                record(session, ticket_id, "delivery_failed", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       what="handoff_email", where=", ".join(email.to), reason=error.reason, attempt=attempts,
                       retry_at=None if message.status == OutboxStatus.DEAD.value else message.next_attempt_at.isoformat())
    if error is not None:
        ctx.log.warning("e-mail %s to %s failed (attempt %s): %s", message_id, email.to, attempts, error.reason)
    return error is None

