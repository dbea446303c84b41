"""A fake Slack Web API server that answers like Slack and refuses what Slack would refuse.

``FakeSlack`` runs a local HTTP server with Slack's Web API at ``/api/<method>`` (form-encoded,
JSON or multipart bodies, as slack_sdk sends them), plus the other Slack endpoints an app
talks to: interaction ``response_url``s (``/response/<id>``), file upload URLs
(``/upload/<file id>``) and Socket Mode WebSocket URLs (``/socket/<id>``, handed out by
``apps.connections.open`` and served on a second port by the ``websockets`` library's sync
server; ``socket_send`` then delivers envelopes over them and waits for the app's ack). Method
and parameter names are checked against Slack's OpenAPI spec (``fakeslack.spec``), Block Kit
against Slack's limits (``fakeslack.blocks``). Every request is recorded as a ``Call``; every
request refused because it is not valid Slack is also recorded in ``violations``, which tests
assert stays empty. ``fail()`` and ``delay()`` inject errors and latency. State (channels, users,
messages, views, files) is in memory and guarded by one lock; test helpers poll it.

A UI (the browser sandbox) reads the workspace through the same object: ``conversations``,
``users``, ``history``/``thread``, ``ephemerals_for``, ``open_view`` with ``view_errors`` and
``home_view``; ``version`` counts every change such a UI shows and ``wait_for_change`` blocks
until the next one.

This module is the façade: ``FakeSlack`` holds the identity and settings, starts and stops both
servers, and inherits each job from a module of its own:

- ``fakeslack.workspace``: the state and its lock (``Workspace``, the base of every part);
- ``fakeslack.inspection``: what tests and a UI read;
- ``fakeslack.api``: the Web API methods (chat, conversations, views, files, team);
- ``fakeslack.checks``: Slack's contract, checked, and the violations;
- ``fakeslack.faults``: injected failures, delays, lost answers and outages;
- ``fakeslack.interactions``: trigger_ids, response_urls, upload URLs, the effect of acks;
- ``fakeslack.socket_mode``: Socket Mode's WebSocket server;
- ``fakeslack.transport``: the HTTP server and the Web API's request cycle;
- ``fakeslack.wire``: ``Call``, ``ApiError`` and the replies and parameter readers they share.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from websockets.frames import CloseCode
from websockets.sync.server import serve

from fakeslack.api import WebApi
from fakeslack.checks import APP_TOKEN_METHODS, JSON_PARAMS, MAX_MARKDOWN_TEXT, MAX_TEXT, Checks
from fakeslack.faults import Faults
from fakeslack.inspection import Inspection
from fakeslack.interactions import Interactions
from fakeslack.socket_mode import MAX_SOCKET_MESSAGE, SOCKET_TYPES, SocketMode
from fakeslack.transport import Transport, _HTTPHandler, _Server
from fakeslack.wire import JSON_CONTENT_TYPE, ApiError, Call, Handler, Params

__all__ = [
    "ACK_DEADLINE",
    "APP_TOKEN_METHODS",
    "JSON_CONTENT_TYPE",
    "JSON_PARAMS",
    "MAX_MARKDOWN_TEXT",
    "MAX_SOCKET_MESSAGE",
    "MAX_TEXT",
    "SOCKET_TYPES",
    "ApiError",
    "Call",
    "FakeSlack",
    "Handler",
    "Params",
]

ACK_DEADLINE = 3.0  # seconds Slack waits for an app to acknowledge a request (HTTP or Socket Mode)


class FakeSlack(Transport, SocketMode, Interactions, WebApi, Inspection, Checks, Faults):
    """A Slack workspace with a Web API, response URLs and upload URLs, served on 127.0.0.1.

    Each base is one job (see the module docstring); all share this object's state and its one lock,
    so attributes set on a FakeSlack (``calls``, ``clock``, ``trigger_ttl``...) are what every part sees.
    """

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
        self._init_interactions()
        self._init_faults()
        self._init_socket_mode()
        self._init_web_api()
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

    # ---------------------------------------------------------------------------------------
    # Reset
    # ---------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget calls, messages, views, files, failures and delays; keep users, channels, groups
        and Socket Mode connections."""
        with self._lock:
            self._reset_transport()
            self._reset_checks()
            self._reset_workspace()
            self._reset_interactions()
            self._reset_faults()
            self._touch()
