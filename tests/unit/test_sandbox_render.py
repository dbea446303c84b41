"""The sandbox's HTML: Slack's mrkdwn and Block Kit as the browser shows them, inert whatever users typed,
and modal forms that submit what fakeslack.sender.fill_state takes."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain.severity import Severity
from bot.domain.tickets import TicketStatus
from bot.rendering import Renderer
from bot.services.readmodel import TicketView
from bot.slack.blocks import (
    HomeHeading, HomeMore, HomeRow, card_buttons, escalate_modal, home_view, new_escalation_modal, notice_blocks, postmortem_modal, reassign_modal,
    resolve_modal, systemic_blocks, ticket_card_blocks, update_modal,
)
from bot.slack.ids import Action
from fakeslack.blocks import assign_ids
from fakeslack.sender import fill_state
from sandbox import render
from tests.policies import open_seed_policy

POLICY = open_seed_policy()
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
USERS = {"U0AGENT": "agent", "U0L3ENG": "l3eng", "U0REPORT": "reporter", "S0ONCALL": "eng-oncall"}
CHANNELS = {"C0L3": "support-l3", "C0GENERAL": "general"}
CTX: dict[str, Any] = dict(users=USERS, channels=CHANNELS, tz=BERLIN, now=NOW)
VOID = {"input", "img", "hr", "br"}


class _Balance(HTMLParser):
    """Checks that every element the renderer opens is closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def parsed(html: str) -> _Balance:
    """The HTML parsed; it must be balanced."""
    parser = _Balance()
    parser.feed(str(html))
    parser.close()
    assert parser.problems == [] and parser.stack == [], (parser.problems, parser.stack, str(html)[:500])
    return parser


def tags(html: str, name: str, /, **where: str | None) -> list[dict[str, str | None]]:
    """The attributes of each `name` element that has these attributes (None: present without a value)."""
    return [attrs for tag, attrs in parsed(html).tags
            if tag == name and all(k in attrs and attrs[k] == v for k, v in where.items())]


class _Browser(HTMLParser):
    """What a browser submits for a form left as rendered: text fields, checked boxes, selected options."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form: dict[str, list[str]] = {}
        self.fields: dict[str, str] = {}  # name -> input type / "select" / "textarea"
        self._select: tuple[str, bool] | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.form.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text") or "text"
            self.fields.setdefault(name, kind)
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._add(name, attrs.get("value") or "on")
            elif kind != "file":
                self._add(name, attrs.get("value") or "")
        elif tag == "textarea" and name:
            self.fields[name] = "textarea"
            self._textarea = name
            self._add(name, "")
        elif tag == "select" and name:
            self.fields[name] = "select"
            self._select = (name, "multiple" in attrs)
            self._first: str | None = None
            self._chose = False
        elif tag == "option" and self._select:
            name, multiple = self._select
            if self._first is None:
                self._first = attrs.get("value") or ""
            if "selected" in attrs:
                self._add(name, attrs.get("value") or "")
                self._chose = True

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.form[self._textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        if tag == "select" and self._select:
            name, multiple = self._select
            if not multiple and not self._chose:
                self._add(name, self._first or "")
            self._select = None


def submitted(html: str, **changes: list[str]) -> dict[str, list[str]]:
    """The form as the browser posts it (parse_qs shape), with the user's changes."""
    browser = _Browser()
    browser.feed(str(html))
    form = {name: values for name, values in browser.form.items()}
    form.update(changes)
    return form


def stored(view: dict[str, Any], view_id: str = "V0TEST") -> dict[str, Any]:
    """A view as the fake stores it: ids assigned."""
    return {**copy.deepcopy(view), "id": view_id, "blocks": assign_ids(view.get("blocks", []))}


def stored_message(blocks: list[dict[str, Any]] | None, text: str = "", **extra: Any) -> dict[str, Any]:
    return {"ts": "1795770000.000100", "channel": "C0L3", "user": "UBOT", "text": text,
            "blocks": assign_ids(blocks) if blocks else None, "thread_ts": None, "edited": None,
            "attachments": None, "metadata": None, "files": None, **extra}


def card(**overrides: Any) -> TicketView:
    values: dict[str, Any] = dict(
        id=42, ref="ESC-42", title="Payroll <script>alert(1)</script> 502", category="Security incidents and breaches",
        severity=Severity.CRITICAL, status=TicketStatus.OPEN, level=POLICY.level("L3"), reporter_id="U0REPORT",
        created_at=NOW, level_entered_at=NOW, response_sla=timedelta(minutes=15), response_due_at=NOW + timedelta(minutes=15),
        description='"><img src=x onerror=alert(1)>', error_messages="502 Bad Gateway", troubleshooting="Restarted",
        business_impact="Finance <!channel> can't run payroll", affected_users=300, affected_share=30.0,
        links=("https://logs.example/x", "javascript:alert(1)"),
        attachments=({"id": "F1", "name": "lb.log", "permalink": "https://files.slack.com/F1"},),
        triggers=("Security incident or suspected breach",), customer_executive=True, regulatory=False,
        hotline=(POLICY.contact("l3_oncall"), POLICY.contact("security")),
    )
    values.update(overrides)
    return TicketView(**values)


def real_card_message() -> dict[str, Any]:
    parts = Renderer().render_blocks("card.md.j2", t=card())
    blocks = ticket_card_blocks(parts, header=f"{Severity.CRITICAL.emoji} ESC-42 · {card().title}", ticket_id=42,
                                buttons=card_buttons(status=TicketStatus.OPEN, last_level=False, moved=False))
    return stored_message(blocks, text=parts["fallback"])


def no_live_html(html: str) -> None:
    """Nothing a user typed became markup: no script, no handler attribute, no javascript: link."""
    for tag, attrs in parsed(html).tags:
        assert tag not in ("script", "img", "iframe", "style") or (tag == "img" and attrs.get("src", "").startswith("http"))
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)


# -- mrkdwn -------------------------------------------------------------------------------------

def md(text: str, **overrides: Any) -> str:
    return str(render.mrkdwn(text, **{**CTX, **overrides}))


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<javascript:alert(1)|click me>", "<JavaScript:alert(1)>", "<data:text/html,<b>x</b>|x>",
    "*<script>*", "`<img onerror=alert(1)>`", "```\"><svg onload=alert(1)>```", "<https://ok.example/\"onmouseover=\"alert(1)|x>",
    "<@U0AGENT|\"><script>>", "<#C0X|<img onerror=1>>", "<!date^abc^{date}|<script>>", "\ue0000\ue001 placeholder",
])
def test_hostile_text_stays_inert(hostile: str) -> None:
    html = md(hostile)
    no_live_html(html)
    assert "<script" not in html and "<svg" not in html and "<img" not in html


def test_a_javascript_link_shows_its_label_without_a_link() -> None:
    html = md("<javascript:alert(1)|click me>")
    assert "click me" in html and "<a" not in html and "javascript" not in html


def test_broadcast_mentions_are_inert_labels() -> None:
    html = md("<!channel> <!here> <!everyone> <!subteam^S0ONCALL> <!subteam^S0OTHER|@dbas>")
    assert html.count('class="sk-mention sk-broadcast"') == 3
    assert "@channel" in html and "@here" in html and "@everyone" in html
    assert "@eng-oncall" in html and "@dbas" in html and "<a" not in html


@pytest.mark.parametrize("text, expected", [
    ("*bold*", "<b>bold</b>"),
    ("_italic_", "<i>italic</i>"),
    ("~strike~", "<s>strike</s>"),
    ("*bold _and italic_*", "<b>bold <i>and italic</i></b>"),
    ("`x *not bold*`", '<code class="sk-code">x *not bold*</code>'),
    ("```line 1\n*line* 2```", '<pre class="sk-pre">line 1\n*line* 2</pre>'),
    ("a\nb", "a<br>b"),
    ("> quoted\n> more\nafter", '<blockquote class="sk-quote">quoted<br>more</blockquote>after'),
    ("&gt; not a quote", "&gt; not a quote"),
    ("a &amp; b &lt;c&gt;", "a &amp; b &lt;c&gt;"),
    ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
    ("<https://x.example/a?b=1&amp;c=2|the *label*>",
     '<a href="https://x.example/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the *label*</a>'),
    ("<https://x.example>", '<a href="https://x.example" target="_blank" rel="noopener noreferrer">https://x.example</a>'),
    ("<mailto:help@example.com|mail us>", '<a href="mailto:help@example.com" target="_blank" rel="noopener noreferrer">mail us</a>'),
    ("<@U0AGENT>", '<span class="sk-mention" data-user-id="U0AGENT">@agent</span>'),
    ("<@U0NOBODY>", '<span class="sk-mention" data-user-id="U0NOBODY">@U0NOBODY</span>'),
    ("<#C0L3|support-l3>", '<span class="sk-channel" data-channel-id="C0L3">#support-l3</span>'),
    ("<#C0UNKNOWN|war-room>", '<span class="sk-channel" data-channel-id="C0UNKNOWN">#war-room</span>'),
    (":rotating_light: :no_such_emoji:", '<span class="sk-emoji" title=":rotating_light:">🚨</span> :no_such_emoji:'),
    ("*:red_circle: Critical*", '<b><span class="sk-emoji" title=":red_circle:">🔴</span> Critical</b>'),
])
def test_mrkdwn_formatting(text: str, expected: str) -> None:
    html = md(text)
    assert html == expected
    parsed(html)


def test_every_emoji_the_bot_writes_has_a_character() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    used = {name for folder in ("templates", "bot") for path in (root / folder).rglob("*") if path.is_file()
            for name in re.findall(r":([a-z][a-z_]+):", path.read_text(errors="ignore"))}
    used -= {"date", "time"}  # {date_short_pretty} tokens are not emoji
    assert used and used <= set(render.EMOJI), sorted(used - set(render.EMOJI))


def test_date_tokens_are_shown_in_the_viewers_time_zone() -> None:
    moment = int(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc).timestamp())
    token = f"<!date^{moment}^{{date_short_pretty}} at {{time}}|2026-11-27 09:00 UTC>"
    assert ">Today at 10:00</time>" in md(token, tz=BERLIN)
    assert ">Today at 04:00</time>" in md(token, tz=NEW_YORK)
    late = int(datetime(2026, 11, 27, 23, 30, tzinfo=timezone.utc).timestamp())
    every = "{date_num} / {date} / {date_short} / {date_long} / {date_pretty} / {date_short_pretty} / {date_long_pretty} / {time} / {time_secs}"
    berlin = md(f"<!date^{late}^{every}|fallback>", tz=BERLIN)
    new_york = md(f"<!date^{late}^{every}|fallback>", tz=NEW_YORK)
    assert (" / ".join(["2026-11-28", "November 28th, 2026", "Nov 28, 2026", "Saturday, November 28th, 2026", "Tomorrow",
                        "Tomorrow", "Tomorrow", "00:30", "00:30:00"])) in berlin
    assert (" / ".join(["2026-11-27", "November 27th, 2026", "Nov 27, 2026", "Friday, November 27th, 2026", "Today",
                        "Today", "Today", "18:30", "18:30:00"])) in new_york
    assert 'title="fallback"' in berlin


def test_a_date_with_a_link_links_only_to_safe_urls_and_a_broken_date_shows_its_fallback() -> None:
    assert '<a href="https://cal.example/x"' in md("<!date^1795770000^{date}^https://cal.example/x|f>")
    assert "<a" not in md("<!date^1795770000^{date}^javascript:alert(1)|f>")
    assert md("<!date^soon^{date}|2026-11-27 09:00 UTC>") == '<span class="sk-date">2026-11-27 09:00 UTC</span>'


# -- messages and blocks ------------------------------------------------------------------------

EVERY_BLOCK: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: Header <b>", "emoji": True}},
    {"type": "section", "block_id": "sec", "text": {"type": "mrkdwn", "text": "*Section*"},
     "fields": [{"type": "mrkdwn", "text": "*F1*"}, {"type": "plain_text", "text": "F2"}],
     "accessory": {"type": "button", "action_id": "acc_btn", "text": {"type": "plain_text", "text": "Go"}, "value": "v1"}},
    {"type": "section", "block_id": "img", "text": {"type": "plain_text", "text": "pic"},
     "accessory": {"type": "image", "image_url": "https://img.example/a.png", "alt_text": "alt"}},
    {"type": "section", "block_id": "ovf", "text": {"type": "mrkdwn", "text": "more"},
     "accessory": {"type": "overflow", "action_id": "menu", "options": [
         {"text": {"type": "plain_text", "text": "One"}, "value": "one"}]}},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "_ctx_"}, {"type": "plain_text", "text": "plain"},
                                     {"type": "image", "image_url": "https://img.example/i.png", "alt_text": "icon"}]},
    {"type": "divider"},
    {"type": "actions", "block_id": "acts", "elements": [
        {"type": "button", "action_id": "ok", "text": {"type": "plain_text", "text": "OK"}, "value": "7", "style": "primary"},
        {"type": "button", "action_id": "no", "text": {"type": "plain_text", "text": "No"}, "value": "8", "style": "danger",
         "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "mrkdwn", "text": "*Really*"},
                     "confirm": {"type": "plain_text", "text": "Yes"}, "deny": {"type": "plain_text", "text": "No"}}},
        {"type": "button", "action_id": "link", "text": {"type": "plain_text", "text": "Open"}, "url": "https://x.example"},
        {"type": "button", "action_id": "evil", "text": {"type": "plain_text", "text": "Evil"}, "url": "javascript:alert(1)"},
        {"type": "static_select", "action_id": "pick", "placeholder": {"type": "plain_text", "text": "Pick"},
         "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}]},
        {"type": "users_select", "action_id": "who"},
        {"type": "overflow", "action_id": "ovf2", "options": [{"text": {"type": "plain_text", "text": "B"}, "value": "b"}]},
        {"type": "datepicker", "action_id": "when", "initial_date": "2026-11-27"},
    ]},
    {"type": "image", "image_url": "https://img.example/big.png", "alt_text": "big", "title": {"type": "plain_text", "text": "Big"}},
    {"type": "image", "image_url": "javascript:alert(1)", "alt_text": "bad"},
    {"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [
            {"type": "text", "text": "bold<", "style": {"bold": True}}, {"type": "text", "text": " it", "style": {"italic": True}},
            {"type": "text", "text": " st", "style": {"strike": True}}, {"type": "text", "text": " co", "style": {"code": True}},
            {"type": "link", "url": "https://l.example", "text": "link"}, {"type": "link", "url": "javascript:x", "text": "bad"},
            {"type": "user", "user_id": "U0AGENT"}, {"type": "channel", "channel_id": "C0L3"},
            {"type": "emoji", "name": "warning"}, {"type": "date", "timestamp": 1795770000, "format": "{time}", "fallback": "f"},
            {"type": "broadcast", "range": "here"}, {"type": "usergroup", "usergroup_id": "S0ONCALL"}]},
        {"type": "rich_text_list", "style": "ordered", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "first"}]},
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "second"}]}]},
        {"type": "rich_text_list", "style": "bullet", "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": "dot"}]}]},
        {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted"}]},
        {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "pre\ntext"}]},
    ]},
    {"type": "video", "title": {"type": "plain_text", "text": "v"}},
]


def test_every_block_type_renders_with_its_parts() -> None:
    msg = stored_message(EVERY_BLOCK, files=[{"id": "F1", "name": "lb.log", "title": "Load balancer log"}],
                         edited={"user": "UBOT", "ts": "1"}, thread_ts="1795770000.000001")
    html = str(render.message(msg, **CTX))
    no_live_html(html)
    assert "<h3" in html and "🚨</span> Header &lt;b&gt;</h3>" in html
    assert "<b>Section</b>" in html and "<b>F1</b>" in html and "F2" in html
    assert tags(html, "img", src="https://img.example/a.png") and tags(html, "img", src="https://img.example/big.png")
    assert "<figcaption>Big</figcaption>" in html and "[image: bad]" in html
    assert "<i>ctx</i>" in html and tags(html, "hr")
    assert tags(html, "button", **{"data-action-id": "ok", "data-value": "7", "data-ts": msg["ts"], "data-channel": "C0L3"})
    [danger] = tags(html, "button", **{"data-action-id": "no"})
    assert "sk-danger" in (danger["class"] or "") and danger["data-confirm-title"] == "Sure?"
    assert danger["data-confirm-text"] == "Really" and danger["data-confirm-ok"] == "Yes"
    assert tags(html, "a", href="https://x.example", **{"data-action-id": "link", "target": "_blank"})
    assert tags(html, "button", **{"data-action-id": "evil"})  # an unsafe URL is no link, just the button
    assert tags(html, "select", **{"data-action-id": "pick", "data-type": "static_select"})
    assert tags(html, "option", value="U0AGENT") and not tags(html, "option", value="S0ONCALL")
    assert tags(html, "select", **{"data-action-id": "ovf2", "data-type": "overflow"})
    assert tags(html, "select", **{"data-action-id": "menu", "data-block-id": "ovf"})
    assert tags(html, "input", type="date", value="2026-11-27", **{"data-action-id": "when"})
    assert tags(html, "button", **{"data-action-id": "acc_btn", "data-block-id": "sec", "data-value": "v1"})
    assert "<b>bold&lt;</b>" in html and "<i> it</i>" in html and "<s> st</s>" in html and "<code> co</code>" in html
    assert tags(html, "a", href="https://l.example") and "@agent" in html and "#support-l3" in html and "⚠️" in html
    assert "<ol" in html and "<ul" in html and "<li>" in html and "pre<br>text" in html and "@here" in html
    assert "Unsupported block: video" in html
    assert "Load balancer log" in html and "lb.log" in html and "(edited)" in html and "sk-reply" in html


def test_a_message_without_blocks_shows_its_text_and_legacy_attachments() -> None:
    msg = stored_message(None, text="*hi* <@U0AGENT>", attachments=[
        {"color": "#ff0000", "title": "T", "text": "_x_", "fields": [{"title": "k", "value": "v"}]},
        {"color": "red;background:url(javascript:x)", "text": "y"}])
    html = str(render.message(msg, **CTX))
    assert "<b>hi</b>" in html and "@agent" in html and "border-left-color: #ff0000" in html and "<i>x</i>" in html
    assert "javascript" not in html


def test_the_bots_real_ticket_card_renders_with_its_ref_and_buttons() -> None:
    msg = real_card_message()
    html = str(render.message(msg, **CTX))
    no_live_html(html)
    assert "ESC-42" in html and "🔴" in html and "1-800-ENG-HELP" in html
    # the bot escaped what the reporter typed, so it shows as the text they typed: no tag, no broadcast
    assert "Payroll &lt;script&gt;alert(1)&lt;/script&gt; 502" in html and "Finance &lt;!channel&gt; can" in html
    assert "@channel" not in html and "sk-broadcast" not in html
    actions = tags(html, "button", **{"data-block-id": "card_actions"})
    assert [a["data-action-id"] for a in actions] == [
        "ticket_acknowledge", "ticket_escalate", "ticket_post_update", "ticket_resolve", "ticket_subscribe"]
    assert all(a["data-value"] == "42" and a["data-ts"] == msg["ts"] and a["data-channel"] == "C0L3" for a in actions)
    assert ">Today at 10:00</time>" in html  # reported at 09:00 UTC, seen from Berlin


def test_the_bots_notices_home_and_systemic_notice_render() -> None:
    notice = stored_message(notice_blocks(":rotating_light: *Critical ticket ESC-42* · <https://fake.slack.com/archives/C0L3/p1|open ESC-42>",
                                          ticket_id=42, buttons=(Action.ACKNOWLEDGE, Action.ESCALATE),
                                          link="https://fake.slack.com/archives/C0L3/p1"))
    html = str(render.message(notice, **CTX))
    assert "ESC-42" in html and tags(html, "button", **{"data-action-id": "ticket_acknowledge", "data-value": "42"})
    assert tags(html, "a", href="https://fake.slack.com/archives/C0L3/p1", **{"data-action-id": "ticket_open_card"})
    systemic = stored_message(systemic_blocks("3 tickets", alert_id=5, escalate_label="Escalate all"))
    html = str(render.message(systemic, **CTX))
    assert tags(html, "button", **{"data-action-id": "systemic_escalate", "data-value": "5", "data-confirm-ok": "Escalate"})
    view = stored(home_view([HomeHeading("Escalations"), HomeRow(
        ":red_circle: *ESC-42* Payroll · due <!date^1795770900^{date_short} {time}|x>", 42, (Action.ACKNOWLEDGE, Action.STATUS), "ack_42"),
        HomeMore("…and 3 more.", "See all 4", "mine")]))
    html = str(render.home(view, **CTX))
    parsed(html)
    assert "Escalations" in html and "<b>ESC-42</b>" in html and "Nov 27, 2026 10:15" in html
    assert tags(html, "button", **{"data-action-id": "ticket_acknowledge", "data-value": "42"})
    assert tags(html, "button", **{"data-action-id": "home_more", "data-value": "mine"})
    assert 'data-view-id="V0TEST"' in html


# -- modals -------------------------------------------------------------------------------------

def modal_html(view: dict[str, Any], errors: dict[str, str] | None = None, **overrides: Any) -> str:
    html = str(render.modal(view, errors=errors or {}, **{**CTX, **overrides}))
    no_live_html(html)
    return html


def test_the_new_escalation_modal_round_trips_through_fill_state() -> None:
    view = stored(new_escalation_modal(POLICY, origin_channel="C0GENERAL"))
    html = modal_html(view)
    assert "New escalation" in html and "File ticket" in html and "Cancel" in html
    assert tags(html, "form", **{"data-view-id": "V0TEST", "data-callback-id": "new_escalation"})
    assert tags(html, "input", type="text", name="title", maxlength="150")
    assert tags(html, "textarea", name="description") and tags(html, "input", type="number", name="affected_users", step="1", min="0")
    assert tags(html, "input", type="file", name="attachments", **{"data-max-files": "10"})
    assert tags(html, "optgroup") and tags(html, "option", value="high") and tags(html, "option", value="medium", selected=None)
    assert "(optional)" in html and "At least" in html
    category = POLICY.levels[0].scope[0]
    form = submitted(html, title=["Payroll 502"], category=[category], severity=["critical"],
                     description=["Payroll returns 502\r\nfor every request since 08:10."], error_messages=["502"],
                     troubleshooting=["Restarted the pool"], business_impact=["Finance cannot run payroll today."],
                     affected_users=["300"], triggers=[POLICY.triggers[0].key],
                     flags=["customer_executive", "regulatory"], attachments=["F0LOG"])
    values = render.form_values(view, form, files={"F0LOG": {"id": "F0LOG", "name": "lb.log", "permalink": "https://files.slack.com/F0LOG"}})
    state = fill_state(view, values)
    assert state["title"]["value"] == {"type": "plain_text_input", "value": "Payroll 502"}
    assert state["category"]["value"]["selected_option"]["value"] == category
    assert state["severity"]["value"]["selected_option"]["value"] == "critical"
    assert state["description"]["value"]["value"] == "Payroll returns 502\nfor every request since 08:10."
    assert state["affected_users"]["value"]["value"] == "300"
    assert [o["value"] for o in state["triggers"]["value"]["selected_options"]] == [POLICY.triggers[0].key]
    assert [o["value"] for o in state["flags"]["value"]["selected_options"]] == ["customer_executive", "regulatory"]
    assert state["attachments"]["value"]["files"] == [{"id": "F0LOG", "name": "lb.log", "permalink": "https://files.slack.com/F0LOG"}]
    assert state["log_links"]["value"]["value"] is None  # optional, left blank


def test_an_untouched_form_submits_the_initial_values() -> None:
    view = stored(new_escalation_modal(POLICY, origin_channel=None))
    values = render.form_values(view, submitted(modal_html(view)))
    assert values["severity"] == "medium" and values["title"] is None and values["triggers"] is None
    assert values["attachments"] is None


def test_the_bots_other_modals_render_and_round_trip() -> None:
    views = [
        escalate_modal(POLICY, ticket_id=42, ref="ESC-42", current_level="L1", default_target="L2",
                       business_impact="Finance <b>blocked</b>", troubleshooting="Restarted"),
        update_modal(ticket_id=42, ref="ESC-42"),
        resolve_modal(ticket_id=42, ref="ESC-42", postmortem=True, owner="U0L3ENG"),
        reassign_modal(ticket_id=42, ref="ESC-42", current="U0AGENT"),
        postmortem_modal(ticket_id=42, ref="ESC-42"),
    ]
    filled = {"reason": [POLICY.reasons[0].key], "status": ["Working on it"], "next_update_by": ["2026-11-27T15:30"],
              "resolution": ["Fixed"], "root_cause": ["Bug"], "lessons": ["Test more"], "postmortem_url": ["https://wiki.example/pm"]}
    for raw in views:
        view = stored(raw)
        html = modal_html(view)
        assert "ESC-42" in html
        form = submitted(html, **{k: v for k, v in filled.items() if any(b.get("block_id") == k for b in view["blocks"])})
        state = fill_state(view, render.form_values(view, form, tz=BERLIN))
        assert set(state) == {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
        if raw["callback_id"] == "escalate_ticket":
            assert "Finance &lt;b&gt;blocked&lt;/b&gt;" in html
            assert state["business_impact"]["value"]["value"] == "Finance <b>blocked</b>"
            assert state["target_level"]["value"]["selected_option"]["value"] == "L2"
        if raw["callback_id"] == "post_update":
            assert state["next_update_by"]["value"]["selected_date_time"] == int(datetime(2026, 11, 27, 14, 30, tzinfo=timezone.utc).timestamp())
        if raw["callback_id"] == "resolve_ticket":
            assert state["postmortem_owner"]["value"]["selected_user"] == "U0L3ENG"
        if raw["callback_id"] == "reassign_ticket":
            assert state["assignee"]["value"]["selected_user"] == "U0AGENT"


def _input(block_id: str, element: dict[str, Any], *, optional: bool = True) -> dict[str, Any]:
    return {"type": "input", "block_id": block_id, "optional": optional, "label": {"type": "plain_text", "text": block_id},
            "hint": {"type": "plain_text", "text": f"hint for {block_id}"}, "element": {"action_id": "value", **element}}


def _opt(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


EVERY_INPUT = {
    "type": "modal", "id": "V0ALL", "callback_id": "all", "title": {"type": "plain_text", "text": "All inputs"},
    "submit": {"type": "plain_text", "text": "Send"}, "close": {"type": "plain_text", "text": "Close"},
    "blocks": [
        _input("single", {"type": "plain_text_input", "initial_value": "hello", "min_length": 2, "max_length": 10,
                          "placeholder": {"type": "plain_text", "text": "type"}}, optional=False),
        _input("multi", {"type": "plain_text_input", "multiline": True}),
        _input("number", {"type": "number_input", "is_decimal_allowed": True, "min_value": "0.5", "max_value": "9"}),
        _input("email", {"type": "email_text_input"}),
        _input("url", {"type": "url_text_input"}),
        _input("static", {"type": "static_select", "options": [_opt("a"), _opt("b")]}),
        _input("grouped", {"type": "static_select", "option_groups": [
            {"label": {"type": "plain_text", "text": "G1"}, "options": [_opt("x")]},
            {"label": {"type": "plain_text", "text": "G2"}, "options": [_opt("y"), _opt("z")]}]}),
        _input("multistatic", {"type": "multi_static_select", "options": [_opt("a"), _opt("b"), _opt("c")],
                               "initial_options": [_opt("a")]}),
        _input("external", {"type": "external_select", "initial_option": _opt("ext")}),
        _input("boxes", {"type": "checkboxes", "options": [_opt("one"), _opt("two")]}),
        _input("radio", {"type": "radio_buttons", "options": [_opt("left"), _opt("right")], "initial_option": _opt("left")}),
        _input("date", {"type": "datepicker"}),
        _input("time", {"type": "timepicker", "initial_time": "09:30"}),
        _input("datetime", {"type": "datetimepicker"}),
        _input("user", {"type": "users_select"}),
        _input("users", {"type": "multi_users_select"}),
        _input("conversation", {"type": "conversations_select"}),
        _input("channel", {"type": "channels_select", "initial_channel": "C0GENERAL"}),
        _input("channels", {"type": "multi_channels_select"}),
        _input("files", {"type": "file_input", "max_files": 2, "filetypes": ["png", "log"]}),
        {"type": "section", "block_id": "info", "text": {"type": "mrkdwn", "text": "*Read* this"},
         "accessory": {"type": "button", "action_id": "helper", "text": {"type": "plain_text", "text": "Help"}, "value": "h"}},
    ],
}


def test_every_input_type_renders_as_a_named_field() -> None:
    html = modal_html(EVERY_INPUT, errors={"email": "That is not an address <b>", "grouped": "Pick one"})
    assert tags(html, "input", name="single", type="text", value="hello", minlength="2", maxlength="10", placeholder="type")
    assert "required" in tags(html, "input", name="single")[0] and "required" not in tags(html, "textarea", name="multi")[0]
    assert tags(html, "input", name="number", type="number", step="any", min="0.5", max="9")
    assert tags(html, "input", name="email", type="email") and tags(html, "input", name="url", type="url")
    assert [g["label"] for g in tags(html, "optgroup")] == ["G1", "G2"]
    assert "multiple" in tags(html, "select", name="multistatic")[0] and tags(html, "option", value="a", selected=None)
    assert "external select" in html and not tags(html, "select", name="external")
    assert len(tags(html, "input", name="boxes", type="checkbox")) == 2
    assert tags(html, "input", name="radio", type="radio", value="left", checked=None)
    assert tags(html, "input", name="date", type="date") and tags(html, "input", name="time", type="time", value="09:30")
    assert tags(html, "input", name="datetime", type="datetime-local", **{"data-tz": "Europe/Berlin"})
    assert tags(html, "option", value="U0AGENT") and tags(html, "option", value="C0GENERAL", selected=None)
    assert "multiple" in tags(html, "select", name="users")[0] and "multiple" in tags(html, "select", name="channels")[0]
    assert tags(html, "input", name="files", type="file", accept=".png,.log", **{"data-max-files": "2"})
    assert html.count("(optional)") == len(EVERY_INPUT["blocks"]) - 2 and "hint for date" in html
    assert tags(html, "button", **{"data-action-id": "helper", "data-view-id": "V0ALL", "data-block-id": "info"})
    assert not tags(html, "button", name="helper")  # actions don't submit with the form
    assert "That is not an address &lt;b&gt;" in html


def test_errors_appear_right_under_their_field() -> None:
    html = modal_html(EVERY_INPUT, errors={"email": "Not an address", "grouped": "Pick one"})
    for block_id, message in (("email", "Not an address"), ("grouped", "Pick one")):
        block = html[html.index(f'data-block-id="{block_id}"'):]
        block = block[:block.index('<div class="sk-block')]
        field_end = block.index("sk-field-" + block_id)
        assert block.index(f'data-error-for="{block_id}"') > field_end
        assert block.index(message) < block.index("sk-hint")
    assert html.count('class="sk-error"') == 2


def test_every_input_type_round_trips_through_fill_state() -> None:
    html = modal_html(EVERY_INPUT)
    form = submitted(html, multi=["line 1\r\nline 2"], number=["2.5"], email=["a@b.example"], url=["https://u.example"],
                     static=["b"], grouped=["z"], multistatic=["b", "c"], boxes=["one", "two"], radio=["right"],
                     date=["2026-11-27"], time=["17:45"], datetime=["2026-11-27T10:00"], user=["U0AGENT"],
                     users=["U0AGENT", "U0L3ENG"], conversation=["C0L3"], channels=["C0L3", "C0GENERAL"], files=["F1", "F2"])
    values = render.form_values(EVERY_INPUT, form, tz=BERLIN)
    assert values["external"] == _opt("ext")  # not shown: its initial option, as Slack would report it
    state = fill_state(EVERY_INPUT, values)
    got = {block_id: next(v for k, v in entry["value"].items() if k != "type") for block_id, entry in state.items()}
    assert got["single"] == "hello" and got["multi"] == "line 1\nline 2" and got["number"] == "2.5"
    assert got["email"] == "a@b.example" and got["url"] == "https://u.example"
    assert got["static"]["value"] == "b" and got["grouped"]["value"] == "z"
    assert [o["value"] for o in got["multistatic"]] == ["b", "c"] and got["external"]["value"] == "ext"
    assert [o["value"] for o in got["boxes"]] == ["one", "two"] and got["radio"]["value"] == "right"
    assert got["date"] == "2026-11-27" and got["time"] == "17:45"
    assert got["datetime"] == int(datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc).timestamp())
    assert got["user"] == "U0AGENT" and got["users"] == ["U0AGENT", "U0L3ENG"]
    assert got["conversation"] == "C0L3" and got["channel"] == "C0GENERAL" and got["channels"] == ["C0L3", "C0GENERAL"]
    assert got["files"] == [{"id": "F1"}, {"id": "F2"}]


def test_left_empty_optional_fields_are_none_and_unchecked_boxes_clear_initial_ones() -> None:
    view = copy.deepcopy(EVERY_INPUT)
    view["blocks"][9]["element"]["initial_options"] = [_opt("one")]
    html = modal_html(view)
    assert tags(html, "input", name="boxes", value="one", checked=None)
    form = submitted(html)
    form.pop("boxes")  # the user unticked it: the browser sends nothing
    values = render.form_values(view, form)
    assert values["boxes"] is None and values["multi"] is None and values["number"] is None and values["user"] is None
    state = fill_state(view, values)
    assert state["boxes"]["value"]["selected_options"] == [] and state["single"]["value"]["value"] == "hello"


def test_a_table_block_renders_as_an_html_table_with_its_text_escaped() -> None:
    table = {"type": "table", "column_settings": [None, {"align": "right"}],
             "rows": [[{"type": "raw_text", "text": "Level"}, {"type": "raw_text", "text": "Opened"}],
                      [{"type": "raw_text", "text": "<b>L1</b>"}, {"type": "raw_text", "text": "3"}]]}
    html = str(render.message(stored_message([table]), **CTX))
    no_live_html(html)
    assert "<th>Level</th>" in html and '<th class="sk-align-right">Opened</th>' in html
    assert "<td>&lt;b&gt;L1&lt;/b&gt;</td>" in html and '<td class="sk-align-right">3</td>' in html


def test_the_stylesheet_styles_what_the_renderer_produces() -> None:
    css = render.CSS_PATH.read_text()
    for selector in (".sk-message", ".sk-button.sk-primary", ".sk-button.sk-danger", ".sk-modal-overlay", ".sk-error",
                     ".sk-quote", ".sk-pre", ".sk-code", ".sk-mention", ".sk-fields", ".sk-context", ".sk-label", ".sk-table", ".sk-align-right"):
        assert selector in css
    assert css.count("{") == css.count("}")


def test_rendering_the_same_view_twice_gives_the_same_html() -> None:
    view = stored(new_escalation_modal(POLICY, origin_channel=None))
    before = json.dumps(view)
    assert modal_html(view) == modal_html(copy.deepcopy(view))
    assert json.dumps(view) == before  # the view is not changed
