"""Sweep cost: what one scheduler tick costs with 1,000 / 10,000 / 100,000 open tickets, on SQLite and PostgreSQL.

The issue's target: *a tick with nothing due costs the same at 100,000 open tickets as at 1,000 (the claim
is indexed), and 1,000 due notifications are claimed and queued in under a second.*

For each backend (a temporary SQLite file; PostgreSQL `bench` unless `--no-postgres` or it does not answer)
and each size N:

1. **Seed**: a fresh database per size (SQLite: its own file; PostgreSQL: its own schema `sweep_cost_<N>`
   on the `bench` database, dropped at the end; `public` is not touched), migrated to head
   (`bot.db.migrate`), then N open tickets and their pending timers, inserted with SQLAlchemy Core
   `insert()` executemany in batches (one transaction). Each ticket gets what `timers.on_level_entered`
   gives a newly filed ticket: response_breach, prebreach, sla_unresolved (not on the last level),
   followup and manager_notice, occurrence 0, status pending, due when the service would put them
   (calendar time: the shipped policy has no business hours; follow-ups via `followup_after`). Every
   filing time lies in the 3 days after T0, so every timer is still ahead of the clock at T0, except for
   the burst set: 1,000 tickets filed at T0 - 4h + 1 min, whose manager_notice is due at exactly
   T0 + 1 min (all their other timers later). On PostgreSQL the tables are ANALYZEd after seeding, as
   autovacuum would do.
2. **Idle tick** (clock at T0, nothing due): 50 × `fire_due_timers`, then 50 × `sweep` (fire + relay of an
   empty outbox) per size, the sizes taken round-robin so that other load on the machine hits them alike
   (after 10 warm-up ticks each): median / p95 ms, SQL statements per tick (a `before_cursor_execute`
   listener on the engine), commits and pool checkouts. The claim statement of an idle tick is captured
   and explained (PostgreSQL: `EXPLAIN (ANALYZE, BUFFERS)` in a rolled-back transaction; SQLite:
   `EXPLAIN QUERY PLAN`).
3. **Due burst** (clock at T0 + 1 min, exactly 1,000 due): one `fire_due_timers(ctx, limit=1000)` call =
   claim + fire + enqueue of 1,000 manager notices (the policy gets one manager so each notice is one outbox
   row); then, timed separately, `relay_due` in a loop until the outbox is empty, sending through
   `RecordingNotifier` (no Slack).

It is a measurement, not a test: it prints one table per backend and the PASS/FAIL lines, writes
bench/results/sweep_cost.json, and exits 0 unless something crashed.

Run from anywhere: `.venv/bin/python bench/sweep_cost.py [--quick] [--no-postgres]`.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, event, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.db import make_engine, make_sessions, migrate  # noqa: E402
from bot.domain.policy import Policy  # noqa: E402
from bot.domain.severity import Severity  # noqa: E402
from bot.domain.tickets import TicketStatus  # noqa: E402
from bot.policy_file import parse_policy  # noqa: E402
from bot.services.context import ServiceContext  # noqa: E402
from bot.services.outbox import relay_due  # noqa: E402
from bot.services.sweep import sweep  # noqa: E402
from bot.services.timers import fire_due_timers, followup_after  # noqa: E402
from models import OutboxMessage, Ticket, Timer, TimerKind, TimerStatus  # noqa: E402
from tests.integration.recording import RecordingNotifier  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sweep_cost.json"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
FORBIDDEN_DATABASES = {"test", "dev"}  # other people's: the script creates and drops schemas there
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
BURST = 1_000
BURST_AT = T0 + timedelta(minutes=1)
SPREAD = timedelta(days=3)        # filing times of the other tickets: T0 + 2 min ... T0 + 3 days
IDLE_TICKS = 50
WARMUP_TICKS = 10
BATCH = 5_000
WORKER = "bench-sweep"
IDLE_RATIO_TARGET = 2.0
BURST_TARGET_MS = 1000.0
MANAGER = "U0MANAGER"


# ---------------------------------------------------------------------------------------------
# Counting what reaches the database
# ---------------------------------------------------------------------------------------------

@dataclass
class Statement:
    at: float
    sql: str
    parameters: Any
    seconds: float = 0.0


@dataclass
class SqlCounter:
    """Counts every cursor execute (what SQLAlchemy sends; the driver's own BEGIN, the pool's pre-ping and
    the commit itself are not statements here, commits and checkouts are counted apart)."""

    statements: int = 0
    commits: int = 0
    checkouts: int = 0
    db_seconds: float = 0.0
    log: list[Statement] | None = None
    _started: dict[int, float] = field(default_factory=dict)

    def attach(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)
        event.listen(engine.pool, "checkout", self._checkout)

    def reset(self, *, keep_log: bool = False) -> None:
        self.statements = self.commits = self.checkouts = 0
        self.db_seconds = 0.0
        self.log = [] if keep_log else None

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        self.statements += 1
        now = time.perf_counter()
        self._started[id(cursor)] = now
        if self.log is not None:
            self.log.append(Statement(now, statement, parameters))

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = self._started.pop(id(cursor), None)
        if started is not None:
            spent = time.perf_counter() - started
            self.db_seconds += spent
            if self.log:
                self.log[-1].seconds = spent

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def _checkout(self, *args: Any) -> None:
        self.checkouts += 1


def statement_kind(sql: str) -> str:
    """`SELECT timers`, `INSERT outbox`, ...: the verb and the first table."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    lowered = [w.strip('"(),').lower() for w in words]
    for marker in ("from", "into", "update"):
        if marker in lowered:
            index = lowered.index(marker)
            if index + 1 < len(lowered):
                return f"{verb} {lowered[index + 1]}"
    return verb


# ---------------------------------------------------------------------------------------------
# Seeding
# ---------------------------------------------------------------------------------------------

def bench_policy() -> Policy:
    """The shipped policy, with one manager so a manager notice queues exactly one outbox row."""
    policy = parse_policy((ROOT / "policy.yaml").read_text().replace("responders: []", "responders: everyone"))
    return replace(policy, management=replace(policy.management, managers=(MANAGER,)))


def profile_of(i: int) -> tuple[str, Severity]:
    """Level and severity of seeded ticket i: the burst set is L2/high; the rest 30% L1, 60% L2, 10% L3."""
    if i < BURST:
        return "L2", Severity.HIGH
    slot = i % 10
    if slot == 0:
        return "L3", Severity.CRITICAL
    if slot <= 3:
        return "L1", Severity.MEDIUM
    return "L2", Severity.HIGH


def seed_rows(ctx: ServiceContext, n: int, first: int, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Ticket rows `first..last-1` (ids first+1..) and the timers `on_level_entered` would have scheduled."""
    policy = ctx.policy
    tickets: list[dict[str, Any]] = []
    timers: list[dict[str, Any]] = []
    rest = max(n - BURST, 1)
    for i in range(first, last):
        ticket_id = i + 1
        level_key, severity = profile_of(i)
        level = policy.level(level_key)
        sla = level.response_sla
        if i < BURST:
            created = BURST_AT - policy.management.notify_after   # manager_notice due at exactly T0 + 1 min
        else:
            created = T0 + timedelta(minutes=2) + SPREAD * ((i - BURST) / rest)
        tickets.append(dict(
            id=ticket_id, title=f"Seeded ticket {ticket_id}", category=level.scope[i % len(level.scope)] if level.scope else "Other",
            severity=severity, status=TicketStatus.OPEN, level_key=level_key,
            description="Seeded by bench/sweep_cost.py.", error_messages="502 Bad Gateway",
            troubleshooting="Restarted the app pool.", business_impact="Some users cannot work.", affected_users=1 + i % 200,
            links=[], attachments=[], triggers=[], customer_executive=False, regulatory=False,
            reporter_id=f"U{i % 5000:07d}", created_at=created, level_entered_at=created,
            response_sla_seconds=int(sla.total_seconds()), response_due_at=created + sla, handoffs=0,
            intake_key=f"V{ticket_id:010d}",
        ))
        # on_level_entered on calendar time (the shipped policy gives no level business hours)
        response_due = created + sla
        due: list[tuple[TimerKind, datetime]] = [(TimerKind.RESPONSE_BREACH, response_due)]
        if policy.prebreach_fraction:
            due.append((TimerKind.PREBREACH, min(created + sla * policy.prebreach_fraction, response_due)))
        if policy.next_level(level_key) is not None:
            due.append((TimerKind.SLA_UNRESOLVED, response_due))
        due.append((TimerKind.FOLLOWUP, followup_after(ctx, SimpleNamespace(severity=severity), created)))  # type: ignore[arg-type]
        due.append((TimerKind.MANAGER_NOTICE, created + policy.management.notify_after))
        for kind, at in due:
            timers.append(dict(ticket_id=ticket_id, kind=kind.value, occurrence=0, due_at=at,
                               status=TimerStatus.PENDING.value, claimed_until=None, claimed_by=None,
                               fired_at=None, delayed=False, created_at=created))
    return tickets, timers


def seed(engine: Engine, ctx: ServiceContext, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    tickets_table, timers_table = Ticket.__table__, Timer.__table__
    total_timers = 0
    with engine.begin() as connection:  # one transaction (SQLite: one write lock, one WAL commit)
        for first in range(0, n, BATCH):
            tickets, timers = seed_rows(ctx, n, first, min(first + BATCH, n))
            connection.execute(insert(tickets_table), tickets)
            for start in range(0, len(timers), BATCH):
                connection.execute(insert(timers_table), timers[start:start + BATCH])
            total_timers += len(timers)
        if connection.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("tickets", "timers"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    seconds = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    with engine.connect() as connection:
        due_now = connection.scalar(select(func.count()).select_from(timers_table).where(Timer.due_at <= T0))
        due_burst = connection.scalar(select(func.count()).select_from(timers_table).where(Timer.due_at <= BURST_AT))
        first_after = connection.scalar(select(func.min(Timer.due_at)).where(Timer.due_at > BURST_AT))
        last_due = connection.scalar(select(func.max(Timer.due_at)))
    if due_now != 0 or due_burst != BURST:
        raise RuntimeError(f"seed is wrong: {due_now} timers due at T0 (want 0), {due_burst} at T0+1min (want {BURST})")
    return {"tickets": n, "timers": total_timers, "seed_seconds": round(seconds, 2),
            "first_due_after_burst": first_after.isoformat(), "last_due": last_due.isoformat()}


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------

def percentile(samples: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def idle_ticks(setups: list["Setup"], tick: Callable[["Setup"], object]) -> list[dict[str, Any]]:
    """IDLE_TICKS ticks per size, taken round-robin (the order rotates every round), so that whatever else
    the machine is doing at the time weighs on every size alike."""
    for _ in range(WARMUP_TICKS):
        for setup in setups:
            tick(setup)
    samples: list[dict[str, list[float]]] = [{"ms": [], "statements": [], "commits": [], "checkouts": []} for _ in setups]
    for round_ in range(IDLE_TICKS):
        for k in range(len(setups)):
            index = (k + round_) % len(setups)
            setup, sample = setups[index], samples[index]
            setup.counter.reset()
            started = time.perf_counter()
            result = tick(setup)
            sample["ms"].append((time.perf_counter() - started) * 1000)
            for name in ("statements", "commits", "checkouts"):
                sample[name].append(getattr(setup.counter, name))
            done = result if isinstance(result, int) else result.fired + result.sent  # type: ignore[attr-defined]
            if done:
                raise RuntimeError(f"an idle tick did something at N={setup.n}: {result}")
    return [{"median_ms": statistics.median(x["ms"]), "p95_ms": percentile(x["ms"], 95), "max_ms": max(x["ms"]),
             "statements": max(x["statements"]), "statements_min": min(x["statements"]), "commits": max(x["commits"]),
             "checkouts": max(x["checkouts"]), "samples_ms": [round(t, 4) for t in x["ms"]]} for x in samples]


def capture_claim(counter: SqlCounter, ctx: ServiceContext) -> Statement:
    counter.reset(keep_log=True)
    fire_due_timers(ctx, worker=WORKER)
    log = counter.log or []
    counter.reset()
    for statement in log:
        if statement.sql.lstrip().upper().startswith("UPDATE TIMERS"):
            return statement
    raise RuntimeError(f"no claim statement among {[s.sql[:60] for s in log]}")


def explain(engine: Engine, claim: Statement) -> dict[str, Any]:
    """The plan of the idle tick's claim, as it was sent (the inner SELECT is its subquery)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + claim.sql, claim.parameters)
            lines = [row[0] for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + claim.sql, claim.parameters)
            lines = [row[3] for row in cursor.fetchall()]
        cursor.close()
        raw.rollback()  # EXPLAIN ANALYZE ran the UPDATE (nothing was due): undo it anyway
    finally:
        raw.close()
    timer_lines = [line.strip() for line in lines if "timers" in line.lower() and ("scan" in line.lower() or "search" in line.lower())]
    return {"sql": " ".join(claim.sql.split()), "plan": lines, "timers_access": timer_lines,
            "uses_index": any("ix_timers_status_due" in line for line in lines)}


def burst(counter: SqlCounter, ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> dict[str, Any]:
    clock.set(BURST_AT)
    gc.collect()
    counter.reset(keep_log=True)
    cpu_started, started = time.process_time(), time.perf_counter()
    fired = fire_due_timers(ctx, worker=WORKER, limit=BURST)
    ended, cpu_ms = time.perf_counter(), (time.process_time() - cpu_started) * 1000
    log = counter.log or []
    stats = {"statements": counter.statements, "commits": counter.commits, "checkouts": counter.checkouts,
             "db_ms": counter.db_seconds * 1000, "cpu_ms": cpu_ms}
    counter.reset()
    claim_index = next(i for i, s in enumerate(log) if s.sql.lstrip().upper().startswith("UPDATE TIMERS"))
    claim_done = log[claim_index + 1].at if claim_index + 1 < len(log) else ended
    by_kind: Counter[str] = Counter(statement_kind(s.sql) for s in log)
    ms_by_kind: Counter[str] = Counter()
    for s in log:
        ms_by_kind[statement_kind(s.sql)] += s.seconds * 1000
    with ctx.sessions() as session:
        queued = session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending"))
    if fired != BURST or queued != BURST:
        raise RuntimeError(f"burst fired {fired} timers and queued {queued} notices, expected {BURST} each")

    gc.collect()
    counter.reset()
    cpu_started, relay_started = time.process_time(), time.perf_counter()
    sent, batches = 0, 0
    while batch := relay_due(ctx, worker=WORKER):
        sent += batch
        batches += 1
    relay_ms = (time.perf_counter() - relay_started) * 1000
    relay = {"ms": relay_ms, "cpu_ms": (time.process_time() - cpu_started) * 1000, "sent": sent, "batches": batches, "statements": counter.statements,
             "commits": counter.commits, "checkouts": counter.checkouts, "db_ms": counter.db_seconds * 1000}
    counter.reset()
    if sent != BURST or len(notifier.deliveries) != BURST:
        raise RuntimeError(f"relay sent {sent} ({len(notifier.deliveries)} deliveries), expected {BURST}")
    return {"fired": fired, "queued": queued, "ms": (ended - started) * 1000, "claim_ms": (claim_done - started) * 1000,
            **stats, "by_statement": dict(by_kind.most_common()),
            "ms_by_statement": {k: round(v, 1) for k, v in ms_by_kind.most_common()}, "relay": relay}


# ---------------------------------------------------------------------------------------------
# One backend, one size
# ---------------------------------------------------------------------------------------------

@dataclass
class Setup:
    """One size on one backend: its own database (SQLite file, or PostgreSQL schema), seeded."""

    n: int
    engine: Engine
    ctx: ServiceContext
    clock: ManualClock
    notifier: RecordingNotifier
    counter: SqlCounter
    seeded: dict[str, Any]


def postgres_schema_url(url: str, n: int) -> str:
    """A fresh schema `sweep_cost_<n>` on the bench database; the URL puts it first on the search_path."""
    schema = f"sweep_cost_{n}"
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def drop_postgres_schemas(url: str, sizes: tuple[int, ...]) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for n in sizes:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "sweep_cost_{n}" CASCADE'))
    finally:
        engine.dispose()


def prepare(backend: str, url: str, directory: Path, n: int) -> Setup:
    """Fresh schema, migrated to head, seeded with N open tickets."""
    url = f"sqlite:///{directory / f'sweep_{n}.db'}" if backend == "sqlite" else postgres_schema_url(url, n)
    engine = make_engine(url)
    migrate(engine)
    clock = ManualClock(T0)
    notifier = RecordingNotifier()
    ctx = ServiceContext(sessions=make_sessions(engine), policy=bench_policy(), clock=clock, notifier=notifier, directory=notifier)
    note(f"{backend} N={n:,}: seeding")
    seeded = seed(engine, ctx, n)
    note(f"{backend} N={n:,}: {seeded['timers']:,} timers seeded in {seeded['seed_seconds']:.1f} s")
    counter = SqlCounter()
    counter.attach(engine)
    return Setup(n, engine, ctx, clock, notifier, counter, seeded)


def run_backend(backend: str, url: str, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    setups: list[Setup] = []
    with tempfile.TemporaryDirectory(prefix="sweep_cost_") as directory:
        try:
            for n in sizes:
                setups.append(prepare(backend, url, Path(directory), n))
            gc.collect()
            gc.freeze()  # the seed's garbage stays out of the measured collections
            note(f"{backend}: idle ticks, {IDLE_TICKS} per size, round-robin")
            idle_fire = idle_ticks(setups, lambda s: fire_due_timers(s.ctx, worker=WORKER))
            idle_sweep = idle_ticks(setups, lambda s: sweep(s.ctx, worker=WORKER))
            rows = []
            for setup, fire_row, sweep_row in zip(setups, idle_fire, idle_sweep):
                plan = explain(setup.engine, capture_claim(setup.counter, setup.ctx))
                note(f"{backend} N={setup.n:,}: burst of {BURST:,} due, then relay")
                due = burst(setup.counter, setup.ctx, setup.clock, setup.notifier)
                rows.append({"n": setup.n, "seed": setup.seeded, "idle_fire": fire_row, "idle_sweep": sweep_row,
                             "explain": plan, "burst": due})
            return rows
        finally:
            gc.unfreeze()
            for setup in setups:
                setup.engine.dispose()
            if backend == "postgresql":
                drop_postgres_schemas(url, sizes)


def note(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def report(backend: str, label: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    print()
    print(f"{label}: one scheduler tick with N open tickets (5 pending timers each, 4 on L3)")
    print(f"{'':>9} {'':>8} {'':>6} | {'idle fire_due_timers':^22} | {'idle sweep (fire+relay)':^23} | "
          f"{'burst: 1,000 due claimed+queued':^35} | {'relay 1,000 sent':^17}")
    print(f"{'N':>9} {'timers':>8} {'seed s':>6} | {'p50 ms':>7} {'p95 ms':>7} {'stmts':>5} | {'p50 ms':>7} {'p95 ms':>7} "
          f"{'stmts':>6} | {'ms':>8} {'claim ms':>8} {'stmts':>6} {'commits':>8} | {'ms':>8} {'stmts':>7}")
    for row in rows:
        f, s, b = row["idle_fire"], row["idle_sweep"], row["burst"]
        print(f"{row['n']:>9,} {row['seed']['timers']:>8,} {row['seed']['seed_seconds']:>6.1f} | "
              f"{f['median_ms']:>7.2f} {f['p95_ms']:>7.2f} {f['statements']:>5} | "
              f"{s['median_ms']:>7.2f} {s['p95_ms']:>7.2f} {s['statements']:>6} | "
              f"{b['ms']:>8.0f} {b['claim_ms']:>8.1f} {b['statements']:>6,} {b['commits']:>8,} | "
              f"{b['relay']['ms']:>8.0f} {b['relay']['statements']:>7,}")
    print()
    for row in rows:
        access = "; ".join(row["explain"]["timers_access"]) or "(no timers access line)"
        print(f"  claim plan N={row['n']:>7,}: {access}")
    biggest = rows[-1]
    print(f"  full claim plan at N={biggest['n']:,} ({'EXPLAIN (ANALYZE, BUFFERS)' if backend == 'postgresql' else 'EXPLAIN QUERY PLAN'}):")
    for line in biggest["explain"]["plan"]:
        print(f"      {line}")
    b = biggest["burst"]
    per_timer = (b["ms"] - b["claim_ms"]) / BURST
    print(f"  burst at N={biggest['n']:,}: {b['ms']:.0f} ms = claim {b['claim_ms']:.1f} ms + firing {b['ms'] - b['claim_ms']:.0f} ms "
          f"({per_timer:.2f} ms/timer: {b['statements'] / BURST:.1f} statements, {b['commits'] / BURST:.1f} commits, "
          f"{b['checkouts'] / BURST:.1f} checkouts)")
    print(f"    {b['db_ms']:.0f} ms inside cursor.execute (round trip + server work); this process's CPU: {b['cpu_ms']:.0f} ms "
          f"(Python: SQLAlchemy ORM, driver); the rest is waiting (commits, pool pre-ping, other load)")
    print("    statements: " + ", ".join(f"{k} ×{v}" for k, v in b["by_statement"].items()))

    small, large = rows[0], rows[-1]
    checks = []
    for name in ("idle_fire", "idle_sweep"):
        ratio = large[name]["median_ms"] / small[name]["median_ms"]
        same = large[name]["statements"] == small[name]["statements"]
        checks.append((name, ratio, same))
    idle_ok = all(ratio <= IDLE_RATIO_TARGET and same for _, ratio, same in checks)
    worst_burst = max(rows, key=lambda r: r["burst"]["ms"])
    burst_ok = worst_burst["burst"]["ms"] < BURST_TARGET_MS
    print()
    detail = ", ".join(f"{'fire_due_timers' if name == 'idle_fire' else 'sweep'} {ratio:.2f}x"
                       f"{'' if same else ' (statement count differs)'}" for name, ratio, same in checks)
    print(f"{'PASS' if idle_ok else 'FAIL'}  idle tick at {large['n']:,} within {IDLE_RATIO_TARGET:.0f}x of {small['n']:,}, "
          f"same statements   ({detail})")
    print(f"{'PASS' if burst_ok else 'FAIL'}  {BURST:,} due claimed and queued < {BURST_TARGET_MS / 1000:.0f} s   "
          f"(worst {worst_burst['burst']['ms']:.0f} ms at N={worst_burst['n']:,})")
    return {"idle_tick_flat": {"pass": idle_ok, "ratios": {name: ratio for name, ratio, _ in checks},
                               "compared": [small["n"], large["n"]]},
            "burst_under_1s": {"pass": burst_ok, "worst_ms": worst_burst["burst"]["ms"], "at_n": worst_burst["n"]}}


def postgres_answers(url: str) -> str | None:
    """None if it answers, else why not."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: skip PostgreSQL
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and 10,000 only")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_SWEEP_POSTGRES_URL", POSTGRES_URL),
                        help="the sweep_cost_<N> schemas are created there and dropped (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # tables and progress notes in order
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK_SIZES if args.quick else SIZES
    started = time.perf_counter()

    backends: list[tuple[str, str, str]] = [("sqlite", "", "SQLite (temporary file, WAL, synchronous=NORMAL)")]
    skipped = None
    if args.no_postgres:
        skipped = "--no-postgres"
    else:
        database = make_url(args.postgres_url).database
        if database in FORBIDDEN_DATABASES:
            raise SystemExit(f"refusing to use database {database!r}: it belongs to others")
        skipped = postgres_answers(args.postgres_url)
        if skipped is None:
            backends.append(("postgresql", args.postgres_url, f"PostgreSQL {make_url(args.postgres_url).render_as_string()}"))
    if skipped:
        print(f"PostgreSQL skipped: {skipped}")

    results: dict[str, Any] = {"started": datetime.now(timezone.utc).isoformat(), "sizes": list(sizes),
                               "idle_ticks": IDLE_TICKS, "burst": BURST, "t0": T0.isoformat(), "burst_at": BURST_AT.isoformat(),
                               "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "platform": platform.platform()},
                               "load_average_before": os.getloadavg(), "postgres_skipped": skipped, "backends": {}}
    for backend, url, label in backends:
        rows = run_backend(backend, url, sizes)
        if backend == "postgresql":
            engine = create_engine(url)
            with engine.connect() as connection:
                results["postgres_settings"] = {k: connection.scalar(text(f"SHOW {k}"))
                                                for k in ("server_version", "synchronous_commit", "fsync", "shared_buffers")}
            engine.dispose()
        verdict = report(backend, label, rows)
        results["backends"][backend] = {"label": label, "rows": rows, "verdict": verdict}
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\n{results['seconds']:.0f} s in all; load average {results['load_average_before'][0]:.2f} before, "
          f"{results['load_average_after'][0]:.2f} after (other work on the machine skews the figures); "
          f"figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
