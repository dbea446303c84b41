"""Payload readers: Slack's JSON in, small typed requests out, or `PayloadInvalid` naming what is wrong.

Strict about shape, lenient about absence: a missing input is empty (the domain says so inline), but
a value of the wrong type, an id Slack could not have sent, or a number out of range is refused here,
before the ack, so nothing can fail after the modal has closed.
"""

from __future__ import annotations

import json
import re
import shlex
import unicodedata
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from bot.domain.intake import Attachment, IntakeDraft
from bot.domain.lifecycle import EscalationAsked, PostmortemAsked, ReassignAsked, ResolutionAsked, UpdateAsked
from bot.domain.reports import DEFAULT_PERIOD, PERIODS
from bot.domain.severity import Severity
from bot.domain.tickets import MAX_TICKET_ID, parse_ticket_ref
from bot.slack.ids import (
    CHANNEL_ID, FILE_ID, FLAG_CUSTOMER_EXECUTIVE, FLAG_REGULATORY, INPUT_ACTION, USER_ID, VIEW_ID, EscalateBlock,
    IntakeBlock, PostmortemBlock, ReassignBlock, ResolveBlock, UpdateBlock,
)

# Message timestamps (the ids are in bot/slack/ids.py, bounded so each fits the 32-character columns that store it).
MESSAGE_TS = re.compile(r"^\d{1,12}\.\d{1,8}$")
_TICKET_VALUE = re.compile(r"^[0-9]{1,10}$")  # ASCII digits only ("²".isdigit() is True)
MAX_COMMAND_TEXT = 4000
MAX_FILES = 10
MAX_FILE_NAME = 255
LATEST_EPOCH = 4_102_444_800  # 2100-01-01: a date picker can't go further; larger numbers are forged
_PLAIN_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9._~:/?#\[\]!$&'()*+,;=%-]+$")  # RFC 3986 characters only
SLACK_FILE_HOSTS = ("slack.com", "slack-files.com")  # and their subdomains (files.slack.com, <team>.slack.com)


class PayloadInvalid(Exception):
    """A payload Slack could not have sent, or that we cannot read; the message names the field."""


def _dig(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def _text(value: Any, what: str) -> str:
    """A string field: absent is empty; anything but a string is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PayloadInvalid(f"{what} must be text")
    return value


def _id(value: Any, shape: re.Pattern[str], what: str, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise PayloadInvalid(f"{what} is missing")
        return None
    if not isinstance(value, str) or not shape.match(value):
        raise PayloadInvalid(f"{what} is not a Slack id")
    return value


def _user(body: Any, *path: str) -> str:
    user = _id(_dig(body, *path), USER_ID, ".".join(path), required=True)
    assert user is not None
    return user


def _ticket_number(value: Any, what: str) -> int:
    """A ticket id we put in a view or button: a plain int in range (not a bool, not a float)."""
    if type(value) is not int or not 1 <= value <= MAX_TICKET_ID:
        raise PayloadInvalid(f"{what} is not a ticket id")
    return value


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # "a\u202egpj.exe" shows as "aexe.jpg"


def printable(text: str) -> str:
    """Text without control characters (tab and newline kept), lone surrogates or bidi overrides, for
    names and echoes whose look must be what they are."""
    return "".join(c for c in text if c in "\t\n" or (unicodedata.category(c) not in ("Cc", "Cs") and c not in _BIDI_CONTROLS))


def slack_hosted(url: Any, extra_hosts: tuple[str, ...] = ()) -> bool:
    """An https URL on one of Slack's own hosts (or a configured one, such as the fake Slack's).

    Read as strictly as a browser would: no backslash (browsers read it as `/`, Python doesn't), no
    user info, no spaces or controls, so the host Python sees is the host a click would reach."""
    if not isinstance(url, str) or len(url) > 2000 or not _PLAIN_URL.match(url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    if "@" in parts.netloc:
        return False
    host = (parts.hostname or "").lower()
    if host in extra_hosts:
        return parts.scheme in ("https", "http")
    return parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in SLACK_FILE_HOSTS)


class CommandKind(StrEnum):
    NEW = "new"
    ESCALATE = "escalate"
    STATUS = "status"
    EXPORT = "export"
    LIST = "list"
    CONTACTS = "contacts"
    PREVIEW = "preview"
    HELP = "help"
    REPORT = "report"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CommandRequest:
    user_id: str
    channel_id: str | None
    trigger_id: str | None
    kind: CommandKind
    ticket_id: int | None = None
    text: str = ""
    args: tuple[str, ...] = ()  # the words after a sub-command that takes free words (preview)
    report: "ReportArgs | None" = None  # REPORT: what was asked for; None when `problem` says what is wrong
    problem: str | None = None

    @property
    def command_key(self) -> str | None:
        """Names this very invocation (Slack mints a trigger per command), for commands that must not run twice."""
        return f"command:{self.trigger_id}"[:100] if self.trigger_id else None


def read_command(body: dict[str, Any]) -> CommandRequest:
    """`/escalate [help | list | contacts | status ESC-42 | export ESC-42 | ESC-42 | preview <severity> <what> | report …]`."""
    raw = _text(body.get("text"), "text")
    if len(raw) > MAX_COMMAND_TEXT:
        raise PayloadInvalid("text is longer than Slack allows")
    text = " ".join(printable(raw).split())
    words = text.split(" ") if text else []
    kind, ticket_id, args = CommandKind.UNKNOWN, None, ()
    if not words:
        kind = CommandKind.NEW
    elif len(words) == 1 and (ticket_id := parse_ticket_ref(words[0])) is not None:
        kind = CommandKind.ESCALATE
    elif words[0].lower() in ("status", "export") and len(words) == 2 and (ticket_id := parse_ticket_ref(words[1])) is not None:
        kind = CommandKind(words[0].lower())
    elif len(words) == 1 and words[0].lower() in {"list", "contacts", "help"}:
        kind = CommandKind(words[0].lower())
    elif words[0].lower() == "preview":
        kind, args = CommandKind.PREVIEW, tuple(words[1:])
    report, problem = None, None
    if words and words[0].lower() == "report":
        kind = CommandKind.REPORT
        try:
            report = read_report_args(text.split(" ", 1)[1] if len(words) > 1 else "")
        except ReportArgsInvalid as exc:
            problem = str(exc)
    if not isinstance(body.get("response_url"), str) or not body["response_url"]:
        raise PayloadInvalid("response_url is missing")  # Slack sends one with every command; replies go there
    return CommandRequest(
        user_id=_user(body, "user_id"),
        channel_id=_id(body.get("channel_id"), CHANNEL_ID, "channel_id", required=False),
        trigger_id=_text(body.get("trigger_id"), "trigger_id")[:200] or None,
        kind=kind,
        ticket_id=ticket_id,
        text=text,
        args=args,
        report=report,
        problem=problem,
    )


REPORT_PERIODS = tuple(PERIODS)
REPORT_FILTERS = ("level", "category", "severity")
SEVERITIES = tuple(s.value for s in Severity)
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})


class ReportArgsInvalid(Exception):
    """`/escalate report …` with words it does not take; the message says which (shown with the usage)."""


@dataclass(frozen=True)
class ReportArgs:
    period: str = DEFAULT_PERIOD  # one of REPORT_PERIODS
    level: str | None = None
    category: str | None = None
    severity: str | None = None
    chart: bool = False  # `chart`: the figures as a chart image too (the weekly digest's)


def read_report_args(text: str) -> ReportArgs:
    """`[7d|30d|quarter] [level=L2] [category="…"] [severity=high] [chart]`, in any order, each at most once.

    Quotes group words (Slack's clients may send typographic ones); level and category are checked
    against the policy by the report service, the period and the severity here."""
    try:
        words = shlex.split(text.translate(_SMART_QUOTES))
    except ValueError:
        raise ReportArgsInvalid("a quote is not closed") from None
    period: str | None = None
    chart = False
    filters: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            key = key.lower()
            if key not in REPORT_FILTERS:
                raise ReportArgsInvalid(f"`{key[:30]}` is not a filter (use level, category or severity)")
            if key in filters:
                raise ReportArgsInvalid(f"`{key}` is given twice")
            if not value.strip():
                raise ReportArgsInvalid(f"`{key}=` needs a value")
            if key == "severity" and value.lower() not in SEVERITIES:
                raise ReportArgsInvalid(f"`{value[:30]}` is not a severity (use {', '.join(SEVERITIES)})")
            filters[key] = value.strip()[:100]
        elif word.lower() in REPORT_PERIODS:
            if period is not None:
                raise ReportArgsInvalid("give one period")
            period = word.lower()
        elif word.lower() == "chart":
            chart = True
        else:
            raise ReportArgsInvalid(f"`{word[:30]}` is not a period (use {', '.join(REPORT_PERIODS)})")
    return ReportArgs(period=period or DEFAULT_PERIOD, chart=chart, level=filters.get("level"), category=filters.get("category"),
                      severity=filters["severity"].lower() if "severity" in filters else None)


@dataclass(frozen=True)
class Submission:
    user_id: str
    view_id: str
    origin_channel: str | None


def _metadata(view: Any) -> dict[str, Any]:
    """A view's private_metadata (JSON we wrote); anything else reads as empty."""
    raw = _dig(view, "private_metadata")
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise PayloadInvalid("private_metadata is not ours") from None
    if not isinstance(data, dict):
        raise PayloadInvalid("private_metadata is not ours")
    return data


def read_submission(body: dict[str, Any]) -> Submission:
    origin = _metadata(body.get("view")).get("channel")
    view_id = _id(_dig(body, "view", "id"), VIEW_ID, "view.id", required=True)
    assert view_id is not None
    return Submission(user_id=_user(body, "user", "id"), view_id=view_id,
                      origin_channel=origin if isinstance(origin, str) and CHANNEL_ID.match(origin) else None)


def _state(view: Any) -> dict[str, Any]:
    values = _dig(view, "state", "values")
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise PayloadInvalid("view.state.values must be an object")
    return values


def _element(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    found = _dig(values, block_id, INPUT_ACTION)
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise PayloadInvalid(f"the value of {block_id} must be an object")
    return found


def _option(element: dict[str, Any], what: str) -> str:
    option = element.get("selected_option")
    if option is None:
        return ""
    if not isinstance(option, dict):
        raise PayloadInvalid(f"{what}: selected_option must be an object")
    return _text(option.get("value"), what)


def _options(element: dict[str, Any], what: str) -> frozenset[str]:
    options = element.get("selected_options")
    if options is None:
        return frozenset()
    if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
        raise PayloadInvalid(f"{what}: selected_options must be a list of options")
    return frozenset(_text(o.get("value"), what) for o in options)


def _attachments(element: dict[str, Any], file_hosts: tuple[str, ...]) -> tuple[Attachment, ...]:
    """Files from the file_input: Slack file ids, names made printable, links only to Slack's hosts."""
    files = element.get("files")
    if files is None:
        return ()
    if not isinstance(files, list) or len(files) > MAX_FILES or not all(isinstance(f, dict) for f in files):
        raise PayloadInvalid("attachments must be a list of at most 10 files")
    found = []
    for f in files:
        file_id = _id(f.get("id"), FILE_ID, "attachments.id", required=True)
        assert file_id is not None
        name = printable(_text(f.get("name"), "attachments.name") or _text(f.get("title"), "attachments.title")).strip()
        permalink = f.get("permalink")
        found.append(Attachment(file_id=file_id, name=(name or file_id)[:MAX_FILE_NAME],
                                permalink=permalink if slack_hosted(permalink, file_hosts) else None))
    return tuple(found)


def read_intake(view: dict[str, Any], *, file_hosts: tuple[str, ...] = ()) -> IntakeDraft:
    """The New escalation modal's state -> an unvalidated draft (missing fields become empty).

    `file_hosts`: hosts besides Slack's own whose file links are believed (the configured API host)."""
    values = _state(view)

    def text(block: IntakeBlock) -> str:
        return _text(_element(values, block.value).get("value"), block.value)

    flags = _options(_element(values, IntakeBlock.FLAGS.value), IntakeBlock.FLAGS.value)
    return IntakeDraft(
        title=text(IntakeBlock.TITLE),
        category=_option(_element(values, IntakeBlock.CATEGORY.value), IntakeBlock.CATEGORY.value),
        severity=_option(_element(values, IntakeBlock.SEVERITY.value), IntakeBlock.SEVERITY.value),
        description=text(IntakeBlock.DESCRIPTION),
        error_messages=text(IntakeBlock.ERROR_MESSAGES),
        log_links=text(IntakeBlock.LOG_LINKS),
        attachments=_attachments(_element(values, IntakeBlock.ATTACHMENTS.value), file_hosts),
        troubleshooting=text(IntakeBlock.TROUBLESHOOTING),
        business_impact=text(IntakeBlock.BUSINESS_IMPACT),
        affected_users=text(IntakeBlock.AFFECTED_USERS),
        triggers=_options(_element(values, IntakeBlock.TRIGGERS.value), IntakeBlock.TRIGGERS.value),
        customer_executive=FLAG_CUSTOMER_EXECUTIVE in flags,
        regulatory=FLAG_REGULATORY in flags,
    )


@dataclass(frozen=True)
class ButtonPress:
    action_id: str
    ticket_id: int | None  # None: the button carries no ticket (nothing to do)
    user_id: str
    channel_id: str | None
    message_ts: str | None
    action_ts: str | None = None  # Slack's unique stamp of this click: a replayed click carries the same one
    value: str | None = None  # the button's value as sent (at most 100 characters), for buttons that carry no ticket

    @property
    def click_key(self) -> str | None:
        """Names this very click (for actions that must not apply twice, such as a toggle)."""
        return f"click:{self.user_id}:{self.action_ts}" if self.action_ts else None


def read_button(body: dict[str, Any]) -> ButtonPress:
    action = _dig(body, "actions", 0)
    if not isinstance(action, dict):
        raise PayloadInvalid("actions must be a list of objects")
    value = action.get("value")
    ticket_id = int(value) if isinstance(value, str) and _TICKET_VALUE.match(value) else None
    if ticket_id is not None and not 1 <= ticket_id <= MAX_TICKET_ID:
        ticket_id = None
    channel = _dig(body, "channel", "id") or _dig(body, "container", "channel_id")
    ts = _dig(body, "container", "message_ts") or _dig(body, "message", "ts")
    stamp = action.get("action_ts")
    return ButtonPress(
        action_id=_text(action.get("action_id"), "action_id"),
        ticket_id=ticket_id,
        user_id=_user(body, "user", "id"),
        channel_id=channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else None,
        message_ts=ts if isinstance(ts, str) and MESSAGE_TS.match(ts) else None,
        action_ts=stamp if isinstance(stamp, str) and MESSAGE_TS.match(stamp) else None,
        value=value[:100] if isinstance(value, str) else None,
    )


def read_values(view: dict[str, Any]) -> dict[str, Any]:
    """Every input of a submitted modal by block id: text, selected value, user id, a UTC datetime, or None."""
    result: dict[str, Any] = {}
    for block_id, actions in _state(view).items():
        element = actions.get(INPUT_ACTION) if isinstance(actions, dict) else None
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind in ("plain_text_input", "url_text_input", "number_input", "email_text_input"):
            value: Any = _text(element.get("value"), block_id) or None
        elif kind in ("static_select", "radio_buttons"):
            value = _option(element, block_id) or None
        elif kind == "users_select":
            value = _id(element.get("selected_user"), USER_ID, block_id, required=False)
        elif kind == "datetimepicker":
            value = _moment(element.get("selected_date_time"), block_id)
        else:
            value = None
        result[str(block_id)] = value
    return result


def _moment(epoch: Any, what: str) -> datetime | None:
    if epoch is None:
        return None
    if type(epoch) is not int or not 0 <= epoch <= LATEST_EPOCH:
        raise PayloadInvalid(f"{what} is not a date and time")
    return datetime.fromtimestamp(epoch, timezone.utc)


def text_of(values: dict[str, Any], block_id: str) -> str:
    value = values.get(block_id)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class TicketSubmission:
    user_id: str
    view_id: str  # one modal, applied once: replays of the same submission change nothing
    ticket_id: int
    values: dict[str, Any]


def read_ticket_submission(body: dict[str, Any]) -> TicketSubmission:
    """A lifecycle modal's submission: who, which view, which ticket (from private_metadata), the inputs."""
    view = body.get("view")
    if not isinstance(view, dict):
        raise PayloadInvalid("view must be an object")
    view_id = _id(view.get("id"), VIEW_ID, "view.id", required=True)
    assert view_id is not None
    return TicketSubmission(
        user_id=_user(body, "user", "id"),
        view_id=view_id,
        ticket_id=_ticket_number(_metadata(view).get("ticket"), "private_metadata.ticket"),
        values=read_values(view),
    )


def read_escalation(body: dict[str, Any]) -> EscalationAsked:
    s = read_ticket_submission(body)
    return EscalationAsked(s.ticket_id, s.user_id, s.view_id, reason=text_of(s.values, EscalateBlock.REASON),
                           target_level=text_of(s.values, EscalateBlock.TARGET_LEVEL),
                           business_impact=text_of(s.values, EscalateBlock.BUSINESS_IMPACT),
                           troubleshooting=text_of(s.values, EscalateBlock.TROUBLESHOOTING),
                           notes=text_of(s.values, EscalateBlock.NOTES))


def read_update(body: dict[str, Any]) -> UpdateAsked:
    s = read_ticket_submission(body)
    promised = s.values.get(UpdateBlock.NEXT_UPDATE_BY)
    return UpdateAsked(s.ticket_id, s.user_id, s.view_id, status=text_of(s.values, UpdateBlock.STATUS),
                       next_steps=text_of(s.values, UpdateBlock.NEXT_STEPS),
                       next_update_by=promised if isinstance(promised, datetime) else None)


def read_resolution(body: dict[str, Any]) -> ResolutionAsked:
    s = read_ticket_submission(body)
    owner = s.values.get(ResolveBlock.POSTMORTEM_OWNER)
    return ResolutionAsked(s.ticket_id, s.user_id, s.view_id, resolution=text_of(s.values, ResolveBlock.RESOLUTION),
                           root_cause=text_of(s.values, ResolveBlock.ROOT_CAUSE),
                           lessons=text_of(s.values, ResolveBlock.LESSONS),
                           postmortem_owner=owner if isinstance(owner, str) else None)


def read_postmortem(body: dict[str, Any]) -> PostmortemAsked:
    s = read_ticket_submission(body)
    return PostmortemAsked(s.ticket_id, s.user_id, s.view_id, url=text_of(s.values, PostmortemBlock.URL))


def read_reassign(body: dict[str, Any]) -> ReassignAsked:
    s = read_ticket_submission(body)
    assignee = s.values.get(ReassignBlock.ASSIGNEE)
    return ReassignAsked(s.ticket_id, s.user_id, s.view_id, assignee_id=assignee if isinstance(assignee, str) and assignee else None)


def read_home_opened(event: dict[str, Any]) -> str | None:
    """The user whose Home tab opened, or None for another tab."""
    if event.get("tab") not in (None, "home"):
        return None
    return _user(event, "user")


@dataclass(frozen=True)
class Requester:
    """Whom to answer about a request, and where: its response_url, the user, the channel they were in."""

    response_url: str | None
    user_id: str | None
    channel_id: str | None


def read_requester(body: dict[str, Any]) -> Requester:
    """Never raises: an answer (a refusal, the error boundary's) must reach even a malformed request's sender.
    An interaction names them as user.id and channel.id (or its container's), a command as user_id and channel_id."""
    url = body.get("response_url")
    user = _dig(body, "user", "id") or body.get("user_id")
    channel = _dig(body, "channel", "id") or body.get("channel_id") or _dig(body, "container", "channel_id")
    return Requester(url if isinstance(url, str) else None,
                     user if isinstance(user, str) and USER_ID.match(user) else None,
                     channel if isinstance(channel, str) and CHANNEL_ID.match(channel) else None)


def input_block_ids(view: Any) -> list[str]:
    """The block ids of a modal's inputs, in order: where an inline error can show."""
    blocks = _dig(view, "blocks")
    return [b["block_id"] for b in blocks if isinstance(b, dict) and b.get("type") == "input"
            and isinstance(b.get("block_id"), str)] if isinstance(blocks, list) else []
