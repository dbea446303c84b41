"""Direct sends a person is waiting for (exports, notices refreshed in place): tried once, outcome on the timeline.

Everything else goes through the outbox (bot/services/outbox.py)."""

from __future__ import annotations

from typing import Callable, TypeVar

from bot.services.context import ServiceContext
from bot.services.ports import DeliveryFailed
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
