"""Socket Mode, Slack's end: ``apps.connections.open`` hands out WebSocket URLs, served on a second
port by the ``websockets`` library's sync server; each connection is greeted with ``hello`` and
then reads the app's acks. ``socket_send`` delivers an envelope to the newest connection and waits
for its ack; ``socket_ping`` pings it. What no Slack client would send (binary frames, acks for
unknown envelopes, broken RFC 6455) is recorded as a violation.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.sync.server import Server as WebSocketServer
from websockets.sync.server import ServerConnection

from fakeslack.wire import Params
from fakeslack.workspace import Workspace

# Envelope types Slack sends over Socket Mode, and whether the app may answer with a payload.
SOCKET_TYPES = {"slash_commands": True, "interactive": True, "events_api": False}
MAX_SOCKET_MESSAGE = 16 * 1024 * 1024  # bytes; far above anything Socket Mode carries
# Close codes with which the WebSocket library fails a connection whose client broke RFC 6455.
_CLIENT_FAULTS = frozenset({CloseCode.PROTOCOL_ERROR, CloseCode.INVALID_DATA, CloseCode.MESSAGE_TOO_BIG})


def _ack_deadline() -> float:
    """Seconds Slack waits for an ack: fakeslack.server.ACK_DEADLINE, read where it is defined (and
    where tests patch it) at each use."""
    from fakeslack import server

    return server.ACK_DEADLINE


@dataclass
class _PendingAck:
    """A Socket Mode envelope sent by socket_send() and the app's ack, once it arrives."""

    type: str
    done: threading.Event = field(default_factory=threading.Event)
    payload: dict[str, Any] | None = None
    acked_at: float | None = None


class SocketMode(Workspace):
    """The Socket Mode server of FakeSlack (started and stopped by FakeSlack.start() / stop())."""

    socket_ping_interval: float | None

    def _init_socket_mode(self) -> None:
        """Not serving yet; no URLs issued, no connections, no envelopes awaiting an ack."""
        self._ws_server: WebSocketServer | None = None
        self._ws_thread: threading.Thread | None = None
        # Socket Mode: URLs issued by apps.connections.open, open connections, envelopes awaiting an ack.
        self._socket_urls: dict[str, float] = {}
        self._sockets: list[ServerConnection] = []
        self._acks: dict[str, _PendingAck] = {}

    @property
    def ws_url(self) -> str:
        """Base URL of the Socket Mode WebSocket server, e.g. ws://127.0.0.1:PORT (its own port)."""
        if self._ws_server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._ws_server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    def _apps_connections_open(self, params: Params) -> dict[str, Any]:
        """apps.connections.open: a fresh Socket Mode WebSocket URL (app-level token only)."""
        ticket = secrets.token_hex(16)
        self._socket_urls[ticket] = self.clock()
        return {"url": f"{self.ws_url}/socket/{ticket}"}

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open."""
        with self._lock:
            return sum(1 for connection in self._sockets if connection.state is State.OPEN)

    def wait_for_socket(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected (and has been sent `hello`)."""
        try:
            self.wait_until(lambda: self.socket_connections > 0, timeout)
        except AssertionError:
            opened = len(self.calls_to("apps.connections.open"))
            raise AssertionError(
                f"no Socket Mode client connected within {timeout}s ({opened} apps.connections.open call(s))"
            ) from None

    def socket_send(
        self,
        type: str,  # noqa: A002 - the envelope field's name
        payload: Mapping[str, Any],
        *,
        timeout: float = 5.0,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> dict[str, Any]:
        """Send `payload` in a Socket Mode envelope to the newest connection; return the ack's payload.

        `type` is "slash_commands", "interactive" or "events_api". Waits up to `timeout` seconds for
        the app's `{"envelope_id": ..., "payload": ...}` and returns that payload ({} when the ack
        has none). AssertionError when no client is connected or no ack arrives in time; an ack
        later than Slack's 3 seconds is also recorded as a violation.
        """
        if type not in SOCKET_TYPES:
            raise ValueError(f"unknown Socket Mode envelope type {type!r}; one of {sorted(SOCKET_TYPES)}")
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": copy.deepcopy(dict(payload)),
            "accepts_response_payload": SOCKET_TYPES[type],
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        label = f"socket mode {type} {_envelope_label(type, payload)}".rstrip()
        pending = _PendingAck(type)
        with self._lock:
            connection = self._newest_socket()
            if connection is None:
                raise AssertionError(f"{label}: no Socket Mode client is connected")
            self._acks[envelope_id] = pending
        started = time.perf_counter()
        try:
            connection.send(json.dumps(envelope))
            acked = pending.done.wait(timeout)
        except ConnectionClosed as exc:
            raise AssertionError(f"{label}: the connection closed while sending ({exc})") from None
        finally:
            with self._lock:
                self._acks.pop(envelope_id, None)
        if not acked or pending.acked_at is None:
            raise AssertionError(f"{label}: the app did not acknowledge envelope {envelope_id} within {timeout}s")
        elapsed = pending.acked_at - started
        deadline = _ack_deadline()
        if elapsed > deadline:
            self.add_violation(
                f"{label}: app acknowledged after {elapsed:.2f}s; Slack gives up after {deadline:.0f}s"
            )
        return copy.deepcopy(pending.payload or {})

    def socket_ping(self, timeout: float = 5.0) -> float:
        """Ping the newest Socket Mode connection; the seconds until its pong (AssertionError if none)."""
        with self._lock:
            connection = self._newest_socket()
        if connection is None:
            raise AssertionError("socket_ping: no Socket Mode client is connected")
        started = time.perf_counter()
        try:
            answered = connection.ping()
        except ConnectionClosed as exc:
            raise AssertionError(f"socket_ping: the connection closed ({exc})") from None
        if not answered.wait(timeout):
            raise AssertionError(f"socket_ping: no pong within {timeout}s")
        return time.perf_counter() - started

    def _newest_socket(self) -> ServerConnection | None:
        """The most recently opened Socket Mode connection that is still open (lock held)."""
        return next((c for c in reversed(self._sockets) if c.state is State.OPEN), None)

    def _socket_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse URLs apps.connections.open did not issue; let the library check the rest (RFC 6455)."""
        ticket = urllib.parse.urlsplit(request.path).path.removeprefix("/socket/")
        with self._lock:
            known = request.path.startswith("/socket/") and ticket in self._socket_urls
        if not known:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such Socket Mode URL; ask apps.connections.open\n")
        connection.ping_interval = self.socket_ping_interval  # keepalive starts after the handshake
        return None

    def _socket_handshake_answered(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> Response | None:
        """Record a handshake the library refused as broken (not our 404, not its 503 while stopping):
        no Slack client sends one."""
        problem = connection.protocol.handshake_exc
        if problem is not None:
            self.add_violation(f"socket mode handshake: {response.status_code} {problem}")
        return None

    def _serve_socket(self, connection: ServerConnection) -> None:
        """Say hello on an accepted Socket Mode connection, then read the app's acks until it ends."""
        name = f"socket mode connection {connection.request.path.removeprefix('/socket/')[:8]}"
        with self._lock:
            count = 1 + sum(1 for c in self._sockets if c.state is State.OPEN)
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": f"fakeslack-{self.team_id.lower()}", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        try:
            connection.send(json.dumps(hello))
        except ConnectionClosed:
            return
        with self._lock:
            self._sockets.append(connection)
        try:
            for message in connection:
                if isinstance(message, bytes):
                    self.add_violation(f"{name}: binary message; Socket Mode speaks JSON text only")
                    connection.close(CloseCode.UNSUPPORTED_DATA, "JSON text only")
                    return
                self._on_socket_message(message)
        except ConnectionClosed:
            pass  # the client went away, or broke the protocol (below)
        finally:
            with self._lock:
                self._sockets.remove(connection)
            sent = connection.protocol.close_sent
            if sent is not None and sent.code in _CLIENT_FAULTS and not connection.protocol.close_rcvd_then_sent:
                self.add_violation(f"{name}: the client broke RFC 6455; closed with {sent.code} ({sent.reason})")

    def _on_socket_message(self, text: str) -> None:
        """A text message from a Socket Mode client: it must be the ack of an envelope we sent."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            self.add_violation(f"socket mode: message is not an ack {{envelope_id, payload?}}: {text[:200]!r}")
            return
        payload = message.get("payload")
        with self._lock:
            pending = self._acks.get(envelope_id)
            if pending is None or pending.done.is_set():
                self.violations.append(
                    f"socket mode: ack for an envelope that is not awaiting one (unknown, late or acked twice): "
                    f"{envelope_id}"
                )
                return
            if payload is not None and not isinstance(payload, dict):
                self.violations.append(f"socket mode {pending.type}: ack payload is not a JSON object: {text[:200]!r}")
                payload = None
            pending.payload = payload
            pending.acked_at = time.perf_counter()
            pending.done.set()


def _envelope_label(type: str, payload: Mapping[str, Any]) -> str:  # noqa: A002
    """What an envelope carries, for messages: the command, interaction type or event type."""
    if type == "slash_commands":
        return str(payload.get("command") or "")
    if type == "interactive":
        return str(payload.get("type") or "")
    event = payload.get("event")
    return str(event.get("type") or "") if isinstance(event, Mapping) else str(payload.get("type") or "")
