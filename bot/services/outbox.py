"""The outbox: messages decided in a transaction, sent after it by a relay, retried until sent or dead.

Each row has a unique `dedupe_key` (one row per notification, however often it is decided), is
claimed with a lease (one replica sends it), and its outcome is recorded: HTTP 429 waits for
Retry-After without counting as a failure; outages back off exponentially with jitter (seconds at
first, minutes at most) for up to a day; refusals are dead letters, logged and on the ticket's
timeline. While rows back off, the sweep probes with the oldest every few seconds, and the first
success releases every backoff at once: what fell due goes out as soon as Slack answers again.
Posts are paced per channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, insert, select, update
from sqlalchemy.orm import Session

from bot import metrics
from bot.services.claims import WORKER, claim
from bot.services.context import Burst, ServiceContext
from bot.services.ports import (
    Delivery, DeliveryFailed, Digest, DigestItem, Email, MailFailed, MessageRef, Notice, Once, TicketCard,
)
from bot.services.tickets import (
    BOT_ACTOR, TIMELINE_BATCH, card_of, entries, get_ticket, handoff_of, may_view, record, upsert_insert,
)
from bot.services.home import HOME_FANOUT, HOME_REFRESH, refresh_window
from models import HomeViewer, OutboxMessage, OutboxStatus, TimelineEvent
from models.timeline import Source

FIRST_RETRY = timedelta(seconds=2)  # the first retry comes after 1-2 s, then the wait doubles…
RETRY_CAP = timedelta(minutes=5)  # …up to 2.5-5 min
GIVE_UP_AFTER = timedelta(days=1)  # a message failing this long is a dead letter
PROBE_EVERY = timedelta(seconds=2)  # while rows back off, the sweep tries one this often: is Slack back?
RATE_LIMITED = "rate_limited: "  # last_error prefix of a row waiting for Retry-After (not released early)
LEASE = timedelta(seconds=20)  # renewed as each row's send starts: a dead replica blocks a row this long at most
RECENT_ENTRIES = 8  # timeline entries in a handoff summary
# Deliveries and subscription toggles: in the export, never crowding a handoff summary's latest entries.
QUIET_KINDS = ("notified", "card_posted", "notice_withheld", "notice_folded", "subscribed", "unsubscribed")
EMAIL = "email"
NOTICE = "notice"


BATCH_KEY = "outbox_batch"


def enqueue(session: Session, *, key: str, kind: str, ticket_id: int | None, payload: dict[str, Any], now: datetime,
            recipient: str | None = None, due: datetime | None = None, refresh_homes: bool = True) -> None:
    """Queue once per key, in the caller's transaction (INSERT … ON CONFLICT (dedupe_key) DO NOTHING).

    Inside `batched(session)` rows are collected and written by one multi-row INSERT at its end.
    """
    rows = [{"dedupe_key": key, "kind": kind, "ticket_id": ticket_id, "payload": payload, "recipient": recipient,
             "status": OutboxStatus.PENDING.value, "attempts": 0, "next_attempt_at": due or now, "created_at": now}]
    if kind in TICKET_CHANGES and ticket_id is not None and refresh_homes:
        # The one hook for every change (lifecycle moves, breaches, timers, filing): the Homes showing this
        # ticket are re-published when this window ends, once per ticket and window (not a notice: storm
        # control never counts it; it has no recipient).
        bucket, ends = refresh_window(now)
        rows.append({"dedupe_key": f"{HOME_FANOUT}:{ticket_id}:{bucket}", "kind": HOME_FANOUT, "ticket_id": ticket_id,
                     "payload": {"bucket": bucket}, "recipient": None, "status": OutboxStatus.PENDING.value,
                     "attempts": 0, "next_attempt_at": ends, "created_at": now})
    pending = session.info.get(BATCH_KEY)
    if pending is not None:
        pending.extend(rows)
    else:
        _insert_rows(session, rows)


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    rows = list({row["dedupe_key"]: row for row in reversed(rows)}.values())[::-1]  # first of each key, in order
    if any(row["kind"] == HOME_FANOUT for row in rows) and not session.scalar(select(exists().select_from(HomeViewer))):
        rows = [row for row in rows if row["kind"] != HOME_FANOUT]  # nobody has opened the Home: nothing to refresh
    if rows:
        session.execute(upsert_insert(session)(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"]))


@contextmanager
def batched(session: Session) -> Iterator[None]:
    """Collect the enqueues and timeline notes made inside into bulk INSERTs (the sweep fires hundreds
    of timers at once; one statement per row would make that slow)."""
    session.info[BATCH_KEY], session.info[TIMELINE_BATCH] = [], []
    try:
        yield
        _insert_rows(session, session.info[BATCH_KEY])
        if session.info[TIMELINE_BATCH]:
            session.execute(insert(TimelineEvent), session.info[TIMELINE_BATCH])
    finally:
        session.info.pop(BATCH_KEY, None)
        session.info.pop(TIMELINE_BATCH, None)


def enqueue_email(session: Session, *, key: str, ticket_id: int | None, email: Email, now: datetime) -> None:
    enqueue(session, key=key, kind=EMAIL, ticket_id=ticket_id, payload=asdict(email), now=now)


def enqueue_notice(session: Session, *, key: str, ticket_id: int, notice: Notice, now: datetime, user: str | None = None,
                   channel: str | None = None, thread: bool = False, extra: dict[str, str] | None = None,
                   reader_check: bool = False, refresh_homes: bool = True) -> None:
    """A notice about a ticket to a DM (`user`), a channel, or the ticket card's thread; rendered when sent.
    With `reader_check`, the DM goes out only if `user` may view the ticket when it is sent."""
    payload = {"notice": notice.value, "user": user, "channel": channel, "thread": thread, "extra": extra or {}}
    if reader_check:
        payload["reader_check"] = True
    enqueue(session, key=key, kind=NOTICE, ticket_id=ticket_id, now=now, payload=payload, refresh_homes=refresh_homes,
            recipient=user or (None if thread else channel))  # a thread reply buries nobody: never folded


def backoff(attempts: int, jitter: float) -> timedelta:
    """Capped exponential backoff with jitter: after failure n, between half and all of 2ⁿ s (capped)."""
    ceiling = min(RETRY_CAP, FIRST_RETRY * 2 ** min(attempts - 1, 20))
    return ceiling * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


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


def relay_due(ctx: ServiceContext, *, worker: str = WORKER, limit: int = 100, ticket_id: int | None = None,
              key: str | None = None) -> int:
    """Send what is due (only one ticket's messages, or one row, when given), outside any transaction;
    returns how many were sent."""
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
        kind, payload, ticket_id, attempts = message.kind, dict(message.payload), message.ticket_id, message.attempts
        once = Once(message.dedupe_key, doubt)
        if message.recipient and kind == NOTICE:
            payload["recipient"] = message.recipient
    error: DeliveryFailed | MailFailed | None = None
    withheld: str | Fold | None = None
    try:
        withheld = SENDERS[kind](ctx, payload, ticket_id, once)
    except (DeliveryFailed, MailFailed) as exc:
        error = exc
    _settle(ctx, message_id, kind, payload, ticket_id, attempts, error, withheld=withheld)
    return error is None and withheld is None


def _send_email(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    """SMTP can't be asked what it got: a resent mail keeps the first one's Message-ID (from the key), so mail
    systems that dedupe by Message-ID show it once."""
    if ctx.mailer is None:
        raise MailFailed("SMTP_HOST is not set; e-mail is switched off", permanent=True)
    ctx.mailer.send(Email(to=tuple(payload["to"]), subject=payload["subject"], text=payload["text"], html=payload["html"],
                          message_key=once.key))


def _current_card(ctx: ServiceContext, ticket_id: int | None, *, handoff: bool = False) -> TicketCard:
    """The ticket as it is now, with a link to its card when it has one."""
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id or 0)
        card = card_of(ctx.policy, ticket)
        if handoff and ticket.handoffs:
            card = replace(card, handoff=handoff_of(session, ticket),
                           recent=entries(session, ticket.id, last=RECENT_ENTRIES, skip=QUIET_KINDS))
    if card.card is not None:
        try:
            card = replace(card, card_link=ctx.relay.permalink(card.card))
        except DeliveryFailed:
            pass  # a message without its link is better than no message
    return card


def _send_card_post(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    """Post the card; remember where it is; have the previous card (if any) point to it."""
    card = _current_card(ctx, ticket_id, handoff=True)
    card = replace(card, card=None, card_link=None)
    PACER.wait(card.level.channel, ctx.pace)
    posted = ctx.relay.post_card(card, once=once)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        ticket = get_ticket(session, card.id, for_update=True)
        ticket.card_channel, ticket.card_ts = posted.channel, posted.ts
        event = record(session, card.id, "card_posted", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       channel=posted.channel, ts=posted.ts, level=card.level.key)
        if payload.get("previous"):
            enqueue(session, key=f"card_moved:{card.id}:{event.id}", kind=CARD_MOVED, ticket_id=card.id, now=now,
                    payload={"previous": payload["previous"], "to": [posted.channel, posted.ts], "level": card.level.title})


def _send_card_update(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    card = _current_card(ctx, ticket_id)
    if card.card is not None:  # not posted yet: the post will show the current state anyway
        ctx.relay.update_card(card)


def _send_card_moved(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    """The card the ticket left: history now, linking to the new one, without buttons."""
    card = _current_card(ctx, ticket_id)
    new = MessageRef(*payload["to"])
    try:
        link = ctx.relay.permalink(new)
    except DeliveryFailed:
        link = None
    ctx.relay.update_card(replace(card, card=MessageRef(*payload["previous"]), moved_to=new, moved_to_link=link,
                                  moved_to_level=payload["level"]))


def _send_postmortem_draft(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    card = _current_card(ctx, ticket_id)
    with ctx.sessions() as session:
        full = entries(session, card.id)
    draft = ctx.renderer.render_email("postmortem.md.j2", t=card, entries=full, policy=ctx.policy)
    ctx.relay.upload(payload["owner"], filename=f"{card.ref}-postmortem.md", content=draft.encode(),
                     title=f"{card.ref} post-mortem draft", comment=f"Post-mortem draft for {card.ref}, built from its timeline.",
                     once=once)


@dataclass(frozen=True)
class Fold:
    """A notice storm control holds back: it goes out in the digest for its recipient and window."""

    recipient: str


def _crowded(ctx: ServiceContext, recipient: str) -> bool:
    """Has `recipient` had the burst limit of messages (notices and digests) within the window?"""
    assert ctx.burst is not None
    since = ctx.clock.now() - ctx.burst.window
    with ctx.sessions() as session:
        sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == recipient, OutboxMessage.sent_at >= since,
            OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.digest_key.is_(None)))
    return (sent or 0) >= ctx.burst.limit


def _send_notice(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> str | Fold | None:
    """Render with the ticket as it is now, then deliver through the relay's notifier (or say why not, or
    fold it into the recipient's digest when a burst has already sent them the limit)."""
    if payload.get("reader_check") and payload.get("user") and not may_view(ctx, ticket_id or 0, payload["user"]):
        return "may no longer view the ticket"
    recipient = payload.get("recipient")  # (one that may already be in Slack is not folded: it might show twice)
    if ctx.burst is not None and recipient and once.in_doubt_since is None and _crowded(ctx, recipient):
        return Fold(recipient)
    card = _current_card(ctx, ticket_id)
    extra = dict(payload.get("extra") or {})
    card = replace(card, actor=extra.get("actor"))
    notifier = ctx.relay
    thread = card.card if payload.get("thread") else None
    if payload.get("thread") and thread is None:
        thread, channel = None, card.level.channel  # no card to thread under: say it in the level channel
    else:
        channel = payload.get("channel")
    delivery = Delivery(Notice(payload["notice"]), user=payload.get("user"), thread=thread, channel=channel, extra=extra)
    PACER.wait(delivery.user or (thread.channel if thread else channel) or "", ctx.pace)
    notifier.deliver(delivery, card, once=once)
    return None


def _send_expand_group(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    """A notice for a user group: one DM per member, each its own outbox row (sent once each)."""
    members = ctx.relay.members_of(payload["group"])
    now = ctx.clock.now()
    notice = Notice(payload["notice"])
    with ctx.sessions.begin() as session:
        for user in sorted(members):
            enqueue_notice(session, key=f"{notice.value}:{ticket_id}:{payload['event']}:{user}", ticket_id=ticket_id or 0,
                           notice=notice, now=now, user=user, extra=dict(payload.get("extra") or {}),
                           refresh_homes=False)  # the change that caused it already refreshed the Homes


def _send_digest(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> str | None:
    """The notices folded for one recipient in one window, in one message naming every ticket; then they
    count as sent (each ticket's timeline says so). Nothing joins a digest once it has been tried, so a
    retry (or an in-doubt lookup) shows the same list."""
    with ctx.sessions() as session:
        folded = session.scalars(select(OutboxMessage).where(
            OutboxMessage.digest_key == once.key, OutboxMessage.status == OutboxStatus.FOLDED.value)
            .order_by(OutboxMessage.id)).all()
        rows = [(row.id, row.ticket_id or 0, Notice(row.payload["notice"])) for row in folded]  # notices have tickets
        cards = {t: card_of(ctx.policy, get_ticket(session, t)) for t in {t for _, t, _ in rows}}
    if not rows:
        return "nothing was folded into it"
    items = []
    for _, t, notice in rows:
        card, link = cards[t], None
        if card.card is not None:
            try:
                link = ctx.relay.permalink(card.card)
            except DeliveryFailed:
                pass
        items.append(DigestItem(ref=card.ref, title=card.title, severity=card.severity, notice=notice, card_link=link))
    burst = ctx.burst or Burst()
    digest = Digest(items=tuple(items), limit=burst.limit, window=burst.window, user=payload.get("user"),
                    channel=payload.get("channel"))
    PACER.wait(digest.user or digest.channel or "", ctx.pace)
    ctx.relay.deliver_digest(digest, once=once)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r for r, _, _ in rows]))
                        .values(status=OutboxStatus.SENT.value, sent_at=now))
        where = payload.get("user") or payload.get("channel")
        for _, t, notice in rows:
            record(session, t, "notified", actor=BOT_ACTOR, source=Source.SYSTEM, at=now, notice=notice.value,
                   to=where, digest=True)
    return None


def _fold(session: Session, ctx: ServiceContext, message: OutboxMessage, recipient: str, now: datetime) -> str:
    """Put a held-back notice into its recipient's digest for this window (queued to go out when the window
    ends), or the next window's when this one's has already been tried."""
    burst = ctx.burst or Burst()
    window = burst.window.total_seconds()
    bucket = int(now.timestamp() // window)
    payload = {"user": message.payload.get("user"), "channel": None if message.payload.get("user") else recipient}
    for offset in range(3):
        key = f"digest:{recipient}:{bucket + offset}"
        due = datetime.fromtimestamp((bucket + offset + 1) * window, tz=now.tzinfo) + DIGEST_GRACE
        enqueue(session, key=key, kind=DIGEST, ticket_id=None, payload=payload, now=now, recipient=recipient, due=due)
        digest = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == key).with_for_update()).one()
        if (digest.status == OutboxStatus.PENDING.value and digest.claimed_until is None and digest.attempts == 0
                and digest.in_doubt_since is None):
            return key
    return key


DIGEST_GRACE = timedelta(seconds=2)  # a digest goes out this long after its window ends (late folds still join)


# Senders that belong to a use case live with it (systemic issues, the timeline export); those modules
# queue through this one, so they are imported when a row is sent, not when this module loads.

def _send_systemic_check(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    """Run the systemic-issue check of a filed ticket (idempotent: a retried row changes nothing more)."""
    from bot.services.systemic import check_systemic

    check_systemic(ctx, ticket_id or 0)


def _send_systemic_notice(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    from bot.services.systemic import send_systemic_notice

    send_systemic_notice(ctx, payload, ticket_id, once)


def _send_timeline_export(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    from bot.services.queries import send_timeline_export

    send_timeline_export(ctx, payload, ticket_id, once)


def _send_home_fanout(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    from bot.services.home import send_home_fanout

    send_home_fanout(ctx, payload, ticket_id, once)


def _send_home_refresh(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> None:
    from bot.services.home import send_home_refresh

    send_home_refresh(ctx, payload, ticket_id, once)


def _send_report_post(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> str | None:
    from bot.services.digest import send_report_post

    return send_report_post(ctx, payload, ticket_id, once)


def _send_report_chart(ctx: ServiceContext, payload: dict[str, Any], ticket_id: int | None, once: Once) -> str | None:
    from bot.services.digest import send_report_chart

    return send_report_chart(ctx, payload, ticket_id, once)


CARD_POST, CARD_UPDATE, CARD_MOVED, POSTMORTEM_DRAFT = "card_post", "card_update", "card_moved", "postmortem_draft"
EXPAND_GROUP, DIGEST = "expand_group", "digest"
SYSTEMIC_CHECK, SYSTEMIC_NOTICE, TIMELINE_EXPORT = "systemic_check", "systemic_notice", "timeline_export"
REPORT_POST, REPORT_CHART = "report_post", "report_chart"  # bot.services.digest: the weekly digest, a chart by DM
SENDERS = {
    EMAIL: _send_email,
    NOTICE: _send_notice,
    CARD_POST: _send_card_post,
    CARD_UPDATE: _send_card_update,
    CARD_MOVED: _send_card_moved,
    POSTMORTEM_DRAFT: _send_postmortem_draft,
    EXPAND_GROUP: _send_expand_group,
    DIGEST: _send_digest,
    SYSTEMIC_CHECK: _send_systemic_check,
    SYSTEMIC_NOTICE: _send_systemic_notice,
    TIMELINE_EXPORT: _send_timeline_export,
    HOME_FANOUT: _send_home_fanout,
    HOME_REFRESH: _send_home_refresh,
    REPORT_POST: _send_report_post,
    REPORT_CHART: _send_report_chart,
}
TICKET_CHANGES = frozenset({NOTICE, CARD_POST, CARD_UPDATE})  # what a change of a ticket queues: its Homes refresh too


def relay_all(ctx: ServiceContext, *, worker: str = WORKER, ticket_id: int | None = None, key: str | None = None) -> int:
    """Relay until nothing due is left. After an action, only its ticket's messages: a person's click
    never ends up working through a backlog left by a Slack outage (the sweep does that)."""
    sent = 0
    while batch := relay_due(ctx, worker=worker, ticket_id=ticket_id, key=key):
        sent += batch
    return sent


def _settle(ctx: ServiceContext, message_id: int, kind: str, payload: dict[str, Any], ticket_id: int | None,
            attempts: int, error: DeliveryFailed | MailFailed | None, *, withheld: str | Fold | None = None) -> None:
    now = ctx.clock.now()
    retry_after = getattr(error, "retry_after", None)
    with ctx.sessions.begin() as session:
        message = session.get_one(OutboxMessage, message_id)
        message.claimed_until, message.last_attempt_at = None, now
        # Still in doubt only when the far side may have acted on it (a timeout, a dropped answer, a 5xx).
        message.in_doubt_since = message.in_doubt_since if getattr(error, "maybe_done", False) else None
        what = "handoff_email" if kind == EMAIL else payload.get("notice") or kind
        where = ", ".join(payload["to"]) if kind == EMAIL else (
            payload.get("user") or payload.get("owner") or payload.get("channel") or ("thread" if kind == NOTICE else "card"))
        if isinstance(withheld, Fold):  # storm control: not sent now, carried by the digest
            message.attempts, message.in_doubt_since = attempts, None
            message.status, message.digest_key = OutboxStatus.FOLDED.value, _fold(session, ctx, message, withheld.recipient, now)
            if ticket_id is not None:
                record(session, ticket_id, "notice_folded", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       notice=what, to=where, digest=message.digest_key)
            return
        if error is None:
            message.attempts = attempts + 1
            message.status, message.sent_at, message.last_error = OutboxStatus.SENT.value, now, None
            message.failing_since = None
            metrics.delivered(kind, now - message.created_at)
            if kind != SYSTEMIC_CHECK and withheld is None:  # only an answer from the far side says it is back
                _release_backoffs(session, email=kind == EMAIL, now=now)
            if ticket_id is not None:
                if kind == EMAIL:
                    record(session, ticket_id, "email_sent", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           to=list(payload["to"]), subject=payload["subject"], attempt=attempts + 1)
                elif kind == NOTICE and isinstance(withheld, str):
                    record(session, ticket_id, "notice_withheld", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           notice=what, to=where, reason=withheld)
                elif kind == NOTICE:
                    record(session, ticket_id, "notified", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                           notice=what, to=where)
            return
        message.last_error = error.reason
        if retry_after is not None:  # rate limited: wait as told, not a failed attempt
            message.last_error = RATE_LIMITED + error.reason
            message.next_attempt_at = now + timedelta(seconds=retry_after)
            metrics.rate_limited(error.reason)
            return
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
    (ctx.log.error if dead else ctx.log.warning)(
        "outbox %s (%s to %s) failed, attempt %s%s: %s", message_id, what, where, message.attempts,
        ", dead letter" if dead else "", error.reason, extra={"ticket_id": ticket_id})


