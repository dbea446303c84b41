"""Words and blocks: hostile text stays inert, long text is clipped, the modal has every field."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.severity import Severity
from bot.domain.tickets import TicketStatus
from tests.policies import open_seed_policy
from bot.rendering import Renderer, clip_mrkdwn, escape_mrkdwn
from bot.services.readmodel import TicketView
from bot.slack.blocks import buttons_offered, card_buttons, form_errors, new_escalation_modal, notice_blocks, ticket_card_blocks
from bot.slack.ids import Action, IntakeBlock
from bot.slack.payloads import CommandKind, PayloadInvalid, read_button, read_command, read_intake

POLICY = open_seed_policy()
HOSTILE = "<!channel> <@U0BOSS> <!here> & <https://evil.example|click> ```"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


def card(**overrides: object) -> TicketView:
    values: dict = dict(
        id=42, ref="ESC-42", title=HOSTILE, category="Security incidents and breaches", severity=Severity.CRITICAL,
        status=TicketStatus.OPEN, level=POLICY.level("L3"), reporter_id="U0REPORT", created_at=NOW,
        level_entered_at=NOW, response_sla=timedelta(minutes=15), response_due_at=NOW + timedelta(minutes=15),
        description=HOSTILE * 200, error_messages=HOSTILE, troubleshooting=HOSTILE, business_impact=HOSTILE,
        affected_users=300, affected_share=30.0, links=("https://logs.example/x",),
        attachments=({"id": "F1", "name": "<!channel>.png", "permalink": "https://files.example/F1"},),
        triggers=("Security incident or suspected breach",), customer_executive=True, regulatory=False,
        hotline=(POLICY.contact("l3_oncall"), POLICY.contact("security")),
    )
    values.update(overrides)
    return TicketView(**values)


def test_user_text_can_never_become_a_mention_or_link() -> None:
    parts = Renderer().render_blocks("card.md.j2", t=card())
    text = "\n".join(parts.values())
    for forbidden in ("<!channel>", "<!here>", "<@U0BOSS>", "<https://evil.example"):
        assert forbidden not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert "<@U0REPORT>" in text  # the bot's own mentions still work


def test_the_card_shows_severity_sla_due_date_hotline_and_context() -> None:
    parts = Renderer().render_blocks("card.md.j2", t=card())
    assert ":red_circle: Critical" in parts["summary"]
    assert f"<!date^{int((NOW + timedelta(minutes=15)).timestamp())}^" in parts["summary"]
    assert "1-800-ENG-HELP" in parts["hotline"] and "1-800-SEC-HELP" in parts["hotline"]
    assert parts["context"].startswith("ESC-42 · L3 Engineering")


def test_long_text_is_clipped_with_an_ellipsis_and_blocks_stay_within_slack_limits() -> None:
    parts = Renderer().render_blocks("card.md.j2", t=card())
    buttons = card_buttons(status=TicketStatus.OPEN, last_level=False, moved=False)
    blocks = ticket_card_blocks(parts, header="x" * 500, ticket_id=42, buttons=buttons)
    assert len(blocks[0]["text"]["text"]) == 150 and blocks[0]["text"]["text"].endswith("…")
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert "…" in json.dumps(blocks, ensure_ascii=False)
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        "ticket_acknowledge", "ticket_escalate", "ticket_post_update", "ticket_resolve", "ticket_subscribe"]


def test_an_acknowledged_card_drops_the_acknowledge_button() -> None:
    parts = Renderer().render_blocks("card.md.j2", t=card(acknowledged_by="U0ENG", ack_summary="after 3m — within the 15m SLA"))
    blocks = ticket_card_blocks(parts, header="h", ticket_id=42, buttons=card_buttons(
        status=TicketStatus.ACKNOWLEDGED, last_level=True, moved=False))
    assert "ticket_acknowledge" not in json.dumps(blocks)
    assert "Acknowledged by <@U0ENG> after 3m — within the 15m SLA" in parts["status"]


def test_a_cards_buttons_are_the_moves_its_state_allows() -> None:
    def shown(status: TicketStatus, **kw: bool) -> list[str]:
        return [a.value.removeprefix("ticket_") for a in card_buttons(status=status, **{"last_level": False, "moved": False, **kw})]

    assert shown(TicketStatus.OPEN, last_level=True) == ["acknowledge", "post_update", "resolve", "subscribe"]
    assert shown(TicketStatus.ACKNOWLEDGED) == ["escalate", "post_update", "resolve", "subscribe"]
    assert shown(TicketStatus.POSTMORTEM_DUE) == ["postmortem_done", "post_update", "reopen", "subscribe"]
    assert shown(TicketStatus.CLOSED) == ["reopen"]
    assert shown(TicketStatus.OPEN, moved=True) == []


def test_a_notices_buttons_are_those_its_ticket_still_offers_when_it_is_sent() -> None:
    """A breach DM about a ticket at the last level offers no Escalate; one acknowledged meanwhile no
    Acknowledge; a closed one none of its moves. A button that is no move (Status) always shows."""
    breach = (Action.ACKNOWLEDGE, Action.ESCALATE)
    assert buttons_offered(breach, status=TicketStatus.OPEN, last_level=False) == breach
    assert buttons_offered(breach, status=TicketStatus.OPEN, last_level=True) == (Action.ACKNOWLEDGE,)
    assert buttons_offered(breach, status=TicketStatus.ACKNOWLEDGED, last_level=False) == (Action.ESCALATE,)
    assert buttons_offered((Action.ESCALATE, Action.REASSIGN, Action.STATUS), status=TicketStatus.CLOSED,
                           last_level=False) == (Action.STATUS,)
    blocks = notice_blocks("x", ticket_id=7, buttons=buttons_offered(breach, status=TicketStatus.OPEN, last_level=True))
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [Action.ACKNOWLEDGE.value]


def test_clipping_never_cuts_an_escape_in_half() -> None:
    text = escape_mrkdwn("a" * 8 + "&&&&")
    clipped = clip_mrkdwn(text, 12)
    assert clipped.endswith("…") and "&am…" not in clipped and "&a…" not in clipped


def test_the_modal_has_every_documentation_field_and_the_seed_categories_grouped_by_level() -> None:
    view = new_escalation_modal(POLICY, origin_channel="C1")
    ids = [b.get("block_id") for b in view["blocks"] if b["type"] == "input"]
    assert ids == [b.value for b in IntakeBlock]
    category = next(b for b in view["blocks"] if b.get("block_id") == "category")["element"]
    labels = [g["label"]["text"] for g in category["option_groups"]]
    assert labels == ["L1 Help Desk", "L2 Technical Support", "L3 Engineering", "Something else"]
    assert sum(len(g["options"]) for g in category["option_groups"]) == 19
    files = next(b for b in view["blocks"] if b.get("block_id") == "attachments")
    assert files["element"]["type"] == "file_input" and files["optional"] is True
    triggers = next(b for b in view["blocks"] if b.get("block_id") == "triggers")["element"]["options"]
    assert len(triggers) == 5


def test_reading_a_submitted_modal_and_mapping_errors_back_to_blocks() -> None:
    view = {"state": {"values": {
        "title": {"value": {"type": "plain_text_input", "value": "VPN down"}},
        "category": {"value": {"type": "static_select", "selected_option": {"value": "VPN connection troubleshooting"}}},
        "affected_users": {"value": {"type": "number_input", "value": "12"}},
        "triggers": {"value": {"type": "checkboxes", "selected_options": [{"value": "data_loss"}]}},
        "flags": {"value": {"type": "checkboxes", "selected_options": [{"value": "regulatory"}]}},
        "attachments": {"value": {"type": "file_input", "files": [
            {"id": "F0LOG1", "name": "log.txt", "permalink": "https://acme.slack.com/files/U0AGENT/F0LOG1/log.txt"},
            {"id": "F0LOG2", "name": "x.png", "permalink": "javascript:alert(1)"}]}},
    }}}
    draft = read_intake(view)
    assert (draft.title, draft.category, draft.affected_users) == ("VPN down", "VPN connection troubleshooting", "12")
    assert draft.triggers == {"data_loss"} and draft.regulatory and not draft.customer_executive
    assert draft.attachments[0].file_id == "F0LOG1" and draft.description == ""
    assert draft.attachments[0].permalink == "https://acme.slack.com/files/U0AGENT/F0LOG1/log.txt"
    assert draft.attachments[1].permalink is None  # a link to anywhere but Slack is not believed
    assert read_intake({}).title == ""
    view_blocks = [{"type": "input", "block_id": "title"}, {"type": "input", "block_id": "business_impact"}]
    assert form_errors({"business_impact": "x" * 400}, {"blocks": view_blocks}) == {"business_impact": "x" * 149 + "…"}
    assert form_errors({"": "Not allowed."}, {"blocks": view_blocks}) == {"title": "Not allowed."}


def test_command_text_is_parsed_and_anything_else_is_unknown() -> None:
    assert read_command({"user_id": "U0AGENT", "response_url": "https://hooks.slack.com/commands/T1/1/x", "text": ""}).kind is CommandKind.NEW
    assert read_command({"user_id": "U0AGENT", "response_url": "https://hooks.slack.com/commands/T1/1/x", "text": "ESC-42"}).ticket_id == 42
    assert read_command({"user_id": "U0AGENT", "response_url": "https://hooks.slack.com/commands/T1/1/x", "text": "status esc-7"}).kind is CommandKind.STATUS
    assert read_command({"user_id": "U0AGENT", "response_url": "https://hooks.slack.com/commands/T1/1/x", "text": "HELP"}).kind is CommandKind.HELP
    assert read_command({"user_id": "U0AGENT", "response_url": "https://hooks.slack.com/commands/T1/1/x", "text": "drop table"}).kind is CommandKind.UNKNOWN


def test_button_payloads_are_read_defensively() -> None:
    press = read_button({"actions": [{"action_id": "ticket_acknowledge", "value": "42"}], "user": {"id": "U0ENG"},
                         "container": {"channel_id": "C0L2", "message_ts": "1.2"}})
    assert (press.ticket_id, press.user_id, press.channel_id, press.message_ts) == (42, "U0ENG", "C0L2", "1.2")
    assert read_button({"actions": [{"value": "DROP"}], "user": {"id": "U0ENG"}}).ticket_id is None
    with pytest.raises(PayloadInvalid, match="actions"):
        read_button({"user": {"id": "U0ENG"}})


def test_quotes_keep_a_real_marker_while_the_users_own_angle_brackets_are_escaped() -> None:
    rendered = Renderer().env.from_string("{{ text|quote }}").render(text="> not a quote\n<!channel>")
    assert rendered == "> &gt; not a quote\n> &lt;!channel&gt;"


def test_a_home_with_more_parts_than_slack_allows_keeps_within_100_blocks_and_says_so() -> None:
    from fakeslack import validate_view
    from bot.slack.blocks import HomeHeading, HomeRow, home_view
    from bot.slack.ids import Action

    rows = [HomeRow(f"*ESC-{n}* " + "x" * 4000, n, (Action.ACKNOWLEDGE, Action.POST_UPDATE, Action.STATUS), f"ack_{n}")
            for n in range(1, 80)]
    view = home_view([HomeHeading("Escalations " + "y" * 200), *rows])
    assert len(view["blocks"]) == 100 and validate_view(view) == []
    assert "more than the Home can show" in view["blocks"][-1]["text"]["text"]
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")
    assert len(view["blocks"][0]["text"]["text"]) <= 150


def test_a_home_ticket_title_cannot_ping_the_channel() -> None:
    from bot.services.readmodel import HomeTicket

    t = HomeTicket(id=7, ref="ESC-7", title="<!channel> down & <@U0X>", severity=Severity.HIGH, status=TicketStatus.OPEN,
                   level_key="L2", level_title="L2 Technical Support", created_at=datetime(2026, 11, 27, tzinfo=timezone.utc),
                   due_at=None, breached=False, overdue=False)
    line = Renderer().render_block("home.md.j2", "ticket", t=t)
    assert "<!channel>" not in line and "&lt;!channel&gt; down &amp; &lt;@U0X&gt;" in line
