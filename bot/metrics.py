"""What /metrics shows (Prometheus text format): instruments recorded where things happen, and the
database's state read at scrape time.

Counters and histograms live in prometheus_client's default registry, or, when the process runs with
PROMETHEUS_MULTIPROC_DIR set (several worker processes), in that directory's files, which the
scrape merges with MultiProcessCollector. Gauges of database state come from `StateCollector`, one
cheap query each per scrape. Labels are bounded: surfaces, outbox kinds, Web API methods, and
error codes normalised by `bounded`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = ["CONTENT_TYPE", "StateCollector", "State", "acked", "bounded", "delivered", "delivery_failed",
           "rate_limited", "scrape", "slack_api_error"]

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)  # Slack waits 3 s for an ack
LAG_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600)  # seconds to a day (GIVE_UP_AFTER)
OTHER = "other"
MAX_REASONS = 50  # distinct reason/code label values per process; later newcomers count as "other"
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,48}")  # Slack's error codes, http_503, exception class names

ACK_LATENCY = Histogram("escalation_ack_latency_seconds", "From a request reaching Bolt to its ack being returned",
                        ["surface"], buckets=ACK_BUCKETS)
DELIVERY_LAG = Histogram("escalation_delivery_lag_seconds", "From an outbox row falling due (created) to it being sent",
                         ["kind"], buckets=LAG_BUCKETS)
RETRIES = Counter("escalation_outbox_retries", "Outbox sends that failed and will be tried again", ["reason"])
DEAD_LETTERS = Counter("escalation_outbox_dead_letters", "Outbox rows given up on (refused, or failing for a day)",
                       ["reason"])
SLACK_API_ERRORS = Counter("escalation_slack_api_errors", "Web API calls that failed, by method and Slack's code",
                           ["method", "code"])

_seen: set[str] = set()
_seen_lock = threading.Lock()


def bounded(reason: str) -> str:
    """A label value from an error reason: code-like reasons as they are (the first MAX_REASONS
    distinct ones), anything else (free text, SMTP replies) as "other"."""
    if not _CODE.fullmatch(reason):
        return OTHER
    with _seen_lock:
        if reason not in _seen and len(_seen) >= MAX_REASONS:
            return OTHER
        _seen.add(reason)
    return reason


def acked(surface: str, seconds: float) -> None:
    ACK_LATENCY.labels(surface=surface).observe(seconds)


def delivered(kind: str, lag: timedelta) -> None:
    DELIVERY_LAG.labels(kind=bounded(kind)).observe(max(lag.total_seconds(), 0.0))


def rate_limited(reason: str) -> None:
    """A 429: the row waits for Retry-After, a retry that is not a failed attempt."""
    RETRIES.labels(reason=bounded(reason)).inc()


def delivery_failed(reason: str, *, dead: bool) -> None:
    (DEAD_LETTERS if dead else RETRIES).labels(reason=bounded(reason)).inc()


def slack_api_error(method: str, code: str) -> None:
    SLACK_API_ERRORS.labels(method=bounded(method), code=bounded(code)).inc()


@dataclass(frozen=True)
class State:
    """The database's state at one moment, as the gauges show it."""

    tickets: dict[tuple[str, str], int] = field(default_factory=dict)  # (level, status) -> count
    timers_overdue: dict[str, int] = field(default_factory=dict)  # kind -> pending timers due in the past
    outbox_pending: dict[str, int] = field(default_factory=dict)  # kind -> pending rows
    oldest_due: timedelta = timedelta(0)  # how long the longest-waiting due outbox row has waited


class StateCollector:
    """Gauges read from the database at scrape time (`read` runs the queries); a failing read
    shows as escalation_state_up 0 rather than a failed scrape."""

    def __init__(self, read: Callable[[], State]):
        self._read = read

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("escalation_state_up", "1 when the database answered this scrape's queries")
        try:
            state = self._read()
        except Exception:  # noqa: BLE001 - a scrape must answer; /readyz names the database problem
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        tickets = GaugeMetricFamily("escalation_tickets", "Tickets by level and status", labels=["level", "status"])
        for (level, status), count in sorted(state.tickets.items()):
            tickets.add_metric([level, status], count)
        yield tickets
        overdue = GaugeMetricFamily("escalation_timers_overdue", "Pending timers whose due time has passed",
                                    labels=["kind"])
        for kind, count in sorted(state.timers_overdue.items()):
            overdue.add_metric([kind], count)
        yield overdue
        pending = GaugeMetricFamily("escalation_outbox_pending", "Outbox rows not yet sent (due or backing off)",
                                    labels=["kind"])
        for kind, count in sorted(state.outbox_pending.items()):
            pending.add_metric([kind], count)
        yield pending
        yield GaugeMetricFamily("escalation_outbox_oldest_due_age_seconds",
                                "How long the longest-waiting due outbox row has been due", value=state.oldest_due.total_seconds())


class _ThisProcess:
    """The default registry's metrics, for a scrape registry of our own."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape(state: StateCollector, *, multiprocess_dir: str | None) -> bytes:
    """The exposition for one GET /metrics: this process's instruments (or every process's, merged,
    in multiprocess mode) and the database gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(_ThisProcess())
    registry.register(state)
    return generate_latest(registry)
