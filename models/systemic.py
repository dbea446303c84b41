"""A flagged cluster of tickets in one category: one notice in the last level's channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SystemicAlert(Base):
    __tablename__ = "systemic_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(100), index=True)
    opened_at: Mapped[datetime]
    window_ends_at: Mapped[datetime]  # later tickets of the category join until then
    ticket_ids: Mapped[list[Any]] = mapped_column(default=list)
    notice_channel: Mapped[str | None] = mapped_column(String(32))
    notice_ts: Mapped[str | None] = mapped_column(String(32))
    escalated_at: Mapped[datetime | None]
    escalated_by: Mapped[str | None] = mapped_column(String(32))
