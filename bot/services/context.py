"""What every service is given: sessions, the policy, the clock and the notifier."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.domain.policy import Policy
from bot.services.ports import Notifier


@dataclass(frozen=True)
class ServiceContext:
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Clock
    notifier: Notifier
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("bot.services"))
