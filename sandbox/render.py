"""Slack messages, modals and Home tabs as HTML for the browser sandbox: pure functions, no I/O.

Every function returns ``markupsafe.Markup``; every string that comes from a message or a view is
escaped on the way in, so nothing a user typed can become HTML, and only ``http``, ``https`` and
``mailto`` links become ``<a>`` (always ``target="_blank" rel="noopener noreferrer"``). Images load
only from ``http(s)`` URLs.

Public API::

    mrkdwn(text, *, users, channels, tz, now=None) -> Markup
    plain(text_object_or_str, *, emoji=True) -> Markup
    message(msg, *, users, channels, tz, now=None, channel=None) -> Markup
    blocks(blocks, *, users, channels, tz, now=None, container=None) -> Markup
    modal(view, *, errors, users, channels, tz, now=None) -> Markup
    home(view, *, users, channels, tz, now=None) -> Markup
    form_values(view, form, *, tz=UTC, files=None) -> dict[str, Any]
    CSS_PATH  # sandbox/static/sandbox.css, for the server to serve

``users`` maps user (and user-group) ids to names, ``channels`` channel ids to names, ``tz`` is the
viewer's zone for ``<!date^…>`` tokens and datetimes; ``now`` (default: the wall clock) decides what
"Today"/"Yesterday"/"Tomorrow" mean, so pass the fake's clock.

Interactive elements (the contract with the sandbox's JavaScript)
-----------------------------------------------------------------
Every element that would make Slack send a ``block_actions`` payload carries ``class="sk-action"``
and these attributes:

``data-action-id``, ``data-block-id``
    the element's ``action_id`` and its block's ``block_id`` (the fake assigns both).
``data-type``
    the element's Block Kit type (``button``, ``static_select``, ``users_select``, ``overflow``,
    ``datepicker``, ``checkboxes``, ...).
``data-ts`` and ``data-channel``
    in a message: the message's ``ts`` and channel id (``data-channel`` only when ``message()`` was
    given ``channel=`` or the message has a ``"channel"`` key).
``data-view-id``
    in a modal or Home tab: the view's ``id``.
``data-value``
    buttons only: the button's ``value`` (absent when the button has none).
``data-url``
    link buttons: the URL (the element is an ``<a href>`` too; Slack still sends block_actions).
``data-confirm-title``, ``data-confirm-text``, ``data-confirm-ok``, ``data-confirm-deny``
    when the element has a ``confirm`` dialog: ask before sending.

Buttons are ``<button type="button">``; selects (static, users, conversations, channels, overflow)
are ``<select>`` whose option ``value`` is what ``SlackSender.block_action(value=...)`` takes (the
option's ``value``, a user id, a channel id); datepicker/timepicker are ``<input type=date|time>``.
Checkboxes and radio buttons outside a form are ``<input>`` with the same attributes.

Modal forms
-----------
``modal()`` returns ``<div class="sk-modal-overlay"><form class="sk-modal" data-view-id=…
data-callback-id=… method="post" enctype="multipart/form-data">``. Each input block's field has
``name=<block_id>`` (multi-value elements repeat the name: one ``<option>``/checkbox per value).
Submitting the form with ``application/x-www-form-urlencoded`` and parsing it with
``urllib.parse.parse_qs(body, keep_blank_values=True)`` gives what ``form_values(view, form)``
takes; its result is the ``values`` of ``fakeslack.sender.fill_state`` / ``SlackSender.
view_submission``. The close button is ``<button type="button" class="sk-modal-close">``.
A ``file_input`` is ``<input type="file" name=<block_id> multiple data-max-files=…>``: the sandbox
uploads the chosen files itself and submits their Slack file ids under the block id instead; pass
``files={file_id: {"id", "name", "permalink", ...}}`` to ``form_values`` to fill in each file object.
A ``datetimepicker`` is ``<input type="datetime-local">`` in ``tz``: pass the same ``tz`` to
``form_values``. External selects have no options to show: they render as a disabled note and
``form_values`` gives their initial option (the option object), or leaves them out. Inline errors
(``errors`` maps block_id -> message, as ``response_action: errors``) are
``<div class="sk-error" role="alert" data-error-for=<block_id>>`` right under that field.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

CSS_PATH = Path(__file__).resolve().parent / "static" / "sandbox.css"
UTC = ZoneInfo("UTC")

# The shortcodes the bot's templates and builders use (grep templates/ bot/ for :name:), and a few
# everyday ones; anything else stays as text.
EMOJI: dict[str, str] = {
    "alarm_clock": "⏰", "arrow_heading_up": "⤴️", "bell": "🔔", "briefcase": "💼", "bust_in_silhouette": "👤",
    "chains": "⛓️", "clipboard": "📋", "hourglass": "⌛", "hourglass_flowing_sand": "⏳", "inbox_tray": "📥",
    "large_green_circle": "🟢", "large_orange_circle": "🟠", "large_yellow_circle": "🟡", "red_circle": "🔴",
    "leftwards_arrow_with_hook": "↩️", "lock": "🔒", "memo": "📝", "no_bell": "🔕", "no_entry": "⛔",
    "outbox_tray": "📤", "paperclip": "📎", "rotating_light": "🚨", "scales": "⚖️", "speech_balloon": "💬",
    "telephone_receiver": "📞", "video_camera": "📹", "warning": "⚠️", "white_check_mark": "✅",
    "+1": "👍", "thumbsup": "👍", "eyes": "👀", "tada": "🎉", "x": "❌", "heavy_check_mark": "✔️",
    "fire": "🔥", "link": "🔗", "bar_chart": "📊", "chart_with_upwards_trend": "📈", "calendar": "📆", "large_blue_circle": "🔵", "white_circle": "⚪",
}

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_CONTROL = re.compile("[\ue000\ue001]")
_SLACK_ESCAPE = re.compile(r"&(amp|lt|gt);")
_ENTITY = re.compile(r"<([^<>\n]*)>")
_CODE = re.compile(r"`([^`\n]+)`")
_EMOJI = re.compile(r":([a-z0-9_+'-]+):")
_STYLES = (
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), "s"),
)
_PRE = re.compile(r"```(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class _Ctx:
    """What rendering needs to know about the viewer and the workspace."""

    users: Mapping[str, str]
    channels: Mapping[str, str]
    tz: ZoneInfo
    now: datetime | None
    container: Mapping[str, str]  # data-* attributes of the message or view an action comes from

    def today(self) -> date:
        return (self.now or datetime.now(timezone.utc)).astimezone(self.tz).date()


# -- small HTML helpers -------------------------------------------------------------------------

_VOID = frozenset({"input", "img", "hr", "br"})


def _attrs(attributes: Mapping[str, Any]) -> Markup:
    """` name="value"` pairs, escaped; None/False are left out, True is a bare attribute."""
    parts = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(Markup(" {}").format(name) if value is True else Markup(' {}="{}"').format(name, value))
    return Markup("").join(parts)


def _tag(tag: str, content: Any = "", /, **attributes: Any) -> Markup:
    """One element; `content` is escaped unless it is Markup."""
    if tag in _VOID:
        return Markup("<{}{}>").format(tag, _attrs(attributes))
    return Markup("<{0}{1}>{2}</{0}>").format(tag, _attrs(attributes), content)


def _join(parts: Iterable[Markup]) -> Markup:
    return Markup("").join(parts)


def _safe_url(url: Any, schemes: Sequence[str] = _SAFE_SCHEMES) -> str | None:
    """The URL when it uses one of `schemes` (case-insensitive), else None."""
    if not isinstance(url, str):
        return None
    cleaned = url.strip()
    return cleaned if cleaned.lower().startswith(tuple(schemes)) and not re.search(r"[\s\x00-\x1f]", cleaned) else None


def _link(url: str, content: Any, **attributes: Any) -> Markup:
    return _tag("a", content, href=url, target="_blank", rel="noopener noreferrer", **attributes)


# -- mrkdwn -------------------------------------------------------------------------------------

def mrkdwn(text: str, *, users: Mapping[str, str], channels: Mapping[str, str], tz: ZoneInfo,
           now: datetime | None = None) -> Markup:
    """Slack mrkdwn as HTML: *bold* _italic_ ~strike~ `code` ```pre``` > quotes, links, mentions, dates, emoji."""
    return _mrkdwn(text, _Ctx(users, channels, tz, now, {}))


def _mrkdwn(text: Any, ctx: _Ctx) -> Markup:
    text = _CONTROL.sub("", str(text or ""))
    out: list[Markup] = []
    position = 0
    for match in _PRE.finditer(text):
        out.append(_lines(text[position:match.start()], ctx, before_pre=True, after_pre=position > 0))
        out.append(_tag("pre", _plain_text(match.group(1).strip("\n"), ctx), class_="sk-pre"))
        position = match.end()
    out.append(_lines(text[position:], ctx, before_pre=False, after_pre=position > 0))
    return _join(out)


def _lines(text: str, ctx: _Ctx, *, before_pre: bool, after_pre: bool) -> Markup:
    """Lines of text between code blocks: quote runs become <blockquote>, the rest <br>-separated."""
    if after_pre and text.startswith("\n"):
        text = text[1:]
    if before_pre and text.endswith("\n"):
        text = text[:-1]
    if not text:
        return Markup("")
    runs: list[tuple[bool, list[str]]] = []
    for line in text.split("\n"):
        quoted = line.startswith(">")
        if quoted:
            line = line[1:].removeprefix(" ")
        if runs and runs[-1][0] == quoted:
            runs[-1][1].append(line)
        else:
            runs.append((quoted, [line]))
    out = []
    for quoted, lines in runs:
        body = Markup("<br>").join(_inline(line, ctx) for line in lines)
        out.append(_tag("blockquote", body, class_="sk-quote") if quoted else body)
    return _join(out)


def _unescape_slack(text: str) -> str:
    """Slack's &amp; &lt; &gt; back to the characters they stand for (in one pass)."""
    return _SLACK_ESCAPE.sub(lambda m: {"amp": "&", "lt": "<", "gt": ">"}[m.group(1)], text)


def _inline(text: str, ctx: _Ctx) -> Markup:
    """One line of mrkdwn: code spans, <…> entities and emoji set aside, the rest escaped and styled."""
    stash: list[Markup] = []

    def keep(markup: Markup) -> str:
        stash.append(markup)
        return f"\ue000{len(stash) - 1}\ue001"

    text = _CODE.sub(lambda m: keep(_tag("code", _plain_text(m.group(1), ctx), class_="sk-code")), text)
    text = _ENTITY.sub(lambda m: keep(_entity(m.group(1), ctx)), text)
    text = _emoji_sub(text, keep)
    html = str(escape(_unescape_slack(text)))
    for pattern, name in _STYLES:
        html = pattern.sub(lambda m, name=name: f"<{name}>{m.group(1)}</{name}>", html)
    for _ in range(3):  # a stashed piece may hold another (a code span inside a link label)
        if not _PLACEHOLDER.search(html):
            break
        html = _PLACEHOLDER.sub(lambda m: str(stash[int(m.group(1))]), html)
    return Markup(_CONTROL.sub("", html))


def _emoji_sub(text: str, keep: Callable[[Markup], str]) -> str:
    def one(match: re.Match[str]) -> str:
        char = EMOJI.get(match.group(1))
        return keep(_tag("span", char, class_="sk-emoji", title=match.group(0))) if char else match.group(0)

    return _EMOJI.sub(one, text)


def _plain_text(text: str, ctx: _Ctx) -> Markup:
    """Text inside code: entities shown as their readable form, nothing formatted, no links."""
    readable = _ENTITY.sub(lambda m: _entity_text(m.group(1), ctx), text)
    return escape(_unescape_slack(readable))


def _entity_text(body: str, ctx: _Ctx) -> str:
    """A <…> entity as plain words (for code spans and fallbacks)."""
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return "@" + ctx.users.get(target[1:], _unescape_slack(label) or target[1:])
    if target.startswith("#"):
        return "#" + ctx.channels.get(target[1:], _unescape_slack(label) or target[1:])
    if target.startswith("!"):
        return str(_special(target, label, ctx).striptags())
    return _unescape_slack(label or target)


def _entity(body: str, ctx: _Ctx) -> Markup:
    """One <…> token: a user/channel mention, a special mention, a date or a link."""
    target, _, label = body.partition("|")
    label = _unescape_slack(label)
    if target.startswith("@"):
        user_id = target[1:]
        return _tag("span", "@" + ctx.users.get(user_id, label or user_id), class_="sk-mention",
                    data_user_id=user_id)
    if target.startswith("#"):
        channel_id = target[1:]
        return _tag("span", "#" + ctx.channels.get(channel_id, label or channel_id), class_="sk-channel",
                    data_channel_id=channel_id)
    if target.startswith("!"):
        return _special(target, label, ctx)
    url = _safe_url(_unescape_slack(target))
    shown = _emoji_markup(label or _unescape_slack(target))
    if url:
        return _link(url, shown)
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", target):
        return _tag("span", shown, class_="sk-unsafe-link")  # javascript:, data:, … : the label, inert
    return escape("<" + _unescape_slack(body) + ">")  # not a Slack token at all: the text as written


def _emoji_markup(text: str) -> Markup:
    """Plain text with known emoji shortcodes as characters (what plain_text with emoji:true shows)."""
    out, position = [], 0
    for match in _EMOJI.finditer(text):
        char = EMOJI.get(match.group(1))
        if char:
            out.append(escape(text[position:match.start()]))
            out.append(_tag("span", char, class_="sk-emoji", title=match.group(0)))
            position = match.end()
    out.append(escape(text[position:]))
    return _join(out)


def _special(target: str, label: str, ctx: _Ctx) -> Markup:
    """<!here> <!channel> <!everyone> <!subteam^S…> <!date^…>: inert labels (and dates in the viewer's zone)."""
    command, *args = target[1:].split("^")
    if command in ("here", "channel", "everyone"):
        return _tag("span", "@" + command, class_="sk-mention sk-broadcast")
    if command == "subteam" and args:
        name = ctx.users.get(args[0]) or label.lstrip("@") or args[0]
        return _tag("span", "@" + name, class_="sk-mention sk-usergroup", data_usergroup_id=args[0])
    if command == "date" and len(args) >= 2:
        return _date(args, label, ctx)
    return _tag("span", label or target, class_="sk-special")


# -- dates --------------------------------------------------------------------------------------

def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date_words(moment: datetime, token: str, today: date) -> str:
    """One of Slack's {date…}/{time…} tokens for a local datetime."""
    day = moment.date()
    forms = {
        "date_num": moment.strftime("%Y-%m-%d"),
        "date": f"{moment:%B} {_ordinal(day.day)}, {day.year}",
        "date_short": f"{moment:%b} {day.day}, {day.year}",
        "date_long": f"{moment:%A}, {moment:%B} {_ordinal(day.day)}, {day.year}",
        "time": moment.strftime("%H:%M"),
        "time_secs": moment.strftime("%H:%M:%S"),
    }
    if token in forms:
        return forms[token]
    if token.endswith("_pretty") and token.removesuffix("_pretty") in forms:
        relative = {0: "Today", -1: "Yesterday", 1: "Tomorrow"}.get((day - today).days)
        return relative or forms[token.removesuffix("_pretty")]
    return "{" + token + "}"


def _date(args: list[str], fallback: str, ctx: _Ctx) -> Markup:
    """<!date^epoch^format[^link]|fallback> in the viewer's zone (the fallback when it can't be read)."""
    try:
        moment = datetime.fromtimestamp(int(args[0]), tz=ctx.tz)
    except (ValueError, OverflowError, OSError):
        return _tag("span", fallback, class_="sk-date")
    today = ctx.today()
    words = re.sub(r"\{([a-z_]+)\}", lambda m: _date_words(moment, m.group(1), today), _unescape_slack(args[1]))
    shown = _tag("time", words, datetime=moment.isoformat(), title=fallback or None, class_="sk-date")
    url = _safe_url(_unescape_slack(args[2])) if len(args) > 2 else None
    return _link(url, shown) if url else shown


# -- text objects -------------------------------------------------------------------------------

def plain(text: Any, *, emoji: bool = True) -> Markup:
    """A plain_text object (or a string) as escaped HTML, with emoji shortcodes as characters."""
    if isinstance(text, Mapping):
        emoji = bool(text.get("emoji", True))
        text = text.get("text", "")
    text = _CONTROL.sub("", str(text or ""))
    return _emoji_markup(text) if emoji else escape(text)


def _text(obj: Any, ctx: _Ctx) -> Markup:
    """A text object: mrkdwn or plain_text."""
    if isinstance(obj, Mapping) and obj.get("type") == "mrkdwn":
        return _mrkdwn(obj.get("text", ""), ctx)
    return plain(obj)


# -- blocks -------------------------------------------------------------------------------------

def blocks(blocks: Sequence[Any], *, users: Mapping[str, str], channels: Mapping[str, str], tz: ZoneInfo,
           now: datetime | None = None, container: Mapping[str, str] | None = None) -> Markup:
    """A list of Block Kit blocks; `container` holds the data-* attributes actions carry (data_ts=…)."""
    return _blocks(blocks, _Ctx(users, channels, tz, now, dict(container or {})), errors={})


def _blocks(items: Sequence[Any], ctx: _Ctx, *, errors: Mapping[str, str]) -> Markup:
    out = []
    for block in items or []:
        if isinstance(block, Mapping):
            out.append(_block(block, ctx, errors))
    return _join(out)


def _block(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    kind = block.get("type")
    block_id = block.get("block_id")
    render = _BLOCKS.get(str(kind))
    if render is None:
        return _tag("div", Markup("Unsupported block: {}").format(kind), class_="sk-block sk-unsupported",
                    data_block_id=block_id)
    body = render(block, ctx, errors)
    return _tag("div", body, class_=f"sk-block sk-{kind}", data_block_id=block_id)


def _header(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    return _tag("h3", plain(block.get("text")), class_="sk-header-text")


def _section(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    parts = []
    if block.get("text"):
        parts.append(_tag("div", _text(block["text"], ctx), class_="sk-text"))
    if block.get("fields"):
        parts.append(_tag("div", _join(_tag("div", _text(f, ctx), class_="sk-field") for f in block["fields"]),
                          class_="sk-fields"))
    main = _tag("div", _join(parts), class_="sk-section-main")
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        return main + _tag("div", _element(accessory, block, ctx), class_="sk-accessory")
    return main


def _context(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    out = []
    for element in block.get("elements") or []:
        if isinstance(element, Mapping) and element.get("type") == "image":
            out.append(_image_tag(element, class_="sk-context-image"))
        elif isinstance(element, Mapping):
            out.append(_tag("span", _text(element, ctx), class_="sk-context-text"))
    return _join(out)


def _divider(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    return _tag("hr")


def _actions(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    return _join(_element(e, block, ctx) for e in block.get("elements") or [] if isinstance(e, Mapping))


def _image_tag(element: Mapping[str, Any], **attributes: Any) -> Markup:
    url = _safe_url(element.get("image_url"), ("http://", "https://"))
    alt = element.get("alt_text", "")
    if url is None:
        return _tag("span", Markup("[image: {}]").format(alt), class_="sk-image-missing")
    return _tag("img", src=url, alt=alt, loading="lazy", **attributes)


def _image(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    title = _tag("figcaption", plain(block["title"])) if block.get("title") else Markup("")
    return _tag("figure", title + _image_tag(block, class_="sk-image-img"))


# -- rich text ----------------------------------------------------------------------------------

def _rich_text(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    return _join(_rich_part(part, ctx) for part in block.get("elements") or [] if isinstance(part, Mapping))


def _table(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    """A table block: the first row as headers; raw_text cells as text, rich_text cells as rich text."""
    settings = [s if isinstance(s, Mapping) else {} for s in block.get("column_settings") or []]

    def cell(value: Any, column: int, tag: str) -> Markup:
        align = settings[column].get("align") if column < len(settings) else None
        class_ = f"sk-align-{align}" if align in ("center", "right") else None
        if isinstance(value, Mapping) and value.get("type") == "rich_text":
            return _tag(tag, _rich_text(value, ctx, errors), class_=class_)
        return _tag(tag, value.get("text", "") if isinstance(value, Mapping) else "", class_=class_)

    rows = [row for row in block.get("rows") or [] if isinstance(row, list)]
    body = [_tag("tr", _join(cell(v, i, "th" if n == 0 else "td") for i, v in enumerate(row))) for n, row in enumerate(rows)]
    return _tag("table", _join(body), class_="sk-table")


def _rich_part(part: Mapping[str, Any], ctx: _Ctx) -> Markup:
    kind = part.get("type")
    inner = _join(_rich_element(e, ctx) for e in part.get("elements") or [] if isinstance(e, Mapping))
    if kind == "rich_text_section":
        return _tag("div", inner, class_="sk-rt-section")
    if kind == "rich_text_quote":
        return _tag("blockquote", inner, class_="sk-quote")
    if kind == "rich_text_preformatted":
        return _tag("pre", inner, class_="sk-pre")
    if kind == "rich_text_list":
        items = _join(_tag("li", _rich_part(item, ctx)) for item in part.get("elements") or []
                      if isinstance(item, Mapping))
        indent = part.get("indent", 0) if isinstance(part.get("indent"), int) else 0
        return _tag("ol" if part.get("style") == "ordered" else "ul", items, class_=f"sk-rt-list sk-indent-{indent}")
    return _rich_element(part, ctx)


def _rich_element(element: Mapping[str, Any], ctx: _Ctx) -> Markup:
    kind = element.get("type")
    if kind == "text":
        lines = str(element.get("text", "")).split("\n")
        shown = Markup("<br>").join(escape(_CONTROL.sub("", line)) for line in lines)
    elif kind == "link":
        url = _safe_url(element.get("url"))
        label = escape(element.get("text") or element.get("url") or "")
        shown = _link(url, label) if url else _tag("span", label, class_="sk-unsafe-link")
    elif kind == "user":
        user_id = str(element.get("user_id", ""))
        shown = _tag("span", "@" + ctx.users.get(user_id, user_id), class_="sk-mention", data_user_id=user_id)
    elif kind == "usergroup":
        group = str(element.get("usergroup_id", ""))
        shown = _tag("span", "@" + ctx.users.get(group, group), class_="sk-mention sk-usergroup")
    elif kind == "channel":
        channel_id = str(element.get("channel_id", ""))
        shown = _tag("span", "#" + ctx.channels.get(channel_id, channel_id), class_="sk-channel")
    elif kind == "broadcast":
        shown = _tag("span", "@" + str(element.get("range", "here")), class_="sk-mention sk-broadcast")
    elif kind == "emoji":
        name = str(element.get("name", ""))
        shown = _tag("span", EMOJI.get(name) or element.get("unicode_char") or f":{name}:", class_="sk-emoji",
                     title=f":{name}:")
    elif kind == "date":
        args = [str(element.get("timestamp", "")), str(element.get("format", "{date_num}"))]
        if element.get("url"):
            args.append(str(element["url"]))
        shown = _date(args, str(element.get("fallback", "")), ctx)
    elif kind in ("rich_text_section", "rich_text_list", "rich_text_quote", "rich_text_preformatted"):
        return _rich_part(element, ctx)
    else:
        return _tag("span", Markup("[{}]").format(kind), class_="sk-unsupported")
    for style, tag in (("code", "code"), ("strike", "s"), ("italic", "i"), ("bold", "b")):
        if (element.get("style") or {}).get(style):
            shown = _tag(tag, shown)
    return shown


# -- interactive elements (messages, Home, non-input modal blocks) ------------------------------

def _action_attrs(element: Mapping[str, Any], block: Mapping[str, Any], ctx: _Ctx) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "data_action_id": element.get("action_id"), "data_block_id": block.get("block_id"),
        "data_type": element.get("type"),
    }
    attributes.update(ctx.container)
    confirm = element.get("confirm")
    if isinstance(confirm, Mapping):
        attributes.update(
            data_confirm_title=str(plain(confirm.get("title")).striptags()),
            data_confirm_text=str(_text(confirm.get("text"), ctx).striptags()),
            data_confirm_ok=str(plain(confirm.get("confirm") or "Yes").striptags()),
            data_confirm_deny=str(plain(confirm.get("deny") or "Cancel").striptags()),
        )
    return attributes


def _options(element: Mapping[str, Any], selected: Iterable[str], *, placeholder: Any = None) -> Markup:
    """<option>s (and <optgroup>s) of a select; `selected` values are preselected."""
    chosen = set(selected)
    out = [_tag("option", plain(placeholder) if placeholder else "", value="")] if placeholder is not False else []

    def option(o: Mapping[str, Any]) -> Markup:
        return _tag("option", plain(o.get("text")), value=o.get("value", ""), selected=o.get("value") in chosen)

    out += [option(o) for o in element.get("options") or [] if isinstance(o, Mapping)]
    for group in element.get("option_groups") or []:
        out.append(_tag("optgroup", _join(option(o) for o in group.get("options") or []),
                        label=str(plain(group.get("label")).striptags())))
    return _join(out)


def _people(names: Mapping[str, str], prefix: str, selected: Iterable[str]) -> Markup:
    """Options for a users or conversations select: people (not user groups) or channels, by name."""
    chosen = set(selected)
    shown = [(key, name) for key, name in names.items() if prefix == "#" or not key.startswith("S")]
    return _join(_tag("option", prefix + name, value=key, selected=key in chosen)
                 for key, name in sorted(shown, key=lambda kv: kv[1].lower()))


def _element(element: Mapping[str, Any], block: Mapping[str, Any], ctx: _Ctx) -> Markup:
    """An interactive element or an image accessory, carrying the block_actions attributes."""
    kind = element.get("type")
    if kind == "image":
        return _image_tag(element, class_="sk-accessory-image")
    attributes = _action_attrs(element, block, ctx)
    classes = "sk-action"
    if kind == "button":
        classes += " sk-button" + (f" sk-{element['style']}" if element.get("style") in ("primary", "danger") else "")
        url = _safe_url(element.get("url"))
        label = plain(element.get("text"))
        if url:
            return _link(url, label, class_=classes, data_url=url, data_value=element.get("value"), **attributes)
        return _tag("button", label, type="button", class_=classes, data_value=element.get("value"), **attributes)
    if kind in ("static_select", "overflow", "radio_buttons"):
        initial = element.get("initial_option") or {}
        placeholder = element.get("placeholder") or ("⋯" if kind == "overflow" else "Select an item")
        return _tag("select", _options(element, [initial.get("value")], placeholder=placeholder),
                    class_=classes + f" sk-select sk-{kind}", **attributes)
    if kind in ("users_select", "conversations_select", "channels_select"):
        names, prefix = (ctx.users, "@") if kind == "users_select" else (ctx.channels, "#")
        initial = element.get("initial_user") or element.get("initial_conversation") or element.get("initial_channel")
        return _tag("select", _tag("option", plain(element.get("placeholder") or "Select"), value="")
                    + _people(names, prefix, [initial] if initial else []), class_=classes + " sk-select", **attributes)
    if kind == "datepicker":
        return _tag("input", type="date", value=element.get("initial_date"), class_=classes, **attributes)
    if kind == "timepicker":
        return _tag("input", type="time", value=element.get("initial_time"), class_=classes, **attributes)
    if kind == "checkboxes":
        chosen = {o.get("value") for o in element.get("initial_options") or []}
        return _join(_tag("label", _tag("input", type="checkbox", value=o.get("value"), checked=o.get("value") in chosen,
                                        class_=classes, **attributes) + _text(o.get("text"), ctx), class_="sk-choice")
                     for o in element.get("options") or [])
    return _tag("span", Markup("[{}]").format(kind), class_="sk-unsupported", **attributes)


# -- input blocks (modals, Home) ----------------------------------------------------------------

_TEXT_INPUT_TYPES = {"plain_text_input": "text", "email_text_input": "email", "url_text_input": "url",
                     "number_input": "number"}
_EXTERNAL = frozenset({"external_select", "multi_external_select"})


def _input(block: Mapping[str, Any], ctx: _Ctx, errors: Mapping[str, str]) -> Markup:
    block_id = str(block.get("block_id", ""))
    element = block.get("element") if isinstance(block.get("element"), Mapping) else {}
    field_id = f"sk-field-{block_id}"
    optional = Markup(" ") + _tag("span", "(optional)", class_="sk-optional") if block.get("optional") else Markup("")
    label = _tag("label", plain(block.get("label")) + optional, for_=field_id, class_="sk-label")
    field = _field(element, block, field_id, ctx)
    hint = _tag("div", plain(block.get("hint")), class_="sk-hint") if block.get("hint") else Markup("")
    error = errors.get(block_id)
    shown_error = _tag("div", error, class_="sk-error", role="alert", data_error_for=block_id) if error else Markup("")
    return label + field + shown_error + hint


def _field(element: Mapping[str, Any], block: Mapping[str, Any], field_id: str, ctx: _Ctx) -> Markup:
    """The form control(s) of one input block, named by its block_id."""
    kind = str(element.get("type"))
    name = str(block.get("block_id", ""))
    required = not block.get("optional", False)
    common: dict[str, Any] = {"name": name, "id": field_id, "data_action_id": element.get("action_id"),
                              "data_type": kind, "class_": "sk-input"}
    placeholder = str(plain(element["placeholder"]).striptags()) if element.get("placeholder") else None
    if kind in ("plain_text_input", "rich_text_input") and (element.get("multiline") or kind == "rich_text_input"):
        return _tag("textarea", element.get("initial_value") or "", placeholder=placeholder, required=required,
                    minlength=element.get("min_length"), maxlength=element.get("max_length"), rows=4, **common)
    if kind in _TEXT_INPUT_TYPES:
        extra: dict[str, Any] = {}
        if kind == "plain_text_input":
            extra = {"minlength": element.get("min_length"), "maxlength": element.get("max_length")}
        if kind == "number_input":
            extra = {"step": "any" if element.get("is_decimal_allowed") else "1",
                     "min": element.get("min_value"), "max": element.get("max_value")}
        return _tag("input", type=_TEXT_INPUT_TYPES[kind], value=element.get("initial_value"),
                    placeholder=placeholder, required=required, **extra, **common)
    if kind in ("static_select", "multi_static_select"):
        multi = kind.startswith("multi_")
        initial = element.get("initial_options") if multi else [element.get("initial_option")]
        selected = [o.get("value") for o in initial or [] if isinstance(o, Mapping)]
        return _tag("select", _options(element, selected, placeholder=False if multi else (placeholder or "Select an item")),
                    multiple=multi, required=required, **common)
    if kind in _EXTERNAL:
        return _tag("div", "Options come from the app (external select); not available in the sandbox.",
                    class_="sk-note sk-disabled", id=field_id, data_type=kind)
    if kind in ("checkboxes", "radio_buttons"):
        kind_of = "checkbox" if kind == "checkboxes" else "radio"
        initial = element.get("initial_options") or ([element["initial_option"]] if element.get("initial_option") else [])
        chosen = {o.get("value") for o in initial}
        choices = []
        for number, option in enumerate(element.get("options") or []):
            description = (_tag("span", _text(option["description"], ctx), class_="sk-description")
                           if option.get("description") else Markup(""))
            box = _tag("input", type=kind_of, name=name, value=option.get("value"), checked=option.get("value") in chosen,
                       id=f"{field_id}-{number}", data_action_id=element.get("action_id"), data_type=kind,
                       required=required and kind_of == "radio")
            choices.append(_tag("label", box + _tag("span", _text(option.get("text"), ctx)) + description,
                                class_="sk-choice", for_=f"{field_id}-{number}"))
        return _tag("div", _join(choices), class_="sk-choices", id=field_id)
    if kind == "datepicker":
        return _tag("input", type="date", value=element.get("initial_date"), required=required, **common)
    if kind == "timepicker":
        return _tag("input", type="time", value=element.get("initial_time"), required=required, **common)
    if kind == "datetimepicker":
        initial = element.get("initial_date_time")
        value = datetime.fromtimestamp(int(initial), tz=ctx.tz).strftime("%Y-%m-%dT%H:%M") if initial else None
        return _tag("input", type="datetime-local", value=value, required=required, data_tz=ctx.tz.key, **common)
    if kind in ("users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
                "channels_select", "multi_channels_select"):
        multi = kind.startswith("multi_")
        names, prefix = (ctx.users, "@") if "users" in kind else (ctx.channels, "#")
        initial = [element.get(k) for k in ("initial_user", "initial_conversation", "initial_channel") if element.get(k)]
        for key in ("initial_users", "initial_conversations", "initial_channels"):
            initial += list(element.get(key) or [])
        empty = Markup("") if multi else _tag("option", placeholder or "Select", value="")
        return _tag("select", empty + _people(names, prefix, initial), multiple=multi, required=required, **common)
    if kind == "file_input":
        accept = ",".join("." + t.lstrip(".") for t in element.get("filetypes") or []) or None
        return _tag("input", type="file", multiple=element.get("max_files", 10) != 1, accept=accept,
                    data_max_files=element.get("max_files", 10), required=required, **common)
    return _tag("div", Markup("Unsupported input: {}").format(kind), class_="sk-unsupported", id=field_id)


_BLOCKS: dict[str, Callable[[Mapping[str, Any], _Ctx, Mapping[str, str]], Markup]] = {
    "header": _header, "section": _section, "context": _context, "divider": _divider, "actions": _actions,
    "image": _image, "rich_text": _rich_text, "input": _input, "table": _table,
}


# -- messages and views -------------------------------------------------------------------------

def _ts_time(ts: Any, ctx: _Ctx) -> Markup:
    try:
        moment = datetime.fromtimestamp(float(ts), tz=ctx.tz)
    except (TypeError, ValueError, OverflowError, OSError):
        return Markup("")
    today = ctx.today()
    words = _date_words(moment, "time", today)
    if moment.date() != today:
        words = f"{_date_words(moment, 'date_short_pretty', today)} {words}"
    return _tag("time", words, datetime=moment.isoformat(), class_="sk-ts")


def message(msg: Mapping[str, Any], *, users: Mapping[str, str], channels: Mapping[str, str], tz: ZoneInfo,
            now: datetime | None = None, channel: str | None = None) -> Markup:
    """One message as the fake stores it: author, time, its blocks (else its text), files, attachments."""
    channel = channel or msg.get("channel")
    container = {"data_ts": msg.get("ts"), "data_channel": channel}
    ctx = _Ctx(users, channels, tz, now, {k: v for k, v in container.items() if v})
    author = str(msg.get("user") or msg.get("bot_id") or "")
    head = (_tag("span", users.get(author, author or "app"), class_="sk-author", data_user_id=author or None)
            + _ts_time(msg.get("ts"), ctx)
            + (_tag("span", "(edited)", class_="sk-edited") if msg.get("edited") else Markup("")))
    body = (_blocks(msg["blocks"], ctx, errors={}) if msg.get("blocks")
            else _tag("div", _mrkdwn(msg.get("text", ""), ctx), class_="sk-text"))
    files = _join(_tag("div", _tag("span", "📎", class_="sk-emoji") + " "
                       + _tag("span", f.get("title") or f.get("name") or f.get("id"), class_="sk-file-title")
                       + (_tag("span", f.get("name"), class_="sk-file-name")
                          if f.get("name") and f.get("name") != f.get("title") else Markup("")),
                       class_="sk-file", data_file_id=f.get("id"))
                  for f in msg.get("files") or [] if isinstance(f, Mapping))
    attachments = _join(_attachment(a, ctx) for a in msg.get("attachments") or [] if isinstance(a, Mapping))
    thread_ts = msg.get("thread_ts")
    reply = bool(thread_ts and thread_ts != msg.get("ts"))
    return _tag("div", _tag("div", head, class_="sk-message-head") + body + files + attachments,
                class_="sk-message" + (" sk-reply" if reply else ""), data_ts=msg.get("ts"),
                data_thread_ts=thread_ts, data_channel=channel)


def _attachment(attachment: Mapping[str, Any], ctx: _Ctx) -> Markup:
    """A legacy attachment: colour bar, its blocks or pretext/title/text/fields."""
    color = attachment.get("color")
    style = f"border-left-color: {color}" if isinstance(color, str) and re.fullmatch(r"#?[0-9A-Fa-f]{3,8}|good|warning|danger", color) else None
    if attachment.get("blocks"):
        inner = _blocks(attachment["blocks"], ctx, errors={})
    else:
        parts = [_tag("div", _mrkdwn(attachment[key], ctx), class_=f"sk-attachment-{key}")
                 for key in ("pretext", "title", "text") if attachment.get(key)]
        parts += [_tag("div", _tag("b", f.get("title", "")) + _tag("div", _mrkdwn(f.get("value", ""), ctx)), class_="sk-field")
                  for f in attachment.get("fields") or [] if isinstance(f, Mapping)]
        inner = _join(parts)
    return _tag("div", inner, class_="sk-attachment", style=style)


def modal(view: Mapping[str, Any], *, errors: Mapping[str, str], users: Mapping[str, str],
          channels: Mapping[str, str], tz: ZoneInfo, now: datetime | None = None) -> Markup:
    """A modal view as an HTML form whose fields are named by their input block_id (see the module doc)."""
    ctx = _Ctx(users, channels, tz, now, {"data_view_id": view["id"]} if view.get("id") else {})
    close = plain(view.get("close") or "Cancel")
    footer = _tag("button", close, type="button", class_="sk-button sk-modal-close", data_view_id=view.get("id"))
    if view.get("submit"):
        footer += _tag("button", plain(view["submit"]), type="submit", class_="sk-button sk-primary sk-modal-submit",
                       disabled=bool(view.get("submit_disabled")))
    form = (_tag("header", _tag("h2", plain(view.get("title"))) + _tag("button", "×", type="button",
                                                                       class_="sk-modal-x sk-modal-close",
                                                                       aria_label="Close", data_view_id=view.get("id")),
                 class_="sk-modal-title")
            + _tag("div", _blocks(view.get("blocks") or [], ctx, errors=errors), class_="sk-modal-body")
            + _tag("footer", footer, class_="sk-modal-footer"))
    return _tag("div", _tag("form", form, class_="sk-modal", method="post", enctype="multipart/form-data",
                            data_view_id=view.get("id"), data_callback_id=view.get("callback_id"),
                            data_view_hash=view.get("hash")),
                class_="sk-modal-overlay")


def home(view: Mapping[str, Any], *, users: Mapping[str, str], channels: Mapping[str, str], tz: ZoneInfo,
         now: datetime | None = None) -> Markup:
    """An App Home (type home) view's blocks."""
    ctx = _Ctx(users, channels, tz, now, {"data_view_id": view["id"]} if view.get("id") else {})
    return _tag("div", _blocks(view.get("blocks") or [], ctx, errors={}), class_="sk-home", data_view_id=view.get("id"))


# -- submitted forms ----------------------------------------------------------------------------

_MULTI = frozenset({"multi_static_select", "checkboxes", "multi_users_select", "multi_conversations_select",
                    "multi_channels_select", "file_input"})


def form_values(view: Mapping[str, Any], form: Mapping[str, Sequence[str]], *, tz: ZoneInfo = UTC,
                files: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The submitted form (parse_qs output) as the `values` of fakeslack.sender.fill_state, keyed by block_id.

    Every input block the form shows gets a value (None when left empty, as Slack reports a blank
    field); external selects, which the form can't show, get their initial option (or are left out).
    """
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        kind = element.get("type")
        block_id = str(block.get("block_id"))
        if kind in _EXTERNAL:  # not shown in the form: what Slack reports for it untouched
            initial = element.get("initial_options") if kind.startswith("multi_") else element.get("initial_option")
            if initial:
                values[block_id] = copy.deepcopy(initial)
            continue
        given = [v for v in form.get(block_id, []) if v != ""]
        if kind in _MULTI:
            if kind == "file_input":
                values[block_id] = [dict((files or {}).get(v) or {"id": v}) for v in given] or None
            else:
                values[block_id] = given or None
        elif not given:
            values[block_id] = None
        elif kind == "datetimepicker":
            values[block_id] = int(datetime.strptime(given[0][:16], "%Y-%m-%dT%H:%M").replace(tzinfo=tz).timestamp())
        elif kind == "timepicker":
            values[block_id] = given[0][:5]
        elif kind == "rich_text_input":
            text = given[0].replace("\r\n", "\n")
            values[block_id] = {"type": "rich_text", "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}
        elif kind in ("plain_text_input", "email_text_input", "url_text_input"):
            values[block_id] = given[0].replace("\r\n", "\n")  # browsers submit textarea lines as CRLF
        else:
            values[block_id] = given[0]
    return values
