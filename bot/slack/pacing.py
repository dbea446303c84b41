"""Pacing: Slack allows about one message per second per channel; the relay's notifier keeps to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta


class Pacer:
    """At most one post per channel per `interval`, across this process's calls (one pacer per notifier).
    Time comes from `monotonic` and waiting from `sleep`, so a test can drive both."""

    def __init__(self, interval: timedelta, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval.total_seconds()
        self._monotonic, self._sleep = monotonic, sleep
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        """Return when a post to `channel` may go out (at once for a channel not posted to lately)."""
        if self.interval <= 0:
            return
        with self._lock:
            now = self._monotonic()
            ready = self._last.get(channel, now - self.interval) + self.interval
            self._last[channel] = max(now, ready)
        if ready > now:
            self._sleep(ready - now)
