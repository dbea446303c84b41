"""Typed SQLAlchemy 2.0 tables. Import `Base.metadata` from here for migrations."""

from models.base import Base
from models.outbox import OutboxMessage, OutboxStatus
from models.applied import AppliedRequest
from models.home import HomeViewer
from models.participant import Participant, ParticipantRole
from models.systemic import SystemicAlert
from models.ticket import Ticket
from models.timer import Timer, TimerKind, TimerStatus
from models.timeline import TimelineEvent

__all__ = ["AppliedRequest", "Base", "HomeViewer", "OutboxMessage", "OutboxStatus", "Participant", "ParticipantRole", "SystemicAlert", "Ticket", "TimelineEvent", "Timer", "TimerKind", "TimerStatus"]
