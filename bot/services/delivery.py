"""Cards, notices and e-mail about a ticket: how they are queued, and their outbox senders, each
rendering what it sends from the ticket as the database holds it when sent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.services.context import ServiceContext
from bot.services.home import queue_home_refresh
from bot.services.messages import Delivery, Email, Notice
from bot.services.ports import DeliveryFailed, MailFailed, Once
from bot.services.readmodel import MessageRef, TicketView
from bot.services.queue import NoPayload, NoticePayload, OutboxKind, Payload, Rows, enqueue, queue_row
from bot.services.storm import Fold, crowded
from bot.services.tickets import BOT_ACTOR, entries, get_ticket, handoff_of, may_view, record, view_of
from models.timeline import Source

RECENT_ENTRIES = 8  # timeline entries in a handoff summary
# Deliveries and subscription toggles: in the export, never crowding a handoff summary's latest entries.
QUIET_KINDS = ("notified", "card_posted", "notice_withheld", "notice_folded", "subscribed", "unsubscribed")


@dataclass(frozen=True)
class EmailPayload(Payload):
    to: list[str]
    subject: str
    text: str
    html: str
    message_key: str | None = None

    def what(self, kind: OutboxKind) -> str:
        return "handoff_email"

    def where(self) -> str:
        return ", ".join(self.to)


@dataclass(frozen=True)
class CardPostPayload(Payload):
    previous: list[str] | None = None  # [channel, ts] of the card the ticket left (escalated): it will link here


@dataclass(frozen=True)
class CardMovedPayload(Payload):
    previous: list[str]  # [channel, ts] of the card left behind…
    to: list[str]  # …and of the new one
    level: str  # the new level's title


@dataclass(frozen=True)
class PostmortemDraftPayload(Payload):
    owner: str

    def where(self) -> str:
        return self.owner


@dataclass(frozen=True)
class ExpandGroupPayload(Payload):
    """A notice for a user group, expanded to one DM row per member when relayed."""

    group: str
    notice: Notice
    event: int
    extra: dict[str, str]

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> ExpandGroupPayload:
        return cls(group=str(raw["group"]), notice=Notice(raw["notice"]), event=int(raw["event"]),  # type: ignore[call-overload]
                   extra=dict(raw.get("extra") or {}))  # type: ignore[call-overload]

    def what(self, kind: OutboxKind) -> str:
        return self.notice.value


def enqueue_ticket_change(into: Rows, *, key: str, kind: OutboxKind, ticket_id: int, payload: Payload, now: datetime,
                          recipient: str | None = None) -> None:
    """Queue a row that shows a change of the ticket (its card posted or refreshed, a notice about it) and,
    with it, the refresh of the Homes showing the ticket: the one place that hook lives, so no lifecycle
    move, timer or filing can forget it."""
    queue_row(into, key=key, kind=kind, ticket_id=ticket_id, payload=payload, now=now, recipient=recipient)
    queue_home_refresh(into, ticket_id, now)


def enqueue_email(into: Rows, *, key: str, ticket_id: int | None, email: Email, now: datetime) -> None:
    queue_row(into, key=key, kind=OutboxKind.EMAIL, ticket_id=ticket_id, payload=EmailPayload(to=list(email.to), subject=email.subject, text=email.text, html=email.html,
                                                                                   message_key=email.message_key), now=now)


def enqueue_notice(into: Rows, *, key: str, ticket_id: int, notice: Notice, now: datetime, user: str | None = None,
                   channel: str | None = None, thread: bool = False, extra: dict[str, str] | None = None,
                   reader_check: bool = False) -> None:
    """A notice about a ticket (a change of it: its Homes refresh too) to a DM (`user`), a channel, or the
    ticket card's thread; rendered when sent. With `reader_check`, the DM goes out only if `user` may view
    the ticket when it is sent."""
    payload = NoticePayload(notice, user=user, channel=channel, thread=thread, extra=extra or {}, reader_check=reader_check)
    enqueue_ticket_change(into, key=key, kind=OutboxKind.NOTICE, ticket_id=ticket_id, payload=payload, now=now,
                          recipient=payload.recipient)


def send_email(ctx: ServiceContext, payload: EmailPayload, once: Once) -> None:
    """SMTP can't be asked what it got: a resent mail keeps the first one's Message-ID (from the key), so mail
    systems that dedupe by Message-ID show it once."""
    if ctx.mailer is None:
        raise MailFailed("SMTP_HOST is not set; e-mail is switched off", permanent=True)
    ctx.mailer.send(Email(to=tuple(payload.to), subject=payload.subject, text=payload.text, html=payload.html,
                          message_key=once.key))


def current_view(ctx: ServiceContext, ticket_id: int, *, handoff: bool = False) -> TicketView:
    """The ticket as it is now, with a link to its card when it has one."""
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id)
        card = view_of(ctx.policy, ticket)
        if handoff and ticket.handoffs:
            card = replace(card, handoff=handoff_of(session, ticket),
                           recent=entries(session, ticket.id, last=RECENT_ENTRIES, skip=QUIET_KINDS))
    if card.posted is not None:
        try:
            card = replace(card, card_link=ctx.relay.permalink(card.posted))
        except DeliveryFailed:
            pass  # a message without its link is better than no message
    return card


def send_card_post(ctx: ServiceContext, payload: CardPostPayload, ticket_id: int, once: Once) -> None:
    """Post the card; remember where it is; have the previous card (if any) point to it."""
    card = current_view(ctx, ticket_id, handoff=True)
    card = replace(card, posted=None, card_link=None)
    posted = ctx.relay.post_card(card, once=once)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        ticket = get_ticket(session, card.id, for_update=True)
        ticket.card_channel, ticket.card_ts = posted.channel, posted.ts
        event = record(session, card.id, "card_posted", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       channel=posted.channel, ts=posted.ts, level=card.level.key)
        if payload.previous:
            enqueue(session, key=f"{OutboxKind.CARD_MOVED}:{card.id}:{event.id}", kind=OutboxKind.CARD_MOVED, ticket_id=card.id,
                    now=now, payload=CardMovedPayload(previous=payload.previous, to=[posted.channel, posted.ts],
                                                      level=card.level.title))


def send_card_update(ctx: ServiceContext, payload: NoPayload, ticket_id: int, once: Once) -> None:
    card = current_view(ctx, ticket_id)
    if card.posted is not None:  # not posted yet: the post will show the current state anyway
        ctx.relay.update_card(card)


def send_card_moved(ctx: ServiceContext, payload: CardMovedPayload, ticket_id: int, once: Once) -> None:
    """The card the ticket left: history now, linking to the new one, without buttons."""
    card = current_view(ctx, ticket_id)
    new = MessageRef(*payload.to)
    try:
        link = ctx.relay.permalink(new)
    except DeliveryFailed:
        link = None
    ctx.relay.update_card(replace(card, posted=MessageRef(*payload.previous), moved_to=new, moved_to_link=link,
                                  moved_to_level=payload.level))


def send_postmortem_draft(ctx: ServiceContext, payload: PostmortemDraftPayload, ticket_id: int, once: Once) -> None:
    card = current_view(ctx, ticket_id)
    with ctx.sessions() as session:
        full = entries(session, card.id)
    draft = ctx.renderer.render_email("postmortem.md.j2", t=card, entries=full, policy=ctx.policy)
    ctx.relay.upload(payload.owner, filename=f"{card.ref}-postmortem.md", content=draft.encode(),
                     title=f"{card.ref} post-mortem draft", comment=f"Post-mortem draft for {card.ref}, built from its timeline.",
                     once=once)


def send_notice(ctx: ServiceContext, payload: NoticePayload, ticket_id: int, once: Once) -> str | Fold | None:
    """Render with the ticket as it is now, then deliver through the relay's notifier (or say why not, or
    fold it into the recipient's digest when a burst has already sent them the limit)."""
    if payload.reader_check and payload.user and not may_view(ctx, ticket_id, payload.user):
        return "may no longer view the ticket"
    recipient = payload.recipient  # (one that may already be in Slack is not folded: it might show twice)
    if ctx.burst is not None and recipient and once.in_doubt_since is None and crowded(ctx, recipient):
        return Fold(recipient)
    card = current_view(ctx, ticket_id)
    extra = dict(payload.extra)
    card = replace(card, actor=extra.get("actor"))
    thread = card.posted if payload.thread else None
    if payload.thread and thread is None:
        thread, channel = None, card.level.channel  # no card to thread under: say it in the level channel
    else:
        channel = payload.channel
    delivery = Delivery(payload.notice, user=payload.user, thread=thread, channel=channel, extra=extra)
    ctx.relay.deliver(delivery, card, once=once)
    return None


def send_expand_group(ctx: ServiceContext, payload: ExpandGroupPayload, ticket_id: int, once: Once) -> None:
    """A notice for a user group: one DM per member, each its own outbox row (sent once each)."""
    members = ctx.directory.members_of(payload.group)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        for user in sorted(members):
            notice = NoticePayload(payload.notice, user=user, extra=dict(payload.extra))
            # A plain row, not a ticket change: the change that caused it already refreshed the Homes.
            enqueue(session, key=f"{payload.notice.value}:{ticket_id}:{payload.event}:{user}", kind=OutboxKind.NOTICE,
                    ticket_id=ticket_id, payload=notice, now=now, recipient=notice.recipient)
