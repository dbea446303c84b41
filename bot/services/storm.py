"""Storm control: a recipient (a DM's user, a channel) who has had the burst limit of messages in the
window gets the rest folded into one digest per window, naming every ticket; the digest is an outbox
row of its own, sent when the window ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.services.context import Burst, ServiceContext
from bot.services.messages import Digest, DigestItem
from bot.services.ports import DeliveryFailed, Once
from bot.services.queue import NoticePayload, OutboxKind, Payload, enqueue
from bot.services.tickets import BOT_ACTOR, get_ticket, record, view_of
from models import OutboxMessage, OutboxStatus
from models.timeline import Source

DIGEST_GRACE = timedelta(seconds=2)  # a digest goes out this long after its window ends (late folds still join)


@dataclass(frozen=True)
class Fold:
    """A notice storm control holds back: it goes out in the digest for its recipient and window."""

    recipient: str


@dataclass(frozen=True)
class DigestPayload(Payload):
    """Whom a digest goes to: a user's DM, or a channel."""

    user: str | None = None
    channel: str | None = None

    def where(self) -> str:
        return self.user or self.channel or "card"


def crowded(ctx: ServiceContext, recipient: str) -> bool:
    """Has `recipient` had the burst limit of messages (notices and digests) within the window?"""
    assert ctx.burst is not None
    since = ctx.clock.now() - ctx.burst.window
    with ctx.sessions() as session:
        sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == recipient, OutboxMessage.sent_at >= since,
            OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.digest_key.is_(None)))
    return (sent or 0) >= ctx.burst.limit


def fold(session: Session, ctx: ServiceContext, user: str | None, recipient: str, now: datetime) -> str:
    """Put a held-back notice (to `user`'s DM, or else to the channel `recipient`) into its recipient's
    digest for this window (queued to go out when the window ends), or the next window's when this
    one's has already been tried. Returns the digest's key."""
    burst = ctx.burst or Burst()
    window = burst.window.total_seconds()
    bucket = int(now.timestamp() // window)
    payload = DigestPayload(user=user, channel=None if user else recipient)
    for offset in range(3):
        key = f"digest:{recipient}:{bucket + offset}"
        due = datetime.fromtimestamp((bucket + offset + 1) * window, tz=now.tzinfo) + DIGEST_GRACE
        enqueue(session, key=key, kind=OutboxKind.DIGEST, ticket_id=None, payload=payload, now=now, recipient=recipient,
                due=due)
        digest = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == key).with_for_update()).one()
        if (digest.status == OutboxStatus.PENDING.value and digest.claimed_until is None and digest.attempts == 0
                and digest.in_doubt_since is None):
            return key
    return key


def send_digest(ctx: ServiceContext, payload: DigestPayload, once: Once) -> str | None:
    """The notices folded for one recipient in one window, in one message naming every ticket; then they
    count as sent (each ticket's timeline says so). Nothing joins a digest once it has been tried, so a
    retry (or an in-doubt lookup) shows the same list."""
    with ctx.sessions() as session:
        folded = session.scalars(select(OutboxMessage).where(
            OutboxMessage.digest_key == once.key, OutboxMessage.status == OutboxStatus.FOLDED.value)
            .order_by(OutboxMessage.id)).all()
        rows = [(row.id, row.ticket_id, NoticePayload.from_json(row.payload).notice) for row in folded
                if row.ticket_id is not None]  # every notice is about a ticket
        cards = {t: view_of(ctx.policy, get_ticket(session, t)) for t in {t for _, t, _ in rows}}
    if not rows:
        return "nothing was folded into it"
    items = []
    for _, t, notice in rows:
        card, link = cards[t], None
        if card.posted is not None:
            try:
                link = ctx.relay.permalink(card.posted)
            except DeliveryFailed:
                pass
        items.append(DigestItem(ref=card.ref, title=card.title, severity=card.severity, notice=notice, card_link=link))
    burst = ctx.burst or Burst()
    digest = Digest(items=tuple(items), limit=burst.limit, window=burst.window, user=payload.user, channel=payload.channel)
    ctx.relay.deliver_digest(digest, once=once)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r for r, _, _ in rows]))
                        .values(status=OutboxStatus.SENT.value, sent_at=now))
        where = payload.user or payload.channel
        for _, t, notice in rows:
            record(session, t, "notified", actor=BOT_ACTOR, source=Source.SYSTEM, at=now, notice=notice.value,
                   to=where, digest=True)
    return None
