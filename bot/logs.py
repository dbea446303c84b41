"""Log lines: readable text (the default) or one JSON object a line (LOG_FORMAT=json).

JSON lines carry timestamp, level, logger and message, and when known the ticket id, the inbound
Slack request's id (set for the request's whole handling by `inbound`), the `x-slack-req-id` Slack
returned for an outbound Web API call, and a latency in milliseconds. Code states them with
`extra={"ticket_id": …}`; the request id comes from a context variable, which `ContextThreadPool`
carries into the listener threads Bolt hands work to after the ack.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
FIELDS = ("ticket_id", "request_id", "slack_req_id", "latency_ms")  # optional keys, in this order

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@contextmanager
def inbound(rid: str | None) -> Iterator[None]:
    """Log lines written while handling one inbound request carry its id."""
    token = request_id.set(rid)
    try:
        yield
    finally:
        request_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; absent fields are left out, not null."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None and name == "request_id":
                value = request_id.get()
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, fmt: str) -> None:
    """The root logger writes to stderr in the chosen format (LOG_LEVEL, LOG_FORMAT)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # slack_sdk logs an ERROR line (with the body) for every failed request; the gateway and the outbox already
    # say each failure once, named (`slack chat.postMessage failed: http_503`, the outbox's retry line).
    logging.getLogger("slack_sdk.web.base_client").setLevel(logging.CRITICAL if level != "DEBUG" else logging.DEBUG)


class ContextThreadPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in the submitter's context (contextvars): a listener's lines after
    its ack still carry the request's id."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
