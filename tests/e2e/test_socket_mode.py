"""End to end in Socket Mode: the real bot connects to fake Slack's WebSocket, no public URL involved."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import select

from app import Runtime, build, check_slack
from fakeslack import FakeSlack, SocketSender
from models import Ticket
from tests.e2e.harness import GOOD_FORM, settings_for, write_policy


@dataclass
class SocketBot:
    runtime: Runtime
    handler: SocketModeHandler


@pytest.fixture
def socket_bot(fake: FakeSlack, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketBot]:
    # slack_sdk's Socket Mode client takes a proxy from these variables and cannot reach loopback through one.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    settings = settings_for(fake, database_url, write_policy(tmp_path), slack_app_token=fake.app_token, slack_signing_secret=None)
    runtime = build(settings)
    check_slack(runtime, attempts=1)
    # The handler's WebClient is the app's own (base_url = settings.slack_api_url), so apps.connections.open reaches the fake.
    handler = SocketModeHandler(runtime.bolt, settings.slack_app_token)
    handler.connect()
    try:
        fake.wait_for_socket()
        yield SocketBot(runtime, handler)
    finally:
        handler.close()
        runtime.close()


@pytest.fixture
def slack(socket_bot: SocketBot, fake: FakeSlack) -> SocketSender:
    return SocketSender(fake)


def tickets(bot: SocketBot) -> list[Ticket]:
    with bot.runtime.deps.services.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def test_escalate_over_the_socket_opens_the_modal_and_submitting_it_posts_the_ticket_card(
    socket_bot: SocketBot, slack: SocketSender, fake: FakeSlack
) -> None:
    (connected,) = fake.calls_to("apps.connections.open")
    assert connected.ok  # the fake gives Socket Mode URLs only for the xapp- token
    ack = slack.slash_command("U0AGENT", "", channel_id=fake.add_channel("war-room"))
    assert ack == {}
    (opened,) = fake.wait_for("views.open")
    assert opened.ok, opened.response
    view = fake.views[opened.response["view"]["id"]]
    assert view["callback_id"] == "new_escalation"

    assert slack.view_submission("U0AGENT", view, GOOD_FORM) == {}
    assert view["id"] not in fake.views  # an empty ack closes the modal
    (card,) = fake.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "#support-l2")
    assert card.ok, card.response
    fake.wait_until(lambda: tickets(socket_bot), message="ticket stored")
    (ticket,) = tickets(socket_bot)
    assert ticket.title == GOOD_FORM["title"]


def test_a_slow_views_open_does_not_hold_up_the_ack(socket_bot: SocketBot, slack: SocketSender, fake: FakeSlack) -> None:
    fake.delay("views.open", 1.0, times=1)
    assert slack.slash_command("U0AGENT", "") == {}
    assert fake.calls_to("views.open") == []  # acknowledged while Slack was still answering views.open
    (opened,) = fake.wait_for("views.open")
    assert opened.ok, opened.response
