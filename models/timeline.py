"""The append-only timeline: every action on a ticket, with actor, UTC time, source and details."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Source(StrEnum):
    MODAL = "modal"
    BUTTON = "button"
    COMMAND = "command"
    SCHEDULER = "scheduler"
    SYSTEM = "system"


class TimelineEvent(Base):
    __tablename__ = "timeline_events"
    __table_args__ = (Index("ix_timeline_ticket_at", "ticket_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="RESTRICT"))
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(32))  # Slack user ID, or "bot" for the bot itself
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TimelineIsAppendOnly(Exception):
    """Timeline rows are history: they are never changed or removed."""


@event.listens_for(TimelineEvent, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: TimelineEvent) -> None:
    raise TimelineIsAppendOnly(f"timeline event {target.id} cannot be changed")


@event.listens_for(TimelineEvent, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: TimelineEvent) -> None:
    raise TimelineIsAppendOnly(f"timeline event {target.id} cannot be deleted")
