"""Payload readers: Slack's JSON in, small typed requests out. Tolerant of missing keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.intake import Attachment, IntakeDraft
from bot.domain.tickets import parse_ticket_ref
from bot.slack.ids import FLAG_CUSTOMER_EXECUTIVE, FLAG_REGULATORY, INPUT_ACTION, IntakeBlock


def _dig(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


class CommandKind(StrEnum):
    NEW = "new"
    ESCALATE = "escalate"
    STATUS = "status"
    EXPORT = "export"
    LIST = "list"
    CONTACTS = "contacts"
    HELP = "help"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CommandRequest:
    user_id: str
    channel_id: str | None
    trigger_id: str | None
    kind: CommandKind
    ticket_id: int | None = None
    text: str = ""


def read_command(body: dict[str, Any]) -> CommandRequest:
    """`/escalate [help | list | contacts | status ESC-42 | export ESC-42 | ESC-42]`."""
    text = " ".join(str(body.get("text") or "").split())
    words = text.split(" ") if text else []
    kind, ticket_id = CommandKind.UNKNOWN, None
    if not words:
        kind = CommandKind.NEW
    elif len(words) == 1 and (ticket_id := parse_ticket_ref(words[0])) is not None:
        kind = CommandKind.ESCALATE
    elif words[0].lower() in ("status", "export") and len(words) == 2 and (ticket_id := parse_ticket_ref(words[1])) is not None:
        kind = CommandKind(words[0].lower())
    elif len(words) == 1 and words[0].lower() in {"list", "contacts", "help"}:
        kind = CommandKind(words[0].lower())
    return CommandRequest(
        user_id=str(body.get("user_id") or ""),
        channel_id=body.get("channel_id"),
        trigger_id=body.get("trigger_id"),
        kind=kind,
        ticket_id=ticket_id,
        text=text,
    )


@dataclass(frozen=True)
class Submission:
    user_id: str
    view_id: str
    origin_channel: str | None


def read_submission(body: dict[str, Any]) -> Submission:
    metadata = _dig(body, "view", "private_metadata") or "{}"
    try:
        origin = json.loads(metadata).get("channel")
    except (ValueError, AttributeError):
        origin = None
    return Submission(user_id=str(_dig(body, "user", "id") or ""), view_id=str(_dig(body, "view", "id") or ""), origin_channel=origin)


def read_intake(view: dict[str, Any]) -> IntakeDraft:
    """The New escalation modal's state -> an unvalidated draft (missing fields become empty)."""
    values = _dig(view, "state", "values") or {}

    def element(block: IntakeBlock) -> dict[str, Any]:
        found = _dig(values, block.value, INPUT_ACTION)
        return found if isinstance(found, dict) else {}

    def text(block: IntakeBlock) -> str:
        value = element(block).get("value")
        return value if isinstance(value, str) else ""

    def selected(block: IntakeBlock) -> str:
        value = _dig(element(block), "selected_option", "value")
        return value if isinstance(value, str) else ""

    def checked(block: IntakeBlock) -> frozenset[str]:
        options = element(block).get("selected_options") or []
        return frozenset(o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str))

    files = [f for f in element(IntakeBlock.ATTACHMENTS).get("files") or [] if isinstance(f, dict) and f.get("id")]
    flags = checked(IntakeBlock.FLAGS)
    return IntakeDraft(
        title=text(IntakeBlock.TITLE),
        category=selected(IntakeBlock.CATEGORY),
        severity=selected(IntakeBlock.SEVERITY),
        description=text(IntakeBlock.DESCRIPTION),
        error_messages=text(IntakeBlock.ERROR_MESSAGES),
        log_links=text(IntakeBlock.LOG_LINKS),
        attachments=tuple(
            Attachment(file_id=str(f["id"]), name=str(f.get("name") or f.get("title") or f["id"]), permalink=f.get("permalink"))
            for f in files
        ),
        troubleshooting=text(IntakeBlock.TROUBLESHOOTING),
        business_impact=text(IntakeBlock.BUSINESS_IMPACT),
        affected_users=text(IntakeBlock.AFFECTED_USERS),
        triggers=checked(IntakeBlock.TRIGGERS),
        customer_executive=FLAG_CUSTOMER_EXECUTIVE in flags,
        regulatory=FLAG_REGULATORY in flags,
    )


@dataclass(frozen=True)
class ButtonPress:
    action_id: str
    ticket_id: int | None
    user_id: str
    channel_id: str | None
    message_ts: str | None


def read_button(body: dict[str, Any]) -> ButtonPress:
    action = _dig(body, "actions", 0) or {}
    value = action.get("value") if isinstance(action, dict) else None
    ticket_id = int(value) if isinstance(value, str) and value.isdigit() else None
    return ButtonPress(
        action_id=str(action.get("action_id") or "") if isinstance(action, dict) else "",
        ticket_id=ticket_id,
        user_id=str(_dig(body, "user", "id") or ""),
        channel_id=_dig(body, "channel", "id") or _dig(body, "container", "channel_id"),
        message_ts=_dig(body, "container", "message_ts") or _dig(body, "message", "ts"),
    )


def read_values(view: dict[str, Any]) -> dict[str, Any]:
    """Every input of a submitted modal by block id: text, selected value, user, epoch seconds, or None."""
    result: dict[str, Any] = {}
    for block_id, actions in (_dig(view, "state", "values") or {}).items():
        element = actions.get(INPUT_ACTION) if isinstance(actions, dict) else None
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind in ("plain_text_input", "url_text_input", "number_input", "email_text_input"):
            value = element.get("value")
        elif kind in ("static_select", "radio_buttons"):
            value = _dig(element, "selected_option", "value")
        elif kind == "users_select":
            value = element.get("selected_user")
        elif kind == "datetimepicker":
            value = element.get("selected_date_time")
        else:
            value = None
        result[str(block_id)] = value
    return result


def text_of(values: dict[str, Any], block_id: str) -> str:
    value = values.get(block_id)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class TicketSubmission:
    user_id: str
    ticket_id: int | None
    values: dict[str, Any]


def read_ticket_submission(body: dict[str, Any]) -> TicketSubmission:
    """A lifecycle modal's submission: who, which ticket (from private_metadata), and the inputs."""
    view = body.get("view") or {}
    try:
        ticket = json.loads(view.get("private_metadata") or "{}").get("ticket")
    except (ValueError, AttributeError):
        ticket = None
    return TicketSubmission(
        user_id=str(_dig(body, "user", "id") or ""),
        ticket_id=ticket if isinstance(ticket, int) else None,
        values=read_values(view),
    )
