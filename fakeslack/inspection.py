"""Reading the fake: what tests wait for and assert on (``calls_to``, ``wait_for``, ``wait_until``,
``messages``, ``message``, ``channel``...), and the workspace as a person sees it, which a UI such
as the browser sandbox shows (``conversations``, ``history``, ``thread``, ``ephemerals_for``,
``open_view``, ``view_errors``, ``home_view``, ``users``).

Nothing here changes what Slack shows, except that a person's IM with the bot opens when
``conversations`` lists it, as in Slack.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from fakeslack.wire import Call
from fakeslack.workspace import Workspace


class Inspection(Workspace):
    """Read-only views of the workspace and of the calls the fake answered."""

    calls: list[Call]  # recorded by the transport

    # ---------------------------------------------------------------------------------------
    # For tests
    # ---------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """Calls of one Web API method, in arrival order."""
        return [call for call in list(self.calls) if call.method == method]

    def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until `count` calls of `method` (matching `where`) arrived; return them all."""
        def matching() -> list[Call]:
            return [c for c in self.calls_to(method) if where is None or where(c)]

        deadline = time.monotonic() + timeout
        while True:
            found = matching()
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = "\n".join(f"  {c.method} -> {c.status} {c.error or 'ok'}" for c in list(self.calls))
                raise AssertionError(
                    f"expected {count} call(s) of {method} within {timeout}s, got {len(found)}; "
                    f"calls seen:\n{seen or '  (none)'}"
                )
            time.sleep(0.005)

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, message: str = "") -> Any:
        """Poll `predicate` until it is truthy and return its value; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(message or f"condition not met within {timeout}s")
            time.sleep(0.005)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages (replies included) of a channel id, #name, name or user id (IM); KeyError if unknown."""
        with self._lock:
            channel_id = self._lookup_channel(channel)
            if channel_id is None:
                raise KeyError(f"no such channel: {channel}")
            return [self._public_message(m) for m in self._messages.get(channel_id, [])]

    def all_messages(self) -> list[dict[str, Any]]:
        """Every message in every channel and IM (replies included), each with its "channel"."""
        with self._lock:
            return [self._public_message(m) for messages in self._messages.values() for m in messages]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Replies in the thread whose parent has timestamp `ts`."""
        return [m for m in self.messages(channel) if m["thread_ts"] == ts and m["ts"] != ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message by channel and ts, or None."""
        with self._lock:
            channel_id = self._lookup_channel(channel)
            found = self._find_message(channel_id, ts) if channel_id else None
            return self._public_message(found) if found else None

    def channel(self, channel: str) -> dict[str, Any] | None:
        """A channel record (id, name, is_private, is_im...) by id, #name, name or user id."""
        with self._lock:
            channel_id = self._lookup_channel(channel)
            return dict(self._channels[channel_id]) if channel_id else None

    def user(self, user_id: str) -> dict[str, Any] | None:
        """A workspace member record, or None."""
        with self._lock:
            found = self._users.get(user_id)
            return dict(found) if found else None

    def message_payload(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message in the shape Slack puts in API responses and interaction payloads."""
        with self._lock:
            channel_id = self._lookup_channel(channel)
            found = self._find_message(channel_id, ts) if channel_id else None
            return self._api_message(found) if found else None

    # ---------------------------------------------------------------------------------------
    # The workspace as a person sees it (the sandbox UI reads these)
    # ---------------------------------------------------------------------------------------

    def conversations(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """The sidebar: channels (id, name, is_private, is_im false), then IMs with the bot (is_im
        true, user, name = the person's name). With `user_id`, that person's: every channel (the fake
        keeps no membership for people) and their own IM, opened if it was not yet; KeyError for an
        unknown person."""
        with self._lock:
            if user_id is not None:
                if user_id not in self._users:
                    raise KeyError(f"no such user: {user_id}")
                self._im_for(user_id)
            channels, ims = [], []
            for channel in self._channels.values():
                if not channel["is_im"]:
                    channels.append({k: channel[k] for k in ("id", "name", "is_private", "is_im")})
                elif user_id is None or channel["user"] == user_id:
                    person = self._users.get(channel["user"], {})
                    ims.append({"id": channel["id"], "name": person.get("name", channel["user"]),
                                "is_private": True, "is_im": True, "user": channel["user"]})
            return channels + ims

    def users(self) -> list[dict[str, Any]]:
        """Every workspace member (id, name, real_name, tz, is_admin, is_bot), the bot included."""
        with self._lock:
            return [dict(user) for user in self._users.values()]

    def history(self, channel: str) -> list[dict[str, Any]]:
        """A channel's top-level messages, oldest first, each with Slack's thread summary:
        reply_count and latest_reply (the ts of the newest reply, None without replies)."""
        with self._lock:
            messages = self.messages(channel)
        replies: dict[str, list[str]] = {}
        for message in messages:
            if message["thread_ts"] and message["thread_ts"] != message["ts"]:
                replies.setdefault(message["thread_ts"], []).append(message["ts"])
        top = [m for m in messages if not m["thread_ts"] or m["thread_ts"] == m["ts"]]
        for message in top:
            in_thread = replies.get(message["ts"], [])
            message["reply_count"] = len(in_thread)
            message["latest_reply"] = max(in_thread, key=float) if in_thread else None
        return top

    def ephemerals_for(self, channel: str, user_id: str) -> list[dict[str, Any]]:
        """What only `user_id` sees in a channel (id, #name, name or user id for an IM), oldest
        first: chat.postEphemeral, slash command acks and ephemeral response_url replies."""
        with self._lock:
            channel_id = self._lookup_channel(channel)
            return [copy.deepcopy(e) for e in self.ephemerals
                    if e["channel"] == channel_id and e["user"] == user_id]

    def open_view(self, user_id: str) -> dict[str, Any] | None:
        """The modal `user_id` sees: the top of their stack (the newest view opened or pushed for
        them that is still open), or None. A modal opened with a trigger_id minted for nobody
        (mint_trigger_id() without user_id) belongs to no one."""
        with self._lock:
            top = self._top_view(user_id)
            return copy.deepcopy(top) if top else None

    def view_errors(self, view_id: str) -> dict[str, str]:
        """The inline errors (block_id -> message) of the app's last `response_action: errors`
        answer for an open modal; {} once it is updated or closed, or when it has none."""
        with self._lock:
            return dict(self._view_errors.get(view_id, {}))

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab the app last published for `user_id`, or None."""
        with self._lock:
            found = self.home_views.get(user_id)
            return copy.deepcopy(found) if found else None
