"""Faults a test injects into the Web API: failures (``fail``: 429 ratelimited, 5xx, an error
code), latency (``delay``), lost answers (``lose_answer``) and outages (``outage``).

Only calls that pass the contract checks count; the transport asks this part, per call, for the
delay to hold (``_next_delay``), the failure to answer instead (``_next_failure``) and whether to
lose the answer (``_lose``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from http import HTTPStatus

from fakeslack.spec import methods
from fakeslack.wire import _Reply
from fakeslack.workspace import Workspace


@dataclass
class _Failure:
    """A failure queued by FakeSlack.fail()."""

    status: int
    error: str | None
    retry_after: float | None


@dataclass
class _Delay:
    """Latency queued by FakeSlack.delay(): seconds per call, for `remaining` calls (None: all)."""

    seconds: float
    remaining: int | None


@dataclass
class _LostAnswer:
    """An answer lost by FakeSlack.lose_answer(): the call takes effect, then the connection drops
    (`late` None) or the answer comes `late` seconds after it (past the client's timeout)."""

    late: float | None
    remaining: int


class Faults(Workspace):
    """The fault-injection part of FakeSlack; its state is guarded by the workspace lock."""

    def _init_faults(self) -> None:
        """No faults queued."""
        self._failures: dict[str, list[_Failure]] = {}
        self._outage: int | None = None
        self._delays: dict[str, _Delay] = {}
        self._lost: dict[str, _LostAnswer] = {}

    def _reset_faults(self) -> None:
        """Drop every queued fault and end an outage (lock held)."""
        self._failures.clear()
        self._delays.clear()
        self._lost.clear()
        self._outage = None

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` valid calls of `method` fail: 429 ratelimited, 5xx, or 200 with `error`."""
        if method not in methods():
            raise ValueError(f"unknown Slack method: {method}")
        if status == 200 and not error:
            raise ValueError("a status-200 failure needs an error code")
        with self._lock:
            queue = self._failures.setdefault(method, [])
            queue.extend(_Failure(status, error, retry_after) for _ in range(times))

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Make the next `times` valid calls of `method` (None: every call until clear_delays())
        answer `seconds` late; the call takes effect, and is recorded, when it is answered.

        Like fail(), only calls that pass validation count; the two combine (a delayed failure).
        Other calls are served meanwhile. Replaces an earlier delay of the same method.
        """
        if method not in methods():
            raise ValueError(f"unknown Slack method: {method}")
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every call)")
        with self._lock:
            self._delays[method] = _Delay(float(seconds), times)

    def lose_answer(self, method: str, *, times: int = 1, late: float | None = None) -> None:
        """The next `times` valid calls of `method` take effect, but their answer is lost: the
        connection closes without one (`late` None), or it comes `late` seconds later — after the
        client has given up. What Slack did is then only visible by reading the channel."""
        if method not in methods():
            raise ValueError(f"unknown Slack method: {method}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._lost[method] = _LostAnswer(late, times)

    def outage(self, status: int = 503) -> None:
        """Every valid Web API call answers `status` (a 5xx) until end_outage(): Slack is down."""
        if status < 500:
            raise ValueError("an outage answers 5xx")
        with self._lock:
            self._outage = status

    def end_outage(self) -> None:
        with self._lock:
            self._outage = None

    def clear_failures(self) -> None:
        """Drop failures queued with fail() and answers to lose queued with lose_answer()."""
        with self._lock:
            self._failures.clear()
            self._lost.clear()

    def clear_delays(self) -> None:
        """Answer every method without delay again."""
        with self._lock:
            self._delays.clear()

    def _next_delay(self, method: str) -> float:
        """Seconds to hold this call of `method` before answering (0 when no delay is set)."""
        pending = self._delays.get(method)
        if pending is None:
            return 0.0
        if pending.remaining is not None:
            pending.remaining -= 1
            if pending.remaining <= 0:
                del self._delays[method]
        return pending.seconds

    def _next_failure(self, method: str) -> _Reply | None:
        """The injected failure for this call of `method`, if one is queued (or Slack is "down")."""
        if self._outage is not None:
            return _Reply.text(self._outage, f"{self._outage} {HTTPStatus(self._outage).phrase}")
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue.pop(0)
        if failure.status == HTTPStatus.TOO_MANY_REQUESTS:
            wait = 1 if failure.retry_after is None else math.ceil(failure.retry_after)
            body = {"ok": False, "error": "ratelimited"}
            return _Reply.json(failure.status, body, {"Retry-After": str(wait)})
        if failure.status >= 500:
            return _Reply.text(failure.status, f"{failure.status} {HTTPStatus(failure.status).phrase}")
        return _Reply.json(failure.status, {"ok": False, "error": failure.error or "fatal_error"})

    def _lose(self, method: str, reply: _Reply) -> _Reply:
        """Mark a reply lost when lose_answer() says so (the call was recorded and took effect)."""
        lost = self._lost.get(method)
        if lost is None:
            return reply
        lost.remaining -= 1
        if lost.remaining <= 0:
            del self._lost[method]
        reply.lost = lost
        return reply
