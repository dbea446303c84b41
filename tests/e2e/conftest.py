"""E2E fixtures: fake Slack on loopback, the real bot over HTTP, and Slack's side that signs requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from fakeslack import FakeSlack, SlackSender
from tests.smtp import SmtpServer
from tests.e2e.harness import RunningBot, sender_for, settings_for, start_bot, start_fake_slack, write_policy


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """Fake Slack; at teardown it also asserts the bot never made a call real Slack would refuse."""
    slack = start_fake_slack()
    yield slack
    slack.stop()
    assert slack.violations == [], slack.violations


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback; the bot's handoff e-mail goes there."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def bot(fake: FakeSlack, database_url: str, tmp_path: Path, clock: ManualClock, smtp: SmtpServer) -> Iterator[RunningBot]:
    settings = settings_for(fake, database_url, write_policy(tmp_path), smtp_host="127.0.0.1", smtp_port=smtp.port,
                            smtp_starttls=False, smtp_from="escalations@example.com")
    running = start_bot(settings, clock)
    yield running
    running.stop()


@pytest.fixture
def slack(bot: RunningBot, fake: FakeSlack) -> SlackSender:
    return sender_for(bot, fake)

