"""The one Slack gateway: owns the WebClient, retries and rate limits, and names the errors."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot import metrics

log = logging.getLogger("bot.slack")

GROUP_CACHE_SECONDS = 300
SLACK_CODE = re.compile(r"[a-z0-9_.]{1,64}")  # Slack's error codes: channel_not_found, ratelimited, …


class SlackError(Exception):
    """A Web API call did not succeed; `code` is Slack's error string or a transport reason."""

    def __init__(self, method: str, code: str, *, retry_after: float | None = None):
        super().__init__(f"{method}: {code}")
        self.method, self.code, self.retry_after = method, code, retry_after


class SlackUnavailable(SlackError):
    """Slack could not be reached or kept failing (network, 5xx, rate limited past our retries)."""


class SlackRejected(SlackError):
    """Slack answered ok=false (channel_not_found, invalid_blocks, not_in_channel, …)."""


class TriggerExpired(SlackRejected):
    """The trigger_id was older than Slack's 3 seconds, or already used."""


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


def make_client(token: str, base_url: str, *, timeout: int = 10, retries: bool = True) -> WebClient:
    """A WebClient that retries connection errors, 429 (honouring Retry-After) and 5xx a few times.

    The outbox relay uses `retries=False`: it fails fast and retries durably from the database.
    """
    client = WebClient(token=token, base_url=base_url, timeout=timeout)
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ] if retries else []
    return client


def _header(headers: Any, name: str) -> str | None:
    """One response header, whatever the header dict's case (slack_sdk keeps a list per header)."""
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list) and value else value)
    return None


def _retry_after(headers: Any) -> float | None:
    """Slack's Retry-After header (seconds)."""
    raw = _header(headers, "retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else None
    except ValueError:
        return None


def _named(method: str, exc: SlackApiError) -> SlackError:
    """Slack's answer as one of the named errors: unavailable (429, 5xx), an expired trigger, or a refusal."""
    error = exc.response.get("error")  # slack_sdk puts its own sentence here when the body is not JSON (an HTML 503)
    code = error if isinstance(error, str) and SLACK_CODE.fullmatch(error) else f"http_{exc.response.status_code}"
    if exc.response.status_code == 429 or exc.response.status_code >= 500:
        return SlackUnavailable(method, code, retry_after=_retry_after(exc.response.headers))
    if code in {"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"}:
        return TriggerExpired(method, code)
    return SlackRejected(method, code)


class SlackGateway:
    def __init__(self, client: WebClient, *, monotonic: Callable[[], float] = time.monotonic):
        self.client = client
        self._monotonic = monotonic
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, send: Callable[[], Any]) -> dict[str, Any]:
        """Run one slack_sdk call (it picks Slack's encoding per method) and name its failure."""
        try:
            response = send()
        except SlackApiError as exc:
            failure, headers = _named(method, exc), exc.response.headers
        except (SlackClientError, OSError) as exc:
            failure, headers = SlackUnavailable(method, type(exc).__name__), None
        else:
            log.debug("slack %s ok", method, extra={"slack_req_id": _header(getattr(response, "headers", None), "x-slack-req-id")})
            data = response.data
            return dict(data) if isinstance(data, dict) else {}
        metrics.slack_api_error(method, failure.code)
        log.info("slack %s failed: %s", method, failure.code, extra={"slack_req_id": _header(headers, "x-slack-req-id")})
        raise failure

    def whoami(self) -> Any:
        """auth.test's whole response (the bot's ids, and the scopes header Bolt reads); SlackRejected when
        the token is refused, SlackUnavailable when Slack can't be reached."""
        answered: list[Any] = []

        def send() -> Any:
            answered.append(self.client.auth_test())
            return answered[0]

        self._call("auth.test", send)
        return answered[0]

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        data = self._call("views.open", lambda: self.client.views_open(trigger_id=trigger_id, view=view))
        return str(data["view"]["id"])

    def post(self, channel: str, *, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None) -> Posted:
        data = self._call("chat.postMessage", lambda: self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False))
        return Posted(channel=str(data["channel"]), ts=str(data["ts"]))

    def dm(self, user_id: str, *, text: str, blocks: list[dict[str, Any]] | None = None) -> Posted:
        """Posting to a user ID lands in the bot's DM with that person."""
        return self.post(user_id, text=text, blocks=blocks)

    def update(self, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]]) -> None:
        self._call("chat.update", lambda: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks))

    def ephemeral(self, channel: str, user_id: str, *, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        self._call("chat.postEphemeral", lambda: self.client.chat_postEphemeral(channel=channel, user=user_id, text=text, blocks=blocks))

    def permalink(self, channel: str, ts: str) -> str:
        data = self._call("chat.getPermalink", lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts))
        return str(data["permalink"])

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        self._call("views.publish", lambda: self.client.views_publish(user_id=user_id, view=view))

    def open_dm(self, user_id: str) -> str:
        data = self._call("conversations.open", lambda: self.client.conversations_open(users=user_id))
        return str(data["channel"]["id"])

    def upload(self, channel: str, *, filename: str, content: bytes, title: str, comment: str | None = None) -> None:
        """Slack's external upload flow (files.getUploadURLExternal, upload, files.completeUploadExternal)."""
        self._call("files.completeUploadExternal", lambda: self.client.files_upload_v2(
            channel=channel, content=content, filename=filename, title=title, initial_comment=comment))

    def group_members(self, group_id: str) -> frozenset[str]:
        """Members of a user group, cached for a few minutes (permission checks ask often)."""
        now = self._monotonic()
        with self._lock:
            cached = self._groups.get(group_id)
            if cached and now - cached[0] < GROUP_CACHE_SECONDS:
                return cached[1]
        data = self._call("usergroups.users.list", lambda: self.client.usergroups_users_list(usergroup=group_id))
        members = frozenset(data.get("users") or [])
        with self._lock:
            self._groups[group_id] = (now, members)
        return members
