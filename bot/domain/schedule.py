"""Schedule maths for timers: follow-up cadences (with a local anchor time, DST-correct), business-hours
SLA clocks, and catching up after downtime. Pure: `now` is always given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
DAY = timedelta(days=1)


def next_followup(after: datetime, cadence: timedelta, *, anchor: time | None = None, tz: ZoneInfo | None = None) -> datetime:
    """When the next status check is due after `after` (the last update, or when the cadence started).

    Without an anchor: `after + cadence` (critical: every 2 hours). With an anchor (standard: daily at
    09:00 local): the first anchor time, in the zone's wall-clock time whatever the DST offset, that is
    at least `cadence - 12h` after `after` (half a day for daily), so a ticket filed at 08:00 is first
    asked the next morning, not an hour later.
    """
    if anchor is None or tz is None:
        return after + cadence
    earliest = after + (cadence - timedelta(hours=12) if cadence >= DAY else cadence / 2)
    day = earliest.astimezone(tz).date()
    while True:
        candidate = local(day, anchor, tz)
        if candidate >= earliest:
            return candidate
        day += DAY


def local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as an aware UTC instant (a time in a DST gap lands an hour later)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def catch_up(due: datetime, now: datetime, step: timedelta) -> datetime:
    """For a recurring timer that missed occurrences while the bot was down: the next due time after
    `now` on the same grid; the missed ones coalesce into the one firing now."""
    if due > now:
        return due
    missed = (now - due) // step + 1
    return due + missed * step


@dataclass(frozen=True)
class BusinessHours:
    """Working days (0 = Monday) and hours in a zone; the SLA clock only runs inside them."""

    tz: ZoneInfo
    days: frozenset[int]
    start: time
    end: time

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        return local(day, self.start, self.tz), local(day, self.end, self.tz)


def add_business_time(start: datetime, duration: timedelta, hours: BusinessHours | None) -> datetime:
    """`start + duration` counting only business hours (calendar time when `hours` is None)."""
    if hours is None:
        return start + duration
    remaining = duration
    moment = start
    day = start.astimezone(hours.tz).date()
    for _ in range(3660):  # ten years of days: a policy with no working days can't loop forever
        window = hours._window(day)
        if window is not None:
            open_, close = window
            begin = max(moment, open_)
            if begin < close:
                available = close - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += DAY
        moment = local(day, time(0, 0), hours.tz)
    raise ValueError("business hours never open: check the policy's working days")


def business_time_between(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    """How much of [start, end) falls inside business hours (calendar time when `hours` is None);
    the inverse of `add_business_time`: add_business_time(s, business_time_between(s, e, h), h) <= e."""
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    total = timedelta(0)
    day = start.astimezone(hours.tz).date()
    last = end.astimezone(hours.tz).date()
    while day <= last:
        window = hours._window(day)
        if window is not None:
            open_, close = window
            begin, finish = max(start, open_), min(end, close)
            if begin < finish:
                total += finish - begin
        day += DAY
    return total


def next_weekly(after: datetime, weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """The first weekly slot (`weekday`, 0 = Monday, at local `at`, DST-correct) strictly after `after`."""
    day = after.astimezone(tz).date()
    day -= timedelta(days=(day.weekday() - weekday) % 7)  # this week's slot day (possibly earlier today)
    while (slot := local(day, at, tz)) <= after:
        day += timedelta(days=7)
    return slot
