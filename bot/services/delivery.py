"""Sending after commit: each send is tried on its own and its outcome goes on the timeline."""

from __future__ import annotations

from typing import Callable, TypeVar

from bot.services.context import ServiceContext
from bot.services.ports import Delivery, DeliveryFailed, TicketCard
from bot.services.tickets import BOT_ACTOR, record
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


def members_of(ctx: ServiceContext, group_id: str) -> frozenset[str]:
    """A user group's members; when Slack can't say, nobody (logged), so a check fails closed."""
    try:
        return ctx.notifier.members_of(group_id)
    except DeliveryFailed as exc:
        ctx.log.warning("could not list members of user group %s: %s", group_id, exc.reason)
        return frozenset()
