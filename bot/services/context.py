"""What every service is given: sessions, the policy, the clock and the notifier."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.domain.policy import Policy
from bot.rendering import Renderer
from bot.services.ports import Mailer, Notifier


@dataclass(frozen=True)
class ServiceContext:
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Clock
    notifier: Notifier
    renderer: Renderer = field(default_factory=Renderer)
    mailer: Mailer | None = None  # None: SMTP_HOST unset, e-mail is skipped and the timeline says so
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("bot.services"))
