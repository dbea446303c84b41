"""Sending after commit: each send is tried on its own and its outcome goes on the timeline."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, TypeVar

from bot.services.context import ServiceContext
from bot.services.ports import Delivery, DeliveryFailed, Notice, TicketCard
from bot.services.tickets import BOT_ACTOR, card_of, get_ticket, record, watchers
from models.timeline import Source

T = TypeVar("T")


def safely(ctx: ServiceContext, ticket_id: int, what: str, send: Callable[[], T], *,
           where: str | None = None, record_failure: bool = True) -> T | None:
    """Run one send; on failure log it, put it on the timeline, and carry on with the rest."""
    try:
        return send()
    except DeliveryFailed as exc:
        ctx.log.warning("delivery of %s for ticket %s failed: %s", what, ticket_id, exc.reason)
        if record_failure:
            with ctx.sessions.begin() as session:
                record(session, ticket_id, "delivery_failed", actor=BOT_ACTOR, source=Source.SYSTEM,
                       at=ctx.clock.now(), what=what, where=where, reason=exc.reason)
        return None


def deliver_all(ctx: ServiceContext, card: TicketCard, deliveries: list[Delivery]) -> None:
    """Deliver each notice; successes and failures are both recorded."""
    for delivery in deliveries:
        target = delivery.user or (delivery.thread.channel if delivery.thread else None)
        sent = safely(ctx, card.id, delivery.notice.value, lambda d=delivery: ctx.notifier.deliver(d, card), where=target)
        if sent is not None:
            with ctx.sessions.begin() as session:
                record(session, card.id, "notified", actor=BOT_ACTOR, source=Source.SYSTEM, at=ctx.clock.now(),
                       notice=delivery.notice.value, to=target, **delivery.extra)



def tell_watchers(ctx: ServiceContext, ticket_id: int, notice: Notice, *, actor_id: str,
                  extra: dict[str, str] | None = None, card_changed: bool = True) -> TicketCard:
    """After a change: refresh the card, say it in the thread, and DM everyone on the ticket but the actor."""
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id)
        people = watchers(session, ticket, except_for=actor_id)
        card = card_of(ctx.policy, ticket)
    if card_changed and card.card is not None:
        safely(ctx, ticket_id, "card_update", lambda: ctx.notifier.update_card(card))
    link = None
    if card.card is not None:
        link = safely(ctx, ticket_id, "permalink", lambda: ctx.notifier.permalink(card.card), record_failure=False)
    card = replace(card, card_link=link, actor=actor_id)
    details = dict(extra or {})
    deliveries = [Delivery(notice, thread=card.card, extra=details)] if card.card is not None else []
    deliveries += [Delivery(notice, user=user, extra=details) for user in people]
    deliver_all(ctx, card, deliveries)
    return card
