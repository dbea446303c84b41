"""App Home: how long one person's Home takes to build when they may see thousands of open tickets.

The person is a responder of every level and a manager, so every section of the Home has rows:
tickets waiting for acknowledgement at each level (a share breached), acknowledged ones assigned to
them (follow-ups), post-mortems they own, tickets they reported, plus a closed history. The Home is
built as the bot builds it at `app_home_opened` or at a refresh: the read model
(`bot.services.home.home`, on the database) and the view (`home_parts` + `home_view`: Jinja words and
Block Kit from slack_sdk's models). Each build's SQL statements are counted by an SQLAlchemy event
listener. A baseline with 50 open tickets runs in the same process, so the figures compare like with
like. The target (issue 10): under 100 ms at 5,000 open tickets, with the same number of statements.

It is a measurement, not a test: it prints a table, writes bench/results/home.json, exits 0 unless
something crashed. Parts are listed in PARTS. Its companion, bench/report.py, times `report 30d` over
50,000 tickets; `make bench-home` runs both.
Run from anywhere: `.venv/bin/python bench/home.py [--quick] [--database-url URL]`
(default: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary SQLite file only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, event  # noqa: E402

from bench.intake_latency import postgres_schema  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.db import make_engine, make_sessions, migrate  # noqa: E402
from bot.rendering import Renderer  # noqa: E402
from bot.services.context import ServiceContext  # noqa: E402
from bot.services.home import home  # noqa: E402
from bot.slack.blocks import home_view  # noqa: E402
from bot.slack.notifier import home_parts  # noqa: E402
from tests.integration.recording import Groups, RecordingNotifier  # noqa: E402
from tests.policies import open_seed_policy  # noqa: E402
from tests.seeding import seed_open_tickets  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "home.json"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
PERSON = "U0BENCH"
TARGET_MS = 100.0


def policy_for_bench() -> Any:
    base = open_seed_policy()
    levels = tuple(replace(lv, responders=(PERSON, "U0OTHER"), open_to_everyone=False) for lv in base.levels)
    return replace(base, levels=levels, management=replace(base.management, managers=(PERSON,)))


def seed(engine: Engine, open_tickets: int, *, closed: int) -> None:
    """`open_tickets` visible to PERSON, spread over the levels and states; `closed` more in the history."""
    sessions = make_sessions(engine)
    per_level = open_tickets // 3
    with sessions.begin() as session:
        for level in ("L1", "L2", "L3"):
            waiting = per_level * 7 // 10
            seed_open_tickets(session, waiting, level=level, now=NOW, spread=timedelta(hours=12))
            seed_open_tickets(session, per_level * 2 // 10, level=level, now=NOW, status="acknowledged", assignee_id=PERSON)
            seed_open_tickets(session, per_level - waiting - per_level * 2 // 10, level=level, now=NOW, reporter=PERSON,
                              status="postmortem_due", postmortem_owner=PERSON, postmortem_due_at=NOW + timedelta(days=2))
        seed_open_tickets(session, closed, level="L2", now=NOW - timedelta(days=30), status="closed",
                          spread=timedelta(days=300), reporter=PERSON)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def measure_home(url: str, open_tickets: int, *, closed: int, repeats: int) -> dict[str, Any]:
    """Seed a fresh database, then build the Home `repeats` times (after 3 warm-ups)."""
    engine = make_engine(url)
    migrate(engine)
    seed(engine, open_tickets, closed=closed)
    ctx = ServiceContext(sessions=make_sessions(engine), policy=policy_for_bench(), clock=ManualClock(NOW),
                         notifier=RecordingNotifier(), directory=Groups())
    renderer = Renderer()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def build() -> tuple[float, float, int, int]:
        statements.clear()
        start = time.perf_counter()
        model = home(ctx, actor_id=PERSON)
        middle = time.perf_counter()
        view = home_view(home_parts(renderer, model, command="/escalate"))
        end = time.perf_counter()
        return (middle - start) * 1000, (end - start) * 1000, len(statements), len(view["blocks"])

    for _ in range(3):
        build()
    runs = [build() for _ in range(repeats)]
    engine.dispose()
    totals, reads = [r[1] for r in runs], [r[0] for r in runs]
    return {"open_tickets": open_tickets, "closed": closed, "repeats": repeats,
            "median_ms": statistics.median(totals), "p95_ms": percentile(totals, 95),
            "read_model_median_ms": statistics.median(reads), "statements": sorted({r[2] for r in runs}),
            "blocks": runs[-1][3]}


def home_part(databases: list[tuple[str, Callable[[], tuple[str, Callable[[], None]]]]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The Home at the baseline and at the target volume, on each database."""
    rows = []
    for name, make in databases:
        for volume in (args.baseline, args.open):
            url, drop = make()
            try:
                rows.append({"part": "home", "database": name, **measure_home(url, volume, closed=args.closed, repeats=args.repeats)})
            finally:
                drop()
    return rows


PARTS: dict[str, Callable[..., list[dict[str, Any]]]] = {"home": home_part}


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'part':<6} {'database':<10} {'open':>6} {'closed':>7} {'median ms':>10} {'p95 ms':>8} {'read ms':>8} "
          f"{'statements':>10} {'blocks':>6}")
    for r in rows:
        print(f"{r['part']:<6} {r['database']:<10} {r['open_tickets']:>6} {r['closed']:>7} {r['median_ms']:>10.1f} "
              f"{r['p95_ms']:>8.1f} {r['read_model_median_ms']:>8.1f} {'/'.join(map(str, r['statements'])):>10} {r['blocks']:>6}")
    for name in sorted({r["database"] for r in rows}):
        mine = [r for r in rows if r["database"] == name]
        big = max(mine, key=lambda r: r["open_tickets"])
        same = len({tuple(r["statements"]) for r in mine}) == 1
        ok = big["p95_ms"] < TARGET_MS and same
        print(f"{'PASS' if ok else 'FAIL'} {name}: {big['open_tickets']:,} open tickets, p95 {big['p95_ms']:.1f} ms "
              f"(target < {TARGET_MS:.0f} ms), statements {'the same as' if same else 'NOT the same as'} the baseline's")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 open tickets, 10 builds")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL URL as well as SQLite (default: BENCH_DATABASE_URL, else TEST_DATABASE_URL)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.baseline, args.open = 50, 1000 if args.quick else 5000
    args.closed, args.repeats = (2000, 10) if args.quick else (20000, 50)
    scratch = tempfile.TemporaryDirectory()
    counter = iter(range(1000))

    def sqlite() -> tuple[str, Callable[[], None]]:
        return f"sqlite:///{scratch.name}/home-{next(counter)}.db", lambda: None

    databases: list[tuple[str, Callable[[], tuple[str, Callable[[], None]]]]] = [("sqlite", sqlite)]
    if args.database_url:
        databases.append(("postgresql", lambda: postgres_schema(args.database_url, prefix="bench_home_")))
    rows = [row for part in PARTS.values() for row in part(databases, args)]
    print_rows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2, default=str))
    scratch.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
