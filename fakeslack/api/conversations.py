"""conversations.*: IMs, history and threads a page at a time, listing and joining channels.
"""

from __future__ import annotations

from typing import Any

from fakeslack.wire import ApiError, Params, _as_int, _as_str, _truthy
from fakeslack.workspace import Workspace


class ConversationsMethods(Workspace):
    """conversations.open, .history, .replies, .list, .join."""

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
