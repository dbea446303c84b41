"""Delivery: a simulated day of tickets against a fake Slack that fails in every way it can, for the
retry policy of issue 8 and the one before it, with the same seed and the same faults.

The bot runs in its own process (bench/delivery_replica.py: the real `app.build()` runtime, on a
temporary SQLite file or a PostgreSQL schema, with a clock read from a file) and this process moves
the clock, performs people's actions through the bot's services (file, acknowledge, update, escalate,
resolve, close the post-mortem; each relays its ticket's messages as the Slack handlers do), runs the
scheduler's jobs (`sweep` every 10 s of simulated time, `relay` every 2 s) and injects the faults into
`fakeslack.FakeSlack`: 429 bursts, a 1-minute and a 10-minute outage (503), answers slower than the
relay's 10 s client timeout, dropped connections, and one SIGKILL of the bot while Slack holds the
answer to a post it has accepted.

Figures, per policy: messages due (outbox rows for Slack that fell due during the day), delivered,
lost (not delivered after a drain period, or marked sent but not in Slack — a notice storm control
folded counts as delivered when its digest is in Slack), duplicated (outbox keys carried by more than
one message in Slack), the share delivered within 60 s of falling due (rows that fell due outside the
outages and that storm control did not hold on purpose; those are counted apart, with their wait), the lag after each outage ends (until the last row it held back was
sent), the worst lag. Lag is sent_at - created_at on the simulated clock.

It is a measurement, not a test: it prints one table and PASS/FAIL lines for the new policy, writes
bench/results/delivery.json, and exits 0 unless something crashed.
Run from anywhere: `.venv/bin/python bench/delivery.py [--quick] [--seed N] [--database-url URL]`.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.db import make_engine, make_sessions  # noqa: E402
from bot.slack.gateway import METADATA_EVENT  # noqa: E402
from fakeslack import FakeSlack  # noqa: E402
from models import OutboxMessage  # noqa: E402
from tests.e2e.harness import start_fake_slack, write_policy  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "delivery.json"
REPLICA = ROOT / "bench" / "delivery_replica.py"
POLICIES = ("new", "previous")  # the second is BENCH_RETRY_POLICY=previous in the replica
DAY0 = datetime(2026, 11, 30, 7, 0, tzinfo=timezone.utc)
SWEEP_EVERY = timedelta(seconds=10)  # SCHEDULER_INTERVAL
RELAY_EVERY = timedelta(seconds=2)  # app.RELAY_EVERY
QUIET_STEP = timedelta(seconds=10)  # clock step away from faults: every step is then a sweep
FINE_STEP = timedelta(seconds=2)  # near faults and outages: the relay's own cadence
FINE_BEFORE, FINE_AFTER = timedelta(seconds=20), timedelta(minutes=4)
RESTART = timedelta(seconds=10)  # simulated time the killed bot is down before its successor starts
DRAIN_MAX = timedelta(hours=4)  # after the day: keep the jobs running until what fell due is out, at most this
WITHIN = timedelta(seconds=60)
TARGET_SHARE = 0.999
TARGET_RECOVERY = timedelta(seconds=10)
EMAIL, EXPAND_GROUP = "email", "expand_group"  # e-mail (no SMTP here: dead letters by design), group expansion
POSTING_KINDS = ("card_post", "notice", "digest")  # rows that each become one chat.postMessage carrying a key
# (a notice storm control folded is carried by its recipient's digest, under the digest's key)
RESPONDER = {"L1": "U0L1ENG", "L2": "U0L2ENG", "L3": "U0L3ENG"}
NEXT_LEVEL = {"L1": "L2", "L2": "L3"}
KILL_HOLD = 4.0  # real seconds Slack holds its answer to the post the bot is killed during


# ---------------------------------------------------------------------------------------------
# The day: who files what when, what people do, and what goes wrong
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    at: timedelta  # after DAY0
    what: str  # "429", "outage", "slow", "drop", "kill"
    length: timedelta = timedelta(0)  # outages


@dataclass(frozen=True)
class Scenario:
    tickets: int
    day: timedelta
    busy: tuple[timedelta, timedelta]  # most tickets are filed in this window (working hours)
    faults: tuple[Fault, ...]

    @property
    def outages(self) -> list[Fault]:
        return [f for f in self.faults if f.what == "outage"]


H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)
FULL = Scenario(tickets=300, day=24 * H, busy=(1 * H, 11 * H), faults=(  # DAY0 = 07:00 UTC; busy 08:00-18:00
    Fault(1 * H + 59 * M + 30 * S, "outage", 1 * M),  # 08:59:30: a critical ticket is filed inside it
    Fault(2 * H + 30 * M, "429"), Fault(2 * H + 45 * M, "drop"),
    Fault(4 * H + 15 * M, "slow"), Fault(5 * H, "kill"), Fault(5 * H + 30 * M, "drop"), Fault(6 * H + 15 * M, "429"),
    Fault(7 * H, "outage", 10 * M), Fault(8 * H + 20 * M, "slow"), Fault(8 * H + 50 * M, "drop"),
    Fault(9 * H + 40 * M, "429"), Fault(10 * H + 10 * M, "drop"),
))
QUICK = Scenario(tickets=40, day=3 * H, busy=(0 * H, 2 * H + 30 * M), faults=(
    Fault(20 * M, "429"), Fault(30 * M, "drop"), Fault(55 * M, "slow"), Fault(70 * M, "kill"),
    Fault(2 * H + 3 * M, "outage", 1 * M), Fault(2 * H + 20 * M, "outage", 10 * M), Fault(2 * H + 40 * M, "drop"),
))


@dataclass(frozen=True)
class Action:
    at: timedelta
    ticket: int  # the plan's index of the ticket; its id comes from the bot when it is filed
    do: str
    args: dict[str, Any] = field(default_factory=dict)


def plan_day(scenario: Scenario, seed: int) -> list[Action]:
    """Tickets across the levels and what people do with them, the way a support team would."""
    rng = random.Random(seed)
    actions: list[Action] = []
    for n in range(scenario.tickets):
        busy = rng.random() < 0.9
        start, end = scenario.busy if busy else (timedelta(0), scenario.day)
        filed = start + (end - start) * rng.random()
        kind = rng.choices(("L1", "L2", "L3"), weights=(4, 4, 2))[0]
        actions.append(Action(filed, n, "open", {"kind": kind}))
        actions += _life(rng, n, kind, filed, critical=kind == "L3")
    return sorted((a for a in actions if a.at < scenario.day), key=lambda a: (a.at, a.ticket))


def _life(rng: random.Random, n: int, level: str, t: timedelta, *, critical: bool, escalated: bool = False) -> list[Action]:
    """Acknowledge (critical within minutes, some late: the SLA breaches), a few updates, maybe an
    escalation to the next level (where it starts over), then resolve; a critical one's post-mortem later."""
    actor = RESPONDER[level]
    minutes = rng.expovariate(1 / 9) if critical else rng.uniform(3, 9 * 60 if level == "L2" else 5 * 60)
    t += timedelta(minutes=minutes)
    plan = [Action(t, n, "ack", {"actor": actor})]
    for _ in range(rng.randint(1, 3) if critical else rng.randint(0, 2)):
        t += timedelta(minutes=rng.uniform(20, 100))
        plan.append(Action(t, n, "update", {"actor": actor, "promise": rng.random() < 0.3}))
    if not escalated and level in NEXT_LEVEL and rng.random() < 0.15:
        t += timedelta(minutes=rng.uniform(10, 60))
        target = NEXT_LEVEL[level]
        plan.append(Action(t, n, "escalate", {"actor": actor, "to": target}))
        return plan + _life(rng, n, target, t, critical=critical, escalated=True)
    t += timedelta(minutes=rng.uniform(30, 6 * 60))
    plan.append(Action(t, n, "resolve", {"actor": actor, "postmortem": critical}))
    if critical and rng.random() < 0.7:
        plan.append(Action(t + timedelta(minutes=rng.uniform(60, 8 * 60)), n, "postmortem", {"actor": actor}))
    return plan


def fine_windows(scenario: Scenario) -> list[tuple[timedelta, timedelta]]:
    """Where the clock moves in 2 s steps: around every fault, through each outage and after it."""
    return [(f.at - FINE_BEFORE, f.at + f.length + FINE_AFTER) for f in scenario.faults]


# ---------------------------------------------------------------------------------------------
# The bot process
# ---------------------------------------------------------------------------------------------

class Replica:
    """bench/delivery_replica.py in its own process: one JSON command in, one JSON answer out."""

    def __init__(self, url: str, fake: FakeSlack, policy: Path, clock_file: Path, log: Path, retry_policy: str):
        env = {**os.environ, "BENCH_RETRY_POLICY": retry_policy}
        self.log = log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, str(REPLICA), url, fake.api_url, fake.bot_token, str(policy), str(clock_file), "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=ROOT, env=env)
        self.worker = self.read()["ready"]

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the bot process died (exit {self.process.poll()}); see {self.log.name}")
        return json.loads(line)

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def ask(self, command: str) -> dict[str, Any]:
        self.send(command)
        return self.read()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.send("quit")
            self.process.wait(timeout=60)
        self.log.close()


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------

@dataclass
class Run:
    policy: str
    wall_s: float = 0.0
    steps: int = 0
    sweeps: int = 0
    relays: int = 0
    actions: int = 0
    refused_actions: list[str] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)  # what was injected, at which simulated time
    kill: dict[str, Any] = field(default_factory=dict)
    drained_s: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    slack_keys: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    calls_failed: Counter[str] = field(default_factory=Counter)
    bot_log: list[str] = field(default_factory=list)  # the bot's ERROR lines and tracebacks
    ticks: list[tuple[float, timedelta]] = field(default_factory=list)  # (time.time(), simulated time) of each step
    call_times: list[tuple[timedelta, str, int]] = field(default_factory=list)  # (simulated time, method, status) per call


def run_policy(policy: str, scenario: Scenario, plan: list[Action], database_url: str | None, workdir: Path,
               progress: Callable[[str], None]) -> Run:
    run = Run(policy)
    started = time.perf_counter()
    home = workdir / policy
    home.mkdir()
    url = database_url or f"sqlite:///{home / 'escalations.db'}"
    clock = ManualClock(DAY0)
    clock_file = home / "clock"
    clock_file.write_text(clock.now().isoformat())
    fake = start_fake_slack()
    fake.clock = lambda: clock.now().timestamp()  # message ts on the simulated clock, as Slack's would be on the bot's
    policy_file = write_policy(home)
    log = home / "bot.log"
    bot = Replica(url, fake, policy_file, clock_file, log, policy)
    ids: dict[int, int] = {}  # plan index -> ticket id
    pending = list(plan)
    faults = sorted(scenario.faults, key=lambda f: f.at)
    windows = fine_windows(scenario)
    end_of_outage: timedelta | None = None
    last_sweep = -SWEEP_EVERY
    down_until: timedelta | None = None
    killed_key: str | None = None

    def act(action: Action) -> None:
        request = {"do": action.do, **action.args}
        if action.do == "open":
            request["key"] = f"bench-{action.ticket}"
        elif action.ticket in ids:
            request["ticket"] = ids[action.ticket]
        else:
            return  # its filing was refused: nothing to act on
        answer = bot.ask("act " + json.dumps(request))
        run.actions += 1
        if "error" in answer:
            run.refused_actions.append(f"{action.do} #{action.ticket}: {answer['error']}")
        elif action.do == "open":
            ids[action.ticket] = answer["ticket"]

    try:
        elapsed = timedelta(0)
        day_over = False
        next_progress = H
        drain_until = scenario.day + DRAIN_MAX
        while True:
            fine = end_of_outage is not None or any(a <= elapsed < b for a, b in windows)
            elapsed += FINE_STEP if fine else QUIET_STEP
            clock.set(DAY0 + elapsed)
            clock_file.write_text(clock.now().isoformat())
            run.steps += 1
            run.ticks.append((time.time(), elapsed))
            if down_until is not None:
                if elapsed < down_until:
                    continue  # the bot is down: nobody sweeps, people's clicks wait
                bot = Replica(url, fake, policy_file, clock_file, log, policy)  # its start frees the dead one's claims
                run.kill["restarted_at"] = str(clock.now())
                again = bot.ask("act " + json.dumps({"do": "open", "kind": "L2", "key": killed_key}))  # Slack retries the modal
                run.kill["ticket"] = again.get("ticket")
                down_until = None
            while faults and faults[0].at <= elapsed:
                fault = faults.pop(0)
                run.faults.append({"what": fault.what, "at": str(clock.now()), "length_s": fault.length.total_seconds()})
                if fault.what == "429":
                    fake.fail("chat.postMessage", status=429, retry_after=2, times=5)
                elif fault.what == "drop":
                    fake.lose_answer("chat.postMessage", late=None)
                elif fault.what == "slow":
                    fake.lose_answer("chat.postMessage", late=11)  # the relay's WebClient gives up after 10 s
                elif fault.what == "outage":
                    fake.outage(503)
                    end_of_outage = fault.at + fault.length
                elif fault.what == "kill":
                    killed_key = "bench-killed"
                    run.kill = kill_while_posting(bot, fake, killed_key)
                    run.kill["at"] = str(clock.now())
                    down_until = elapsed + RESTART
            if down_until is not None:
                continue
            while pending and pending[0].at <= elapsed:
                act(pending.pop(0))
            if elapsed - last_sweep >= SWEEP_EVERY:
                bot.ask("sweep")
                run.sweeps += 1
                last_sweep = elapsed
            else:
                bot.ask("relay")
                run.relays += 1
            if end_of_outage is not None and elapsed >= end_of_outage:
                fake.end_outage()  # after this tick's job: the first job to find Slack back is the next one, 2 s on
                end_of_outage = None
            if elapsed >= scenario.day:
                if not day_over:
                    day_over = True
                    progress(f"{policy}: day done after {time.perf_counter() - started:.0f} s; draining")
                if elapsed >= drain_until or (run.steps % 6 == 0 and not undelivered(url, scenario)):
                    run.drained_s = (elapsed - scenario.day).total_seconds()
                    break
            if elapsed >= next_progress:
                next_progress += H
                progress(f"{policy}: {clock.now():%H:%M} simulated, {time.perf_counter() - started:.0f} s, "
                         f"{len(ids)} tickets, {len(fake.calls)} Slack calls")
    finally:
        bot.stop()
    run.rows = outbox_rows(url)
    run.slack_keys = keys_in_slack(fake)
    moments = [real for real, _ in run.ticks]
    for call in list(fake.calls):
        run.calls[call.method] += 1
        if not call.ok:
            run.calls_failed[f"{call.method} {call.status}"] += 1
        tick = bisect.bisect_right(moments, call.wall) - 1  # the simulated time of the step it was made in
        run.call_times.append((run.ticks[max(tick, 0)][1], call.method, call.status))
    fake.stop()
    run.bot_log = [line for line in log.read_text().splitlines() if line.startswith(("ERROR", "Traceback", "CRITICAL"))]
    run.wall_s = time.perf_counter() - started
    return run


def kill_while_posting(bot: Replica, fake: FakeSlack, key: str) -> dict[str, Any]:
    """File a ticket; Slack takes its card but holds the answer; SIGKILL the bot while it waits."""
    before = len(fake.all_messages())
    fake.lose_answer("chat.postMessage", late=KILL_HOLD)
    bot.send("act " + json.dumps({"do": "open", "kind": "L2", "key": key}))
    fake.wait_until(lambda: len(fake.all_messages()) > before, timeout=30, message="the card reached Slack")
    bot.kill()
    return {"pid_killed": bot.process.pid, "messages_in_slack_then": before + 1}


def undelivered(url: str, scenario: Scenario) -> int:
    """Slack rows that fell due during the day and are still pending."""
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as session:
            return len(session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == "pending", OutboxMessage.kind != EMAIL,
                OutboxMessage.created_at < DAY0 + scenario.day)).all())
    finally:
        engine.dispose()


def outbox_rows(url: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with make_sessions(engine)() as session:
            return [{"key": r.dedupe_key, "kind": r.kind, "status": r.status, "attempts": r.attempts,
                     "created_at": _aware(r.created_at), "sent_at": _aware(r.sent_at), "last_error": r.last_error,
                     "digest_key": r.digest_key}
                    for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    finally:
        engine.dispose()


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def keys_in_slack(fake: FakeSlack) -> Counter[str]:
    """How many messages in Slack carry each outbox key (the bot's message metadata)."""
    keys: Counter[str] = Counter()
    for message in fake.all_messages():
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT:
            keys[(metadata.get("event_payload") or {}).get("outbox_key")] += 1
    return keys


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def figures(run: Run, scenario: Scenario) -> dict[str, Any]:
    day_end = DAY0 + scenario.day
    due = [r for r in run.rows if r["kind"] not in (EMAIL, EXPAND_GROUP) and r["created_at"] < day_end]
    sent = [r for r in due if r["status"] == "sent"]
    outages = [(DAY0 + f.at, DAY0 + f.at + f.length) for f in scenario.outages]

    def lag(r: dict[str, Any]) -> float:
        return (r["sent_at"] - r["created_at"]).total_seconds() if r["sent_at"] else float("inf")

    def in_outage(r: dict[str, Any]) -> bool:
        return any(start <= r["created_at"] <= end for start, end in outages)

    def held(r: dict[str, Any]) -> bool:  # storm control holds these on purpose, up to its window (+2 s)
        return r["kind"] == "digest" or r.get("digest_key") is not None

    outside = [r for r in due if not in_outage(r) and not held(r)]
    within = [r for r in outside if lag(r) <= WITHIN.total_seconds()]
    storm = [r for r in due if held(r)]
    missing = [r["key"] for r in sent if r["kind"] in POSTING_KINDS and run.slack_keys[r.get("digest_key") or r["key"]] == 0]
    not_sent = [r for r in due if r["status"] != "sent"]
    duplicated = {k: n for k, n in run.slack_keys.items() if n > 1}
    recoveries = []
    for (start, end), fault in zip(outages, scenario.outages):
        held = [r for r in due if r["created_at"] < end and (r["sent_at"] is None or r["sent_at"] > start)]
        fell_due = [r for r in held if r["created_at"] >= start]
        last = max((lag_from(end, r) for r in held), default=0.0)
        during = Counter(m for t, m, _ in run.call_times if fault.at <= t < fault.at + fault.length)
        after = Counter(m for t, m, _ in run.call_times if fault.at + fault.length <= t < fault.at + fault.length + WITHIN)
        ticks = sum(1 for _, t in run.ticks if fault.at <= t < fault.at + fault.length)
        recoveries.append({"outage": f"{fault.length.total_seconds() / 60:g} min", "start": str(start), "end": str(end),
                           "rows_held": len(held), "rows_fell_due_during": len(fell_due),
                           "lag_after_end_s": last, "ticks_during": ticks, "calls_during": dict(during),
                           "calls_in_the_minute_after": dict(after)})
    worst = max(due, key=lag, default=None)
    worst_outside = max(outside, key=lag, default=None)
    lags_outside = sorted(lag(r) for r in outside)
    emails = [r for r in run.rows if r["kind"] == EMAIL]
    return {
        "policy": run.policy,
        "messages_due": len(due),
        "by_kind": dict(Counter(r["kind"] for r in due)),
        "delivered": len(sent),
        "lost": len(not_sent) + len(missing),
        "not_sent": [{"key": r["key"], "status": r["status"], "last_error": r["last_error"]} for r in not_sent],
        "sent_but_not_in_slack": missing,
        "duplicated_keys": len(duplicated),
        "duplicate_copies": sum(n - 1 for n in duplicated.values()),
        "duplicates": duplicated,
        "storm_held": len([r for r in storm if r["kind"] != "digest"]),
        "storm_digests": len([r for r in storm if r["kind"] == "digest"]),
        "storm_worst_lag_s": max((lag(r) for r in storm), default=None),
        "outside_outages": len(outside),
        "within_60s": len(within),
        "share_within_60s": len(within) / len(outside) if outside else None,
        "late_outside_outages": [{"key": r["key"], "lag_s": lag(r), "created_at": str(r["created_at"])}
                                 for r in outside if lag(r) > WITHIN.total_seconds()][:50],
        "lag_outside_outages_s": {"p50": _rank(lags_outside, 0.50), "p99": _rank(lags_outside, 0.99),
                                  "p999": _rank(lags_outside, 0.999), "max": lags_outside[-1] if lags_outside else None},
        "recoveries": recoveries,
        "worst_lag_s": lag(worst) if worst else None,
        "worst_lag_row": {"key": worst["key"], "created_at": str(worst["created_at"])} if worst else None,
        "worst_lag_outside_outages_s": lag(worst_outside) if worst_outside else None,
        "emails": {"rows": len(emails), "statuses": dict(Counter(r["status"] for r in emails))},
        "group_expansions": len([r for r in run.rows if r["kind"] == EXPAND_GROUP]),
        "slack_calls": dict(run.calls),
        "slack_calls_failed": dict(run.calls_failed),
        "actions": run.actions, "refused_actions": run.refused_actions,
        "steps": run.steps, "sweeps": run.sweeps, "relays": run.relays, "drained_s": run.drained_s,
        "faults": run.faults, "kill": run.kill,
        "bot_errors": {"lines": len(run.bot_log), "smtp_dead_letters": sum("SMTP_HOST is not set" in line for line in run.bot_log),
                       "slack_sdk": sum(line.startswith("ERROR:slack_sdk") for line in run.bot_log),  # the injected faults
                       "others": [line for line in run.bot_log
                                  if "SMTP_HOST is not set" not in line and not line.startswith("ERROR:slack_sdk")][:20]},
        "wall_s": round(run.wall_s, 1),
    }


def lag_from(end: datetime, r: dict[str, Any]) -> float:
    return (r["sent_at"] - end).total_seconds() if r["sent_at"] else float("inf")


def _rank(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile."""
    return values[max(1, math.ceil(q * len(values))) - 1] if values else None


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds == float("inf"):
        return "never"
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds / 3600:.1f} h"


def print_table(results: list[dict[str, Any]]) -> None:
    new, old = results
    rows: list[tuple[str, str, str, str]] = [
        ("messages due", f"{new['messages_due']:,}", f"{old['messages_due']:,}", ""),
        ("delivered", f"{new['delivered']:,}", f"{old['delivered']:,}", ""),
        ("lost", f"{new['lost']}", f"{old['lost']}", "0"),
        ("duplicated in Slack (keys / extra copies)", f"{new['duplicated_keys']} / {new['duplicate_copies']}",
         f"{old['duplicated_keys']} / {old['duplicate_copies']}", "0"),
        ("delivered within 60 s (outside outages)", _share(new), _share(old), f">= {TARGET_SHARE:.1%}"),
        ("held by storm control: notices / digests", f"{new['storm_held']} / {new['storm_digests']}",
         f"{old['storm_held']} / {old['storm_digests']}", ""),
        ("  worst wait of a held notice (window + 2 s, by design)", duration(new["storm_worst_lag_s"]),
         duration(old["storm_worst_lag_s"]), ""),
    ]
    for a, b in zip(new["recoveries"], old["recoveries"]):
        rows.append((f"lag after the {a['outage']} outage ends ({a['rows_held']} held)", duration(a["lag_after_end_s"]),
                     duration(b["lag_after_end_s"]), f"<= {TARGET_RECOVERY.total_seconds():g} s"))
        rows.append(("  Slack calls during it (per 2 s tick)", _per_tick(a), _per_tick(b), ""))
        rows.append((f"  history/replies lookups in the minute after", str(_lookups_in(a["calls_in_the_minute_after"])),
                     str(_lookups_in(b["calls_in_the_minute_after"])), ""))
    rows += [
        ("worst lag", duration(new["worst_lag_s"]), duration(old["worst_lag_s"]), ""),
        ("worst lag outside outages", duration(new["worst_lag_outside_outages_s"]), duration(old["worst_lag_outside_outages_s"]), ""),
        ("lag p50 / p99 outside outages", f"{duration(new['lag_outside_outages_s']['p50'])} / {duration(new['lag_outside_outages_s']['p99'])}",
         f"{duration(old['lag_outside_outages_s']['p50'])} / {duration(old['lag_outside_outages_s']['p99'])}", ""),
        ("chat.postMessage calls (failed)", _calls(new, "chat.postMessage"), _calls(old, "chat.postMessage"), ""),
        ("in-doubt lookups (history + replies)", str(_lookups(new)), str(_lookups(old)), ""),
        ("Slack calls answered 503", str(_status(new, 503)), str(_status(old, 503)), ""),
        ("wall time", f"{new['wall_s']:.0f} s", f"{old['wall_s']:.0f} s", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'new policy':>16}  {'previous policy':>16}  {'target':>9}")
    print("-" * (width + 47))
    for label, a, b, target in rows:
        print(f"{label:{width}}  {a:>16}  {b:>16}  {target:>9}")


def _share(f: dict[str, Any]) -> str:
    share = f["share_within_60s"]
    return "-" if share is None else f"{100 * share:.2f}%"


def _calls(f: dict[str, Any], method: str) -> str:
    failed = sum(n for k, n in f["slack_calls_failed"].items() if k.startswith(method + " "))
    return f"{f['slack_calls'].get(method, 0):,} ({failed})"


def _lookups(f: dict[str, Any]) -> int:
    return _lookups_in(f["slack_calls"])


def _lookups_in(calls: dict[str, int]) -> int:
    return calls.get("conversations.history", 0) + calls.get("conversations.replies", 0)


def _per_tick(recovery: dict[str, Any]) -> str:
    calls = sum(recovery["calls_during"].values())
    return f"{calls} ({calls / recovery['ticks_during']:.2f})" if recovery["ticks_during"] else "-"


def _status(f: dict[str, Any], status: int) -> int:
    return sum(n for k, n in f["slack_calls_failed"].items() if k.endswith(f" {status}"))


def checks(new: dict[str, Any]) -> list[tuple[bool, str]]:
    share = new["share_within_60s"] or 0.0
    worst_recovery = max((r["lag_after_end_s"] for r in new["recoveries"]), default=0.0)
    return [
        (new["lost"] == 0, f"lost = 0   ({new['lost']})"),
        (new["duplicated_keys"] == 0, f"duplicated in Slack = 0   ({new['duplicated_keys']} keys)"),
        (share >= TARGET_SHARE, f"delivered within 60 s outside outages >= {TARGET_SHARE:.1%}   "
                                f"({100 * share:.2f}%, {new['within_60s']:,} of {new['outside_outages']:,})"),
        (worst_recovery <= TARGET_RECOVERY.total_seconds(),
         f"lag after each outage ends <= {TARGET_RECOVERY.total_seconds():g} s   "
         f"({', '.join(duration(r['lag_after_end_s']) for r in new['recoveries'])})"),
    ]


# ---------------------------------------------------------------------------------------------

def postgres_schema(url: str) -> tuple[str, Callable[[], None]]:
    """This bench's own schema on PostgreSQL (`bench_delivery_…`), made and dropped as intake_latency does."""
    from bench.intake_latency import postgres_schema as scratch

    return scratch(url, prefix="bench_delivery_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 40 tickets over 3 simulated hours (about 1 min)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: env BENCH_DATABASE_URL, else a temp SQLite file per policy)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    scenario = QUICK if args.quick else FULL
    plan = plan_day(scenario, args.seed)
    os.chdir(ROOT)  # write_policy reads ./policy.yaml
    started = time.perf_counter()
    kinds = Counter(a.args["kind"] for a in plan if a.do == "open")
    print(f"delivery bench: {scenario.tickets} tickets ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}), "
          f"{len(plan) - scenario.tickets} later actions over {scenario.day.total_seconds() / 3600:g} simulated hours, "
          f"seed {args.seed}, {'PostgreSQL' if args.database_url else 'SQLite'}, {os.cpu_count()} CPUs"
          + (" (quick)" if args.quick else ""))
    print("faults: " + ", ".join(f"{(DAY0 + f.at):%H:%M:%S} {f.what}" + (f" {f.length.total_seconds() / 60:g} min" if f.length else "")
                                 for f in scenario.faults))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        for policy in POLICIES:
            url, drop = postgres_schema(args.database_url) if args.database_url else (None, lambda: None)
            try:
                run = run_policy(policy, scenario, plan, url, Path(tmp), lambda line: print("  " + line, flush=True))
            finally:
                drop()
            results.append(figures(run, scenario))
    print()
    print_table(results)
    for f in results:
        errors, others = f["bot_errors"], f["bot_errors"]["others"]
        print(f"{f['policy']} policy, the bot's log: {errors['slack_sdk']} slack_sdk errors (the faults), "
              f"{errors['smtp_dead_letters']} handoff e-mails dead (no SMTP here, by design; not counted above), "
              f"{len(others)} other errors" + (f", first: {others[0]}" if others else ""))
    print()
    for ok, text in checks(results[0]):
        print(f"{'PASS' if ok else 'FAIL'}  {text}   (new policy)")
    total = time.perf_counter() - started
    print(f"\nwall time {total:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick, "seed": args.seed,
        "environment": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
                        "database": "postgresql" if args.database_url else "sqlite"},
        "scenario": {"tickets": scenario.tickets, "day_hours": scenario.day.total_seconds() / 3600, "day0": str(DAY0),
                     "faults": [{"at": str(DAY0 + f.at), "what": f.what, "length_s": f.length.total_seconds()} for f in scenario.faults],
                     "actions": Counter(a.do for a in plan)},
        "checks": [{"pass": ok, "what": text} for ok, text in checks(results[0])],
        "policies": results, "wall_s": round(total, 1),
    }, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
