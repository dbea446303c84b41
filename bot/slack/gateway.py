"""The one Slack gateway: owns the WebClient, retries and rate limits, and names the errors."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
import urllib.error
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot import metrics
from bot.services.ports import DeliveryFailed
from bot.services.readmodel import MessageRef
from bot.slack.ids import POSTABLE_ID, is_group, is_user

log = logging.getLogger("bot.slack")

GROUP_CACHE_SECONDS = 300
METADATA_EVENT = "escalation_bot_outbox"  # Slack message metadata event_type; its payload carries the outbox key
LOOKUP_PAGES = 5  # at most this many history pages (200 messages each) are read to find an in-doubt post
# A channel's history, once read for an in-doubt post, answers the other in-doubt posts to it for this long
# (after an outage every held row is in doubt: one read per channel, not one per row, within Tier 3's ~50/min).
# Any post whose outcome becomes unknown meanwhile drops what was read, so a read is never older than a doubt.
READ_REUSE_SECONDS = 5.0
SLACK_CODE = re.compile(r"[a-z0-9_.]{1,64}")  # Slack's error codes: channel_not_found, ratelimited, …


class SlackError(Exception):
    """A Web API call did not succeed; `code` is Slack's error string or a transport reason."""

    def __init__(self, method: str, code: str, *, retry_after: float | None = None):
        super().__init__(f"{method}: {code}")
        self.method, self.code, self.retry_after = method, code, retry_after


class SlackUnavailable(SlackError):
    """Slack could not be reached or kept failing (network, 5xx, rate limited past our retries).

    `maybe_done`: the request may have reached Slack and taken effect (a timeout, a dropped connection
    or a 5xx); False when it surely did not (429, connection refused, name not resolved)."""

    def __init__(self, method: str, code: str, *, retry_after: float | None = None, maybe_done: bool = False):
        super().__init__(method, code, retry_after=retry_after)
        self.maybe_done = maybe_done


class SlackRejected(SlackError):
    """Slack answered ok=false (channel_not_found, invalid_blocks, not_in_channel, …)."""


class TriggerExpired(SlackRejected):
    """The trigger_id was older than Slack's 3 seconds, or already used."""


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


def _never_sent(exc: BaseException) -> bool:
    """A transport error that shows the request never reached Slack (refused, or the name did not resolve)."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


def _is_id(channel: str) -> bool:
    """A Slack ID (C…, G…, D…, U…, W…) rather than a #name."""
    return bool(POSTABLE_ID.fullmatch(channel))


MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})  # chat.update of a message someone deleted


def failed(exc: SlackError) -> DeliveryFailed:
    """A Slack error in the services' terms: rate limits and outages are transient, refusals permanent,
    a message someone deleted is gone."""
    return DeliveryFailed(exc.code, permanent=not isinstance(exc, SlackUnavailable), retry_after=exc.retry_after,
                          maybe_done=getattr(exc, "maybe_done", False), gone=exc.code in MESSAGE_GONE)


def _name(channel: str) -> str:
    return channel.removeprefix("#")


def _metadata(key: str | None) -> dict[str, Any] | None:
    return {"event_type": METADATA_EVENT, "event_payload": {"outbox_key": key}} if key else None


def _carries(message: dict[str, Any], key: str) -> bool:
    metadata = message.get("metadata") or {}
    return metadata.get("event_type") == METADATA_EVENT and (metadata.get("event_payload") or {}).get("outbox_key") == key


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
        return SlackUnavailable(method, code, retry_after=_retry_after(exc.response.headers),
                                maybe_done=exc.response.status_code >= 500)
    if code in {"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"}:
        return TriggerExpired(method, code)
    return SlackRejected(method, code)


class SlackGateway:
    def __init__(self, client: WebClient, *, monotonic: Callable[[], float] = time.monotonic):
        self.client = client
        self._monotonic = monotonic
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._channel_ids: dict[str, str] = {}  # "#name" → channel ID, learnt from posts and conversations.list
        self._dms: dict[str, str] = {}  # user ID → the bot's DM channel with them (it never changes)
        self._reads: dict[tuple[str, str | None], tuple[float, float, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, send: Callable[[], Any]) -> dict[str, Any]:
        """Run one slack_sdk call (it picks Slack's encoding per method) and name its failure."""
        try:
            response = send()
        except SlackApiError as exc:
            failure, headers = _named(method, exc), exc.response.headers
        except (SlackClientError, OSError) as exc:
            failure, headers = SlackUnavailable(method, type(exc).__name__, maybe_done=not _never_sent(exc)), None
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

    def post(self, channel: str, *, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None,
             key: str | None = None) -> MessageRef:
        """Post a message; `key` goes with it as message metadata, so `find_posted` can find it later."""
        data = self._doubtful(lambda: self._call("chat.postMessage", lambda: self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False,
            metadata=_metadata(key))))
        if not _is_id(channel):
            self._channel_ids[_name(channel)] = str(data["channel"])
        with self._lock:  # a read of this channel kept for in-doubt lookups now holds this post too
            read = self._reads.get((str(data["channel"]), thread_ts))
            if read is not None:
                read[2].append({"ts": str(data["ts"]), "metadata": _metadata(key)})
        return MessageRef(channel=str(data["channel"]), ts=str(data["ts"]))

    def dm(self, user_id: str, *, text: str, blocks: list[dict[str, Any]] | None = None, key: str | None = None) -> MessageRef:
        """Posting to a user ID lands in the bot's DM with that person."""
        return self.post(user_id, text=text, blocks=blocks, key=key)

    def find_posted(self, channel: str, key: str, *, since: float, thread_ts: str | None = None) -> MessageRef | None:
        """The bot's message carrying `key`, posted since `since` (epoch seconds) in a channel, a user's
        DM (given the user ID) or a thread; None when it is not there."""
        channel = self._readable(channel)
        found = self._search(channel, since=since, thread_ts=thread_ts, match=lambda m: _carries(m, key))
        return MessageRef(channel=channel, ts=str(found["ts"])) if found else None

    def find_upload(self, channel: str, title: str, *, since: float) -> bool:
        """Whether a file titled `title` was shared since `since` in a channel or a user's DM."""
        channel = self._readable(channel)
        return self._search(channel, since=since, thread_ts=None, match=lambda m: any(
            (f or {}).get("title") == title for f in m.get("files") or [])) is not None

    def _readable(self, channel: str) -> str:
        """The channel ID the history methods need: a user's DM, or a #name looked up (once) in conversations.list."""
        if is_user(channel):
            return self.open_dm(channel)
        if _is_id(channel):
            return channel
        name = _name(channel)
        if name not in self._channel_ids:
            cursor = None
            while True:
                data = self._call("conversations.list", lambda: self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor))
                for found in data.get("channels") or []:
                    self._channel_ids.setdefault(str(found.get("name")), str(found.get("id")))
                cursor = (data.get("response_metadata") or {}).get("next_cursor")
                if name in self._channel_ids or not cursor:
                    break
        if name not in self._channel_ids:
            raise SlackRejected("conversations.list", "channel_not_found")
        return self._channel_ids[name]

    def _doubtful(self, send: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a call that posts; when its outcome is unknown, what was read of Slack's history is stale."""
        try:
            return send()
        except SlackUnavailable as exc:
            if exc.maybe_done:
                with self._lock:
                    self._reads.clear()
            raise

    def _search(self, channel: str, *, since: float, thread_ts: str | None,
                match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        return next((dict(m) for m in self._read(channel, since=since, thread_ts=thread_ts) if match(m)), None)

    def _read(self, channel: str, *, since: float, thread_ts: str | None) -> list[dict[str, Any]]:
        """The channel's (or thread's) messages since `since`, a page at a time, or a read of them made
        in the last few seconds. A public channel the bot posted to without joining (chat:write.public)
        is joined to be read."""
        now = self._monotonic()
        with self._lock:
            cached = self._reads.get((channel, thread_ts))
        if cached is not None and now - cached[0] < READ_REUSE_SECONDS and cached[1] <= since:
            return cached[2]
        messages: list[dict[str, Any]] = []
        cursor, joined = None, False
        for _ in range(LOOKUP_PAGES):
            args = dict(channel=channel, oldest=f"{since:.6f}", limit=200, include_all_metadata=True, cursor=cursor)
            try:
                if thread_ts:
                    data = self._call("conversations.replies", lambda: self.client.conversations_replies(ts=thread_ts, **args))
                else:
                    data = self._call("conversations.history", lambda: self.client.conversations_history(**args))
            except SlackRejected as exc:
                if exc.code != "not_in_channel" or joined:
                    raise
                self._call("conversations.join", lambda: self.client.conversations_join(channel=channel))
                joined = True
                continue
            messages += data.get("messages") or []
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not data.get("has_more") or not cursor:
                break
        with self._lock:
            self._reads[(channel, thread_ts)] = (now, since, messages)
        return messages

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
        """The bot's DM channel with a person (asked of Slack once per person)."""
        if user_id not in self._dms:
            data = self._call("conversations.open", lambda: self.client.conversations_open(users=user_id))
            self._dms[user_id] = str(data["channel"]["id"])
        return self._dms[user_id]

    def upload(self, channel: str, *, filename: str, content: bytes, title: str, comment: str | None = None) -> None:
        """Slack's external upload flow (files.getUploadURLExternal, upload, files.completeUploadExternal)
        to a channel ID, a #name (looked up once) or a user's DM. Sharing a file needs membership, so a
        public channel the bot is not in is joined first."""
        channel = self._readable(channel)
        for attempt in range(2):
            try:
                self._doubtful(lambda: self._call("files.completeUploadExternal", lambda: self.client.files_upload_v2(
                    channel=channel, content=content, filename=filename, title=title, initial_comment=comment)))
                return
            except SlackRejected as exc:
                if exc.code != "not_in_channel" or attempt:
                    raise
                self._call("conversations.join", lambda: self.client.conversations_join(channel=channel))

    # ---- The Directory port (bot/services/ports.py): user groups, for permissions and group DMs.

    def is_group(self, member_id: str) -> bool:
        return is_group(member_id)

    def members_of(self, group_id: str) -> frozenset[str]:
        try:
            return self.group_members(group_id)
        except SlackError as exc:
            raise failed(exc) from None

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
