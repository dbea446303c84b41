"""Modal submissions already applied: one row per Slack view, so a replayed submission changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class AppliedSubmission(Base):
    __tablename__ = "applied_submissions"

    view_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Slack's view id (one per opened modal)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # which modal: escalate_ticket, post_update, …
    applied_at: Mapped[datetime]
