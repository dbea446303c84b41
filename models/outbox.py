"""Messages to send after commit: ticket cards and their updates, notices, e-mail, post-mortem drafts.

Rows are written in the transaction that decides to send; a relay sends them outside any
transaction and retries failures with backoff. `dedupe_key` makes each notification unique.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # a permanent failure, or a day of failing: visible, never retried
    FOLDED = "folded"  # held back by storm control: goes out in the digest named by digest_key (then sent)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),
                      Index("ix_outbox_recipient_sent", "recipient", "sent_at"),
                      Index("ix_outbox_digest", "digest_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]  # first transient failure of the current streak (None: not backing off)
    # Set as a send starts, cleared when its outcome is known: a row claimed with it set (its sender died,
    # or Slack's answer never came) may already be in Slack and is looked up before it is sent again.
    in_doubt_since: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    recipient: Mapped[str | None] = mapped_column(String(64))  # the DM's user or the channel of a notice (storm control)
    digest_key: Mapped[str | None] = mapped_column(String(200))  # a folded notice: the digest that carries it
