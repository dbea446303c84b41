"""`/escalate report` through the real bot over signed HTTP: the figures in a Block Kit table the fake
Slack accepts, for managers and responders only, and a usage line for words it does not take."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import ManualClock
from fakeslack import FakeSlack, SlackSender, validate_blocks
from slack_sdk.models.blocks import Block
from tests.e2e.harness import RunningBot, file_ticket, press, settle, timeline_kinds

CHANNEL = "C0GENERAL"


def table_of(blocks: list[dict[str, Any]]) -> list[list[str]]:
    (table,) = [b for b in blocks if b["type"] == "table"]
    return [[cell["text"] for cell in row] for row in table["rows"]]


def answered(fake: FakeSlack, user: str) -> dict[str, Any]:
    fake.wait_until(lambda: fake.ephemerals_for(CHANNEL, user), message=f"an ephemeral answer to {user}")
    return fake.ephemerals_for(CHANNEL, user)[-1]


def test_a_manager_reads_the_30_day_figures_in_a_table(bot: RunningBot, slack: SlackSender, fake: FakeSlack,
                                                      clock: ManualClock) -> None:
    file_ticket(slack, fake, bot)  # GOOD_FORM: L2, 8h response SLA
    clock.advance(timedelta(minutes=30))
    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)
    fake.wait_until(lambda: "acknowledged" in timeline_kinds(bot, 1), message="acknowledged")
    settle(bot, fake)
    file_ticket(slack, fake, bot, category="Password resets and account lockouts", severity="low")  # L1, open
    clock.advance(timedelta(minutes=1))  # the period is [now - 30 days, now): a ticket filed this instant is next

    reply = slack.slash_command("U0MANAGER", "report 30d", channel_id=CHANNEL)
    assert reply.status == 200
    message = answered(fake, "U0MANAGER")
    blocks = message["blocks"]
    assert validate_blocks(blocks, surface="message") == []
    assert all(Block.parse(b) is not None for b in blocks)  # slack_sdk reads every block back
    assert blocks[0]["type"] == "header" and "last 30 days" in blocks[0]["text"]["text"]
    rows = table_of(blocks)
    assert rows[0][:3] == ["Level", "Opened", "Acknowledged"] and len(rows) == 5  # header, L1, L2, L3, all
    by_level = {row[0]: row for row in rows[1:]}
    l2, l1, total = by_level["L2 Technical Support"], by_level["L1 Help Desk"], by_level["All levels"]
    assert l2[1:7] == ["1", "1", "30m / 30m", "0", "–", "100% (1/1)"]
    assert l1[1:3] == ["1", "0"] and l1[6] == "–"  # open and not yet due: no SLA verdict
    assert total[1:3] == ["2", "1"]
    assert "Server and application troubleshooting (1)" in "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert message["text"].startswith("SLA report, last 30 days: 2 opened, 1 acknowledged (MTTA 30m)")


def test_filters_and_the_default_period_reach_the_figures(bot: RunningBot, slack: SlackSender, fake: FakeSlack,
                                                          clock: ManualClock) -> None:
    file_ticket(slack, fake, bot)
    clock.advance(timedelta(minutes=1))
    slack.slash_command("U0L3ENG", 'report level=l2 category="server and application troubleshooting" severity=HIGH chart',
                        channel_id=CHANNEL)
    fake.wait_until(lambda: len(fake.ephemerals_for(CHANNEL, "U0L3ENG")) == 2, message="the figures, and the chart's note")
    message = next(m for m in fake.ephemerals_for(CHANNEL, "U0L3ENG") if m.get("blocks"))
    assert "last 7 days" in message["blocks"][0]["text"]["text"]
    filters = "level: L2 · category: Server and application troubleshooting · severity: high"
    assert any(filters in e["text"] for b in message["blocks"] if b["type"] == "context" for e in b["elements"])
    assert [row[0] for row in table_of(message["blocks"])] == ["Level", "L2 Technical Support", "All levels"]


def test_someone_who_neither_manages_nor_responds_is_refused(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    reply = slack.slash_command("U0STRANGER", "report 30d", channel_id=CHANNEL)
    assert reply.status == 200
    message = answered(fake, "U0STRANGER")
    assert "Only support responders and managers can see SLA reports." in message["text"]
    assert "blocks" not in message or not any(b["type"] == "table" for b in message.get("blocks") or [])


def test_words_the_report_does_not_take_get_the_usage_line_and_no_trace(bot: RunningBot, slack: SlackSender,
                                                                       fake: FakeSlack) -> None:
    reply = slack.slash_command("U0MANAGER", "report month", channel_id=CHANNEL)
    assert reply.status == 200 and "`month` is not a period (use 7d, 30d, quarter)" in reply.body
    assert "/escalate report 30d level=L2" in reply.body and "Traceback" not in reply.body
    slack.slash_command("U0MANAGER", "report severity=urgent", channel_id=CHANNEL)
    slack.slash_command("U0MANAGER", "report level=L9", channel_id=CHANNEL)
    fake.wait_until(lambda: len(fake.ephemerals_for(CHANNEL, "U0MANAGER")) >= 3, message="three answers")
    texts = [e["text"] for e in fake.ephemerals_for(CHANNEL, "U0MANAGER")]
    assert "`urgent` is not a severity" in texts[1]
    assert "There is no level 'L9'; the levels are L1, L2, L3." in texts[2]


def test_help_lists_the_report(bot: RunningBot, slack: SlackSender) -> None:
    reply = slack.slash_command("U0AGENT", "help", channel_id=CHANNEL)
    assert "/escalate report [7d|30d|quarter]" in reply.body
