"""Read-side facts for operators: how far behind delivery is, and what /metrics's gauges show."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from bot.domain.tickets import TicketStatus
from bot.metrics import State
from bot.services.context import ServiceContext
from models import OutboxMessage, OutboxStatus, Ticket, Timer, TimerStatus


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


def state(ctx: ServiceContext) -> State:
    """What the /metrics gauges show: tickets by level and status, overdue timers and pending outbox rows
    by kind, and the oldest due row's wait (one GROUP BY query each)."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        tickets = session.execute(select(Ticket.level_key, Ticket.status, func.count())
                                  .group_by(Ticket.level_key, Ticket.status)).all()
        overdue = session.execute(select(Timer.kind, func.count()).where(
            Timer.status == TimerStatus.PENDING.value, Timer.due_at < now).group_by(Timer.kind)).all()
        pending = session.execute(select(OutboxMessage.kind, func.count()).where(
            OutboxMessage.status == OutboxStatus.PENDING.value).group_by(OutboxMessage.kind)).all()
    return State(tickets={(level, TicketStatus(status).value): count for level, status, count in tickets},
                 timers_overdue={kind: count for kind, count in overdue},
                 outbox_pending={kind: count for kind, count in pending},
                 oldest_due=oldest_due_age(ctx))
