"""The HTTP side of the fake: the threaded server on 127.0.0.1, routing each request to the Web
API (``/api/<method>``), a response_url, an upload URL or a file permalink, and the Web API's
request cycle: parse the body (form, JSON or multipart, as slack_sdk sends them), check it, hold
it or fail it as the faults say, run the method's handler, record the ``Call``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import secrets
import sys
import threading
import time
import urllib.parse
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from fakeslack.wire import ApiError, Call, Handler, Params, _Reply
from fakeslack.workspace import Workspace

if TYPE_CHECKING:
    from fakeslack.server import FakeSlack


class _HTTPHandler(BaseHTTPRequestHandler):
    """Hands each HTTP request to the owning FakeSlack."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        """Serve a GET."""
        self._serve()

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        """Serve a POST."""
        self._serve()

    def _serve(self) -> None:
        """Read the body, route it, write the reply."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            reply = self.server.fake._route(self.command, self.path, self.headers, body)
        except Exception as exc:  # a bug in the fake: answer 500 and make the test fail loudly
            self.server.fake.add_violation(f"fakeslack internal error on {self.path}: {exc!r}")
            reply = _Reply.text(HTTPStatus.INTERNAL_SERVER_ERROR, f"fakeslack internal error: {exc!r}")
        if reply.lost is not None and reply.lost.late is None:
            self.close_connection = True  # the call took effect; its answer never comes
            return
        if reply.lost is not None and reply.lost.late is not None:
            time.sleep(reply.lost.late)
        self.write(reply)

    def write(self, reply: _Reply) -> None:
        """Send a complete HTTP answer."""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Stay quiet: tests read .calls instead of logs."""


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its FakeSlack."""

    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 drops SYNs under bursts (a ~1 s stall each)
    fake: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away before its answer (killed while Slack held it) is no error of the fake's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Transport(Workspace):
    """The HTTP server of FakeSlack and the Web API's request cycle."""

    _handlers: dict[str, Handler]  # Web API method -> handler, set by FakeSlack.__init__

    def _init_transport(self) -> None:
        """Not serving yet; no calls."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.calls: list[Call] = []

    def _reset_transport(self) -> None:
        """Forget the calls (lock held)."""
        self.calls.clear()

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:PORT."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """Web API base URL for slack_sdk's WebClient(base_url=...)."""
        return f"{self.url}/api/"

    def _route(self, verb: str, target: str, headers: Message, body: bytes) -> _Reply:
        """Dispatch one HTTP request to the Web API, a response_url or an upload URL."""
        parts = urllib.parse.urlsplit(target)
        path = parts.path
        if path.startswith("/api/"):
            return self._api(path[len("/api/"):], parts.query, headers, body)
        if verb == "POST" and path.startswith("/response/"):
            return self._post_response_url(path[len("/response/"):], body)
        if verb == "POST" and path.startswith("/upload/"):
            return self._post_upload(path[len("/upload/"):], body)
        if verb == "GET" and path.startswith("/files/"):
            return self._get_file(path[len("/files/"):].split("/", 1)[0])
        return _Reply.text(HTTPStatus.NOT_FOUND, "Not Found")

    def _api(self, method: str, query: str, headers: Message, body: bytes) -> _Reply:
        """Answer one Web API call (late, when delay() says so) and record it."""
        at, wall = time.perf_counter(), time.time()
        params: Params = {}
        with self._lock:
            try:
                params, is_json = _parse_params(query, headers, body)
                self._check(method, params, headers, is_json)
            except ApiError as exc:
                return self._record(method, params, self._error_reply(method, exc), at, wall)
            seconds = self._next_delay(method)
            failure = self._next_failure(method)
            if not seconds:
                reply = self._record(method, params, failure if failure is not None else self._answer(method, params), at, wall)
                return self._lose(method, reply) if failure is None else reply
        time.sleep(seconds)  # without the lock: other calls are served meanwhile
        with self._lock:
            reply = self._record(method, params, failure if failure is not None else self._answer(method, params), at, wall)
            return self._lose(method, reply) if failure is None else reply

    def _record(self, method: str, params: Params, reply: _Reply, at: float, wall: float) -> _Reply:
        """Append the Call for an answered request and return the reply."""
        try:
            response = json.loads(reply.body)
        except ValueError:
            response = {"ok": False, "raw": reply.body.decode("utf-8", "replace")}
        self.calls.append(Call(method, params, int(reply.status), response, at, wall))
        reply.headers.setdefault("x-slack-req-id", secrets.token_hex(16))  # as Slack tags every Web API answer
        return reply

    def _answer(self, method: str, params: Params) -> _Reply:
        """Run the handler of a checked call; error answers as replies."""
        handler = self._handlers.get(method)
        try:
            if handler is None:
                raise ApiError("fake_not_implemented", violation=True)
            return _Reply.json(HTTPStatus.OK, {"ok": True, **handler(params)})
        except ApiError as exc:
            return self._error_reply(method, exc)


# -------------------------------------------------------------------------------------------
# Request parsing
# -------------------------------------------------------------------------------------------


def _parse_params(query: str, headers: Message, body: bytes) -> tuple[Params, bool]:
    """Merge query-string and body parameters; tell whether the body was JSON."""
    params: Params = {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not body:
        return params, False
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError("invalid_json", violation=True) from None
        if not isinstance(data, dict):
            raise ApiError("json_not_object", violation=True)
        params.update({k: v for k, v in data.items() if v is not None})
        return params, True
    if content_type == "multipart/form-data":
        params.update(_parse_multipart(headers.get("Content-Type") or "", body))
        return params, False
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError("invalid_charset", violation=True) from None
        form = urllib.parse.parse_qs(text, keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
        return params, False
    raise ApiError("invalid_form_data", violation=True)


def _parse_multipart(content_type: str, body: bytes) -> Params:
    """Fields of a multipart/form-data body: text as str, file parts as bytes."""
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields: Params = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            fields[str(name)] = payload.decode(part.get_content_charset() or "utf-8")
        else:
            fields[str(name)] = payload
    return fields
