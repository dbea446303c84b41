"""The ticket: what was reported, where it sits now, and its Slack card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.domain.severity import Severity
from bot.domain.tickets import TicketStatus
from models.base import Base


def _enum(cls: type) -> Enum:
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e], validate_strings=True)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status_level", "status", "level_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    severity: Mapped[Severity] = mapped_column(_enum(Severity))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.OPEN)
    level_key: Mapped[str] = mapped_column(String(32))

    description: Mapped[str] = mapped_column(Text)
    error_messages: Mapped[str] = mapped_column(Text)
    troubleshooting: Mapped[str] = mapped_column(Text)
    business_impact: Mapped[str] = mapped_column(Text)
    affected_users: Mapped[int]
    links: Mapped[list[Any]] = mapped_column(default=list)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    triggers: Mapped[list[Any]] = mapped_column(default=list)
    customer_executive: Mapped[bool] = mapped_column(default=False)
    regulatory: Mapped[bool] = mapped_column(default=False)

    reporter_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime]
    level_entered_at: Mapped[datetime]
    response_sla_seconds: Mapped[int]  # snapshotted from the policy when the ticket entered its level
    response_due_at: Mapped[datetime] = mapped_column(index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime | None]
    assignee_id: Mapped[str | None] = mapped_column(String(32))  # whoever acknowledged at this level
    handoffs: Mapped[int] = mapped_column(default=0, server_default="0")  # escalations so far
    last_update_at: Mapped[datetime | None]
    next_update_by: Mapped[datetime | None]  # promised by the last update, if any

    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    lessons_learned: Mapped[str | None] = mapped_column(Text)
    postmortem_owner: Mapped[str | None] = mapped_column(String(32))
    postmortem_due_at: Mapped[datetime | None]
    postmortem_url: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]

    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    intake_key: Mapped[str | None] = mapped_column(String(64), unique=True)  # Slack view id: one ticket per submitted modal
