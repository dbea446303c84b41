"""Typed SQLAlchemy 2.0 tables. Import `Base.metadata` from here for migrations."""

from models.base import Base
from models.ticket import Ticket
from models.timeline import TimelineEvent

__all__ = ["Base", "Ticket", "TimelineEvent"]
