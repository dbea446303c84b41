"""A fake Slack Web API server that answers like Slack and refuses what Slack would refuse.

``FakeSlack`` runs a local HTTP server with Slack's Web API at ``/api/<method>`` (form-encoded,
JSON or multipart bodies, as slack_sdk sends them), plus the other Slack endpoints an app
talks to: interaction ``response_url``s (``/response/<id>``), file upload URLs
(``/upload/<file id>``) and Socket Mode WebSocket URLs (``/socket/<id>``, handed out by
``apps.connections.open`` and served on a second port by the ``websockets`` library's sync
server; ``socket_send`` then delivers envelopes over them and waits for the app's ack). Method and parameter names are checked against Slack's OpenAPI spec
(``fakeslack.spec``), Block Kit against Slack's limits (``fakeslack.blocks``). Every request is
recorded as a ``Call``; every request refused because it is not valid Slack is also recorded in
``violations``, which tests assert stays empty. ``fail()`` and ``delay()`` inject errors and
latency. State (channels, users, messages, views, files) is in memory and guarded by one lock;
test helpers poll it.

A UI (the browser sandbox) reads the workspace through the same object: ``conversations``,
``users``, ``history``/``thread``, ``ephemerals_for``, ``open_view`` with ``view_errors`` and
``home_view``; ``version`` counts every change such a UI shows and ``wait_for_change`` blocks
until the next one.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.sync.server import Server as WebSocketServer
from websockets.sync.server import ServerConnection, serve

from fakeslack.blocks import assign_ids, validate_blocks, validate_view
from fakeslack.checks import APP_TOKEN_METHODS, JSON_PARAMS, MAX_MARKDOWN_TEXT, MAX_TEXT, Checks
from fakeslack.faults import Faults
from fakeslack.transport import Transport, _HTTPHandler, _Server
from fakeslack.inspection import Inspection
from fakeslack.spec import methods
from fakeslack.wire import JSON_CONTENT_TYPE, ApiError, Call, Handler, Params, _absent, _as_int, _as_str, _bad_args, _Reply, _truthy

ACK_DEADLINE = 3.0  # seconds Slack waits for an app to acknowledge a request (HTTP or Socket Mode)
# Envelope types Slack sends over Socket Mode, and whether the app may answer with a payload.
SOCKET_TYPES = {"slash_commands": True, "interactive": True, "events_api": False}
MAX_SOCKET_MESSAGE = 16 * 1024 * 1024  # bytes; far above anything Socket Mode carries
# Close codes with which the WebSocket library fails a connection whose client broke RFC 6455.
_CLIENT_FAULTS = frozenset({CloseCode.PROTOCOL_ERROR, CloseCode.INVALID_DATA, CloseCode.MESSAGE_TOO_BIG})

@dataclass
class _PendingAck:
    """A Socket Mode envelope sent by socket_send() and the app's ack, once it arrives."""

    type: str
    done: threading.Event = field(default_factory=threading.Event)
    payload: dict[str, Any] | None = None
    acked_at: float | None = None


@dataclass
class _Trigger:
    """A trigger_id handed to the app: when and for whom it was minted, and whether it was used."""

    minted_at: float
    user_id: str | None = None  # the person whose command or click it came from
    used: bool = False


@dataclass
class _ResponseUrl:
    """What a response_url answers for: the channel, user and message of the interaction."""

    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    uses: int = 0


class FakeSlack(Transport, Inspection, Checks, Faults):
    """A Slack workspace with a Web API, response URLs and upload URLs, served on 127.0.0.1."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-token",
        team_id: str = "T0FAKE",
        team_domain: str = "fake",
        bot_user_id: str = "UBOT0001",
        bot_id: str = "BBOT0001",
        clock: Callable[[], float] = time.time,
        trigger_ttl: float = 3.0,
        app_id: str = "A0FAKEAPP",
        app_token: str = "xapp-fake-app-token",
        socket_ping_interval: float | None = 0.5,
    ) -> None:
        """`socket_ping_interval`: seconds between the pings Slack sends each Socket Mode client
        (None: never). Each ping also wakes slack_sdk's builtin client, whose close() otherwise
        waits out its 3 s socket read timeout."""
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_ping_interval = socket_ping_interval
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self.trigger_ttl = trigger_ttl
        self._init_workspace()
        self._init_transport()
        self._init_checks()
        self._ws_server: WebSocketServer | None = None
        self._ws_thread: threading.Thread | None = None
        self.responses: list[dict[str, Any]] = []
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._uploads: dict[str, dict[str, Any]] = {}
        self._init_faults()
        # Socket Mode: URLs issued by apps.connections.open, open connections, envelopes awaiting an ack.
        self._socket_urls: dict[str, float] = {}
        self._sockets: list[ServerConnection] = []
        self._acks: dict[str, _PendingAck] = {}
        self._handlers: dict[str, Handler] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self.add_user(bot_user_id, "fakebot", real_name="Fake Bot")
        self._users[bot_user_id]["is_bot"] = True
        self.add_channel("general", id="C0GENERAL")

    # ---------------------------------------------------------------------------------------
    # Lifecycle
    # ---------------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Serve HTTP on 127.0.0.1 at a free port and Socket Mode WebSockets at another, in daemon threads."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _HTTPHandler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="fakeslack", daemon=True
        )
        self._thread.start()
        # ping_interval is set per connection in the handshake, from socket_ping_interval at that time;
        # a client that answers no ping is kept, as before; close_timeout bounds stop() on a mute client.
        self._ws_server = serve(
            self._serve_socket, "127.0.0.1", 0, process_request=self._socket_handshake,
            process_response=self._socket_handshake_answered, ping_interval=None, ping_timeout=None,
            close_timeout=1.0, max_size=MAX_SOCKET_MESSAGE,
        )
        self._ws_thread = threading.Thread(target=self._ws_server.serve_forever, name="fakeslack-ws", daemon=True)
        self._ws_thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the ports; Socket Mode clients get a close frame (1001)."""
        server, thread = self._server, self._thread
        ws_server, ws_thread = self._ws_server, self._ws_thread
        self._server = self._thread = self._ws_server = self._ws_thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if ws_server is not None:
            ws_server.shutdown(code=CloseCode.GOING_AWAY, reason="fakeslack stopped")
        for running in (thread, ws_thread):
            if running is not None:
                running.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        """Start when used as a context manager."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop at the end of the with block."""
        self.stop()

    @property
    def ws_url(self) -> str:
        """Base URL of the Socket Mode WebSocket server, e.g. ws://127.0.0.1:PORT (its own port)."""
        if self._ws_server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._ws_server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    # ---------------------------------------------------------------------------------------
    # Workspace set-up
    # ---------------------------------------------------------------------------------------

    def mint_trigger_id(self, user_id: str | None = None) -> str:
        """A fresh trigger_id, usable once within trigger_ttl seconds of `clock`; a modal opened
        or pushed with it is open for `user_id` (the person who ran the command or clicked)."""
        with self._lock:
            now = self.clock()
            trigger_id = f"{next(self._ids)}.{int(now)}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = _Trigger(minted_at=now, user_id=user_id)
            return trigger_id

    def new_response_url(
        self, *, channel_id: str | None = None, user_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """A fresh response_url; the interaction's channel, user and message give POSTs their effect."""
        with self._lock:
            token = secrets.token_hex(12)
            self._response_urls[token] = _ResponseUrl(channel_id, user_id, message_ts)
            return f"{self.url}/response/{token}"

    def reset(self) -> None:
        """Forget calls, messages, views, files, failures and delays; keep users, channels, groups
        and Socket Mode connections."""
        with self._lock:
            self._reset_transport()
            self._reset_checks()
            self._reset_workspace()
            self.responses.clear()
            self._triggers.clear()
            self._response_urls.clear()
            self._uploads.clear()
            self._reset_faults()
            self._touch()

    # ---------------------------------------------------------------------------------------
    # Inspection helpers for tests
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # The workspace as a person sees it (the sandbox UI reads these)
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # Socket Mode: Slack's end of the app's WebSocket connections
    # ---------------------------------------------------------------------------------------

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
        if elapsed > ACK_DEADLINE:
            self.add_violation(
                f"{label}: app acknowledged after {elapsed:.2f}s; Slack gives up after {ACK_DEADLINE:.0f}s"
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

    # ---------------------------------------------------------------------------------------
    # Slack's reaction to the app's HTTP acknowledgements (used by SlackSender)
    # ---------------------------------------------------------------------------------------

    def apply_view_ack(self, view_id: str, status: int, body: str) -> None:
        """Act on an app's answer to a view_submission: close, show errors, update, push or clear."""
        with self._lock:
            if status != HTTPStatus.OK:
                return  # Slack shows a connection error in the modal; nothing changes.
            if not body.strip():
                self._close_views([view_id])
                return
            try:
                payload = json.loads(body)
            except ValueError:
                self.violations.append(f"view_submission ack: body is neither empty nor JSON: {body[:200]!r}")
                return
            action = payload.get("response_action") if isinstance(payload, dict) else None
            current = self.views.get(view_id)
            if action is None:
                self._close_views([view_id])
            elif action == "errors":
                errors = payload.get("errors")
                self._check_view_errors(current, errors)
                if current is not None and isinstance(errors, dict):
                    self._view_errors[view_id] = {str(k): str(v) for k, v in errors.items()}
                    self._touch()
            elif action in ("update", "push"):
                view = payload.get("view")
                errors = validate_view(view)
                if not errors and view.get("type") != "modal":
                    errors = ['[ERROR] must be "modal" [json-pointer:/view/type]']
                if errors:
                    detail = "; ".join(errors)
                    self.violations.append(f"view_submission ack: response_action {action}: {detail}")
                elif action == "update" and current is not None:
                    self._replace_view(self._stored_view(
                        view, view_id=view_id, root_view_id=current["root_view_id"],
                        previous_view_id=current["previous_view_id"],
                    ))
                elif action == "push":
                    root = current["root_view_id"] if current else None
                    pushed = self._stored_view(view, root_view_id=root, previous_view_id=view_id)
                    self._open_view(pushed, self._view_users.get(view_id))
            elif action == "clear":
                root = current["root_view_id"] if current else view_id
                self._close_views([k for k, v in self.views.items() if v["root_view_id"] == root])
            else:
                self.violations.append(f"view_submission ack: unknown response_action {action!r}")

    def _check_view_errors(self, view: dict[str, Any] | None, errors: Any) -> None:
        """Validate response_action=errors: a non-empty map of input block_id -> message."""
        input_ids = {b.get("block_id") for b in (view or {}).get("blocks", []) if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors:
            self.violations.append("view_submission ack: response_action errors needs a non-empty `errors`")
            return
        for block_id, text in errors.items():
            if block_id not in input_ids:
                self.violations.append(
                    f"view_submission ack: errors names {block_id!r}, not an input block_id of the view"
                )
            if not isinstance(text, str) or not text:
                self.violations.append(f"view_submission ack: error for {block_id!r} must be a string")

    def apply_command_ack(
        self, channel_id: str, user_id: str, status: int, content_type: str, body: str
    ) -> None:
        """Act on an app's answer to a slash command: show its text/blocks to the user or channel."""
        with self._lock:
            if status != HTTPStatus.OK or not body.strip():
                return
            if content_type.split(";")[0].strip().lower() != "application/json":
                payload: Any = {"text": body}
            else:
                try:
                    payload = json.loads(body)
                except ValueError:
                    self.violations.append(f"slash command ack: invalid JSON body {body[:200]!r}")
                    return
            if not isinstance(payload, dict):
                self.violations.append(f"slash command ack: JSON body is not an object {body[:200]!r}")
                return
            blocks = payload.get("blocks")
            if blocks is not None:
                errors = validate_blocks(blocks, surface="message")
                if errors:
                    self.violations.append("slash command ack: invalid_blocks " + "; ".join(errors))
                    return
            if not (payload.get("text") or blocks):
                return
            target = _ResponseUrl(channel_id=channel_id, user_id=user_id, message_ts=None)
            self._apply_response(target, payload)

    # ---------------------------------------------------------------------------------------
    # HTTP routing
    # ---------------------------------------------------------------------------------------

    def _get_file(self, file_id: str) -> _Reply:
        """A file's permalink: its bytes (Slack would show a page; the bytes serve a sandbox and tests)."""
        with self._lock:
            record = self.files.get(file_id)
            if record is None or record.get("content") is None:
                return _Reply.text(HTTPStatus.NOT_FOUND, "Not Found")
            return _Reply(HTTPStatus.OK, bytes(record["content"]),
                          {"Content-Type": record.get("mimetype") or "application/octet-stream",
                           "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"})

    # ---------------------------------------------------------------------------------------
    # Shared helpers (called with the lock held)
    # ---------------------------------------------------------------------------------------

    def _trigger(self, params: Params) -> _Trigger:
        """The unused, unexpired trigger named by trigger_id / interactivity_pointer."""
        trigger_id = _as_str(params.get("trigger_id")) or _as_str(params.get("interactivity_pointer"))
        if not trigger_id:
            raise _bad_args("[ERROR] missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - trigger.minted_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        return trigger

    # ---------------------------------------------------------------------------------------
    # Web API methods (called with the lock held; return the body without "ok")
    # ---------------------------------------------------------------------------------------

    def _apps_connections_open(self, params: Params) -> dict[str, Any]:
        """apps.connections.open: a fresh Socket Mode WebSocket URL (app-level token only)."""
        ticket = secrets.token_hex(16)
        self._socket_urls[ticket] = self.clock()
        return {"url": f"{self.ws_url}/socket/{ticket}"}

    def _auth_test(self, params: Params) -> dict[str, Any]:
        """auth.test: who the token belongs to."""
        return {
            "url": f"https://{self.team_domain}.slack.com/", "team": self.team_domain.capitalize(),
            "user": self._users[self.bot_user_id]["name"], "team_id": self.team_id,
            "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: Params) -> dict[str, Any]:
        """chat.postMessage: post to a channel, a #name or a user's IM."""
        channel_id = self._channel_param(params)
        content = self._content(params, require=True)
        thread_ts = _as_str(params.get("thread_ts"))
        message = self._post(channel_id, thread_ts=thread_ts, **content)
        return {"channel": channel_id, "ts": message["ts"], "message": self._api_message(message)}

    def _chat_update(self, params: Params) -> dict[str, Any]:
        """chat.update: replace the given fields of a bot message (channel must be an id)."""
        channel_id = self._channel_param(params, ids_only=True)
        ts = _as_str(params.get("ts")) or ""
        message = self._find_message(channel_id, ts)
        if message is None:
            raise ApiError("message_not_found")
        content = self._content(params, require=True)
        for key in ("text", "attachments", "metadata"):
            if content[key] is not None:
                message[key] = content[key]
        if params.get("blocks") is not None:
            message["blocks"] = content["blocks"] or None
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        self._touch()
        shaped = self._api_message(message)
        return {"channel": channel_id, "ts": ts, "text": message["text"], "message": shaped}

    def _chat_post_ephemeral(self, params: Params) -> dict[str, Any]:
        """chat.postEphemeral: a message only `user` sees."""
        channel_id = self._channel_param(params)
        content = self._content(params, require=True)
        ephemeral = self._post_ephemeral(channel_id, _as_str(params.get("user")), text=content["text"],
                                         blocks=content["blocks"], thread_ts=_as_str(params.get("thread_ts")))
        return {"message_ts": ephemeral["message_ts"]}

    def _chat_get_permalink(self, params: Params) -> dict[str, Any]:
        """chat.getPermalink: the archive URL of a message."""
        channel_id = self._channel_param(params, ids_only=True)
        ts = _as_str(params.get("message_ts")) or ""
        message = self._find_message(channel_id, ts)
        if message is None:
            raise ApiError("message_not_found")
        permalink = f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        if message["thread_ts"] and message["thread_ts"] != ts:
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
        return {"channel": channel_id, "permalink": permalink}

    def _conversations_open(self, params: Params) -> dict[str, Any]:
        """conversations.open: the bot's IM with one user (or an existing IM by channel)."""
        users_param = _as_str(params.get("users"))
        channel_param = _as_str(params.get("channel"))
        if users_param:
            users = [u.strip() for u in users_param.split(",") if u.strip()]
            if len(users) != 1:
                raise ApiError("fake_not_implemented", violation=True,
                               messages=["[ERROR] the fake opens IMs with exactly one user"])
            if users[0] not in self._users:
                raise ApiError("user_not_found")
            channel_id = self._im_for(users[0])
        elif channel_param:
            channel_id = self._lookup_channel(channel_param, ids_only=True) or ""
            if not self._channels.get(channel_id, {}).get("is_im"):
                raise ApiError("channel_not_found")
        else:
            raise ApiError("users_list_not_supplied", violation=True)
        if _truthy(params.get("return_im")):
            channel = self._channels[channel_id]
            return {"channel": {"id": channel_id, "is_im": True, "user": channel["user"],
                                "created": channel["created"], "is_open": True}}
        return {"channel": {"id": channel_id}}

    def _history_page(self, messages: list[dict[str, Any]], params: Params, *, newest_first: bool) -> dict[str, Any]:
        """One page of messages between `oldest` and `latest` (exclusive unless `inclusive`), with
        metadata only when `include_all_metadata` is true; a cursor is the offset of the next page."""
        oldest = float(_as_str(params.get("oldest")) or 0)
        latest = float(_as_str(params.get("latest")) or "inf")
        inclusive = _truthy(params.get("inclusive"))
        limit = min(max(_as_int(params.get("limit")) or 100, 1), 999)
        cursor = _as_str(params.get("cursor")) or ""
        if cursor and not cursor.isdigit():
            raise ApiError("invalid_cursor")
        start = int(cursor or 0)

        def within(ts: str) -> bool:
            t = float(ts)
            return (oldest <= t <= latest) if inclusive else (oldest < t < latest)

        chosen = [m for m in messages if within(m["ts"])]
        chosen.sort(key=lambda m: float(m["ts"]), reverse=newest_first)
        page = chosen[start:start + limit]
        shaped = []
        for message in page:
            api = self._api_message(message)
            if not _truthy(params.get("include_all_metadata")):
                api.pop("metadata", None)
            shaped.append(api)
        more = start + limit < len(chosen)
        return {"messages": shaped, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _readable_channel(self, params: Params) -> str:
        """A channel the bot may read: a member of it (an IM always), else not_in_channel."""
        channel_id = self._channel_param(params, ids_only=True)
        if not self._channels[channel_id].get("is_im") and not self._channels[channel_id].get("bot_member", True):
            raise ApiError("not_in_channel")
        return channel_id

    def _conversations_history(self, params: Params) -> dict[str, Any]:
        """conversations.history: a channel's top-level messages (thread replies stay in their thread), newest first."""
        channel_id = self._readable_channel(params)
        top = [m for m in self._messages.get(channel_id, []) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        return self._history_page(top, params, newest_first=True)

    def _conversations_replies(self, params: Params) -> dict[str, Any]:
        """conversations.replies: a thread's parent and replies, oldest first."""
        channel_id = self._readable_channel(params)
        ts = _as_str(params.get("ts")) or ""
        if self._find_message(channel_id, ts) is None:
            raise ApiError("thread_not_found")
        thread = [m for m in self._messages.get(channel_id, []) if m["ts"] == ts or m.get("thread_ts") == ts]
        return self._history_page(thread, params, newest_first=False)

    def _conversations_list(self, params: Params) -> dict[str, Any]:
        """conversations.list: public channels, and the private ones the bot is in (by `types`), a page at a time."""
        types = {t.strip() for t in (_as_str(params.get("types")) or "public_channel").split(",") if t.strip()}
        unknown = types - {"public_channel", "private_channel", "im", "mpim"}
        if unknown:
            raise ApiError("invalid_types")
        limit = min(max(_as_int(params.get("limit")) or 100, 1), 1000)
        cursor = _as_str(params.get("cursor")) or ""
        if cursor and not cursor.isdigit():
            raise ApiError("invalid_cursor")
        start = int(cursor or 0)
        chosen = [c for c in self._channels.values() if (
            ("im" in types and c.get("is_im"))
            or ("public_channel" in types and not c.get("is_im") and not c["is_private"])
            or ("private_channel" in types and c["is_private"] and not c.get("is_im") and c.get("bot_member", True)))]
        page = chosen[start:start + limit]
        more = start + limit < len(chosen)
        return {"channels": [{k: v for k, v in c.items() if k != "bot_member"} | {"is_member": c.get("bot_member", True)}
                             for c in page],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _conversations_join(self, params: Params) -> dict[str, Any]:
        """conversations.join: the bot joins a public channel (private ones need an invitation)."""
        channel_id = self._channel_param(params, ids_only=True)
        channel = self._channels[channel_id]
        if channel.get("is_im") or channel.get("is_private"):
            raise ApiError("method_not_supported_for_channel_type")
        channel["bot_member"] = True
        return {"channel": {k: v for k, v in channel.items() if k != "bot_member"}}

    def _users_info(self, params: Params) -> dict[str, Any]:
        """users.info: one member's profile."""
        user = self._users.get(_as_str(params.get("user")) or "")
        if user is None:
            raise ApiError("user_not_found")
        return {
            "user": {
                "id": user["id"], "team_id": self.team_id, "name": user["name"], "deleted": False,
                "real_name": user["real_name"], "tz": user["tz"], "tz_label": user["tz"],
                "tz_offset": _tz_offset(user["tz"], self.clock()), "is_admin": user["is_admin"],
                "is_owner": False, "is_bot": user["is_bot"], "is_app_user": False,
                "profile": {
                    "real_name": user["real_name"], "real_name_normalized": user["real_name"],
                    "display_name": user["name"], "display_name_normalized": user["name"],
                    "team": self.team_id,
                },
            }
        }

    def _usergroups_users_list(self, params: Params) -> dict[str, Any]:
        """usergroups.users.list: member ids of a user group."""
        group = self._usergroups.get(_as_str(params.get("usergroup")) or "")
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _views_open(self, params: Params, *, push: bool = False) -> dict[str, Any]:
        """views.open: open a modal with a fresh trigger_id, for the person it was minted for."""
        trigger = self._trigger(params)
        view = self._view_param(params, kind="modal")
        trigger.used = True
        below = self._top_view(trigger.user_id) if push and trigger.user_id else None
        stored = self._stored_view(view, root_view_id=below["root_view_id"] if below else None,
                                   previous_view_id=below["id"] if below else None)
        self._open_view(stored, trigger.user_id)
        return {"view": copy.deepcopy(stored)}

    def _views_push(self, params: Params) -> dict[str, Any]:
        """views.push: push a modal onto the person's open stack with a fresh trigger_id."""
        return self._views_open(params, push=True)

    def _views_update(self, params: Params) -> dict[str, Any]:
        """views.update: replace an open modal by view_id or external_id, honouring hash."""
        view_id = _as_str(params.get("view_id"))
        external_id = _as_str(params.get("external_id"))
        if not view_id and not external_id:
            raise _bad_args("[ERROR] either view_id or external_id is required")
        current = self.views.get(view_id) if view_id else next(
            (v for v in self.views.values() if v["external_id"] == external_id), None
        )
        if current is None:
            raise ApiError("not_found")
        view = self._view_param(params, kind=current["type"])
        expected = _as_str(params.get("hash"))
        if expected and expected != current["hash"]:
            raise ApiError("hash_conflict")
        stored = self._stored_view(
            view, view_id=current["id"], root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        self._replace_view(stored)
        return {"view": copy.deepcopy(stored)}

    def _views_publish(self, params: Params) -> dict[str, Any]:
        """views.publish: set a user's Home tab."""
        user_id = _as_str(params.get("user_id")) or ""
        view = self._view_param(params, kind="home")
        current = self.home_views.get(user_id)
        expected = _as_str(params.get("hash"))
        if current is not None and expected and expected != current["hash"]:
            raise ApiError("hash_conflict")
        stored = self._stored_view(view, view_id=current["id"] if current else None)
        self.home_views[user_id] = stored
        self._touch()
        return {"view": copy.deepcopy(stored)}

    def _files_get_upload_url_external(self, params: Params) -> dict[str, Any]:
        """files.getUploadURLExternal: reserve a file id and an upload URL."""
        length = _as_int(params.get("length"))
        if length is None or length < 1:
            raise _bad_args("[ERROR] length must be a positive integer [json-pointer:/length]")
        file_id = self._new_id("F")
        self._uploads[file_id] = {
            "filename": _as_str(params.get("filename")), "length": length, "content": None,
            "alt_txt": _as_str(params.get("alt_txt")), "snippet_type": _as_str(params.get("snippet_type")),
        }
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: Params) -> dict[str, Any]:
        """files.completeUploadExternal: finish uploads and share them to a channel."""
        files = params.get("files")
        if not isinstance(files, list) or not files or not all(
            isinstance(f, dict) and isinstance(f.get("id"), str) for f in files
        ):
            raise _bad_args('[ERROR] files must be a non-empty array of {"id", "title"} objects')
        channel_ids: list[str] = []
        if not _absent(params.get("channel_id")):
            channel_ids.append(self._channel_param(params, "channel_id", ids_only=True))
        for name in (_as_str(params.get("channels")) or "").split(","):
            if name.strip():
                channel_ids.append(self._channel_param({"channel": name.strip()}, ids_only=True))
        for entry in files:
            upload = self._uploads.get(entry["id"])
            if upload is None or upload["content"] is None:
                raise ApiError("file_not_found")
        blocks = params.get("blocks")
        if blocks is not None:
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise ApiError("invalid_blocks", violation=True, messages=errors,
                               extra={"errors": [e.removeprefix("[ERROR] ") for e in errors]})
        thread_ts = _as_str(params.get("thread_ts"))
        comment = _as_str(params.get("initial_comment"))
        shared: list[dict[str, Any]] = []
        for entry in files:
            upload = self._uploads.pop(entry["id"])
            title = entry.get("title") or upload["filename"]
            record = {
                "id": entry["id"], "name": upload["filename"], "title": title,
                "content": upload["content"], "channel_id": channel_ids[0] if channel_ids else None,
                "channels": channel_ids, "thread_ts": thread_ts, "initial_comment": comment,
                "alt_txt": upload["alt_txt"],
            }
            self.files[entry["id"]] = record
            shared.append({"id": entry["id"], "title": title, "name": upload["filename"]})
        for channel_id in channel_ids:
            self._post(channel_id, text=comment, blocks=assign_ids(blocks) if blocks else None,
                       thread_ts=thread_ts, files=copy.deepcopy(shared))
        return {"files": shared}

    # ---------------------------------------------------------------------------------------
    # response_url and upload URL endpoints
    # ---------------------------------------------------------------------------------------

    def _post_response_url(self, token: str, body: bytes) -> _Reply:
        """A POST to a response_url: validate like Slack, then reply, replace or delete."""
        with self._lock:
            target = self._response_urls.get(token)
            url = f"{self.url}/response/{token}"
            if target is None:
                self.violations.append(f"response_url: unknown or expired url {url}")
                return _Reply.text(HTTPStatus.NOT_FOUND, "no_active_hooks")
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                self.violations.append(f"response_url: body is not a JSON object: {body[:200]!r}")
                return _Reply.text(HTTPStatus.BAD_REQUEST, "invalid_payload")
            if target.uses >= 5:
                self.violations.append(f"response_url: used more than 5 times: {url}")
                return _Reply.text(HTTPStatus.NOT_FOUND, "used_url")
            blocks = payload.get("blocks")
            if blocks is not None:
                errors = validate_blocks(blocks, surface="message")
                if errors:
                    self.violations.append("response_url: invalid_blocks " + "; ".join(errors))
                    return _Reply.text(HTTPStatus.BAD_REQUEST, "invalid_blocks")
            deleting = _truthy(payload.get("delete_original"))
            if not deleting and not (payload.get("text") or blocks or payload.get("attachments")):
                self.violations.append("response_url: no_text")
                return _Reply.text(HTTPStatus.BAD_REQUEST, "no_text")
            target.uses += 1
            self.responses.append({"url": url, "body": payload})
            self._apply_response(target, payload)
            return _Reply.json(HTTPStatus.OK, {"ok": True})

    def _apply_response(self, target: _ResponseUrl, payload: dict[str, Any]) -> None:
        """Give a response_url POST its effect on the workspace."""
        blocks = assign_ids(payload["blocks"]) if payload.get("blocks") else None
        original = self._find_message(target.channel_id, target.message_ts or "")
        shown = None if original is not None or not target.message_ts else next(
            (e for e in self.ephemerals if e["message_ts"] == target.message_ts), None)  # an ephemeral's buttons
        if _truthy(payload.get("delete_original")):
            if original is not None:
                self._messages[original["channel"]].remove(original)
            elif shown is not None:
                self.ephemerals.remove(shown)
            self._touch()
            return
        if _truthy(payload.get("replace_original")) and original is not None:
            original.update(text=payload.get("text") or "", blocks=blocks,
                            edited={"user": self.bot_user_id, "ts": self._next_ts()})
            self._touch()
            return
        if _truthy(payload.get("replace_original")) and shown is not None:
            shown.update(text=payload.get("text") or "", blocks=blocks)
            self._touch()
            return
        if target.channel_id is None:
            return
        if payload.get("response_type") == "in_channel":
            self._post(target.channel_id, text=payload.get("text"), blocks=blocks,
                       thread_ts=payload.get("thread_ts"))
        else:
            self._post_ephemeral(target.channel_id, target.user_id, text=payload.get("text"), blocks=blocks,
                                 thread_ts=payload.get("thread_ts"))

    def _post_upload(self, file_id: str, body: bytes) -> _Reply:
        """A POST of file bytes to an upload URL from files.getUploadURLExternal."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                self.violations.append(f"upload: unknown upload URL for {file_id}")
                return _Reply.text(HTTPStatus.NOT_FOUND, "Not Found")
            upload["content"] = body
            return _Reply.text(HTTPStatus.OK, f"OK - {len(body)}")


# -------------------------------------------------------------------------------------------
# Request parsing
# -------------------------------------------------------------------------------------------


def _tz_offset(tz: str, now: float) -> int:
    """UTC offset of a time zone in seconds at `now` (0 when the zone is unknown)."""
    try:
        offset = datetime.fromtimestamp(now, ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    return int(offset.total_seconds()) if offset else 0


def _envelope_label(type: str, payload: Mapping[str, Any]) -> str:  # noqa: A002
    """What an envelope carries, for messages: the command, interaction type or event type."""
    if type == "slash_commands":
        return str(payload.get("command") or "")
    if type == "interactive":
        return str(payload.get("type") or "")
    event = payload.get("event")
    return str(event.get("type") or "") if isinstance(event, Mapping) else str(payload.get("type") or "")


