"""Report cost: `report 30d` over 50,000 tickets with realistic timelines, on SQLite and PostgreSQL.

The issue's target: *`report 30d` over 50,000 tickets in under 1 s.* Every ticket is filed inside the
30 days, so the 30-day report reads all of them (the worst case); `report 7d` reads about a quarter,
and a naive ORM version (every timeline event of the touched tickets loaded as an ORM object, the
details read in Python) is the baseline, timed on the same database in the same run.

1. **Seed** (bulk Core inserts, one transaction): N tickets (default 50,000) filed over the 30 days
   before T0 across the levels (60% L1, 30% L2, 10% L3 critical), each with a realistic timeline of
   6-10 events: created, routed, notified; 80% acknowledged (5 min to 6 h later), 15% escalated
   one level (half of them after an acknowledgement, then acknowledged again at the next level),
   75% resolved, 5% of the resolved reopened and resolved again, unacknowledged ones breached at
   their due, tickets open past 4 h with a manager notice, resolved criticals with a post-mortem
   request (70% completed); plus follow-up reminders and updates as noise.
2. **Time** `bot.services.reports.report(ctx, since=T0-30d, until=T0)` (median of 7 runs after one warm-up),
   the same for 7 days, `weekly(ctx, weeks=12)`, and the naive baseline (median of 3).

`run(url)` seeds an empty database at `url` (migrated here) and returns the figures as a dict, for
bench/home.py to call. From the command line: `.venv/bin/python bench/report.py [--tickets N]`
(SQLite in a temporary file; PostgreSQL too in a scratch schema when BENCH_DATABASE_URL or
TEST_DATABASE_URL is set). Writes bench/results/report.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.db import make_engine, make_sessions, migrate  # noqa: E402
from bot.domain.reports import REPORT_KINDS, Fact, Report, build_reports, history_of  # noqa: E402
from bot.domain.tickets import TicketStatus  # noqa: E402
from bot.services.context import ServiceContext  # noqa: E402
from bot.services.reports import report, weekly  # noqa: E402
from bot.services.tickets import calendar_of  # noqa: E402
from models import Ticket, TimelineEvent  # noqa: E402
from tests.integration.recording import Groups, RecordingNotifier  # noqa: E402
from tests.policies import open_seed_policy  # noqa: E402

UTC = timezone.utc
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=30)
RESULTS = ROOT / "bench" / "results" / "report.json"
BATCH = 5000
H, M = timedelta(hours=1), timedelta(minutes=1)
REASONS = ("complexity", "sla_unresolved", "customer_executive", "systemic", "regulatory")


def timeline(rng: random.Random, ticket_id: int, filed: datetime, levels: list[tuple[str, timedelta]], start: int,
             now: datetime) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One ticket's events (as the services write them) and the ticket row's final state."""
    events: list[dict[str, Any]] = []

    def add(at: datetime, kind: str, actor: str = "bot", source: str = "system", **details: Any) -> None:
        if at <= now:
            events.append({"ticket_id": ticket_id, "at": at, "actor_id": actor, "kind": kind, "source": source,
                           "details": details})

    level, sla = levels[start]
    add(filed, "created", "U0AGENT", "modal", title="Seeded", category="x")
    add(filed, "routed", level=level, severity="high", reason="scope", triggers=[], response_due_at=(filed + sla).isoformat())
    add(filed + timedelta(seconds=1), "notified", notice="card_post")
    moment, due, state = filed, filed + sla, TicketStatus.OPEN
    index = start
    acked: datetime | None = None
    if rng.random() < 0.8:
        acked = moment + timedelta(minutes=rng.randint(5, 360))
        add(acked, "acknowledged", "U0ENG", "button", level=level, elapsed_seconds=0, within_sla=acked <= due)
        state, moment = TicketStatus.ACKNOWLEDGED, acked
    if index + 1 < len(levels) and rng.random() < 0.15:
        moment = moment + timedelta(minutes=rng.randint(10, 240))
        index += 1
        level, sla = levels[index]
        due, acked = moment + sla, None
        add(moment, "escalated", "U0ENG", "modal", from_level=levels[index - 1][0], to_level=level,
            reason=rng.choice(REASONS), reason_label="x", notes="", changes=[], response_due_at=due.isoformat())
        if rng.random() < 0.8:
            acked = moment + timedelta(minutes=rng.randint(2, 300))
            add(acked, "acknowledged", "U0ENG", "button", level=level, elapsed_seconds=0, within_sla=acked <= due)
            moment = acked
        state = TicketStatus.ACKNOWLEDGED if acked else TicketStatus.OPEN
    if acked is None:
        add(due, "sla_breached", "bot", "scheduler", level=level, managers=["U0BOSS"], due_at=due.isoformat())
    resolved = rng.random() < 0.75
    if filed + 4 * H <= now and (not resolved or moment > filed + 4 * H):
        add(filed + 4 * H, "managers_notified", "bot", "scheduler", managers=["U0BOSS"], open_for="4h",
            due_at=(filed + 4 * H).isoformat())
    add(moment + 2 * H, "followup_requested", "bot", "scheduler", assignee=None)
    add(moment + 3 * H, "update_posted", "U0ENG", "modal", status="Working on it")
    row: dict[str, Any] = {"status": state, "level_key": level}
    if resolved:
        moment = moment + timedelta(minutes=rng.randint(20, 1440))
        add(moment, "resolved", "U0ENG", "modal", resolution="Fixed", root_cause="x", lessons_learned="x")
        critical = level == levels[-1][0]
        if critical:
            pm_due = moment + timedelta(days=5)
            add(moment, "postmortem_requested", "U0ENG", "modal", owner="U0ENG", due_at=pm_due.isoformat())
            written = moment + timedelta(days=rng.randint(1, 7))
            if rng.random() < 0.7 and written <= now:
                add(written, "postmortem_completed", "U0ENG", "modal", url="https://x")
                add(written, "closed", "U0ENG", "modal")
                row.update(status=TicketStatus.CLOSED, closed_at=written)
            else:
                row.update(status=TicketStatus.POSTMORTEM_DUE, postmortem_due_at=pm_due)
        else:
            add(moment, "closed", "U0ENG", "modal")
            row.update(status=TicketStatus.CLOSED, closed_at=moment)
        if rng.random() < 0.05:
            moment = moment + timedelta(hours=rng.randint(1, 48))
            due = moment + sla
            add(moment, "reopened", "U0AGENT", "button", previous_status="closed", level=level, response_due_at=due.isoformat())
            add(moment + 30 * M, "acknowledged", "U0ENG", "button", level=level, elapsed_seconds=1800, within_sla=True)
            add(moment + 2 * H, "resolved", "U0ENG", "modal", resolution="Fixed again", root_cause="x", lessons_learned="x")
            row.update(status=TicketStatus.CLOSED, postmortem_due_at=None, closed_at=moment + 2 * H)
    events = [e for e in events if e["at"] <= now]
    events.sort(key=lambda e: e["at"])
    return events, row


def seed(engine: Any, policy: Any, n: int, *, seed_value: int = 42) -> dict[str, Any]:
    rng = random.Random(seed_value)
    levels = [(lv.key, lv.response_sla) for lv in policy.levels]
    started = time.perf_counter()
    events_total = 0
    with engine.begin() as connection:
        for first in range(1, n + 1, BATCH):
            tickets, events = [], []
            for ticket_id in range(first, min(first + BATCH, n + 1)):
                filed = T0 - SPAN + SPAN * rng.random()
                start = 0 if rng.random() < 0.6 else (1 if rng.random() < 0.75 else 2)
                level = policy.levels[start]
                rows, final = timeline(rng, ticket_id, filed, levels, start, T0)
                events += rows
                scope = level.scope or ("Other",)
                tickets.append(dict(
                    id=ticket_id, title=f"Seeded ticket {ticket_id}", category=scope[ticket_id % len(scope)],
                    severity="critical" if start == 2 else ("high" if ticket_id % 3 else "medium"),
                    status=final["status"], level_key=final["level_key"], description="Seeded by bench/report.py.",
                    error_messages="", troubleshooting="Restarted.", business_impact="Some users cannot work.",
                    affected_users=1 + ticket_id % 200, links=[], attachments=[], triggers=[], customer_executive=False,
                    regulatory=False, reporter_id=f"U{ticket_id % 5000:07d}", created_at=filed, level_entered_at=filed,
                    response_sla_seconds=int(level.response_sla.total_seconds()), response_due_at=filed + level.response_sla,
                    handoffs=0, postmortem_due_at=final.get("postmortem_due_at"), closed_at=final.get("closed_at"), intake_key=None,
                ))
            connection.execute(insert(Ticket.__table__), tickets)
            for start_row in range(0, len(events), BATCH):
                connection.execute(insert(TimelineEvent.__table__), events[start_row:start_row + BATCH])
            events_total += len(events)
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT setval(pg_get_serial_sequence('tickets', 'id'), (SELECT max(id) FROM tickets))"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return {"tickets": n, "events": events_total, "events_per_ticket": round(events_total / n, 2),
            "seed_seconds": round(time.perf_counter() - started, 1)}


def naive_report(ctx: ServiceContext, *, since: datetime, until: datetime) -> Report:
    """The baseline: ORM objects for every event of the touched tickets, details read in Python."""
    with ctx.sessions() as session:
        touched = select(TimelineEvent.ticket_id).where(TimelineEvent.at >= since, TimelineEvent.at < until)
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(touched)))}
        events = session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id.in_(touched))
                                 .order_by(TimelineEvent.ticket_id, TimelineEvent.at, TimelineEvent.id)).all()
        by_ticket: dict[int, list[Fact]] = {}
        for e in events:
            if e.kind not in REPORT_KINDS:
                continue
            d = e.details
            due = d.get("response_due_at") or d.get("due_at")
            by_ticket.setdefault(e.ticket_id, []).append(Fact(
                e.at, e.kind, d.get("to_level") or d.get("level"), datetime.fromisoformat(due) if due else None,
                d.get("from_level"), d.get("reason")))
    histories = [history_of(i, tickets[i].category, tickets[i].severity.value, facts) for i, facts in by_ticket.items()]
    policy = ctx.policy
    return build_reports(histories, windows=[(since, until)], now=ctx.clock.now(),
                         levels=[(lv.key, lv.title) for lv in policy.levels],
                         hours={lv.key: calendar_of(ctx, lv) for lv in policy.levels})[0]


def timed(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    call()  # warm-up: the first run pays for the page cache and the statement cache
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 1), result


def run(url: str, *, tickets: int = 50_000, runs: int = 7, baseline: bool = True) -> dict[str, Any]:
    """Seed `tickets` tickets into the empty database at `url` and time the reports; figures as a dict."""
    engine = make_engine(url)
    try:
        migrate(engine)
        policy = open_seed_policy()
        ctx = ServiceContext(sessions=make_sessions(engine), policy=policy, clock=ManualClock(T0), notifier=RecordingNotifier(), directory=Groups())
        result: dict[str, Any] = {"backend": engine.dialect.name, **seed(engine, policy, tickets)}
        ms30, month = timed(lambda: report(ctx, since=T0 - SPAN, until=T0), runs)
        ms7, week = timed(lambda: report(ctx, since=T0 - timedelta(days=7), until=T0), runs)
        ms_weekly, weeks = timed(lambda: weekly(ctx, weeks=12, until=T0), max(3, runs // 2))
        result.update(report_30d_ms=ms30, report_7d_ms=ms7, weekly_12_ms=ms_weekly,
                      opened_30d=month.total.opened, opened_7d=week.total.opened,
                      figures_30d=figures(month), weeks=[w.total.opened for w in weeks])
        if baseline:
            ms_naive, naive = timed(lambda: naive_report(ctx, since=T0 - SPAN, until=T0), 3)
            result.update(naive_30d_ms=ms_naive, naive_matches=naive.levels == month.levels and naive.total == month.total)
        return result
    finally:
        engine.dispose()


def figures(r: Report) -> dict[str, Any]:
    def one(f: Any) -> dict[str, Any]:
        def minutes(d: timedelta | None) -> float | None:
            return None if d is None else round(d.total_seconds() / 60, 1)
        return {"opened": f.opened, "acknowledged": f.acknowledged, "mtta_min": minutes(f.mtta),
                "mtta_median_min": minutes(f.mtta_median), "mttr_min": minutes(f.mttr), "resolved": f.resolved,
                "attainment": None if f.attainment is None else round(f.attainment, 3), "breaches": f.breaches,
                "escalations": dict(f.escalations), "manager_notices": f.manager_notices,
                "postmortems_done": f.postmortems_done, "postmortems_overdue": f.postmortems_overdue}
    return {f.level: one(f) for f in (*r.levels, r.total)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL URL (default: env BENCH_DATABASE_URL or TEST_DATABASE_URL); SQLite always runs")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(), "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as directory:
        results["sqlite"] = run(f"sqlite:///{Path(directory) / 'report.db'}", tickets=args.tickets, runs=args.runs)
    if args.database_url:
        from bench.intake_latency import postgres_schema

        url, drop = postgres_schema(args.database_url, prefix="bench_report_")
        try:
            results["postgresql"] = run(url, tickets=args.tickets, runs=args.runs)
        finally:
            drop()
    results["load_average_after"] = os.getloadavg()
    print(f"{'backend':<11} {'tickets':>8} {'events':>8} {'seed s':>7} {'30d ms':>7} {'7d ms':>7} {'12 weeks ms':>11} "
          f"{'naive 30d ms':>12}  same figures")
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            r = results[backend]
            print(f"{backend:<11} {r['tickets']:>8} {r['events']:>8} {r['seed_seconds']:>7} {r['report_30d_ms']:>7} "
                  f"{r['report_7d_ms']:>7} {r['weekly_12_ms']:>11} {r.get('naive_30d_ms', '-'):>12}  {r.get('naive_matches', '-')}")
    for backend in ("sqlite", "postgresql"):
        if backend in results:
            r = results[backend]
            verdict = "PASS" if r["report_30d_ms"] < 1000 else "FAIL"
            print(f"{verdict} {backend}: report 30d over {r['tickets']:,} tickets in {r['report_30d_ms']} ms (target < 1000 ms)")
    first = next(iter(k for k in ("sqlite", "postgresql") if k in results))
    print("30-day figures:", json.dumps(results[first]["figures_30d"]["all"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
