"""Report figures against a history built with known times, every expectation computed by hand."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.reports import Fact, Stint, build_report, build_reports, history_of, sla_verdict, weekly_windows
from bot.domain.schedule import BusinessHours, add_business_time, business_time_between

UTC = timezone.utc
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
SINCE, UNTIL = T0 - timedelta(hours=1), T0 + timedelta(days=2)
NOW = UNTIL + timedelta(hours=1)
LEVELS = [("L1", "L1 Help Desk"), ("L2", "L2 Technical Support"), ("L3", "L3 Engineering")]
H, M = timedelta(hours=1), timedelta(minutes=1)


def routed(at: datetime, level: str, sla: timedelta) -> Fact:
    return Fact(at, "routed", level, at + sla)


def escalated(at: datetime, frm: str, to: str, sla: timedelta, reason: str) -> Fact:
    return Fact(at, "escalated", to, at + sla, frm, reason)


def reopened(at: datetime, level: str, sla: timedelta) -> Fact:
    return Fact(at, "reopened", level, at + sla)


def ev(at: datetime, kind: str, level: str | None = None, due: datetime | None = None) -> Fact:
    return Fact(at, kind, level, due)


HISTORIES = [
    # 1: L1, acknowledged after 1h (within 4h), resolved after 3h.
    history_of(1, "Network", "high", [routed(T0, "L1", 4 * H), ev(T0 + H, "acknowledged"), ev(T0 + 3 * H, "resolved")]),
    # 2: escalated mid-SLA from L1 after 2h (no verdict for L1); L2 acknowledges 10h later, 2h past its 8h due.
    history_of(2, "Network", "medium", [
        routed(T0, "L1", 4 * H), escalated(T0 + 2 * H, "L1", "L2", 8 * H, "complex"),
        ev(T0 + 12 * H, "acknowledged"), ev(T0 + 13 * H, "resolved")]),
    # 3: L2, never acknowledged: breached at its due, managers told at 4h; a miss as of now.
    history_of(3, "Email", "high", [
        routed(T0 + H, "L2", 8 * H), ev(T0 + 5 * H, "managers_notified"), ev(T0 + 9 * H, "sla_breached", "L2")]),
    # 4: L1, resolved after 1h, reopened 4h later (a new stint, MTTR from the reopen), resolved again.
    history_of(4, "Password", "low", [
        routed(T0, "L1", 4 * H), ev(T0 + 30 * M, "acknowledged"), ev(T0 + H, "resolved"),
        reopened(T0 + 5 * H, "L1", 4 * H), ev(T0 + 6 * H, "acknowledged"), ev(T0 + 7 * H, "resolved")]),
    # 5: L3 critical, acknowledged in 10m, resolved after 1h; post-mortem done a day later (late, but done).
    history_of(5, "Security", "critical", [
        routed(T0, "L3", 15 * M), ev(T0 + 10 * M, "acknowledged"), ev(T0 + H, "resolved"),
        ev(T0 + H, "postmortem_requested", due=T0 + 25 * H), ev(T0 + 26 * H, "postmortem_completed")]),
    # 6: L3 critical, acknowledged in 5m; its post-mortem was due before the period ended and never written.
    history_of(6, "Security", "critical", [
        routed(T0 + 2 * H, "L3", 15 * M), ev(T0 + 2 * H + 5 * M, "acknowledged"), ev(T0 + 3 * H, "resolved"),
        ev(T0 + 3 * H, "postmortem_requested", due=T0 + 27 * H)]),
    # 7: L1, filed half an hour before the period ended, not yet due now: no SLA verdict.
    history_of(7, "Network", "low", [routed(UNTIL - 30 * M, "L1", 4 * H)]),
    # 8: filed before the period: not opened in it, but its resolution in it counts (MTTR 25h).
    history_of(8, "Printer", "low", [
        routed(SINCE - 24 * H, "L1", 4 * H), ev(SINCE - 23 * H, "acknowledged"), ev(SINCE + H, "resolved")]),
]


def figures(report, level: str):  # noqa: ANN001, ANN201
    return next(f for f in (*report.levels, report.total) if f.level == level)


def test_each_levels_figures_count_what_started_or_happened_at_it_in_the_period() -> None:
    report = build_report(HISTORIES, since=SINCE, until=UNTIL, now=NOW, levels=LEVELS)
    l1, l2, l3 = report.levels
    assert (l1.opened, l1.stints, l1.acknowledged) == (4, 5, 3)  # tickets 1, 2, 4 (twice), 7
    assert (l1.mtta, l1.mtta_median) == (50 * M, H)  # 1h, 30m, 1h
    assert (l1.sla_counted, l1.sla_met, l1.attainment) == (3, 3, 1.0)  # 2's stint and 7's have no verdict
    assert (l1.resolved, l1.mttr, l1.mttr_median) == (4, 7.75 * H, 2.5 * H)  # 3h, 1h, 2h (from the reopen), 25h
    assert l1.escalations == (("complex", 1),) and (l1.breaches, l1.manager_notices) == (0, 0)
    assert l1.top_categories == (("Network", 3), ("Password", 1))

    assert (l2.opened, l2.acknowledged, l2.mtta) == (2, 1, 10 * H)  # the escalated stint starts at L2 with its own SLA
    assert (l2.sla_counted, l2.sla_met, l2.attainment) == (2, 0, 0.0)  # late, and breached unacknowledged
    assert (l2.resolved, l2.mttr) == (1, 13 * H)  # MTTR counts from filing, not from the escalation
    assert (l2.breaches, l2.manager_notices, l2.escalations) == (1, 1, ())

    assert (l3.opened, l3.mtta, l3.mtta_median, l3.attainment) == (2, 7.5 * M, 7.5 * M, 1.0)
    assert (l3.resolved, l3.mttr) == (2, H)
    assert (l3.postmortems_done, l3.postmortems_overdue) == (1, 1)


def test_all_levels_together_count_each_ticket_once_and_every_stint() -> None:
    total = build_report(HISTORIES, since=SINCE, until=UNTIL, now=NOW, levels=LEVELS).total
    assert (total.level, total.title) == ("all", "All levels")
    assert (total.opened, total.stints, total.acknowledged) == (7, 9, 6)
    assert total.mtta == 127.5 * M and total.mtta_median == 45 * M  # 5m 10m 30m 60m 60m 600m
    assert (total.sla_counted, total.sla_met) == (7, 5) and total.attainment == pytest.approx(5 / 7)
    assert (total.resolved, total.mttr, total.mttr_median) == (7, 46 * H / 7, 2 * H)  # 1h 1h 1h 2h 3h 13h 25h
    assert (total.breaches, total.manager_notices, total.escalations) == (1, 1, (("complex", 1),))
    assert (total.postmortems_done, total.postmortems_overdue) == (1, 1)
    assert total.top_categories == (("Network", 3), ("Security", 2), ("Email", 1), ("Password", 1))


def test_a_level_filter_keeps_that_level_and_totals_only_it() -> None:
    report = build_report(HISTORIES, since=SINCE, until=UNTIL, now=NOW, levels=LEVELS, level="L2",
                          filters=(("level", "L2"),))
    assert [f.level for f in report.levels] == ["L2"]
    assert (report.total.opened, report.total.breaches, report.total.attainment, report.total.escalations) == (2, 1, 0.0, ())
    assert report.filters == (("level", "L2"),)


def test_an_empty_period_has_no_means_and_no_attainment() -> None:
    report = build_report(HISTORIES, since=NOW + H, until=NOW + 2 * H, now=NOW + 2 * H, levels=LEVELS)
    assert (report.total.opened, report.total.mtta, report.total.mttr, report.total.attainment) == (0, None, None, None)
    assert report.total.postmortems_overdue == 1  # still overdue: a backlog, shown until written


def test_a_postmortem_is_overdue_only_once_its_due_has_passed_by_the_periods_end() -> None:
    early = build_report(HISTORIES, since=SINCE, until=T0 + 26 * H, now=NOW, levels=LEVELS)  # 6's is due at T0+27h
    assert (early.total.postmortems_overdue, early.total.postmortems_done) == (1, 0)  # 5's: due T0+25h, done at T0+26h
    reopened_before = history_of(9, "Security", "critical", [
        routed(T0, "L3", 15 * M), ev(T0 + H, "resolved"), ev(T0 + H, "postmortem_requested", due=T0 + 2 * H),
        reopened(T0 + 90 * M, "L3", 15 * M)])
    assert build_report([reopened_before], since=SINCE, until=UNTIL, now=NOW, levels=LEVELS).total.postmortems_overdue == 0


def test_business_hours_stop_the_acknowledgement_clock_outside_working_time() -> None:
    hours = BusinessHours(tz=UTC, days=frozenset(range(5)), start=time(9), end=time(17))
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    due = add_business_time(friday, 8 * H, hours)  # Monday 15:00
    ticket = history_of(10, "Network", "high", [Fact(friday, "routed", "L2", due), Fact(monday, "acknowledged")])
    report = build_report([ticket], since=friday - H, until=monday + H, now=monday + H, levels=LEVELS, hours={"L2": hours})
    l2 = report.levels[1]
    assert (l2.mtta, l2.attainment) == (2 * H, 1.0)  # 1h on Friday, 1h on Monday; 66h of calendar time
    calendar = build_report([ticket], since=friday - H, until=monday + H, now=monday + H, levels=LEVELS)
    assert calendar.levels[1].mtta == 66 * H


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-11-27 16:00", "2026-11-30 10:00", 2 * H),    # over a weekend
    ("2026-11-28 10:00", "2026-11-29 18:00", timedelta(0)),  # all weekend
    ("2026-11-30 07:00", "2026-11-30 20:00", 8 * H),    # a whole working day
    ("2026-11-30 12:00", "2026-11-30 12:30", 30 * M),   # inside one window
    ("2026-03-27 16:00", "2026-03-30 10:00", 2 * H),    # Berlin springs forward on Sunday 29 March
])
def test_business_time_between_counts_only_working_hours(start: str, end: str, expected: timedelta) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    hours = BusinessHours(tz=berlin, days=frozenset(range(5)), start=time(9), end=time(17))
    s = datetime.fromisoformat(start).replace(tzinfo=berlin).astimezone(UTC)
    e = datetime.fromisoformat(end).replace(tzinfo=berlin).astimezone(UTC)
    assert business_time_between(s, e, hours) == expected
    if expected:  # the inverse of add_business_time: that much business time from the start ends by `end`
        assert add_business_time(s, expected, hours) <= e


def test_an_unacknowledged_stint_is_a_miss_once_past_due_and_no_verdict_before() -> None:
    stint = Stint("L1", T0, T0 + 4 * H)
    assert sla_verdict(stint, T0 + 4 * H) is None and sla_verdict(stint, T0 + 4 * H + M) is False
    assert sla_verdict(Stint("L1", T0, T0 + 4 * H, acknowledged=T0 + 4 * H), NOW) is True  # exactly at the due: within
    assert sla_verdict(Stint("L1", T0, T0 + 4 * H, end=T0 + 5 * H), NOW) is False  # escalated away after the due
    assert sla_verdict(Stint("L1", T0, None), NOW) is None


def test_at_most_five_categories_are_shown() -> None:
    tickets = [history_of(i, f"C{i % 7}", "low", [routed(T0 + i * M, "L1", 4 * H)]) for i in range(20)]
    top = build_report(tickets, since=SINCE, until=UNTIL, now=NOW, levels=LEVELS).total.top_categories
    assert top == (("C0", 3), ("C1", 3), ("C2", 3), ("C3", 3), ("C4", 3), ("C5", 3), ("C6", 2))[:5]


def test_weekly_reports_are_consecutive_weeks_ending_at_until_oldest_first() -> None:
    windows = weekly_windows(UNTIL, 3)
    assert windows[-1] == (UNTIL - timedelta(days=7), UNTIL) and windows[0][0] == UNTIL - timedelta(days=21)
    assert all(a[1] == b[0] for a, b in zip(windows, windows[1:]))
    reports = build_reports(HISTORIES, windows=windows, now=NOW, levels=LEVELS)
    assert [r.total.opened for r in reports] == [0, 0, 8]  # ticket 8 was filed in the last week too
    assert reports[-1] == build_report(HISTORIES, since=windows[-1][0], until=UNTIL, now=NOW, levels=LEVELS)


def test_weekly_reports_equal_one_report_per_week() -> None:
    windows = weekly_windows(NOW, 3)
    weeks = build_reports(HISTORIES, windows=windows, now=NOW, levels=LEVELS)
    assert weeks == [build_report(HISTORIES, since=s, until=u, now=NOW, levels=LEVELS) for s, u in windows]
    days = [(SINCE + k * 24 * H, SINCE + (k + 1) * 24 * H) for k in range(3)]  # the history spread over them
    daily = build_reports(HISTORIES, windows=days, now=NOW, levels=LEVELS)
    assert daily == [build_report(HISTORIES, since=s, until=u, now=NOW, levels=LEVELS) for s, u in days]
    assert [d.total.opened for d in daily] == [6, 0, 1] and sum(d.total.resolved for d in daily) == 7
    with pytest.raises(ValueError, match="not overlapping"):
        build_reports(HISTORIES, windows=[(T0, T0 + 2 * H), (T0 + H, T0 + 3 * H)], now=NOW, levels=LEVELS)
