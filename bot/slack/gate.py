"""The HTTP gate in front of Bolt: body cap, signature on the raw bytes, payload shape, response_url hosts.

Bolt parses a body before it checks its signature, and its context builders, middleware and
matchers index into the payload assuming Slack's shapes (`body["actions"][0]["action_id"]`,
`body.get("event", {}).get(...)`, `"id" in body["user"]`); a body that breaks either ends in a
500 with a traceback. The gate answers such requests itself, with 413, 401, 400 or an empty 200
and one short log line, and hands Bolt only signed payloads it can read, as the exact bytes it
received (Bolt verifies them again). It also refuses a payload whose `response_url` leads
anywhere but Slack, so `respond()` can never post ticket content to a host a payload names.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.request.internals import extract_content_type, parse_body

log = logging.getLogger("bot.gate")

MAX_BODY = 1024 * 1024  # bytes; Slack's largest payloads (a full modal submission) are a few 100 KB at most
TIMESTAMP_WINDOW = 300  # seconds either side of now, as Slack's own SDKs allow
MAX_DEPTH = 64  # nesting of JSON objects and arrays; Slack's deepest (rich text in a view) is about 15
SLACK_HOOK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})  # response_urls (commercial, GovSlack)

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Wsgi = Callable[[Environ, StartResponse], Iterable[bytes]]

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Keys Bolt reads as an id: a string, or (these four) an object holding the id; see slack_bolt.request.internals.
_ID_OR_OBJECT = ("user", "team", "channel", "enterprise")
_IDS = ("user_id", "team_id", "channel_id", "enterprise_id", "thread_ts", "function_execution_id",
        "bot_access_token", "type", "command", "callback_id", "action_id", "block_id", "response_url", "trigger_id")
_OBJECT_IDS = {"user": ("id", "team_id"), "team": ("id", "enterprise_id"), "channel": ("id",), "enterprise": ("id",)}
# Objects Bolt descends into looking for ids (build_context's extract_* functions).
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")
_NESTING_LIMIT = 8  # how deep those may nest (Bolt recurses once per level)


@dataclass(frozen=True)
class Refusal:
    """The gate's own answer: an HTTP status and one short reason for the log (never a request's content)."""

    status: int
    reason: str


def read_body(environ: Environ, limit: int = MAX_BODY) -> bytes | Refusal:
    """The request body, read only after its declared length is known to be within `limit`."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        return Refusal(411, "no Content-Length")
    if not declared.isascii() or not declared.isdigit():
        return Refusal(400, "Content-Length is not a number")
    length = int(declared)
    if length > limit:
        return Refusal(413, f"body of {length} bytes is over the {limit}-byte cap")
    try:
        body = environ["wsgi.input"].read(length) if length else b""
    except OSError:  # the client went away mid-body (waitress buffers bodies, other servers may not)
        return Refusal(400, "body could not be read")
    if len(body) != length:
        return Refusal(400, f"body ended after {len(body)} of {length} bytes")
    return body


def expected_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature of a request: hex HMAC-SHA256 of "v0:<timestamp>:<body>"."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def check_signature(signing_secret: str | None, timestamp: str, signature: str, body: bytes, now: float) -> Refusal | None:
    """None when the request is Slack's: a fresh integer timestamp and a matching v0 signature."""
    if not signing_secret:
        return Refusal(401, "no signing secret configured")
    if not _TIMESTAMP.fullmatch(timestamp):
        return Refusal(401, "missing or malformed X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > TIMESTAMP_WINDOW:
        return Refusal(401, "X-Slack-Request-Timestamp outside the 5-minute window")
    if not _SIGNATURE.fullmatch(signature):
        return Refusal(401, "missing or malformed X-Slack-Signature")
    if not hmac.compare_digest(expected_signature(signing_secret, timestamp, body).encode("ascii"), signature.encode("ascii")):
        return Refusal(401, "X-Slack-Signature does not match")
    return None


def parse_payload(body: bytes, content_type: str | None) -> dict[str, Any] | Refusal:
    """The payload exactly as Bolt will parse it (its own parse_body), or why it can't be read."""
    try:
        text = body.decode("utf-8")
        payload = parse_body(text, extract_content_type({"content-type": [content_type]} if content_type else {}))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        return Refusal(400, f"body cannot be parsed ({type(error).__name__})")
    if not isinstance(payload, dict):
        return Refusal(400, f"payload is a {type(payload).__name__}, not an object")
    return payload


def _kind(value: Any) -> str:
    """A JSON type name for the log."""
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def unreadable_text(payload: Any) -> str | None:
    """Why a payload is too deep or holds a string no encoder can write (a lone surrogate); None if fine."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels"
            items = list(node.items()) if isinstance(node, dict) else [(None, v) for v in node]
            for key, value in items:
                if key is not None and not _encodable(key):
                    return "a key is not valid Unicode"
                stack.append((value, depth + 1))
        elif isinstance(node, str) and not _encodable(node):
            return "a string is not valid Unicode (lone surrogate)"
    return None


def _encodable(text: str) -> bool:
    """Whether UTF-8 can encode `text` (JSON's \\ud800 escapes decode to unencodable lone surrogates)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shape_problem(payload: dict[str, Any]) -> str | None:
    """What in the payload Bolt would trip over (a number where it indexes an object, …); None if nothing."""
    return _top_level_problem(payload) or _object_problem(payload, "payload", 0)


def _object_problem(node: dict[str, Any], where: str, depth: int) -> str | None:
    """The id fields Bolt's context builders read, here and in the objects they descend into."""
    if depth > _NESTING_LIMIT:
        return f"{where} nests too deeply"
    for key in _IDS:
        if not isinstance(node.get(key), (str, type(None))):
            return f"{where}.{key} is a {_kind(node.get(key))}"
    for key in _ID_OR_OBJECT:
        value = node.get(key)
        if isinstance(value, dict):
            for inner in _OBJECT_IDS[key]:
                if not isinstance(value.get(inner), (str, type(None))):
                    return f"{where}.{key}.{inner} is a {_kind(value.get(inner))}"
        elif not isinstance(value, (str, type(None))):
            return f"{where}.{key} is a {_kind(value)}"
    authorizations = node.get("authorizations")
    if authorizations is not None:
        if not isinstance(authorizations, list) or not all(isinstance(a, dict) for a in authorizations):
            return f"{where}.authorizations is not an array of objects"
        if authorizations and (problem := _object_problem(authorizations[0], f"{where}.authorizations[0]", depth + 1)):
            return problem
    view = node.get("view")
    if isinstance(view, dict):
        for key in ("app_installed_team_id", "team_id"):
            if not isinstance(view.get(key), (str, type(None))):
                return f"{where}.view.{key} is a {_kind(view.get(key))}"
    for key in _NESTED:
        value = node.get(key)
        if isinstance(value, dict) and (problem := _object_problem(value, f"{where}.{key}", depth + 1)):
            return problem
    return None


def _top_level_problem(payload: dict[str, Any]) -> str | None:
    """The top-level keys Bolt's middleware, matchers and argument builders index without a type check."""
    if "event" in payload:
        event = payload["event"]
        if not isinstance(event, dict):
            return f"payload.event is a {_kind(event)}"
        if "function" in event and not isinstance(event["function"], dict):
            return f"payload.event.function is a {_kind(event['function'])}"
    if "view" in payload:
        view = payload["view"]
        if not isinstance(view, dict):
            return f"payload.view is a {_kind(view)}"
        for key in ("type", "callback_id"):
            if not isinstance(view.get(key), (str, type(None))):
                return f"payload.view.{key} is a {_kind(view.get(key))}"
        if "callback_id" in view and "type" not in view:
            return "payload.view has a callback_id but no type"
    if "actions" in payload:
        actions = payload["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            return "payload.actions is not an array of objects"
        if payload.get("type") == "block_actions" and not actions:
            return "payload.actions is empty"
        for action in actions:
            for key in ("action_id", "block_id"):
                if not isinstance(action.get(key), (str, type(None))):
                    return f"payload.actions[].{key} is a {_kind(action.get(key))}"
            if payload.get("type") == "block_actions" and "action_id" not in action:
                return "payload.actions[] has no action_id"
    if "response_urls" in payload:
        urls = payload["response_urls"]
        if not isinstance(urls, list) or not all(isinstance(u, dict) and isinstance(u.get("response_url"), str) for u in urls):
            return "payload.response_urls is not an array of objects with a response_url"
    if payload.get("ssl_check") == "1" and "token" not in payload:
        return "ssl_check without a token"
    step = payload.get("type") == "workflow_step_edit" or (
        payload.get("type") == "view_submission" and isinstance(payload.get("view"), dict) and payload["view"].get("type") == "workflow_step")
    if step and "workflow_step" not in payload:
        return "a workflow step payload without its workflow_step"
    return None


def response_url_allowed(url: str, api_url: str) -> bool:
    """Whether a response_url is Slack's: https on Slack's hook hosts, or the configured Web API's own host."""
    if not url.isascii() or any(c.isspace() or c in "\\\x7f" or ord(c) < 32 for c in url):
        return False
    try:
        parts, api = urlsplit(url), urlsplit(api_url)
        port, api_port = parts.port, api.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    if parts.scheme == "https" and parts.hostname in SLACK_HOOK_HOSTS and port in (None, 443):
        return True
    return (parts.scheme, parts.hostname, port) == (api.scheme, api.hostname, api_port)


def host_of(url: str) -> str:
    """The host a URL names, shortened for a log line ('?' when it can't be parsed)."""
    try:
        return (urlsplit(url).hostname or "")[:80]
    except ValueError:
        return "?"


def foreign_response_url(payload: dict[str, Any], api_url: str) -> str | None:
    """The first response_url in the payload that leads anywhere but Slack, or None."""
    urls = [payload.get("response_url")] + [u.get("response_url") for u in payload.get("response_urls") or []]
    for url in urls:
        if isinstance(url, str) and not response_url_allowed(url, api_url):
            return url
    return None


@dataclass(frozen=True)
class _Answer:
    """A whole WSGI response: status line, headers, body."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes


_STATUS_LINES = {400: "400 Bad Request", 401: "401 Unauthorized", 411: "411 Length Required", 413: "413 Payload Too Large"}
_ERRORS = {400: "unreadable request", 401: "invalid request", 411: "length required", 413: "request body too large"}


class SlackGate:
    """WSGI middleware for POST /slack/events: nothing reaches Bolt unless it is signed, small and readable.

    `now` gives the time the timestamp window is measured from (tests inject it)."""

    def __init__(self, bolt: Wsgi, *, signing_secret: str | None, api_url: str, max_body: int = MAX_BODY,
                 now: Callable[[], float] = time.time):
        self.bolt, self.signing_secret, self.api_url, self.max_body, self.now = bolt, signing_secret, api_url, max_body, now

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ)
        start_response(answer.status, answer.headers)
        return [answer.body]

    def _answer(self, environ: Environ) -> _Answer:
        """Check the request, then let Bolt answer it; a refusal is logged once and answered here."""
        body = read_body(environ, self.max_body)
        if isinstance(body, Refusal):
            return self._refuse(body)
        refused = check_signature(self.signing_secret, str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or ""),
                                  str(environ.get("HTTP_X_SLACK_SIGNATURE") or ""), body, self.now())
        if refused is not None:
            return self._refuse(refused)
        payload = parse_payload(body, environ.get("CONTENT_TYPE"))
        if isinstance(payload, Refusal):
            return self._refuse(payload)
        problem = unreadable_text(payload) or shape_problem(payload)
        if problem is not None:
            # Slack retries an event answered with an error and may disable the subscription; an event
            # it sent that we can't read is acknowledged and dropped instead.
            return self._refuse(Refusal(200 if payload.get("type") == "event_callback" else 400, f"unreadable payload: {problem}"))
        if (url := foreign_response_url(payload, self.api_url)) is not None:
            return self._refuse(Refusal(400, f"response_url is not Slack's (host {host_of(url)!r})"))
        return self._call_bolt(environ, body, str(payload.get("type") or payload.get("command") or "request"))

    def _call_bolt(self, environ: Environ, body: bytes, kind: str) -> _Answer:
        """Bolt answers from the very bytes that were verified; whatever escapes it becomes a 400."""
        replayed = dict(environ, **{"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
        started: list[tuple[str, list[tuple[str, str]]]] = []
        try:
            chunks = b"".join(self.bolt(replayed, lambda status, headers, exc_info=None: started.append((status, headers))))
        except Exception as error:  # noqa: BLE001 - the HTTP boundary: a 500 and a traceback help no one but a prober
            return self._refuse(Refusal(400, f"Bolt failed on a {kind} payload ({type(error).__name__})"), level=logging.ERROR)
        if not started:
            return self._refuse(Refusal(400, f"Bolt gave no answer to a {kind} payload"), level=logging.ERROR)
        status, headers = started[-1]
        if status.startswith("5"):
            # Bolt answers 500 when its middleware or a matcher raised (it has logged why); Slack gets a 4xx.
            return self._refuse(Refusal(400, f"Bolt answered {status[:3]} to a {kind} payload"), level=logging.ERROR)
        return _Answer(status, headers, chunks)

    def _refuse(self, refusal: Refusal, level: int = logging.WARNING) -> _Answer:
        """One log line, and a short answer that says nothing about the request."""
        log.log(level, "refused a request to /slack/events: %s -> %s", refusal.reason, refusal.status)
        if refusal.status == 200:
            return _Answer("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "0")], b"")
        text = json.dumps({"error": _ERRORS[refusal.status]}).encode()
        return _Answer(_STATUS_LINES[refusal.status], [("Content-Type", "application/json"), ("Content-Length", str(len(text)))], text)
