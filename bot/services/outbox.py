"""The outbox: messages decided in a transaction, sent after it by a relay, retried until sent or dead.

Each row has a unique `dedupe_key` (one row per notification, however often it is decided), is
claimed with a lease (one replica sends it), and its outcome is recorded: HTTP 429 waits for
Retry-After without counting as a failure; outages back off exponentially; refusals are dead letters,
logged and on the ticket's timeline. Posts are paced per channel.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.claims import claim
from bot.services.context import ServiceContext
from bot.services.ports import Delivery, DeliveryFailed, Email, MailFailed, Notice
from bot.services.tickets import BOT_ACTOR, card_of, get_ticket, record
from models import OutboxMessage, OutboxStatus
from models.timeline import Source

BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=3))
MAX_ATTEMPTS = 8
LEASE = timedelta(seconds=60)
EMAIL = "email"
NOTICE = "notice"


def _enqueue(session: Session, *, key: str, kind: str, ticket_id: int | None, payload: dict[str, Any], now: datetime) -> None:
    """Queue once per key, in the caller's transaction (the unique key backs the check)."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
        session.add(OutboxMessage(dedupe_key=key, kind=kind, ticket_id=ticket_id, payload=payload,
                                  next_attempt_at=now, created_at=now))


def enqueue_email(session: Session, *, key: str, ticket_id: int | None, email: Email, now: datetime) -> None:
    _enqueue(session, key=key, kind=EMAIL, ticket_id=ticket_id, payload=asdict(email), now=now)


def enqueue_notice(session: Session, *, key: str, ticket_id: int, notice: Notice, now: datetime, user: str | None = None,
                   channel: str | None = None, thread: bool = False, extra: dict[str, str] | None = None) -> None:
    """A notice about a ticket to a DM (`user`), a channel, or the ticket card's thread; rendered when sent."""
    _enqueue(session, key=key, kind=NOTICE, ticket_id=ticket_id, now=now, payload={
        "notice": notice.value, "user": user, "channel": channel, "thread": thread, "extra": extra or {}})


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts - 1, len(BACKOFF) - 1)]


class Pacer:
    """At most one post per channel per interval, across the relay's calls in this process."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str, interval: timedelta) -> None:
        if interval <= timedelta(0):
            return
        with self._lock:
            ready = self._last.get(channel, 0.0) + interval.total_seconds()
            now = time.monotonic()
            self._last[channel] = max(now, ready)
        if ready > now:
            time.sleep(ready - now)


PACER = Pacer()


def relay_due(ctx: ServiceContext, *, worker: str = "relay", limit: int = 100) -> int:
    """Send what is due, outside any transaction; returns how many were sent."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        ids = claim(session, OutboxMessage,
                    due=(OutboxMessage.status == OutboxStatus.PENDING.value) & (OutboxMessage.next_attempt_at <= now),
                    order_by=OutboxMessage.id, now=now, lease_until=now + LEASE, worker=worker, limit=limit)
    return sum(_send_one(ctx, message_id, worker) for message_id in ids)


def _send_one(ctx: ServiceContext, message_id: int, worker: str) -> bool:
    with ctx.sessions() as session:
        message = session.get(OutboxMessage, message_id)
        if message is None or message.status != OutboxStatus.PENDING.value or message.claimed_by != worker:
            return False
        kind, payload, ticket_id, attempts = message.kind, dict(message.payload), message.ticket_id, message.attempts
    error: DeliveryFailed | MailFailed | None = None
    try:
        (_send_email if kind == EMAIL else _send_notice)(ctx, payload, ticket_id)
    except (DeliveryFailed, MailFailed) as exc:
        error = exc
    _settle(ctx, message_id, kind, payload, ticket_id, attempts, error)
    return error is None


def _send_email(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None) -> None:
    if ctx.mailer is None:
        raise MailFailed("SMTP_HOST is not set; e-mail is switched off", permanent=True)
    ctx.mailer.send(Email(to=tuple(payload["to"]), subject=payload["subject"], text=payload["text"], html=payload["html"]))


def _send_notice(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None) -> None:
    """Render with the ticket as it is now, then deliver through the relay's notifier."""
    with ctx.sessions() as session:
        card = card_of(ctx.policy, get_ticket(session, ticket_id or 0))
    notifier = ctx.relay
    if card.card is not None:
        try:
            card = replace(card, card_link=notifier.permalink(card.card))
        except DeliveryFailed:
            pass  # a notice without its link is better than no notice
    thread = card.card if payload.get("thread") else None
    if payload.get("thread") and thread is None:
        thread, channel = None, card.level.channel  # no card to thread under: say it in the level channel
    else:
        channel = payload.get("channel")
    delivery = Delivery(Notice(payload["notice"]), user=payload.get("user"), thread=thread,
                        channel=channel, extra=dict(payload.get("extra") or {}))
    PACER.wait(delivery.user or (thread.channel if thread else channel) or "", ctx.pace)
    notifier.deliver(delivery, card)


def _settle(ctx: ServiceContext, message_id: int, kind: str, payload: dict[str, Any], ticket_id: int | None,
            attempts: int, error: DeliveryFailed | MailFailed | None) -> None:
    now = ctx.clock.now()
    retry_after = getattr(error, "retry_after", None)
    with ctx.sessions.begin() as session:
        message = session.get_one(OutboxMessage, message_id)
        message.claimed_until = None
        what = "handoff_email" if kind == EMAIL else payload.get("notice")
        where = ", ".join(payload["to"]) if kind == EMAIL else (payload.get("user") or payload.get("channel") or "thread")
        if error is None:
            message.attempts = attempts + 1
            message.status, message.sent_at, message.last_error = OutboxStatus.SENT.value, now, None
            if ticket_id is not None:
                if kind == EMAIL:
                    record(session, ticket_id, "email_sent", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           to=list(payload["to"]), subject=payload["subject"], attempt=attempts + 1)
                else:
                    record(session, ticket_id, "notified", actor=BOT_ACTOR, source=Source.SCHEDULER, at=now,
                           notice=what, to=where)
            return
        message.last_error = error.reason
        if retry_after is not None:  # rate limited: wait as told, not a failed attempt
            message.next_attempt_at = now + timedelta(seconds=retry_after)
            return
        message.attempts = attempts + 1
        dead = error.permanent or message.attempts >= MAX_ATTEMPTS
        message.status = OutboxStatus.DEAD.value if dead else OutboxStatus.PENDING.value
        message.next_attempt_at = now + backoff(message.attempts)
        if ticket_id is not None:
            record(session, ticket_id, "delivery_failed", actor=BOT_ACTOR, source=Source.SYSTEM, at=now, what=what,
                   where=where, reason=error.reason, attempt=message.attempts,
                   retry_at=None if dead else message.next_attempt_at.isoformat())
    (ctx.log.error if dead else ctx.log.warning)(
        "outbox %s (%s to %s) failed, attempt %s%s: %s", message_id, what, where, message.attempts,
        ", dead letter" if dead else "", error.reason)


