"""Runs the real bot (Bolt on waitress, over loopback HTTP) against the project's fake Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app import BackgroundServer, Runtime, build
from bot.clock import ManualClock
from bot.config import Settings
from fakeslack import FakeSlack, SlackSender

SIGNING_SECRET = "e2e-signing-secret"

# The seed's policy with people in it: one responder per level, an on-call user group at L3.
PEOPLE = {
    "U0AGENT": "agent", "U0L1ENG": "l1eng", "U0L2ENG": "l2eng", "U0L3ENG": "l3eng",
    "U0ONCALL1": "oncall1", "U0ONCALL2": "oncall2", "U0MANAGER": "manager", "U0STRANGER": "stranger",
}


def write_policy(directory: Path, *, bridge: bool = True) -> Path:
    text = Path("policy.yaml").read_text()
    for level, responders in (("l1", "[U0L1ENG]"), ("l2", "[U0L2ENG]"), ("l3", "[U0L3ENG, S0ONCALL]")):
        text, replaced = re.subn(rf'(channel: "#support-{level}".*\n\s+responders: )\[\]', rf"\g<1>{responders}", text, count=1)
        assert replaced == 1, level
    if bridge:
        text = text.replace("    bridge_url: null           # conference bridge", "    bridge_url: https://meet.example.com/eng  # conference bridge", 1)
    text = text.replace("  managers: []", "  managers: [U0MANAGER]", 1)
    path = directory / "policy.yaml"
    path.write_text(text)
    return path


def start_fake_slack() -> FakeSlack:
    fake = FakeSlack().start()
    for name in ("support-l1", "support-l2", "support-l3", "general"):
        fake.add_channel(name)
    for user_id, name in PEOPLE.items():
        fake.add_user(user_id, name)
    fake.add_usergroup("S0ONCALL", "eng-oncall", ["U0ONCALL1", "U0ONCALL2"])
    return fake


@dataclass
class RunningBot:
    runtime: Runtime
    server: BackgroundServer

    @property
    def events_url(self) -> str:
        return self.server.url + "/slack/events"

    def stop(self) -> None:
        self.server.stop()
        self.runtime.close()


def start_bot(settings: Settings, clock: ManualClock | None = None) -> RunningBot:
    runtime = build(settings, clock=clock)
    return RunningBot(runtime=runtime, server=BackgroundServer(runtime.wsgi, threads=8).start())


def settings_for(fake: FakeSlack, database_url: str, policy_file: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        slack_bot_token=fake.bot_token, slack_signing_secret=SIGNING_SECRET, slack_api_url=fake.api_url,
        database_url=database_url, policy_file=str(policy_file), _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


def sender_for(bot: RunningBot, fake: FakeSlack) -> SlackSender:
    return SlackSender(bot.events_url, SIGNING_SECRET, fake)


GOOD_FORM: dict[str, Any] = {
    "title": "Payroll returns 502 for everyone",
    "category": "Server and application troubleshooting",
    "severity": "high",
    "description": "Payroll web app returns 502 for every request since 08:10.",
    "error_messages": "502 Bad Gateway from lb-02",
    "troubleshooting": "Restarted the app pool; checked the load balancer health checks.",
    "business_impact": "Finance cannot run the monthly payroll due today at noon.",
    "affected_users": "40",
}
