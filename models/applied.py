"""Requests already applied: one row per modal submission (its Slack view) or per non-idempotent click,
so a replayed request changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AppliedRequest(Base):
    __tablename__ = "applied_requests"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # a view id, or "click:<user>:<action_ts>"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # what was applied: escalate, post_update, subscribe, …
    applied_at: Mapped[datetime]
