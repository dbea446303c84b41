"""The sandbox's clock: the wall clock, plus however far a trainer has moved it on."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class OffsetClock:
    """Runs with real time (so SLA timers fall due by themselves) and jumps when told to."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc) + self._offset

    def advance(self, delta: timedelta) -> datetime:
        if delta <= timedelta(0):
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    def epoch(self) -> float:
        return self.now().timestamp()
