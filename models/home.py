"""Who has opened the App Home, and when: only their Home is re-published when a ticket changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class HomeViewer(Base):
    __tablename__ = "home_viewers"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime]  # the last time the person opened the Home tab
    # The levels the person answered for when last opened (user groups expanded then), as ",L1,L2,":
    # a change at one of them refreshes their Home without asking Slack who is in which group.
    levels: Mapped[str] = mapped_column(String(400), default=",", server_default=",")
