"""Slack's side of the conversation: the requests Slack sends to an app, over HTTP or Socket Mode.

``SlackSender`` POSTs slash commands, interaction payloads (view_submission, block_actions) and
Events API callbacks to the app's request URL, shaped and signed exactly as Slack does
(``X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:<ts>:<body>")``). ``SocketSender`` sends the
very same payloads in Socket Mode envelopes over the app's WebSocket (``FakeSlack.socket_send``)
and returns the payload of the app's ack. Both take trigger_ids and response_urls from a
``FakeSlack``, read the messages and views they refer to from there, and hand the app's
acknowledgement back to the fake, which reacts like Slack (modal closes or updates, slash command
replies appear). Payloads only contain what Slack could really send:
``fill_state`` builds a modal's ``state.values`` from the view's own input elements and refuses
values a user could not have entered.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import http.client
import itertools
import json
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fakeslack.server import ACK_DEADLINE, FakeSlack
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

# Key of the value in a state.values entry / block_actions action, and its empty value.
_VALUE_KEYS: dict[str, tuple[str, Any]] = {
    "plain_text_input": ("value", None),
    "number_input": ("value", None),
    "url_text_input": ("value", None),
    "email_text_input": ("value", None),
    "rich_text_input": ("rich_text_value", None),
    "static_select": ("selected_option", None),
    "external_select": ("selected_option", None),
    "radio_buttons": ("selected_option", None),
    "overflow": ("selected_option", None),
    "multi_static_select": ("selected_options", []),
    "multi_external_select": ("selected_options", []),
    "checkboxes": ("selected_options", []),
    "users_select": ("selected_user", None),
    "multi_users_select": ("selected_users", []),
    "conversations_select": ("selected_conversation", None),
    "multi_conversations_select": ("selected_conversations", []),
    "channels_select": ("selected_channel", None),
    "multi_channels_select": ("selected_channels", []),
    "datepicker": ("selected_date", None),
    "timepicker": ("selected_time", None),
    "datetimepicker": ("selected_date_time", None),
    "file_input": ("files", []),
}
_OPTION_ELEMENTS = frozenset({"static_select", "radio_buttons", "overflow", "external_select"})
_MULTI_OPTION_ELEMENTS = frozenset({"multi_static_select", "checkboxes", "multi_external_select"})


@dataclass(frozen=True)
class Reply:
    """The app's HTTP answer to one request from Slack."""

    status: int
    headers: dict[str, str]
    body: str
    elapsed: float

    def json(self) -> Any | None:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def sign(signing_secret: str, timestamp: str | int, body: bytes) -> str:
    """Slack's request signature: "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<body>"."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def _all_options(element: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every option of an element, option_groups included."""
    yield from element.get("options") or []
    for group in element.get("option_groups") or []:
        yield from group.get("options") or []


def _find_option(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    """The element's option with this value (or the option dict itself); ValueError if none."""
    if isinstance(value, dict):
        if element.get("type") in ("external_select", "multi_external_select"):
            return copy.deepcopy(value)
        value = value.get("value")
    for option in _all_options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    raise ValueError(f"{element.get('action_id')!r} has no option with value {value!r}")


def _selection(element: Mapping[str, Any], raw: Any) -> dict[str, Any]:
    """The value object Slack reports for `element` set to `raw` (None means left empty)."""
    kind = element.get("type")
    if kind not in _VALUE_KEYS:
        raise ValueError(f"element type {kind!r} holds no value")
    key, empty = _VALUE_KEYS[kind]
    if raw is None:
        return {"type": kind, key: copy.deepcopy(empty)}
    if kind in _OPTION_ELEMENTS:
        value: Any = _find_option(element, raw)
    elif kind in _MULTI_OPTION_ELEMENTS:
        value = [_find_option(element, item) for item in _as_list(raw)]
    elif isinstance(empty, list):
        value = list(_as_list(raw))
    elif kind in ("plain_text_input", "number_input", "url_text_input", "email_text_input"):
        value = str(raw)
        if kind == "number_input":
            float(value)  # ValueError for non-numbers, as Slack's client refuses them
    else:
        value = copy.deepcopy(raw)
    return {"type": kind, key: value}


def _as_list(raw: Any) -> list[Any]:
    """A value given for a multi-value element, as a list."""
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def _is_empty(selection: Mapping[str, Any]) -> bool:
    """Whether a value object holds nothing (what Slack's client treats as left blank)."""
    value = next(v for k, v in selection.items() if k != "type")
    return value in (None, "", [])


def _check_entry(block: Mapping[str, Any], element: Mapping[str, Any], selection: Mapping[str, Any]) -> None:
    """Refuse values Slack's client would not let a user submit."""
    block_id = block.get("block_id")
    if _is_empty(selection):
        if not block.get("optional", False):
            raise ValueError(f"input block {block_id!r} is required; Slack would not submit it empty")
        return
    if element.get("type") == "plain_text_input":
        text = selection["value"]
        if len(text) < element.get("min_length", 0) or len(text) > element.get("max_length", 3000):
            raise ValueError(f"value for {block_id!r} breaks the element's min_length/max_length")
    if element.get("type") == "file_input" and len(selection["files"]) > element.get("max_files", 10):
        raise ValueError(f"too many files for {block_id!r}")


_INITIAL_KEYS = ("initial_value", "initial_option", "initial_options", "initial_user", "initial_users",
                 "initial_conversation", "initial_channel", "initial_date", "initial_time", "initial_date_time")


def _initial(element: Mapping[str, Any]) -> Any:
    """What an untouched element submits: Slack reports its initial value (None when it has none)."""
    for key in _INITIAL_KEYS:
        if key in element:
            value = element[key]
            if key == "initial_option":
                return value.get("value")
            if key == "initial_options":
                return [option.get("value") for option in value]
            return value
    return None


def fill_state(view: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """state.values for the view's input blocks as Slack sends it, from values keyed by block_id.

    An input not given keeps its initial value, as when the user leaves a pre-filled field alone.
    """
    state: dict[str, Any] = {}
    blocks = [b for b in view.get("blocks", []) if isinstance(b, dict)]
    input_blocks = {b.get("block_id"): b for b in blocks if b.get("type") == "input"}
    unknown = set(values) - set(input_blocks)
    if unknown:
        raise ValueError(
            f"no input block with block_id {sorted(unknown)}; input blocks: {sorted(map(str, input_blocks))}"
        )
    for block_id, block in input_blocks.items():
        element = block["element"]
        if "action_id" not in element or block_id is None:
            raise ValueError("view blocks lack block_id/action_id; pass the view as the fake stored it")
        raw = values[block_id] if block_id in values else _initial(element)
        selection = _selection(element, raw)
        _check_entry(block, element, selection)
        state[block_id] = {element["action_id"]: selection}
    return state


class _SlackSide:
    """Slack's side of an app's conversation, transport aside: builds the very payloads Slack
    sends for slash commands, interactions and events, from the state of a FakeSlack.

    SlackSender delivers them as signed HTTP requests; SocketSender over Socket Mode.
    """

    def __init__(self, fake: FakeSlack, *, team_id: str | None = None,
                 verification_token: str = "fake-verification-token") -> None:
        self.fake = fake
        self.team_id = team_id or fake.team_id
        self.verification_token = verification_token
        self.last_trigger_id: str | None = None
        self._event_ids = itertools.count(1)

    # -- payload pieces -------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any]:
        """The `user` object of an interaction payload."""
        known = self.fake.user(user_id)
        name = known["name"] if known else user_id
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        """The `team` object of an interaction payload."""
        return {"id": self.team_id, "domain": self.fake.team_domain}

    def _channel_name(self, channel_id: str) -> str:
        """The channel_name Slack reports for a channel id."""
        if channel_id.startswith("D"):
            return "directmessage"
        known = self.fake.channel(channel_id)
        return known["name"] if known else "privategroup"

    def _trigger(self, user_id: str) -> str:
        """Mint a trigger_id in the fake for the person acting, and remember it."""
        self.last_trigger_id = self.fake.mint_trigger_id(user_id)
        return self.last_trigger_id

    def _action_ts(self) -> str:
        """An action_ts string from the fake's clock."""
        return f"{self.fake.clock():.6f}"

    # -- payloads -------------------------------------------------------------------------------

    def _command_fields(
        self, user_id: str, text: str, *, command: str, channel_id: str, user_name: str | None
    ) -> dict[str, str]:
        """The fields of a slash command invocation (a form over HTTP, a JSON object over Socket Mode)."""
        known = self.fake.user(user_id)
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.fake.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or (known["name"] if known else user_id),
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(channel_id=channel_id, user_id=user_id),
            "trigger_id": self._trigger(user_id),
        }

    def _view_submission_payload(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A view_submission payload: the view as the fake holds it, with state from `values`."""
        current = self.fake.views.get(str(view.get("id"))) if view.get("id") else None
        submitted = copy.deepcopy(current if current is not None else dict(view))
        submitted["state"] = {"values": fill_state(submitted, values)}
        return {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger(user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _block_action_payload(
        self,
        user_id: str,
        *,
        action_id: str,
        value: Any,
        block_id: str | None,
        channel_id: str | None,
        message_ts: str | None,
        message: Mapping[str, Any] | None,
        view: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """A block_actions payload for an element shown in a message or a view the fake holds."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.fake.app_id,
            "token": self.verification_token,
            "trigger_id": self._trigger(user_id),
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if view is not None:
            current = self.fake.views.get(str(view.get("id")))
            if current is None and view.get("type") == "home":
                current = self.fake.home_views.get(user_id)
            container_view = copy.deepcopy(current if current is not None else dict(view))
            blocks = container_view.get("blocks", [])
            payload["container"] = {"type": "view", "view_id": container_view.get("id")}
            payload["view"] = container_view
        else:
            if message is not None:
                channel_id = channel_id or message.get("channel")
                message_ts = message_ts or message.get("ts")
            if not channel_id or not message_ts:
                raise ValueError("block_action needs a view, or a message with channel_id and message_ts")
            if message is not None:
                shown: dict[str, Any] | None = copy.deepcopy(dict(message))
            else:
                shown = self.fake.message_payload(channel_id, message_ts)
            ephemeral = shown is None and any(e["message_ts"] == message_ts for e in self.fake.ephemerals)
            if shown is None and not ephemeral:
                raise ValueError(f"no message {message_ts} in {channel_id}; Slack cannot show its buttons")
            source = shown or next(e for e in self.fake.ephemerals if e["message_ts"] == message_ts)
            blocks = source.get("blocks") or []
            payload["container"] = {
                "type": "message", "message_ts": message_ts, "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            }
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
            if not ephemeral:
                payload["message"] = shown
            payload["response_url"] = self.fake.new_response_url(
                channel_id=channel_id, user_id=user_id, message_ts=message_ts
            )
            payload["state"] = {"values": {}}
        payload["actions"] = [self._action(blocks, action_id, block_id, value)]
        return payload

    def _action(self, blocks: list[Any], action_id: str, block_id: str | None, value: Any) -> dict[str, Any]:
        """The `actions[0]` entry for the element with this action_id in `blocks`."""
        for block in blocks:
            if block_id is not None and block.get("block_id") != block_id:
                continue
            candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
            candidates += [block.get("accessory"), block.get("element")]
            for element in candidates:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return self._action_for(block["block_id"], element, value)
        raise ValueError(
            f"no element with action_id {action_id!r} (block_id {block_id!r}) is shown to the user"
        )

    def _action_for(self, block_id: str, element: Mapping[str, Any], value: Any) -> dict[str, Any]:
        """One action object as Slack reports it for an element."""
        action: dict[str, Any] = {"action_id": element["action_id"], "block_id": block_id}
        if element.get("type") == "button":
            if value is not None and value != element.get("value"):
                raise ValueError(
                    f"button {element['action_id']!r} carries value {element.get('value')!r}, not {value!r}"
                )
            action.update(type="button", text=copy.deepcopy(element["text"]))
            if "value" in element:
                action["value"] = element["value"]
            if "style" in element:
                action["style"] = element["style"]
        else:
            if value is None:
                raise ValueError(f"picking from {element['action_id']!r} needs a value")
            action.update(_selection(element, value))
            if "placeholder" in element:
                action["placeholder"] = copy.deepcopy(element["placeholder"])
        action["action_ts"] = self._action_ts()
        return action

    def _event_callback(self, event: Mapping[str, Any], event_id: str | None) -> dict[str, Any]:
        """The Events API event_callback envelope around one event."""
        now = self.fake.clock()
        inner = dict(event)
        inner.setdefault("event_ts", f"{now:.6f}")
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.fake.app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._event_ids):010d}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None, "team_id": self.team_id, "user_id": self.fake.bot_user_id,
                    "is_bot": True, "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-fake-{self.team_id}",
        }


class SlackSender(_SlackSide):
    """Sends Slack's signed requests (commands, interactions, events) to an app's request URL."""

    def __init__(
        self,
        events_url: str,
        signing_secret: str,
        fake: FakeSlack,
        *,
        team_id: str | None = None,
        verification_token: str = "fake-verification-token",
        timeout: float = 10.0,
    ) -> None:
        super().__init__(fake, team_id=team_id, verification_token=verification_token)
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.timeout = timeout

    # -- transport ------------------------------------------------------------------------------

    def post(
        self,
        body: bytes | str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | str | None = None,
        signature: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """POST a signed body to the app (override timestamp/signature to test verification)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        request_headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(self.signing_secret, stamp, data) if signature is None else signature,
            **(headers or {}),
        }
        url = urllib.parse.urlsplit(self.events_url)
        connection_class = http.client.HTTPConnection
        if url.scheme == "https":
            connection_class = http.client.HTTPSConnection
        connection = connection_class(url.hostname or "127.0.0.1", url.port, timeout=self.timeout)
        target = url.path or "/"
        if url.query:
            target += "?" + url.query
        started = time.perf_counter()
        try:
            connection.request("POST", target, body=data, headers=request_headers)
            response = connection.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            reply_headers = {name: value for name, value in response.getheaders()}
            charset = response.headers.get_content_charset() or "utf-8"
            return Reply(response.status, reply_headers, payload.decode(charset, "replace"), elapsed)
        finally:
            connection.close()

    def _post_interactive(self, kind: str, body: bytes | str, **kwargs: Any) -> Reply:
        """POST and flag, like Slack, an app that takes longer than 3 s to acknowledge."""
        reply = self.post(body, **kwargs)
        if reply.elapsed > ACK_DEADLINE:
            self.fake.add_violation(
                f"{kind}: app acknowledged after {reply.elapsed:.2f}s; "
                f"Slack gives up after {ACK_DEADLINE:.0f}s"
            )
        return reply

    def _form(self, fields: Mapping[str, Any]) -> str:
        """A form-urlencoded body."""
        return urllib.parse.urlencode(fields)

    # -- requests -------------------------------------------------------------------------------

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/escalate",
        channel_id: str = "C0GENERAL",
        user_name: str | None = None,
    ) -> Reply:
        """Send a slash command invocation; Slack then shows the app's ack body to the user."""
        fields = self._command_fields(user_id, text, command=command, channel_id=channel_id, user_name=user_name)
        reply = self._post_interactive(f"slash command {command}", self._form(fields))
        content_type = next((v for k, v in reply.headers.items() if k.lower() == "content-type"), "")
        self.fake.apply_command_ack(channel_id, user_id, reply.status, content_type, reply.body)
        return reply

    def view_submission(self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]) -> Reply:
        """Submit a modal with the given input values; Slack then applies the app's response_action."""
        payload = self._view_submission_payload(user_id, view, values)
        reply = self._post_interactive("view_submission", self._form({"payload": json.dumps(payload)}))
        if payload["view"].get("id"):
            self.fake.apply_view_ack(payload["view"]["id"], reply.status, reply.body)
        return reply

    def block_action(
        self,
        user_id: str,
        *,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Click a button (or pick a value) in a message or a view the fake holds."""
        payload = self._block_action_payload(
            user_id, action_id=action_id, value=value, block_id=block_id, channel_id=channel_id,
            message_ts=message_ts, message=message, view=view,
        )
        body = self._form({"payload": json.dumps(payload)})
        return self._post_interactive(f"block_actions {action_id}", body)

    def event(
        self,
        event: Mapping[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        event_id: str | None = None,
    ) -> Reply:
        """Deliver an Events API event_callback (with retry headers when given)."""
        envelope = self._event_callback(event, event_id)
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self._post_interactive(
            f"event {envelope['event'].get('type')}", json.dumps(envelope),
            content_type="application/json", headers=headers,
        )


class SocketSender(_SlackSide):
    """Sends the same commands, interactions and events as SlackSender, over Socket Mode.

    Each method wraps the payload in an envelope, delivers it to the app's Socket Mode connection
    with ``FakeSlack.socket_send`` and returns the payload of the app's ack ({} when it has none);
    Slack's reaction to that ack (ephemeral reply, modal closed or updated) is applied as for HTTP.
    No client connected, or no ack within `timeout`, is an AssertionError.
    """

    def __init__(
        self,
        fake: FakeSlack,
        *,
        team_id: str | None = None,
        verification_token: str = "fake-verification-token",
        timeout: float = 5.0,
    ) -> None:
        super().__init__(fake, team_id=team_id, verification_token=verification_token)
        self.timeout = timeout

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/escalate",
        channel_id: str = "C0GENERAL",
        user_name: str | None = None,
    ) -> dict[str, Any]:
        """Send a slash command invocation; Slack then shows the ack's text/blocks to the user."""
        fields = self._command_fields(user_id, text, command=command, channel_id=channel_id, user_name=user_name)
        ack = self.fake.socket_send("slash_commands", fields, timeout=self.timeout)
        self.fake.apply_command_ack(channel_id, user_id, 200, "application/json", json.dumps(ack) if ack else "")
        return ack

    def view_submission(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Submit a modal with the given input values; Slack then applies the ack's response_action."""
        payload = self._view_submission_payload(user_id, view, values)
        ack = self.fake.socket_send("interactive", payload, timeout=self.timeout)
        if payload["view"].get("id"):
            self.fake.apply_view_ack(payload["view"]["id"], 200, json.dumps(ack) if ack else "")
        return ack

    def block_action(
        self,
        user_id: str,
        *,
        action_id: str,
        value: Any = None,
        block_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Click a button (or pick a value) in a message or a view the fake holds."""
        payload = self._block_action_payload(
            user_id, action_id=action_id, value=value, block_id=block_id, channel_id=channel_id,
            message_ts=message_ts, message=message, view=view,
        )
        return self.fake.socket_send("interactive", payload, timeout=self.timeout)

    def event(
        self,
        event: Mapping[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """Deliver an Events API event_callback (retry_attempt/retry_reason in the envelope)."""
        return self.fake.socket_send(
            "events_api", self._event_callback(event, event_id), timeout=self.timeout,
            retry_attempt=retry_num or 0, retry_reason=retry_reason or "",
        )
