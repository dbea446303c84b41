"""Slack's contract, checked: what Slack refuses is refused here too, and noted in ``violations``.

Every Web API call is checked against Slack's OpenAPI spec (``fakeslack.spec``) before any fault
or handler sees it: the method, the token (bot or app-level), unknown and missing parameters,
JSON-valued parameters (``_check``). The handlers then read their arguments through the checks
here: message content and Block Kit (``_content``), views (``_view_param``), channels
(``_channel_param``). A refusal Slack deems invalid (``ApiError(violation=True)``) is recorded in
``violations``, which tests assert stays empty; so is anything else Slack would refuse that the
other parts notice (``add_violation``).
"""

from __future__ import annotations

import json
from email.message import Message
from http import HTTPStatus
from typing import Any

from fakeslack.blocks import assign_ids, validate_blocks, validate_view
from fakeslack.spec import methods
from fakeslack.wire import ApiError, Params, _absent, _as_str, _bad_args, _Reply
from fakeslack.workspace import Workspace

JSON_PARAMS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
MAX_TEXT = 40_000
MAX_MARKDOWN_TEXT = 12_000
# Methods that take the app-level token (xapp-...) instead of the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


class Checks(Workspace):
    """The contract checks of FakeSlack and the violations they record."""

    bot_token: str
    app_token: str

    def _init_checks(self) -> None:
        """No violations yet."""
        self.violations: list[str] = []

    def _reset_checks(self) -> None:
        """Forget the violations (lock held)."""
        self.violations.clear()

    def add_violation(self, text: str) -> None:
        """Record something Slack would refuse that was noticed outside the Web API."""
        with self._lock:
            self.violations.append(text)

    def _check(self, method: str, params: Params, headers: Message, is_json: bool) -> None:
        """Check a parsed Web API call like Slack (method, token, parameters); ApiError if refused."""
        spec = methods().get(method)
        if spec is None:
            raise ApiError("unknown_method", violation=True, status=HTTPStatus.NOT_FOUND)
        bad_json = _decode_json_params(params)
        # Slack reads the token of a JSON request from the Authorization header only.
        token = _bearer(headers) or (None if is_json else _as_str(params.get("token")))
        if not token:
            raise ApiError("not_authed")
        expected = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        if token != expected:
            # A real token of the other kind (xapp- for a bot method, xoxb- for an app-level one).
            raise ApiError("not_allowed_token_type" if token in (self.bot_token, self.app_token) else "invalid_auth")
        unknown = sorted(set(params) - spec.params)
        if unknown:
            raise _bad_args(*(f"[ERROR] unknown parameter: {name}" for name in unknown))
        missing = sorted(name for name in spec.required - {"token"} if _absent(params.get(name)))
        if missing:
            raise _bad_args(*(f"[ERROR] missing required field: {name}" for name in missing))
        if "blocks" in bad_json:
            raise ApiError("invalid_blocks_format", violation=True)
        if bad_json:
            raise _bad_args(*(f"[ERROR] failed to parse JSON in `{name}`" for name in bad_json))

    def _error_reply(self, method: str, exc: ApiError) -> _Reply:
        """The JSON answer for an ApiError, noting a violation when Slack deems the call invalid."""
        if exc.violation:
            self.violations.append(_violation_text(method, exc))
        return _Reply.json(exc.status, exc.body())

    # ---------------------------------------------------------------------------------------
    # Arguments of the Web API methods (called with the lock held)
    # ---------------------------------------------------------------------------------------

    def _channel_param(self, params: Params, name: str = "channel", *, ids_only: bool = False) -> str:
        """Resolve a channel parameter or raise channel_not_found."""
        channel_id = self._lookup_channel(_as_str(params.get(name)) or "", ids_only=ids_only)
        if channel_id is None:
            raise ApiError("channel_not_found")
        return channel_id

    def _content(self, params: Params, *, require: bool) -> dict[str, Any]:
        """Validate text / blocks / attachments / markdown_text / metadata of a message call."""
        text = _as_str(params.get("text"))
        markdown = _as_str(params.get("markdown_text"))
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        metadata = params.get("metadata")
        if markdown and (text or blocks):
            raise ApiError("markdown_text_conflict", violation=True)
        if blocks is not None and blocks != "":
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise ApiError(
                    "invalid_blocks", violation=True, messages=errors,
                    extra={"errors": [e.removeprefix("[ERROR] ") for e in errors]},
                )
        else:
            blocks = None
        if attachments is not None and not isinstance(attachments, list):
            raise ApiError("invalid_attachments", violation=True)
        if metadata is not None and not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), dict)
        ):
            raise ApiError("invalid_metadata_format", violation=True)
        if text is not None and len(text) > MAX_TEXT:
            raise ApiError("msg_too_long", violation=True)
        if markdown is not None and len(markdown) > MAX_MARKDOWN_TEXT:
            raise ApiError("msg_too_long", violation=True)
        if require and not (text or markdown or blocks or attachments):
            raise ApiError("no_text", violation=True)
        return {
            "text": markdown if markdown else text,
            "blocks": assign_ids(blocks) if blocks else blocks,
            "attachments": attachments,
            "metadata": metadata,
        }

    def _view_param(self, params: Params, *, kind: str) -> dict[str, Any]:
        """The `view` parameter, validated as a view of type `kind`."""
        view = params.get("view")
        if _absent(view):
            raise _bad_args("[ERROR] missing required field: view")
        if not isinstance(view, dict):
            raise _bad_args("[ERROR] failed to parse `view`: must be a JSON object")
        errors = validate_view(view)
        if errors:
            raise _bad_args(*errors)
        if view.get("type") != kind:
            raise _bad_args(f'[ERROR] must be "{kind}" [json-pointer:/view/type]')
        return view


def _decode_json_params(params: Params) -> list[str]:
    """Decode JSON-valued parameters sent as strings in place; return the names that failed."""
    failed = []
    for name in JSON_PARAMS & params.keys():
        value = params[name]
        if isinstance(value, str) and value != "":
            try:
                params[name] = json.loads(value)
            except ValueError:
                failed.append(name)
    return sorted(failed)


def _bearer(headers: Message) -> str | None:
    """The token of an `Authorization: Bearer` header."""
    value = headers.get("Authorization") or ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _violation_text(method: str, exc: ApiError) -> str:
    """One line describing a refused request for FakeSlack.violations."""
    detail = "; ".join(exc.messages)
    return f"{method}: {exc.error}" + (f" {detail}" if detail else "")
