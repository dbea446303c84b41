"""The outbox: messages decided in a transaction, sent after it by a relay, retried until sent or dead.

Each row has a unique `dedupe_key` (one row per notification, however often it is decided), is
claimed with a lease (one replica sends it), and its outcome is recorded: HTTP 429 waits for
Retry-After without counting as a failure; outages back off exponentially with jitter (seconds at
first, minutes at most) for up to a day; refusals are dead letters, logged and on the ticket's
timeline. While rows back off, the sweep probes with the oldest every few seconds, and the first
success releases every backoff at once: what fell due goes out as soon as Slack answers again.
Posts are paced per channel.

Rows are queued through bot/services/queue.py; each kind's sender and payload live with its use case
(bot/services/senders.py lists them), storm control in bot/services/storm.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from bot import metrics
from bot.services.claims import LEASE, WORKER, claim
from bot.services.delivery import EmailPayload
from bot.services.context import ServiceContext
from bot.services.ports import DeliveryFailed, MailFailed, Once
from bot.services.queue import NoticePayload, OutboxKind, Payload
from bot.services.senders import SENDERS, Outcome
from bot.services.storm import Fold, fold
from bot.services.tickets import BOT_ACTOR, record
from models import OutboxMessage, OutboxStatus
from models.timeline import Source

EMAIL = OutboxKind.EMAIL.value

FIRST_RETRY = timedelta(seconds=2)  # the first retry comes after 1-2 s, then the wait doubles…
RETRY_CAP = timedelta(minutes=5)  # …up to 2.5-5 min
GIVE_UP_AFTER = timedelta(days=1)  # a message failing this long is a dead letter
PROBE_EVERY = timedelta(seconds=2)  # while rows back off, the sweep tries one this often: is Slack back?
RATE_LIMITED = "rate_limited: "  # last_error prefix of a row waiting for Retry-After (not released early)


def backoff(attempts: int, jitter: float) -> timedelta:
    """Capped exponential backoff with jitter: after failure n, between half and all of 2ⁿ s (capped)."""
    ceiling = min(RETRY_CAP, FIRST_RETRY * 2 ** min(attempts - 1, 20))
    return ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


def relay_due(ctx: ServiceContext, *, worker: str = WORKER, limit: int = 100, ticket_id: int | None = None,
              key: str | None = None) -> int:
    """Send what is due (only one ticket's messages, or one row, when given), outside any transaction;
    returns how many were sent, or handed on (given up, with word of it queued for the caller to relay)."""
    now = ctx.clock.now()
    due = (OutboxMessage.status == OutboxStatus.PENDING.value) & (OutboxMessage.next_attempt_at <= now)
    if ticket_id is not None:
        due = due & (OutboxMessage.ticket_id == ticket_id)
    if key is not None:
        due = due & (OutboxMessage.dedupe_key == key)
    with ctx.sessions.begin() as session:
        ids = claim(session, OutboxMessage, due=due, order_by=OutboxMessage.id, now=now, lease_until=now + LEASE,
                    worker=worker, limit=limit)
        if not ids and ticket_id is None and key is None:
            ids = _claim_probe(session, now, worker)
    return sum(_send_one(ctx, message_id, worker) for message_id in ids)


def _claim_probe(session: Session, now: datetime, worker: str) -> list[int]:
    """Nothing is due, but Slack messages may be backing off: try the oldest early (at most every
    PROBE_EVERY per row), so a recovery is noticed within seconds, not at the next backoff slot."""
    return claim(session, OutboxMessage, due=_backing_off(now) & (OutboxMessage.kind != EMAIL), order_by=OutboxMessage.next_attempt_at, now=now,
                 lease_until=now + LEASE, worker=worker, limit=1)


def _release_backoffs(session: Session, *, email: bool, now: datetime) -> None:
    """The far side (Slack, or the SMTP server) answered: everything backing off for it is due now
    (but what failed in the last PROBE_EVERY, so a row failing on its own is not retried after every
    other row's success)."""
    same_side = (OutboxMessage.kind == EMAIL) if email else (OutboxMessage.kind != EMAIL)
    session.execute(update(OutboxMessage).where(_backing_off(now), same_side).values(next_attempt_at=now))


def _backing_off(now: datetime) -> ColumnElement[bool]:
    """Pending rows waiting out a failure's backoff (not a Retry-After), last tried PROBE_EVERY or more ago."""
    return ((OutboxMessage.status == OutboxStatus.PENDING.value) & OutboxMessage.failing_since.is_not(None)
            & (OutboxMessage.next_attempt_at > now) & (OutboxMessage.last_attempt_at <= now - PROBE_EVERY)
            & ~OutboxMessage.last_error.startswith(RATE_LIMITED))


def _send_one(ctx: ServiceContext, message_id: int, worker: str) -> bool:
    """Send one claimed row. Its outcome is unknown from the moment the send starts (committed first):
    a row found that way later — its sender died, or Slack's answer never came — is looked up in
    Slack before it is sent again, so a message Slack accepted is not posted twice."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:  # the lease runs from this row's send, not from the batch's claim
        message = session.get(OutboxMessage, message_id)
        doubt = message.in_doubt_since if message is not None else None
        renewed = session.execute(update(OutboxMessage).where(
            OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING.value,
            OutboxMessage.claimed_by == worker).values(claimed_until=now + LEASE, in_doubt_since=doubt or now)).rowcount
        if message is None or renewed != 1:
            return False
        kind, ticket_id, attempts = OutboxKind(message.kind), message.ticket_id, message.attempts
        sender = SENDERS[kind]
        payload = sender.payload.from_json(message.payload)
        once = Once(message.dedupe_key, doubt)
    error: DeliveryFailed | MailFailed | None = None
    withheld: Outcome = None
    try:
        withheld = sender(ctx, payload, ticket_id, once)
    except (DeliveryFailed, MailFailed) as exc:
        error = exc
    handed_on = _settle(ctx, message_id, kind, payload, ticket_id, attempts, error, withheld=withheld)
    return (error is None and withheld is None) or handed_on


def relay_all(ctx: ServiceContext, *, worker: str = WORKER, ticket_id: int | None = None, key: str | None = None) -> int:
    """Relay until nothing due is left. After an action, only its ticket's messages: a person's click
    never ends up working through a backlog left by a Slack outage (the sweep does that)."""
    sent = 0
    while batch := relay_due(ctx, worker=worker, ticket_id=ticket_id, key=key):
        sent += batch
    return sent


def _settle(ctx: ServiceContext, message_id: int, kind: OutboxKind, payload: Payload, ticket_id: int | None,
            attempts: int, error: DeliveryFailed | MailFailed | None, *, withheld: Outcome = None) -> bool:
    """Record the send's outcome; True when the row was given up on and its kind queued word of it."""
    now = ctx.clock.now()
    retry_after = getattr(error, "retry_after", None)
    with ctx.sessions.begin() as session:
        message = session.get_one(OutboxMessage, message_id)
        message.claimed_until, message.last_attempt_at = None, now
        # Still in doubt only when the far side may have acted on it (a timeout, a dropped answer, a 5xx).
        message.in_doubt_since = message.in_doubt_since if getattr(error, "maybe_done", False) else None
        what, where = payload.what(kind), payload.where()
        if isinstance(withheld, Fold):  # storm control: not sent now, carried by the digest
            assert isinstance(payload, NoticePayload)  # only notices are folded
            message.attempts, message.in_doubt_since = attempts, None
            message.status, message.digest_key = OutboxStatus.FOLDED.value, fold(session, ctx, payload.user,
                                                                                 withheld.recipient, now)
            if ticket_id is not None:
                record(session, ticket_id, "notice_folded", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       notice=what, to=where, digest=message.digest_key)
            return False
        if error is None:
            message.attempts = attempts + 1
            message.status, message.sent_at, message.last_error = OutboxStatus.SENT.value, now, None
            message.failing_since = None
            metrics.delivered(kind, now - message.created_at)
            if kind != OutboxKind.SYSTEMIC_CHECK and withheld is None:  # only an answer from the far side says it is back
                _release_backoffs(session, email=kind == EMAIL, now=now)
            if ticket_id is not None:
                if isinstance(payload, EmailPayload):
                    record(session, ticket_id, "email_sent", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           to=list(payload.to), subject=payload.subject, attempt=attempts + 1)
                elif kind == OutboxKind.NOTICE and isinstance(withheld, str):
                    record(session, ticket_id, "notice_withheld", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           notice=what, to=where, reason=withheld)
                elif kind == OutboxKind.NOTICE:
                    record(session, ticket_id, "notified", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           notice=what, to=where)
            return False
        message.last_error = error.reason
        if retry_after is not None:  # rate limited: wait as told, not a failed attempt
            message.last_error = RATE_LIMITED + error.reason
            message.next_attempt_at = now + timedelta(seconds=retry_after)
            metrics.rate_limited(error.reason)
            return False
        message.attempts = attempts + 1
        message.failing_since = message.failing_since or now
        dead = error.permanent or now - message.failing_since >= GIVE_UP_AFTER
        metrics.delivery_failed(error.reason, dead=dead)
        message.status = OutboxStatus.DEAD.value if dead else OutboxStatus.PENDING.value
        message.next_attempt_at = now + backoff(message.attempts, ctx.jitter())
        if ticket_id is not None:
            record(session, ticket_id, "delivery_failed", actor=BOT_ACTOR, source=Source.SYSTEM, at=now, what=what,
                   where=where, reason=error.reason, attempt=message.attempts,
                   retry_at=None if dead else message.next_attempt_at.isoformat())
        gave_up = SENDERS[kind].gave_up if dead else None
        if gave_up is not None:
            gave_up(session, payload, ticket_id, error.reason, now)
    (ctx.log.error if dead else ctx.log.warning)(
        "outbox %s (%s to %s) failed, attempt %s%s: %s", message_id, what, where, message.attempts,
        ", dead letter" if dead else "", error.reason, extra={"ticket_id": ticket_id})
    return gave_up is not None


