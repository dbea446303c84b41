"""The workspace's state: people, channels and IMs, user groups, messages and ephemerals, open
modals and Home tabs, files; the one lock that guards it all and the change counter a UI follows.

``Workspace`` is the base every other part of FakeSlack builds on. Its public methods set the
workspace up (``add_channel``, ``add_user``...) or change it as a person would in Slack's client
(``add_file``, ``delete_message``, ``close_view``); its private helpers, called with the lock held,
are the only writers of messages and views (``_post``, ``_open_view``, ``_stored_view``...).
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from fakeslack.blocks import assign_ids


class Workspace:
    """Slack's in-memory workspace; FakeSlack.__init__ sets the identity below, then `_init_workspace()`."""

    clock: Callable[[], float]
    team_id: str
    bot_user_id: str
    bot_id: str
    app_id: str
    url: str  # served by the transport: file permalinks point at it

    def _init_workspace(self) -> None:
        """An empty workspace and its lock."""
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # notified by _touch()
        self._version = 0
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        # Workspace directory: kept across reset().
        self._channels: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        # Conversation state: cleared by reset().
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self._view_users: dict[str, str | None] = {}  # view id -> the person it is open for
        self._view_errors: dict[str, dict[str, str]] = {}  # view id -> block_id -> message shown
        self.files: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}

    def _reset_workspace(self) -> None:
        """Forget the conversation state; keep the directory (lock held)."""
        self.ephemerals.clear()
        self.views.clear()
        self._view_users.clear()
        self._view_errors.clear()
        self.home_views.clear()
        self.files.clear()
        self._messages.clear()

    # ---------------------------------------------------------------------------------------
    # Setting the workspace up, and what a person does in Slack's client
    # ---------------------------------------------------------------------------------------

    def add_channel(self, name: str, id: str | None = None, is_private: bool = False,  # noqa: A002
                    bot_member: bool = True) -> str:
        """Create a channel (public C... or private G... id generated when None); return its id.
        `bot_member` False: the bot may post there (chat:write.public) but not read it until it joins."""
        name = name.lstrip("#")
        with self._lock:
            channel_id = id or self._new_id("G" if is_private else "C")
            self._channels[channel_id] = {
                "id": channel_id, "name": name, "is_private": is_private, "is_im": False,
                "is_channel": not is_private, "is_group": is_private, "created": int(self.clock()),
                "bot_member": bot_member,
            }
            self._touch()
            return channel_id

    def add_user(
        self,
        id: str,  # noqa: A002 - the documented parameter name
        name: str,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
    ) -> None:
        """Create or replace a workspace member."""
        with self._lock:
            self._users[id] = {
                "id": id, "name": name, "real_name": real_name or name, "tz": tz,
                "is_admin": is_admin, "is_bot": False,
            }
            self._touch()

    def add_usergroup(self, id: str, handle: str, users: list[str]) -> None:  # noqa: A002
        """Create or replace a user group (subteam) with its members."""
        with self._lock:
            self._usergroups[id] = {"id": id, "handle": handle, "users": list(users)}

    def add_file(self, user_id: str, name: str, content: bytes, mimetype: str = "application/octet-stream") -> dict[str, Any]:
        """A file a person uploaded in Slack's client (a modal's file_input): returns the file object
        Slack puts in the view state (id, name, title, mimetype, size, permalink on this server)."""
        with self._lock:
            file_id = self._new_id("F")
            safe = urllib.parse.quote(name.replace("/", "_")[:200] or "file")
            record = {"id": file_id, "name": name, "title": name, "mimetype": mimetype, "size": len(content),
                      "user": user_id, "content": bytes(content), "channels": [], "channel_id": None,
                      "permalink": f"{self.url}/files/{file_id}/{safe}"}
            self.files[file_id] = record
            self._touch()
            return {k: v for k, v in record.items() if k not in ("content", "channels", "channel_id")}

    def delete_message(self, channel: str, ts: str) -> None:
        """A person deletes a message (chat.update of it then answers message_not_found)."""
        with self._lock:
            channel_id = self._lookup_channel(channel) or ""
            self._messages[channel_id] = [m for m in self._messages.get(channel_id, []) if m["ts"] != ts]
            self._touch()

    def close_view(self, view_id: str) -> None:
        """The person closes a modal with Cancel or ×: it leaves their stack (the app hears of it only
        through view_closed, which Slack sends when the view asked for notify_on_close)."""
        with self._lock:
            self._close_views([view_id])

    def touch(self) -> None:
        """Count a change made outside the Web API (a sandbox moving the clock on), waking wait_for_change()."""
        with self._lock:
            self._touch()

    @property
    def version(self) -> int:
        """A counter bumped by every change a UI shows: a message posted, updated or deleted, an
        ephemeral or response_url reply, a modal opened, pushed, updated, closed or given errors, a
        Home tab published, a channel or person added, reset()."""
        with self._lock:
            return self._version

    def wait_for_change(self, since: int, timeout: float) -> int:
        """Block until `version` is past `since` or `timeout` seconds pass; the version then."""
        with self._changed:
            self._changed.wait_for(lambda: self._version > since, timeout)
            return self._version

    # ---------------------------------------------------------------------------------------
    # Changing the state (called with the lock held)
    # ---------------------------------------------------------------------------------------

    def _touch(self) -> None:
        """Count a change a UI shows and wake wait_for_change()."""
        self._version += 1
        self._changed.notify_all()

    def _new_id(self, prefix: str) -> str:
        """A fresh Slack-looking id with the given type prefix."""
        return f"{prefix}{next(self._ids):09d}"

    def _next_ts(self) -> str:
        """A unique, increasing message timestamp derived from the clock."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _im_for(self, user_id: str) -> str:
        """The bot's IM channel with a user, created on first use."""
        channel_id = "D" + user_id[1:]
        if channel_id not in self._channels:
            self._channels[channel_id] = {
                "id": channel_id, "name": channel_id, "is_private": True, "is_im": True,
                "is_channel": False, "is_group": False, "user": user_id, "created": int(self.clock()),
            }
        return channel_id

    def _lookup_channel(self, value: str, *, ids_only: bool = False) -> str | None:
        """Channel id for an id, an IM user id, or (unless ids_only) a #name / bare name."""
        if not value:
            return None
        if value in self._channels:
            return value
        if value[0] in "UW" and value in self._users:
            return None if ids_only else self._im_for(value)
        if value[0] == "D":
            for user_id in self._users:
                if "D" + user_id[1:] == value:
                    return self._im_for(user_id)
            return None
        if ids_only:
            return None
        name = value[1:] if value.startswith("#") else value
        for channel_id, channel in self._channels.items():
            if channel["name"] == name and not channel["is_im"]:
                return channel_id
        return None

    def _find_message(self, channel_id: str | None, ts: str) -> dict[str, Any] | None:
        """The stored message at `ts` in a channel, or None."""
        for message in self._messages.get(channel_id or "", []):
            if message["ts"] == ts:
                return message
        return None

    def _public_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A caller-safe copy of a stored message."""
        return copy.deepcopy(message)

    def _api_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A stored message in the shape the Web API returns it."""
        shaped: dict[str, Any] = {
            "type": "message", "user": message["user"], "bot_id": self.bot_id, "app_id": self.app_id,
            "text": message["text"], "ts": message["ts"], "team": self.team_id,
        }
        for key in ("blocks", "attachments", "metadata", "files", "thread_ts", "edited"):
            if message.get(key) is not None:
                shaped[key] = copy.deepcopy(message[key])
        return shaped

    def _post(
        self, channel_id: str, *, text: str | None, blocks: list[Any] | None = None,
        thread_ts: str | None = None, **extra: Any,
    ) -> dict[str, Any]:
        """Store a new bot message and return it."""
        message = {
            "ts": self._next_ts(), "channel": channel_id, "user": self.bot_user_id, "text": text or "",
            "blocks": blocks, "thread_ts": thread_ts, "edited": None,
            "attachments": None, "metadata": None, "files": None,
        }
        message.update(extra)
        self._messages.setdefault(channel_id, []).append(message)
        self._touch()
        return message

    def _post_ephemeral(
        self, channel_id: str, user_id: str | None, *, text: str | None, blocks: list[Any] | None,
        thread_ts: str | None,
    ) -> dict[str, Any]:
        """Store a message only `user_id` sees in a channel (chat.postEphemeral, an ephemeral reply)."""
        ephemeral = {
            "channel": channel_id, "user": user_id, "text": text or "", "blocks": blocks,
            "thread_ts": thread_ts, "message_ts": self._next_ts(),
        }
        self.ephemerals.append(ephemeral)
        self._touch()
        return ephemeral

    def _open_view(self, stored: dict[str, Any], user_id: str | None) -> None:
        """Put a modal on top of `user_id`'s stack (views.open, views.push, response_action push)."""
        self.views[stored["id"]] = stored
        self._view_users[stored["id"]] = user_id
        self._touch()

    def _top_view(self, user_id: str) -> dict[str, Any] | None:
        """The top of `user_id`'s modal stack: views keep the order they were opened in (an update
        keeps a view's place), so it is the last one open for them."""
        for view_id in reversed(self.views):
            if self._view_users.get(view_id) == user_id:
                return self.views[view_id]
        return None

    def _replace_view(self, stored: dict[str, Any]) -> None:
        """Replace an open modal in place (same id, owner and place in the stack); its errors go."""
        self.views[stored["id"]] = stored
        self._view_errors.pop(stored["id"], None)
        self._touch()

    def _close_views(self, view_ids: list[str]) -> None:
        """Close modals: they leave the stack with their errors."""
        for view_id in view_ids:
            self.views.pop(view_id, None)
            self._view_users.pop(view_id, None)
            self._view_errors.pop(view_id, None)
        self._touch()

    def _stored_view(self, view: dict[str, Any], *, view_id: str | None = None,
                     root_view_id: str | None = None, previous_view_id: str | None = None) -> dict[str, Any]:
        """The view as Slack stores and returns it (ids, hash, state, defaults)."""
        view_id = view_id or self._new_id("V")
        stored: dict[str, Any] = {
            "id": view_id, "team_id": self.team_id, "type": view["type"],
            "blocks": assign_ids(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(self.clock())}.{secrets.token_hex(4)}",
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "external_id": view.get("external_id", ""),
            "root_view_id": root_view_id or view_id,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id, "app_installed_team_id": self.team_id, "bot_id": self.bot_id,
        }
        if view["type"] == "modal":
            stored.update(
                title=copy.deepcopy(view["title"]),
                submit=copy.deepcopy(view.get("submit")),
                close=copy.deepcopy(view.get("close")),
                submit_disabled=view.get("submit_disabled", False),
            )
        return stored
