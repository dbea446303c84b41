"""chat.*: post, update and ephemerally post messages, and their permalinks.
"""

from __future__ import annotations

from typing import Any

from fakeslack.wire import ApiError, Params, _as_str
from fakeslack.workspace import Workspace


class ChatMethods(Workspace):
    """chat.postMessage, chat.update, chat.postEphemeral, chat.getPermalink."""

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
