"""/readyz: is this process fit to serve? Database, Slack, the sweep's heartbeat, the outbox's lag.

`/healthz` stays "the process is up"; readiness is what a load balancer or an operator asks before
sending traffic or paging someone. Each check that fails is named in the 503's body.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.services.context import ServiceContext
from bot.services.health import database_answers, oldest_due_age

OUTBOX_LAG_LIMIT = timedelta(minutes=2)  # a due message older than this: delivery is stuck


@dataclass
class Readiness:
    ctx: ServiceContext
    sweep_interval: timedelta | None = None  # None: no scheduler in this process (tests): not checked
    monotonic: Callable[[], float] = time.monotonic
    slack: threading.Event = field(default_factory=threading.Event)
    slack_problem: str = "Slack has not answered auth.test yet"
    _last_sweep: float | None = None

    def __post_init__(self) -> None:
        self._last_sweep = self.monotonic()  # the first sweep is due within an interval of start-up

    def swept(self) -> None:
        """The scheduler's sweep finished a run."""
        self._last_sweep = self.monotonic()

    def slack_answered(self) -> None:
        self.slack.set()

    def problems(self) -> list[str]:
        """Why this process is not ready; empty when it is."""
        found = []
        try:
            if not database_answers(self.ctx):
                found.append("database: no answer")
            lag = oldest_due_age(self.ctx)
            if lag > OUTBOX_LAG_LIMIT:
                found.append(f"outbox: a message has waited {int(lag.total_seconds())} s past its time")
        except SQLAlchemyError as exc:
            found.append(f"database: {type(exc).__name__}")
        if not self.slack.is_set():
            found.append(f"slack: {self.slack_problem}")
        if self.sweep_interval is not None:
            limit = 3 * self.sweep_interval.total_seconds()
            if self._last_sweep is None or self.monotonic() - self._last_sweep > limit:
                found.append(f"sweep: no run in the last {int(limit)} s")
        return found
