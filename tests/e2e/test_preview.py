"""End to end: `/escalate preview` over signed HTTP, answered ephemerally through the fake Slack's response_url."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import Block

from bot.clock import ManualClock
from fakeslack import FakeSlack, SlackSender
from tests.conftest import T0
from tests.e2e.harness import RunningBot, mrkdwn_texts, tickets


def reply(fake: FakeSlack, slack: SlackSender, user: str, text: str) -> dict[str, Any]:
    before = len(fake.responses)
    ack = slack.slash_command(user, text)
    assert ack.status == 200
    fake.wait_until(lambda: len(fake.responses) > before, message="the preview reply")
    return fake.responses[-1]["body"]


def slack_date(moment: Any) -> str:
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|"


def test_preview_of_a_security_incident_lists_the_l3_timeline_with_local_times_and_offsets(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    body = reply(fake, slack, "U0STRANGER", "preview critical security_incident")  # anyone in the workspace may
    assert body["response_type"] == "ephemeral"
    assert all(Block.parse(b) is not None for b in body["blocks"]) and fake.violations == []
    assert body["blocks"][0]["type"] == "header" and "Security incident" in body["blocks"][0]["text"]["text"]
    text = "\n".join(mrkdwn_texts(body["blocks"]))
    assert "Routed to L3 Engineering as critical (automatic escalation: Security incident or suspected breach)" in text
    assert "Paged by DM (critical): <@U0L3ENG>, <!subteam^S0ONCALL>." in text
    assert f"{slack_date(T0 + timedelta(minutes=11, seconds=15))}" in text  # pre-breach at 75% of 15m
    breach = next(line for line in text.splitlines() if "Response SLA breached" in line)
    assert breach.startswith("• " + slack_date(T0 + timedelta(minutes=15))) and "(+15m)" in breach and "<@U0MANAGER>" in breach
    followups = [line for line in text.splitlines() if "Follow-up" in line]
    assert [f"(+{h}h)" in line for h, line in zip((2, 4, 6), followups)] == [True] * 3
    assert "conference bridge https://meet.example.com/eng" in text
    assert "Assumes nobody acknowledges" in text
    assert tickets(bot) == []  # a dry-run files nothing


def test_a_bad_preview_argument_gets_the_choices_not_a_trace(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    unknown = reply(fake, slack, "U0AGENT", "preview high <!channel> printer")
    assert unknown["response_type"] == "ephemeral"
    assert "matches no category or trigger" in unknown["text"] and "<!channel>" not in unknown["text"]
    assert "`security_incident`" in unknown["text"] and "VPN connection troubleshooting" in unknown["text"]
    ambiguous = reply(fake, slack, "U0AGENT", "preview high database")
    assert "matches more than one" in ambiguous["text"]
    assert "Database connectivity problems" in ambiguous["text"] and "VPN" not in ambiguous["text"]
    severity = reply(fake, slack, "U0AGENT", "preview urgent vpn")
    assert "`urgent` is not a severity" in severity["text"] and "critical, high, medium, low" in severity["text"]
    usage = reply(fake, slack, "U0AGENT", "preview")
    assert "Usage: `/escalate preview &lt;severity&gt; &lt;category or trigger&gt;`" in usage["text"]
    assert fake.violations == [] and tickets(bot) == []
