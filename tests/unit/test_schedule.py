"""Table-driven schedule maths, including daylight-saving changes in New York and Berlin."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.schedule import BusinessHours, add_business_time, catch_up, next_followup

UTC = timezone.utc
NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def at(text: str, tz: ZoneInfo | timezone = UTC) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("after", "tz", "expected_local"),
    [
        ("2026-11-27 18:00", BERLIN, "2026-11-28 09:00"),  # evening: next morning
        ("2026-11-27 08:00", BERLIN, "2026-11-28 09:00"),  # an hour before the anchor: not yet, tomorrow
        ("2026-11-27 21:00", BERLIN, "2026-11-28 09:00"),  # 12h exactly
        ("2026-03-28 10:00", BERLIN, "2026-03-29 09:00"),  # Berlin springs forward on 29 March (CET -> CEST)
        ("2026-10-24 10:00", BERLIN, "2026-10-25 09:00"),  # Berlin falls back on 25 October
        ("2026-03-07 10:00", NY, "2026-03-08 09:00"),      # New York springs forward on 8 March
        ("2026-10-31 10:00", NY, "2026-11-01 09:00"),      # New York falls back on 1 November
    ],
)
def test_daily_follow_ups_land_at_nine_local_across_dst(after: str, tz: ZoneInfo, expected_local: str) -> None:
    due = next_followup(at(after, tz), timedelta(days=1), anchor=time(9, 0), tz=tz)
    assert due == at(expected_local, tz)
    assert due.astimezone(tz).time() == time(9, 0)


def test_the_utc_gap_between_two_nine_oclocks_is_23_hours_on_spring_forward_day() -> None:
    first = next_followup(at("2026-03-27 10:00", BERLIN), timedelta(days=1), anchor=time(9), tz=BERLIN)
    second = next_followup(first, timedelta(days=1), anchor=time(9), tz=BERLIN)
    assert second - first == timedelta(hours=23)


@pytest.mark.parametrize("start", ["2026-03-08 05:30", "2026-11-01 05:30", "2026-06-01 05:30"])
def test_critical_follow_ups_are_every_two_real_hours_even_across_dst(start: str) -> None:
    after = at(start)  # 00:30/01:30 in New York around the switch
    assert next_followup(after, timedelta(hours=2)) == after + timedelta(hours=2)


@pytest.mark.parametrize(
    ("due", "now", "expected"),
    [
        ("2026-11-27 10:00", "2026-11-27 09:00", "2026-11-27 10:00"),  # not due: unchanged
        ("2026-11-27 10:00", "2026-11-27 10:00", "2026-11-27 12:00"),  # due now: next on the grid
        ("2026-11-27 10:00", "2026-11-27 17:30", "2026-11-27 18:00"),  # down 7.5h: 4 missed become 1
    ],
)
def test_missed_recurring_reminders_coalesce_into_one(due: str, now: str, expected: str) -> None:
    assert catch_up(at(due), at(now), timedelta(hours=2)) == at(expected)


OFFICE = BusinessHours(tz=BERLIN, days=frozenset(range(5)), start=time(9), end=time(17))


@pytest.mark.parametrize(
    ("start", "sla", "expected_local"),
    [
        ("2026-11-27 10:00", timedelta(hours=4), "2026-11-27 14:00"),  # Friday, inside the day
        ("2026-11-27 15:00", timedelta(hours=4), "2026-11-30 11:00"),  # Friday late: Monday morning
        ("2026-11-28 12:00", timedelta(hours=8), "2026-11-30 17:00"),  # Saturday: the clock starts Monday 09:00
        ("2026-11-26 20:00", timedelta(minutes=15), "2026-11-27 09:15"),  # after hours: next opening + 15m
    ],
)
def test_business_hours_stop_the_sla_clock_outside_working_time(start: str, sla: timedelta, expected_local: str) -> None:
    assert add_business_time(at(start, BERLIN), sla, OFFICE) == at(expected_local, BERLIN)


def test_without_business_hours_the_sla_runs_on_calendar_time() -> None:
    assert add_business_time(at("2026-11-28 12:00"), timedelta(hours=8), None) == at("2026-11-28 20:00")


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("after", "expected_utc"), [
    ("2026-12-01T10:00:00+00:00", "2026-12-07T08:00:00+00:00"),  # a Tuesday: next Monday 09:00 CET
    ("2026-12-07T07:59:59+00:00", "2026-12-07T08:00:00+00:00"),  # the slot itself, a second before
    ("2026-12-07T08:00:00+00:00", "2026-12-14T08:00:00+00:00"),  # strictly after: at the slot, the next one
    ("2026-03-27T12:00:00+00:00", "2026-03-30T07:00:00+00:00"),  # across spring-forward: 09:00 CEST
])
def test_the_weekly_digest_slot_is_monday_nine_local_whatever_the_offset(after: str, expected_utc: str) -> None:
    from bot.domain.schedule import next_weekly

    assert next_weekly(datetime.fromisoformat(after), 0, time(9, 0), BERLIN) == datetime.fromisoformat(expected_utc)
