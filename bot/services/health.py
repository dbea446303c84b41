"""Read-side facts for operators: how far behind delivery is."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from bot.services.context import ServiceContext
from models import OutboxMessage, OutboxStatus


def database_answers(ctx: ServiceContext) -> bool:
    with ctx.sessions() as session:
        return session.execute(text("SELECT 1")).scalar() == 1


def oldest_due_age(ctx: ServiceContext) -> timedelta:
    """How long the longest-waiting due outbox row has been due (zero when nothing is due)."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        oldest = session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.next_attempt_at <= now))
    return max(now - oldest, timedelta(0)) if oldest is not None else timedelta(0)
