"""Timers are rows: written in the same transaction as the state change that creates or cancels them.

APScheduler only ticks; the sweep claims due rows atomically (with a lease) and fires them once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.timers import TimerKind
from models.base import Base

__all__ = ["Timer", "TimerKind", "TimerStatus"]


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "occurrence"),
        Index("ix_timers_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=TimerStatus.PENDING.value)
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    fired_at: Mapped[datetime | None]
    delayed: Mapped[bool] = mapped_column(default=False)  # fired late (the bot was down or behind)
    created_at: Mapped[datetime]
