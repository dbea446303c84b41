"""The Slack notifier against fake Slack: which failures leave a post in doubt, and how it is found again."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from bot.rendering import Renderer
from bot.services.messages import Delivery, Notice
from bot.services.ports import DeliveryFailed, Once
from bot.slack.gateway import SlackGateway, make_client
from bot.slack.notifier import SlackNotifier
from fakeslack import FakeSlack
from tests.unit.test_rendering_and_blocks import POLICY, card


@pytest.fixture
def fake() -> FakeSlack:
    with FakeSlack() as server:
        server.add_channel("support-l3", id="C0L3")
        server.add_user("U0MANAGER", "manager")
        yield server


def notifier(url: str, *, timeout: int = 1) -> SlackNotifier:
    return SlackNotifier(SlackGateway(make_client("xoxb-fake-token", url, timeout=timeout, retries=False)), Renderer(), POLICY)


def now() -> datetime:
    return datetime.now(timezone.utc)


def test_an_answer_later_than_the_client_timeout_is_in_doubt_and_found_instead_of_resent(fake: FakeSlack) -> None:
    slack, ticket = notifier(fake.api_url), card(level=POLICY.level("L3"))
    started = now()
    fake.lose_answer("chat.postMessage", late=3)
    with pytest.raises(DeliveryFailed) as lost:
        slack.deliver(Delivery(Notice.BREACH_MANAGER, user="U0MANAGER"), ticket, once=Once("breach_manager:42:U0MANAGER"))
    assert lost.value.maybe_done and not lost.value.permanent
    fake.wait_until(lambda: fake.messages("U0MANAGER"), message="the DM landed after all")
    again = slack.deliver(Delivery(Notice.BREACH_MANAGER, user="U0MANAGER"), ticket,
                          once=Once("breach_manager:42:U0MANAGER", in_doubt_since=started))
    (dm,) = fake.messages("U0MANAGER")
    assert again is not None and (again.channel, again.ts) == (dm["channel"], dm["ts"])
    assert dm["metadata"]["event_payload"] == {"outbox_key": "breach_manager:42:U0MANAGER"}


def test_a_post_not_found_is_sent_with_its_key_and_a_thread_is_searched_with_replies(fake: FakeSlack) -> None:
    slack, ticket = notifier(fake.api_url), card(level=POLICY.level("L3"))
    posted = slack.post_card(ticket, once=Once("card_post:42:1", in_doubt_since=now()))
    assert [c.method for c in fake.calls][:2] == ["conversations.list", "conversations.history"]  # #support-l3 → C0L3
    from bot.services.readmodel import MessageRef
    thread = MessageRef(posted.channel, posted.ts)
    key = Once("update:42:7", in_doubt_since=now())
    slack.deliver(Delivery(Notice.UPDATE, thread=thread, extra={"status": "Still on it.", "next_steps": ""}), ticket, once=key)
    slack.deliver(Delivery(Notice.UPDATE, thread=thread, extra={"status": "Still on it.", "next_steps": ""}), ticket, once=key)  # in doubt again: found in the thread
    assert len(fake.thread(posted.channel, posted.ts)) == 1
    assert fake.calls_to("conversations.replies")


@pytest.mark.parametrize("error, maybe", [(ConnectionRefusedError(), False), (socket.gaierror(), False),
                                          (TimeoutError(), True), (ConnectionResetError(), True)],
                         ids=["refused", "no such host", "timeout", "reset"])
def test_only_a_request_that_may_have_reached_slack_is_in_doubt(error: OSError, maybe: bool) -> None:
    import urllib.error

    from bot.slack.gateway import SlackUnavailable

    gateway = SlackGateway(make_client("xoxb-fake-token", "http://127.0.0.1:9/api/", retries=False))
    for raised in (error, urllib.error.URLError(error)):
        def fail() -> None:
            raise raised
        with pytest.raises(SlackUnavailable) as caught:
            gateway._call("chat.postMessage", fail)
        assert caught.value.maybe_done is maybe


def test_a_5xx_is_in_doubt_and_a_429_is_not(fake: FakeSlack) -> None:
    slack, ticket = notifier(fake.api_url), card(level=POLICY.level("L3"))
    for status, maybe in ((503, True), (429, False)):
        fake.fail("chat.postMessage", status=status)
        with pytest.raises(DeliveryFailed) as failed:
            slack.post_card(ticket, once=Once(f"card_post:42:{status}"))
        assert failed.value.maybe_done is maybe


def test_an_upload_in_doubt_is_found_by_its_title_in_the_dm(fake: FakeSlack) -> None:
    slack, started = notifier(fake.api_url), now()
    fake.lose_answer("files.completeUploadExternal")
    upload = dict(filename="ESC-42-postmortem.md", content=b"# ESC-42", title="ESC-42 post-mortem draft", comment="Draft")
    with pytest.raises(DeliveryFailed) as lost:
        slack.upload("U0MANAGER", **upload, once=Once("postmortem_draft:42"))
    assert lost.value.maybe_done
    slack.upload("U0MANAGER", **upload, once=Once("postmortem_draft:42", in_doubt_since=started))
    assert [f["title"] for f in fake.files.values()] == ["ESC-42 post-mortem draft"]


def test_after_an_outage_one_history_read_answers_every_in_doubt_post_to_a_channel(fake: FakeSlack) -> None:
    slack, ticket = notifier(fake.api_url), card(level=POLICY.level("L3"))
    started = now()
    for n in range(5):  # five notices to the channel, each "in doubt" after a 5xx
        fake.fail("chat.postMessage", status=503)
        with pytest.raises(DeliveryFailed):
            slack.deliver(Delivery(Notice.BREACH, channel="C0L3"), ticket, once=Once(f"breach:{n}"))
    for n in range(5):
        slack.deliver(Delivery(Notice.BREACH, channel="C0L3"), ticket, once=Once(f"breach:{n}", in_doubt_since=started))
    assert len(fake.calls_to("conversations.history")) == 1  # not one per row: Tier 3 allows about 50 a minute
    assert len(fake.messages("C0L3")) == 5
    fake.lose_answer("chat.postMessage")  # a post whose outcome is unknown: what was read is stale now
    with pytest.raises(DeliveryFailed):
        slack.deliver(Delivery(Notice.BREACH, channel="C0L3"), ticket, once=Once("breach:5"))
    slack.deliver(Delivery(Notice.BREACH, channel="C0L3"), ticket, once=Once("breach:5", in_doubt_since=started))
    assert len(fake.calls_to("conversations.history")) == 2 and len(fake.messages("C0L3")) == 6


def test_a_dm_channel_is_asked_of_slack_once_per_person(fake: FakeSlack) -> None:
    slack, ticket = notifier(fake.api_url), card(level=POLICY.level("L3"))
    for n in range(3):
        slack.deliver(Delivery(Notice.BREACH_MANAGER, user="U0MANAGER"), ticket,
                      once=Once(f"bm:{n}", in_doubt_since=now()))
    assert len(fake.calls_to("conversations.open")) == 1 and len(fake.messages("U0MANAGER")) == 3


def test_the_relays_notifier_paces_its_posts_per_channel_and_a_dm_elsewhere_does_not_wait(fake: FakeSlack) -> None:
    from datetime import timedelta

    from bot.slack.pacing import Pacer

    slept: list[float] = []
    moment = [500.0]  # a monotonic clock that moves only when slept on

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        moment[0] += seconds

    slack = SlackNotifier(SlackGateway(make_client("xoxb-fake-token", fake.api_url, retries=False)), Renderer(), POLICY,
                          pacer=Pacer(timedelta(seconds=1), monotonic=lambda: moment[0], sleep=sleep))
    ticket = card(level=POLICY.level("L3"))
    slack.post_card(ticket)
    slack.deliver(Delivery(Notice.BREACH_MANAGER, user="U0MANAGER"), ticket)
    assert slept == []
    slack.deliver(Delivery(Notice.BREACH, channel=ticket.level.channel), ticket)  # the card's channel again, at once
    assert slept == [1.0]
    assert len(fake.messages("C0L3")) == 2 and len(fake.messages("U0MANAGER")) == 1
