"""Bolt's App, timed: every request from Slack, over HTTP or the Socket Mode WebSocket, passes
through `App.dispatch`, which returns once the listener has acked; that span is the ack latency.

Bolt's global middleware cannot measure it (middleware runs before the listeners, not around them),
so the measuring point is `dispatch` itself. While a request is handled, log lines carry its id.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse

from bot import metrics
from bot.logs import inbound

log = logging.getLogger("bot.requests")

SURFACES = {  # the payload's "type" -> the surface label; slash commands carry "command" instead
    "block_actions": "block_action",
    "interactive_message": "block_action",
    "view_submission": "view_submission",
    "view_closed": "view_closed",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "block_suggestion": "options",
    "event_callback": "event",
    "url_verification": "url_verification",
}
COMMAND = "slash_command"
OTHER = "other"


def surface_of(body: dict[str, Any]) -> str:
    if "command" in body:
        return COMMAND
    return SURFACES.get(str(body.get("type")), OTHER)


def request_id_of(body: dict[str, Any]) -> str:
    """Slack's own id for the request when it has one: the Events API's event_id, an interaction's
    trigger_id (it expires 3 s after the click); otherwise one made up here."""
    for key in ("event_id", "trigger_id"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return "req-" + uuid.uuid4().hex[:12]


class MeteredApp(App):
    """Records escalation_ack_latency_seconds{surface} and one log line per request."""

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        body = req.body if isinstance(req.body, dict) else {}
        with inbound(request_id_of(body)):
            response = super().dispatch(req)
            seconds = time.perf_counter() - started
            surface = surface_of(body)
            metrics.acked(surface, seconds)
            log.info("%s acked in %.0f ms (%s)", surface, seconds * 1000, response.status,
                     extra={"latency_ms": round(seconds * 1000, 1)})
        return response
