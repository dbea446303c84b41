"""What Slack does around an interaction, besides the Web API: the trigger_ids and response_urls it
hands the app, the response_url endpoint (reply, replace or delete), the upload URLs of
files.getUploadURLExternal and file permalinks, and Slack's reaction to the app's acks of a slash
command or view submission (``apply_command_ack``, ``apply_view_ack``), which SlackSender and
SocketSender report.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fakeslack.blocks import assign_ids, validate_blocks, validate_view
from fakeslack.wire import ApiError, Params, _as_str, _bad_args, _Reply, _truthy
from fakeslack.workspace import Workspace


@dataclass
class _Trigger:
    """A trigger_id handed to the app: when and for whom it was minted, and whether it was used."""

    minted_at: float
    user_id: str | None = None  # the person whose command or click it came from
    used: bool = False


@dataclass
class _ResponseUrl:
    """What a response_url answers for: the channel, user and message of the interaction."""

    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    uses: int = 0


class Interactions(Workspace):
    """Triggers, response URLs, upload URLs and the effect of the app's acks."""

    trigger_ttl: float

    def _init_interactions(self) -> None:
        """None handed out yet."""
        self.responses: list[dict[str, Any]] = []
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._uploads: dict[str, dict[str, Any]] = {}

    def _reset_interactions(self) -> None:
        """Forget what was handed out and the response_url POSTs (lock held)."""
        self.responses.clear()
        self._triggers.clear()
        self._response_urls.clear()
        self._uploads.clear()

    # ---------------------------------------------------------------------------------------
    # What Slack hands the app with an interaction
    # ---------------------------------------------------------------------------------------

    def mint_trigger_id(self, user_id: str | None = None) -> str:
        """A fresh trigger_id, usable once within trigger_ttl seconds of `clock`; a modal opened
        or pushed with it is open for `user_id` (the person who ran the command or clicked)."""
        with self._lock:
            now = self.clock()
            trigger_id = f"{next(self._ids)}.{int(now)}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = _Trigger(minted_at=now, user_id=user_id)
            return trigger_id

    def new_response_url(
        self, *, channel_id: str | None = None, user_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """A fresh response_url; the interaction's channel, user and message give POSTs their effect."""
        with self._lock:
            token = secrets.token_hex(12)
            self._response_urls[token] = _ResponseUrl(channel_id, user_id, message_ts)
            return f"{self.url}/response/{token}"

    def _trigger(self, params: Params) -> _Trigger:
        """The unused, unexpired trigger named by trigger_id / interactivity_pointer."""
        trigger_id = _as_str(params.get("trigger_id")) or _as_str(params.get("interactivity_pointer"))
        if not trigger_id:
            raise _bad_args("[ERROR] missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - trigger.minted_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        return trigger

    # ---------------------------------------------------------------------------------------
    # Slack's reaction to the app's HTTP acknowledgements (used by SlackSender)
    # ---------------------------------------------------------------------------------------

    def apply_view_ack(self, view_id: str, status: int, body: str) -> None:
        """Act on an app's answer to a view_submission: close, show errors, update, push or clear."""
        with self._lock:
            if status != HTTPStatus.OK:
                return  # Slack shows a connection error in the modal; nothing changes.
            if not body.strip():
                self._close_views([view_id])
                return
            try:
                payload = json.loads(body)
            except ValueError:
                self.violations.append(f"view_submission ack: body is neither empty nor JSON: {body[:200]!r}")
                return
            action = payload.get("response_action") if isinstance(payload, dict) else None
            current = self.views.get(view_id)
            if action is None:
                self._close_views([view_id])
            elif action == "errors":
                errors = payload.get("errors")
                self._check_view_errors(current, errors)
                if current is not None and isinstance(errors, dict):
                    self._view_errors[view_id] = {str(k): str(v) for k, v in errors.items()}
                    self._touch()
            elif action in ("update", "push"):
                view = payload.get("view")
                errors = validate_view(view)
                if not errors and view.get("type") != "modal":
                    errors = ['[ERROR] must be "modal" [json-pointer:/view/type]']
                if errors:
                    detail = "; ".join(errors)
                    self.violations.append(f"view_submission ack: response_action {action}: {detail}")
                elif action == "update" and current is not None:
                    self._replace_view(self._stored_view(
                        view, view_id=view_id, root_view_id=current["root_view_id"],
                        previous_view_id=current["previous_view_id"],
                    ))
                elif action == "push":
                    root = current["root_view_id"] if current else None
                    pushed = self._stored_view(view, root_view_id=root, previous_view_id=view_id)
                    self._open_view(pushed, self._view_users.get(view_id))
            elif action == "clear":
                root = current["root_view_id"] if current else view_id
                self._close_views([k for k, v in self.views.items() if v["root_view_id"] == root])
            else:
                self.violations.append(f"view_submission ack: unknown response_action {action!r}")

    def _check_view_errors(self, view: dict[str, Any] | None, errors: Any) -> None:
        """Validate response_action=errors: a non-empty map of input block_id -> message."""
        input_ids = {b.get("block_id") for b in (view or {}).get("blocks", []) if b.get("type") == "input"}
        if not isinstance(errors, dict) or not errors:
            self.violations.append("view_submission ack: response_action errors needs a non-empty `errors`")
            return
        for block_id, text in errors.items():
            if block_id not in input_ids:
                self.violations.append(
                    f"view_submission ack: errors names {block_id!r}, not an input block_id of the view"
                )
            if not isinstance(text, str) or not text:
                self.violations.append(f"view_submission ack: error for {block_id!r} must be a string")

    def apply_command_ack(
        self, channel_id: str, user_id: str, status: int, content_type: str, body: str
    ) -> None:
        """Act on an app's answer to a slash command: show its text/blocks to the user or channel."""
        with self._lock:
            if status != HTTPStatus.OK or not body.strip():
                return
            if content_type.split(";")[0].strip().lower() != "application/json":
                payload: Any = {"text": body}
            else:
                try:
                    payload = json.loads(body)
                except ValueError:
                    self.violations.append(f"slash command ack: invalid JSON body {body[:200]!r}")
                    return
            if not isinstance(payload, dict):
                self.violations.append(f"slash command ack: JSON body is not an object {body[:200]!r}")
                return
            blocks = payload.get("blocks")
            if blocks is not None:
                errors = validate_blocks(blocks, surface="message")
                if errors:
                    self.violations.append("slash command ack: invalid_blocks " + "; ".join(errors))
                    return
            if not (payload.get("text") or blocks):
                return
            target = _ResponseUrl(channel_id=channel_id, user_id=user_id, message_ts=None)
            self._apply_response(target, payload)

    # ---------------------------------------------------------------------------------------
    # response_url, upload URL and file permalink endpoints
    # ---------------------------------------------------------------------------------------

    def _post_response_url(self, token: str, body: bytes) -> _Reply:
        """A POST to a response_url: validate like Slack, then reply, replace or delete."""
        with self._lock:
            target = self._response_urls.get(token)
            url = f"{self.url}/response/{token}"
            if target is None:
                self.violations.append(f"response_url: unknown or expired url {url}")
                return _Reply.text(HTTPStatus.NOT_FOUND, "no_active_hooks")
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                self.violations.append(f"response_url: body is not a JSON object: {body[:200]!r}")
                return _Reply.text(HTTPStatus.BAD_REQUEST, "invalid_payload")
            if target.uses >= 5:
                self.violations.append(f"response_url: used more than 5 times: {url}")
                return _Reply.text(HTTPStatus.NOT_FOUND, "used_url")
            blocks = payload.get("blocks")
            if blocks is not None:
                errors = validate_blocks(blocks, surface="message")
                if errors:
                    self.violations.append("response_url: invalid_blocks " + "; ".join(errors))
                    return _Reply.text(HTTPStatus.BAD_REQUEST, "invalid_blocks")
            deleting = _truthy(payload.get("delete_original"))
            if not deleting and not (payload.get("text") or blocks or payload.get("attachments")):
                self.violations.append("response_url: no_text")
                return _Reply.text(HTTPStatus.BAD_REQUEST, "no_text")
            target.uses += 1
            self.responses.append({"url": url, "body": payload})
            self._apply_response(target, payload)
            return _Reply.json(HTTPStatus.OK, {"ok": True})

    def _apply_response(self, target: _ResponseUrl, payload: dict[str, Any]) -> None:
        """Give a response_url POST its effect on the workspace."""
        blocks = assign_ids(payload["blocks"]) if payload.get("blocks") else None
        original = self._find_message(target.channel_id, target.message_ts or "")
        shown = None if original is not None or not target.message_ts else next(
            (e for e in self.ephemerals if e["message_ts"] == target.message_ts), None)  # an ephemeral's buttons
        if _truthy(payload.get("delete_original")):
            if original is not None:
                self._messages[original["channel"]].remove(original)
            elif shown is not None:
                self.ephemerals.remove(shown)
            self._touch()
            return
        if _truthy(payload.get("replace_original")) and original is not None:
            original.update(text=payload.get("text") or "", blocks=blocks,
                            edited={"user": self.bot_user_id, "ts": self._next_ts()})
            self._touch()
            return
        if _truthy(payload.get("replace_original")) and shown is not None:
            shown.update(text=payload.get("text") or "", blocks=blocks)
            self._touch()
            return
        if target.channel_id is None:
            return
        if payload.get("response_type") == "in_channel":
            self._post(target.channel_id, text=payload.get("text"), blocks=blocks,
                       thread_ts=payload.get("thread_ts"))
        else:
            self._post_ephemeral(target.channel_id, target.user_id, text=payload.get("text"), blocks=blocks,
                                 thread_ts=payload.get("thread_ts"))

    def _post_upload(self, file_id: str, body: bytes) -> _Reply:
        """A POST of file bytes to an upload URL from files.getUploadURLExternal."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                self.violations.append(f"upload: unknown upload URL for {file_id}")
                return _Reply.text(HTTPStatus.NOT_FOUND, "Not Found")
            upload["content"] = body
            return _Reply.text(HTTPStatus.OK, f"OK - {len(body)}")

    def _get_file(self, file_id: str) -> _Reply:
        """A file's permalink: its bytes (Slack would show a page; the bytes serve a sandbox and tests)."""
        with self._lock:
            record = self.files.get(file_id)
            if record is None or record.get("content") is None:
                return _Reply.text(HTTPStatus.NOT_FOUND, "Not Found")
            return _Reply(HTTPStatus.OK, bytes(record["content"]),
                          {"Content-Type": record.get("mimetype") or "application/octet-stream",
                           "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"})
