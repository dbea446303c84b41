"""The weekly SLA digest: the real bot posts the figures and a chart to the policy's reports channel at
its slot (Monday 09:00 in TIMEZONE), once, even across replicas, a restart over the slot, or a channel
the bot never joined."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.services.sweep import sweep
from fakeslack import FakeSlack, SlackSender
from tests.e2e.harness import (RunningBot, file_ticket, press, sender_for, settings_for, settle, start_bot, ticket,
                               write_policy)
from tests.unit.test_charts import png_size

SLOT = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)  # T0 is Friday 27 Nov 09:00 UTC; TIMEZONE is UTC


@pytest.fixture
def reporting(fake: FakeSlack, database_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[RunningBot]:
    running = start_bot(settings_for(fake, database_url, write_policy(tmp_path, reports=True)), clock)
    yield running
    running.stop()


def reports_channel(fake: FakeSlack) -> str:
    return fake.channel("#support-reports")["id"]


def digest_posts(fake: FakeSlack) -> list[dict]:
    return [m for m in fake.messages("#support-reports") if not m.get("files")]


def charts(fake: FakeSlack) -> list[dict]:
    return [f for f in fake.files.values() if reports_channel(fake) in (f.get("channels") or [])]


def at(bot: RunningBot, clock: ManualClock, fake: FakeSlack, moment: datetime, *, workers: tuple[str, ...] = ("a",)) -> None:
    clock.set(moment)
    for worker in workers:
        sweep(bot.runtime.deps.services, worker=worker)
    settle(bot, fake)


def test_the_digest_goes_to_the_reports_channel_at_its_slot_once_with_figures_and_a_chart(
    reporting: RunningBot, fake: FakeSlack, clock: ManualClock
) -> None:
    slack = sender_for(reporting, fake)
    file_ticket(slack, fake, reporting)  # L2, high
    assert press(slack, fake, reporting, "U0L2ENG", "ticket_acknowledge", 1).status == 200
    fake.wait_until(lambda: ticket(reporting, 1).acknowledged_at is not None, message="acknowledged")
    at(reporting, clock, fake, SLOT - timedelta(minutes=1))
    assert digest_posts(fake) == [] and charts(fake) == []  # queued, not due
    at(reporting, clock, fake, SLOT + timedelta(seconds=1), workers=("replica-1", "replica-2"))
    [post] = digest_posts(fake)
    assert post["text"].startswith("SLA report, week of 23 Nov 2026: 1 opened, 1 acknowledged")
    [table] = [block for block in post["blocks"] if block["type"] == "table"]  # the figures as a table
    rows = {row[0]["text"]: [cell["text"] for cell in row] for row in table["rows"]}
    heading = rows.pop("Level")
    l2 = dict(zip(heading, rows["L2 Technical Support"]))
    assert (l2["Opened"], l2["Acknowledged"], l2["SLA met"], l2["Breaches"]) == ("1", "1", "100% (1/1)", "0")
    [chart] = charts(fake)
    assert png_size(chart["content"]) == (1000, 650)
    assert chart["title"] == "SLA report, week of 23 Nov 2026"
    at(reporting, clock, fake, SLOT + timedelta(hours=1), workers=("replica-1", "replica-2"))
    assert len(digest_posts(fake)) == 1 and len(charts(fake)) == 1  # once, whoever sweeps


def test_a_digest_due_while_the_bot_was_down_goes_out_once_when_it_is_back(
    fake: FakeSlack, database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    policy = write_policy(tmp_path, reports=True)
    first = start_bot(settings_for(fake, database_url, policy), clock)
    sweep(first.runtime.deps.services, worker="first")  # Friday: Monday's digest is queued
    first.stop()
    clock.set(SLOT + timedelta(hours=3))  # down over the slot
    second = start_bot(settings_for(fake, database_url, policy), clock)
    try:
        sweep(second.runtime.deps.services, worker="second")
        settle(second, fake)
        assert len(digest_posts(fake)) == 1 and len(charts(fake)) == 1
    finally:
        second.stop()


def test_a_reports_channel_the_bot_never_joined_is_joined_to_share_the_chart(
    reporting: RunningBot, fake: FakeSlack, clock: ManualClock
) -> None:
    fake.add_channel("support-reports", id=reports_channel(fake), bot_member=False)
    at(reporting, clock, fake, SLOT - timedelta(hours=1))  # queued
    at(reporting, clock, fake, SLOT + timedelta(seconds=1))
    assert [c.params["channel"] for c in fake.calls_to("conversations.join")] == [reports_channel(fake)]
    assert len(digest_posts(fake)) == 1 and len(charts(fake)) == 1


def test_a_report_asked_with_chart_sends_its_figures_drawn_week_by_week_by_dm_once(
    reporting: RunningBot, fake: FakeSlack, clock: ManualClock
) -> None:
    slack = sender_for(reporting, fake)
    file_ticket(slack, fake, reporting)
    clock.advance(timedelta(minutes=1))
    assert slack.slash_command("U0MANAGER", "report 30d level=L2 chart", channel_id="C0GENERAL").status == 200
    fake.wait_until(lambda: any(f["title"].startswith("SLA report, ") for f in fake.files.values()), message="the chart")
    [chart] = [f for f in fake.files.values() if f["title"].startswith("SLA report, ")]
    assert chart["title"] == "SLA report, 28 Oct 2026 to 27 Nov 2026 · level L2"  # the 30 days, as asked
    assert png_size(chart["content"]) == (1000, 650)
    assert [m for m in fake.messages("U0MANAGER") if m.get("files")]  # in the manager's DM, not a channel
    texts = [e.get("text", "") for e in fake.ephemerals_for("C0GENERAL", "U0MANAGER")]
    assert any("on its way by DM" in t for t in texts)
    slack.slash_command("U0MANAGER", "report 30d level=L2 chart", channel_id="C0GENERAL")  # asked again: a new chart
    fake.wait_until(lambda: len([f for f in fake.files.values() if f["title"].startswith("SLA report, ")]) == 2,
                    message="the second chart")
    settle(reporting, fake)


def test_a_digest_queued_for_a_slot_the_policy_no_longer_has_is_skipped(
    fake: FakeSlack, database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    policy = write_policy(tmp_path, reports=True)
    first = start_bot(settings_for(fake, database_url, policy), clock)
    sweep(first.runtime.deps.services, worker="first")  # Friday: Monday 09:00's digest is queued
    first.stop()
    policy.write_text(policy.read_text().replace('weekly: "monday 09:00"', 'weekly: "tuesday 08:00"'))
    second = start_bot(settings_for(fake, database_url, policy), clock)
    try:
        clock.set(SLOT + timedelta(seconds=1))
        sweep(second.runtime.deps.services, worker="second")
        settle(second, fake)
        assert digest_posts(fake) == [] and charts(fake) == []  # Monday's rows are skipped…
        clock.set(SLOT + timedelta(hours=23, seconds=1))  # …and Tuesday 08:00's go out
        sweep(second.runtime.deps.services, worker="second")
        settle(second, fake)
        assert len(digest_posts(fake)) == 1 and len(charts(fake)) == 1
    finally:
        second.stop()
