"""What every service is given: sessions, the policy, the clock, the notifier and the directory."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.domain.policy import Policy
from bot.rendering import Renderer
from bot.services.ports import Directory, Mailer, Notifier


@dataclass(frozen=True)
class Burst:
    """Storm control: at most `limit` notices per recipient (a DM's user, a channel) in `window`; the rest
    go out as one digest per recipient per window, naming every ticket."""

    limit: int = 5
    window: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class ServiceContext:
    sessions: sessionmaker[Session]
    policy: Policy
    clock: Clock
    notifier: Notifier
    directory: Directory  # user groups and their members (the Slack gateway); required: no silent "no groups"
    renderer: Renderer = field(default_factory=Renderer)
    mailer: Mailer | None = None  # None: SMTP_HOST unset, e-mail is skipped and the timeline says so
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # TIMEZONE: daily follow-ups are local
    relay_notifier: Notifier | None = None  # the outbox relay's (no SDK retries: it retries durably); default: notifier
    burst: Burst | None = None  # storm control (NOTICE_BURST_LIMIT / NOTICE_BURST_WINDOW); None: off
    # 0..1, spreads retries so replicas don't retry in step (its own generator: the global one is everyone's)
    jitter: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("bot.services"))

    @property
    def relay(self) -> Notifier:
        return self.relay_notifier or self.notifier
