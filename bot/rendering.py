"""Jinja for words: one environment, strict undefined, and escaping on by default.

Every `{{ value }}` is escaped for Slack mrkdwn (`& < >`), so user text can never become a
mention, a link or `@channel`. Only values wrapped in `Mrkdwn` (made by the filters below from
validated ids and URLs) pass through unescaped.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.domain.durations import format_duration
from bot.slack.ids import GROUP_ID, MENTIONABLE_USER

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
ELLIPSIS = "…"
_SAFE_URL = re.compile(r"^(https?|mailto|tel):[^\s<>|\\]+$", re.IGNORECASE)  # no backslash: browsers read it as /


class Mrkdwn(str):
    """Text that is already valid, safe Slack mrkdwn."""


def escape_mrkdwn(value: Any) -> str:
    """Slack's three control characters, escaped as Slack documents."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis (never rejected by Slack for length)."""
    text = str(text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def clip_mrkdwn(text: str, limit: int) -> str:
    """Clip already-rendered mrkdwn without cutting an escape like `&amp;` or a `<…>` token in half."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp, lt = cut.rfind("&"), cut.rfind("<")
    if amp > cut.rfind(";"):
        cut = cut[:amp]
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    return cut.rstrip() + ELLIPSIS


def md_clip(text: Any, limit: int) -> Mrkdwn:
    """Clip text that is already rendered mrkdwn (a macro's output) without escaping it twice."""
    return Mrkdwn(clip_mrkdwn(str(text), limit))


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Mrkdwn):
        return value
    return escape_mrkdwn(value)


def mention(user_id: str | None) -> Mrkdwn:
    if user_id and MENTIONABLE_USER.match(user_id):
        return Mrkdwn(f"<@{user_id}>")
    if user_id and GROUP_ID.match(user_id):
        return Mrkdwn(f"<!subteam^{user_id}>")
    return Mrkdwn(escape_mrkdwn(user_id or "someone"))


def link(url: str | None, label: str | None = None) -> Mrkdwn:
    if not url or not _SAFE_URL.match(url):
        return Mrkdwn(escape_mrkdwn(label or url or ""))
    label = escape_mrkdwn(label).replace("|", "¦") if label else ""
    return Mrkdwn(f"<{url}|{label}>" if label else f"<{url}>")


_HTTP_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$", re.IGNORECASE)


def href(url: str | None) -> str:
    """A URL fit for an HTML e-mail's href: http(s) only (never `javascript:`, `data:`…), else empty."""
    return url if url and _HTTP_URL.match(url) else ""


def slack_date(moment: datetime, style: str = "{date_short_pretty} at {time}") -> Mrkdwn:
    """Slack renders this in each reader's own time zone; the fallback is UTC."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return Mrkdwn(f"<!date^{int(moment.timestamp())}^{style}|{fallback}>")


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """A moment as the bot's zone reads it, for plain text: `Fri 2026-11-27 10:00 CET`."""
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


def slack_local(moment: datetime, tz: ZoneInfo) -> Mrkdwn:
    """Slack date formatting (each reader sees local time); the fallback is the bot's zone."""
    return Mrkdwn(f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{local_text(moment, tz)}>")


def duration(delta: timedelta) -> str:
    return format_duration(delta)


def quote(text: str) -> Mrkdwn:
    """Block-quote escaped text line by line (a literal `>` marker; the user's own `>` are escaped)."""
    return Mrkdwn("\n".join("> " + escape_mrkdwn(line) if line.strip() else ">" for line in str(text).splitlines()))


def code(text: str) -> Mrkdwn:
    """A preformatted block; backtick fences in user text are defused."""
    return Mrkdwn("```" + escape_mrkdwn(str(text).replace("```", "ˋˋˋ")) + "```")


def utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def seconds(value: int | float) -> str:
    return format_duration(timedelta(seconds=int(value)))


def plain_person(user_id: str | None) -> str:
    return f"@{user_id}" if user_id else "someone"


def thousands(value: int) -> str:
    return f"{value:,}"


class Renderer:
    """Renders templates/…; the only place words for Slack and e-mail are written."""

    def __init__(self, directory: Path = TEMPLATES):
        self.env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            finalize=_finalize,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters.update(
            clip=clip, mention=mention, link=link, slack_date=slack_date, duration=duration,
            quote=quote, code=code, thousands=thousands, escape_mrkdwn=escape_mrkdwn, utc=utc_text,
            who=mention, seconds=seconds, md_clip=md_clip, when=slack_local,
            people=lambda ids: Mrkdwn(", ".join(mention(i) for i in ids)),
        )

        # E-mail is not mrkdwn: HTML templates get HTML autoescaping, text templates none.
        self.email_env = Environment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.email_env.filters.update(clip=clip, duration=duration, thousands=thousands, utc=utc_text,
                                      who=plain_person, seconds=seconds, href=href, when=local_text,
                                      md_clip=md_clip, people=lambda ids: ", ".join(plain_person(i) for i in ids))

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context).strip()

    def render_email(self, name: str, **context: Any) -> str:
        return self.email_env.get_template(name).render(**context).strip() + "\n"

    def render_text_block(self, name: str, block: str, **context: Any) -> str:
        """One `{% block %}` of a mrkdwn template rendered as plain text instead (the command line): no
        escaping, people as `@U…`, times in the bot's zone rather than Slack date tokens. The template
        may use only the filters both environments share."""
        template = self.email_env.get_template(name)
        return "".join(template.blocks[block](template.new_context(context))).strip()

    def render_block(self, name: str, block: str, **context: Any) -> str:
        """Render one `{% block %}` of a template (a template file may hold several short texts)."""
        template = self.env.get_template(name)
        return "".join(template.blocks[block](template.new_context(context))).strip()

    def render_blocks(self, name: str, **context: Any) -> dict[str, str]:
        template = self.env.get_template(name)
        return {block: "".join(render(template.new_context(context))).strip() for block, render in template.blocks.items()}
