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
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from websockets.frames import CloseCode
from websockets.sync.server import serve

from fakeslack.blocks import assign_ids, validate_blocks
from fakeslack.checks import APP_TOKEN_METHODS, JSON_PARAMS, MAX_MARKDOWN_TEXT, MAX_TEXT, Checks
from fakeslack.faults import Faults
from fakeslack.interactions import Interactions
from fakeslack.socket_mode import MAX_SOCKET_MESSAGE, SOCKET_TYPES, SocketMode
from fakeslack.transport import Transport, _HTTPHandler, _Server
from fakeslack.inspection import Inspection
from fakeslack.spec import methods
from fakeslack.wire import JSON_CONTENT_TYPE, ApiError, Call, Handler, Params, _absent, _as_int, _as_str, _bad_args, _truthy

ACK_DEADLINE = 3.0  # seconds Slack waits for an app to acknowledge a request (HTTP or Socket Mode)

class FakeSlack(Transport, SocketMode, Interactions, Inspection, Checks, Faults):
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
        self._init_interactions()
        self._init_faults()
        self._init_socket_mode()
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

    # ---------------------------------------------------------------------------------------
    # Workspace set-up
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

    # ---------------------------------------------------------------------------------------
    # Inspection helpers for tests
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # The workspace as a person sees it (the sandbox UI reads these)
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # Socket Mode: Slack's end of the app's WebSocket connections
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # Slack's reaction to the app's HTTP acknowledgements (used by SlackSender)
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # HTTP routing
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # Shared helpers (called with the lock held)
    # ---------------------------------------------------------------------------------------

    # ---------------------------------------------------------------------------------------
    # Web API methods (called with the lock held; return the body without "ok")
    # ---------------------------------------------------------------------------------------

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


