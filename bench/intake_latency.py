"""Intake latency: how fast `/escalate` opens its modal, against a bare Bolt app that does only that.

What is timed, for every slash command:

    open latency = moment the fake Slack receives the matching `views.open`   (Call.at)
                 - moment just before the signed slash command is POSTed       (time.perf_counter())

Both clocks are `time.perf_counter()` in this one process. The HTTP reply time (when the
command's 200 came back, i.e. Slack would see the ack) is recorded too.

Two apps answer the same fake Slack, each served by `app.BackgroundServer` (waitress, 16 threads)
through `app.http_app`, so only the Bolt app differs:

* **bot**   - the real bot from `app.build()` (SQLite temp file, or PostgreSQL with
              `--database-url` / `BENCH_DATABASE_URL`; it gets its own schema, dropped at the end);
* **floor** - a bare `slack_bolt.App` with one `/escalate` listener: `ack()` then `views.open` of the
              same modal (`new_escalation_modal`, built once at start-up: the floor is what Bolt, the
              transport and the fake cost, not our builder), same signing secret,
              `process_before_response=False`.

Each app gets 20 warm-up commands, then N (400) sequential commands, then N commands from 10 concurrent
workers (closed loop: a worker sends its next command once its modal has opened). The two apps take
turns in ROUNDS rounds per mode (floor then bot, then bot then floor, ...), so load from anything else
on the machine falls on both alike. Then the real bot
files tickets: M sequential `view_submission`s of GOOD_FORM, timing the ack (HTTP reply that closes
the modal) against the ticket card's `chat.postMessage` reaching the fake; and, when
`FakeSlack.delay` exists, again with `chat.postMessage` delayed by 0.5 s (a slow Slack).

It is a measurement, not a test: it prints a table, writes bench/results/intake_latency.json and
exits 0 unless something crashed. `--quick` is a smoke run with fewer commands.

Run from anywhere: `.venv/bin/python bench/intake_latency.py` (`make bench`).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import platform
import secrets
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from app import BackgroundServer, build, check_slack, http_app  # noqa: E402
from bot.policy_file import load_policy  # noqa: E402
from bot.slack.blocks import new_escalation_modal  # noqa: E402
from fakeslack import Call, FakeSlack, Reply, SlackSender  # noqa: E402
from tests.e2e.harness import GOOD_FORM, SIGNING_SECRET, settings_for, start_fake_slack, write_policy  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "intake_latency.json"
SERVER_THREADS = 16          # same waitress thread count for both apps (the bot's own serve_http uses 16)
LISTENER_THREADS = 16        # the bot's listener pool; the floor gets an equal one
CONCURRENCY = 10
USER = "U0AGENT"
WAIT_SECONDS = 10.0          # bounded wait for a views.open / card post to reach the fake
SLOW_SLACK_SECONDS = 0.5
SLACK_TRIGGER_WINDOW_MS = 3000.0
TARGET_RATIO = 1.2           # bot p50 and p99 at most this times the floor's, sequential and concurrent
ROUNDS = 10                  # turns per mode; each app gets commands/ROUNDS commands per turn


# ---------------------------------------------------------------------------------------------
# Watching the fake: which views.open / chat.postMessage arrived, without polling
# ---------------------------------------------------------------------------------------------

class _SignallingCalls(list):  # type: ignore[type-arg]
    """Stands in for FakeSlack.calls (the fake only appends to it, under its lock) and tells the watcher."""

    def __init__(self, items: list[Call], on_append: Callable[[Call], None]) -> None:
        super().__init__(items)
        self._on_append = on_append

    def append(self, call: Call) -> None:  # type: ignore[override]
        super().append(call)
        self._on_append(call)


class CallWatcher:
    """Indexes the fake's Web API calls as they arrive: views.open by trigger_id, card posts in order."""

    def __init__(self, fake: FakeSlack) -> None:
        self._cond = threading.Condition()
        self.views_open: dict[str, Call] = {}
        self.cards: list[Call] = []       # chat.postMessage to a channel (the ticket card)
        self.dms: list[Call] = []         # chat.postMessage to a user (reporter confirmation, pages)
        self.answered_at: dict[int, float] = {}  # id(call) -> perf_counter() when the fake answered it
        for call in list(fake.calls):
            self._index(call)
        fake.calls = _SignallingCalls(list(fake.calls), self._arrived)

    def clear(self) -> None:
        with self._cond:
            self.views_open.clear()
            self.cards.clear()
            self.dms.clear()
            self.answered_at.clear()

    def _index(self, call: Call) -> None:
        if call.method == "views.open":
            self.views_open[str(call.params.get("trigger_id"))] = call
        elif call.method == "chat.postMessage":
            channel = str(call.params.get("channel") or "")
            (self.dms if channel.startswith(("U", "W", "D")) else self.cards).append(call)

    def _arrived(self, call: Call) -> None:
        answered = time.perf_counter()  # the fake records a call when it answers it (Call.at is its arrival)
        with self._cond:
            self.answered_at[id(call)] = answered
            self._index(call)
            self._cond.notify_all()

    def wait_views_open(self, trigger_id: str, timeout: float = WAIT_SECONDS) -> Call | None:
        with self._cond:
            self._cond.wait_for(lambda: trigger_id in self.views_open, timeout)
            return self.views_open.get(trigger_id)

    def wait_cards(self, count: int, timeout: float = WAIT_SECONDS) -> Call | None:
        with self._cond:
            self._cond.wait_for(lambda: len(self.cards) >= count, timeout)
            return self.cards[count - 1] if len(self.cards) >= count else None

    def wait_dms(self, count: int, timeout: float = WAIT_SECONDS) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.dms) >= count, timeout)


class TimedSender(SlackSender):
    """SlackSender that notes perf_counter() just before each POST and just after its reply."""

    sent_at = 0.0
    replied_at = 0.0

    def post(self, body: bytes | str, **kwargs: Any) -> Reply:
        self.sent_at = time.perf_counter()
        try:
            return super().post(body, **kwargs)
        finally:
            self.replied_at = time.perf_counter()


# ---------------------------------------------------------------------------------------------
# The two apps
# ---------------------------------------------------------------------------------------------

@dataclass
class Served:
    name: str
    server: BackgroundServer
    close: Callable[[], None]

    @property
    def events_url(self) -> str:
        return self.server.url + "/slack/events"

    def stop(self) -> None:
        self.server.stop()
        self.close()


def serve_bot(fake: FakeSlack, database_url: str, policy_file: Path) -> Served:
    """The real bot, wired by app.build() exactly as `python app.py` wires it."""
    runtime = build(settings_for(fake, database_url, policy_file))
    check_slack(runtime, attempts=1)
    server = BackgroundServer(runtime.wsgi, threads=SERVER_THREADS).start()
    return Served("bot", server, runtime.close)


def serve_floor(fake: FakeSlack, policy_file: Path) -> Served:
    """A bare Bolt app that only acks and opens the same modal: the floor the bot is compared with.

    The view is built once: a bare app opening a fixed modal would not rebuild it per command."""
    view = new_escalation_modal(load_policy(policy_file), origin_channel=None)
    web = WebClient(token=fake.bot_token, base_url=fake.api_url)
    listeners = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="floor-listener")
    bolt = App(client=web, signing_secret=SIGNING_SECRET, process_before_response=False, listener_executor=listeners)

    @bolt.command("/escalate")
    def escalate(ack: Any, body: dict[str, Any]) -> None:
        ack()
        web.views_open(trigger_id=body["trigger_id"], view=view)

    server = BackgroundServer(http_app(bolt, signing_secret=SIGNING_SECRET, api_url=fake.api_url), threads=SERVER_THREADS).start()
    return Served("floor", server, lambda: listeners.shutdown(wait=True))


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

@dataclass
class Phase:
    label: str
    open_ms: list[float] = field(default_factory=list)     # request sent -> views.open at the fake
    reply_ms: list[float] = field(default_factory=list)    # request sent -> HTTP 200 back (the ack)
    missing: int = 0                                        # no views.open within WAIT_SECONDS
    failed: int = 0                                         # non-200 reply or views.open not ok
    wall_s: float = 0.0
    cpu_s: float = 0.0                                      # this process's CPU time (all threads) during the phase
    tcp: dict[str, int] = field(default_factory=dict)      # ListenOverflows / TCPSynRetrans during the phase
    gc: dict[str, float | int] = field(default_factory=dict)  # cyclic-GC pauses during the phase


class GcPauses:
    """Wall time of each cyclic-GC pass (every thread stops while it runs), via gc.callbacks."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []   # (generation, ms)
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((int(info["generation"]), (time.perf_counter() - self._started) * 1000))

    def since(self, mark: int) -> dict[str, float | int]:
        full = [ms for generation, ms in self.pauses[mark:] if generation == 2]
        return {"gen2_collections": len(full), "gen2_max_ms": round(max(full, default=0.0), 1),
                "max_pause_ms": round(max((ms for _, ms in self.pauses[mark:]), default=0.0), 1)}


GC = GcPauses()


def fresh_start(fake: FakeSlack, watcher: CallWatcher) -> list[str]:
    """Before each measured phase: forget what the fake stored (views, calls) and freeze the heap.

    The fake keeps every modal it opened (plus each call's params and response), so its heap grows by
    thousands of objects per command and full GC passes get longer (100-200 ms by the last phase),
    which would penalise whichever app is measured later. Resetting the fake and gc.freeze() make every
    phase start from the same heap; GC pauses that still happen inside a phase are reported.
    Returns the violations reset() would forget.
    """
    violations = list(fake.violations)
    fake.reset()
    watcher.clear()
    gc.collect()
    gc.freeze()
    return violations


def tcp_counters() -> dict[str, int]:
    """System-wide TcpExt counters that reveal a full listen queue (a dropped SYN costs ~1 s): Linux only."""
    try:
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    values = dict(zip(lines[0][1:], lines[1][1:]))
    return {name: int(values[name]) for name in ("ListenOverflows", "TCPSynRetrans") if name in values}


def run_commands(app: Served, fake: FakeSlack, watcher: CallWatcher, count: int, workers: int, label: str,
                 phase: Phase | None = None) -> Phase:
    """`count` slash commands from `workers` closed-loop workers (one SlackSender each), added to `phase`."""
    phase = phase or Phase(label)
    before, gc_mark = tcp_counters(), len(GC.pauses)
    lock = threading.Lock()
    local = threading.local()

    def one(_: int) -> None:
        sender = getattr(local, "sender", None)
        if sender is None:
            sender = local.sender = TimedSender(app.events_url, SIGNING_SECRET, fake)
        reply = sender.slash_command(USER)
        sent, replied, trigger = sender.sent_at, sender.replied_at, sender.last_trigger_id or ""
        call = watcher.wait_views_open(trigger)
        with lock:
            phase.reply_ms.append((replied - sent) * 1000)
            if call is None:
                phase.missing += 1
                return
            phase.open_ms.append((call.at - sent) * 1000)
            if reply.status != 200 or not call.ok:
                phase.failed += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    if workers == 1:
        for i in range(count):
            one(i)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"bench-{app.name}") as pool:
            list(pool.map(one, range(count)))
    phase.wall_s += time.perf_counter() - started
    phase.cpu_s += time.process_time() - cpu_started
    after = tcp_counters()
    for name in after:
        phase.tcp[name] = phase.tcp.get(name, 0) + after[name] - before.get(name, 0)
    for key, value in GC.since(gc_mark).items():
        phase.gc[key] = phase.gc.get(key, 0) + value if key == "gen2_collections" else max(phase.gc.get(key, 0), value)
    return phase


def run_in_turns(apps: tuple[Served, Served], fake: FakeSlack, watcher: CallWatcher, count: int, workers: int,
                 labels: tuple[str, str], rounds: int) -> tuple[list[Phase], list[str]]:
    """`count` commands per app in `rounds` turns, the order swapped every turn (A B, B A, A B, ...), each
    turn from a fresh start; returns the two phases and the fake's violations."""
    phases, violations = [Phase(labels[0]), Phase(labels[1])], []
    per_turn = [count // rounds + (1 if turn < count % rounds else 0) for turn in range(rounds)]
    for turn, n in enumerate(per_turn):
        order = (0, 1) if turn % 2 == 0 else (1, 0)
        for index in order:
            violations += fresh_start(fake, watcher)
            run_commands(apps[index], fake, watcher, n, workers, labels[index], phases[index])
    return phases, violations


@dataclass
class SubmissionPhase:
    label: str
    ack_ms: list[float] = field(default_factory=list)       # submission sent -> HTTP reply (modal closes)
    card_ms: list[float] = field(default_factory=list)      # submission sent -> card chat.postMessage at the fake
    card_answered_ms: list[float] = field(default_factory=list)  # submission sent -> fake answered that post
    ack_before_card: int = 0                                  # acks that came back before the card post arrived
    failed: int = 0
    missing_cards: int = 0


def run_submissions(bot: Served, fake: FakeSlack, watcher: CallWatcher, count: int, label: str,
                    *, wait_for_dm: bool) -> SubmissionPhase:
    """File `count` tickets one after another: open a modal, submit GOOD_FORM, wait for the card."""
    phase = SubmissionPhase(label)
    sender = TimedSender(bot.events_url, SIGNING_SECRET, fake)
    for _ in range(count):
        sender.slash_command(USER)
        opened = watcher.wait_views_open(sender.last_trigger_id or "")
        if opened is None or not opened.ok:
            phase.failed += 1
            continue
        view = fake.views[opened.response["view"]["id"]]
        cards_before, dms_before = len(watcher.cards), len(watcher.dms)
        reply = sender.view_submission(USER, view, GOOD_FORM)
        sent, acked = sender.sent_at, sender.replied_at
        if reply.status != 200 or reply.body.strip():
            phase.failed += 1
            continue
        phase.ack_ms.append((acked - sent) * 1000)
        card = watcher.wait_cards(cards_before + 1)
        if card is None:
            phase.missing_cards += 1
            continue
        phase.card_ms.append((card.at - sent) * 1000)
        phase.card_answered_ms.append((watcher.answered_at.get(id(card), card.at) - sent) * 1000)
        phase.ack_before_card += acked < card.at
        if wait_for_dm:  # let the announcement finish so tickets don't overlap
            watcher.wait_dms(dms_before + 1)
    return phase


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 400 samples is the 396th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(values: list[float]) -> dict[str, Any]:
    """n, p50, p99, max, mean in ms (None when there are no samples, so the JSON stays valid)."""
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "max_ms": round(max(values), 3),
        "mean_ms": round(sum(values) / len(values), 3),
    }


def finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


def fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def print_intake_table(rows: list[tuple[Phase, Phase]]) -> list[dict[str, Any]]:
    """rows: (phase, its floor). Returns the figures per row."""
    print()
    print("Intake: slash command request sent -> views.open reaches fake Slack (ms)")
    header = (f"{'':22} {'n':>4} {'p50':>7} {'p99':>7} {'max':>7} {'p50/floor':>10} {'p99/floor':>10} {'ack p50':>8} {'ack p99':>8}"
              f" {'cmd/s':>6} {'cpu/cmd':>8}")
    print(header)
    print("-" * len(header))
    figures = []
    for phase, floor in rows:
        p50, floor_p50 = percentile(phase.open_ms, 50), percentile(floor.open_ms, 50)
        p99, floor_p99 = percentile(phase.open_ms, 99), percentile(floor.open_ms, 99)
        ratio50 = p50 / floor_p50 if floor_p50 else math.nan
        ratio = p99 / floor_p99 if floor_p99 else math.nan
        rate = len(phase.open_ms) / phase.wall_s if phase.wall_s else math.nan
        cpu_ms = phase.cpu_s * 1000 / len(phase.open_ms) if phase.open_ms else math.nan
        notes = []
        if phase.missing:
            notes.append(f"{phase.missing} views.open missing")
        if phase.failed:
            notes.append(f"{phase.failed} failed")
        if phase.gc.get("gen2_collections"):
            notes.append(f"{phase.gc['gen2_collections']} full GC, max {phase.gc['gen2_max_ms']:.0f} ms")
        if phase.tcp.get("ListenOverflows") or phase.tcp.get("TCPSynRetrans"):
            notes.append(f"listen overflows {phase.tcp.get('ListenOverflows', 0)}, SYN retransmits {phase.tcp.get('TCPSynRetrans', 0)}")
        print(f"{phase.label:22} {len(phase.open_ms):>4} {fmt(p50):>7} {fmt(p99):>7} "
              f"{fmt(max(phase.open_ms, default=math.nan)):>7} {ratio50:>9.2f}x {ratio:>9.2f}x {fmt(percentile(phase.reply_ms, 50)):>8} "
              f"{fmt(percentile(phase.reply_ms, 99)):>8} {rate:>6.0f} {cpu_ms:>8.2f}" + ("  " + "; ".join(notes) if notes else ""))
        figures.append({
            "label": phase.label, "open": stats(phase.open_ms), "reply": stats(phase.reply_ms),
            "p50_over_floor_p50": finite(ratio50), "p99_over_floor_p99": finite(ratio), "missing_views_open": phase.missing, "failed": phase.failed,
            "wall_s": round(phase.wall_s, 3), "commands_per_s": finite(rate), "cpu_ms_per_command": finite(cpu_ms), "tcp_counters_delta": phase.tcp, "gc": phase.gc,
            "open_samples_ms": [round(v, 3) for v in phase.open_ms],
        })
    return figures


SUBMISSION_HEADER = (f"{'':38} {'n':>3} {'ack p50':>8} {'ack p99':>8} {'ack max':>8} | {'card in p50':>11} {'p99':>6}"
                     f" | {'card answered p50':>17} {'p99':>6}")


def print_submission(phase: SubmissionPhase) -> dict[str, Any]:
    ack, card, answered = stats(phase.ack_ms), stats(phase.card_ms), stats(phase.card_answered_ms)
    print(f"{phase.label:38} {len(phase.ack_ms):>3} {fmt(ack['p50_ms']):>8} {fmt(ack['p99_ms']):>8} {fmt(ack['max_ms']):>8}"
          f" | {fmt(card['p50_ms']):>11} {fmt(card['p99_ms']):>6} | {fmt(answered['p50_ms']):>17} {fmt(answered['p99_ms']):>6}"
          + (f"  ({phase.failed} failed)" if phase.failed else "")
          + (f"  ({phase.missing_cards} cards missing)" if phase.missing_cards else ""))
    return {"label": phase.label, "ack": ack, "card_post_arrived": card, "card_post_answered": answered,
            "ack_reply_before_card_arrived": phase.ack_before_card,
            "failed": phase.failed, "missing_cards": phase.missing_cards}


# ---------------------------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------------------------

def postgres_schema(url: str, prefix: str = "bench_") -> tuple[str, Callable[[], None]]:
    """A private schema on the given PostgreSQL database (search_path via the URL); dropped afterwards.
    The other bench scripts use it too, so they never touch the `public` schema the tests reset."""
    from sqlalchemy import make_url, text

    from bot.config import Settings
    from bot.db import make_engine

    normalized = Settings(slack_bot_token="xoxb-x", slack_signing_secret="x", database_url=url, _env_file=None).database_url
    schema = f"{prefix}{secrets.token_hex(4)}"
    admin = make_engine(normalized)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(normalized).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return scoped.render_as_string(hide_password=False), drop


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 warm-up, 40 commands per phase in 4 turns, 10 submissions")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="PostgreSQL URL (default: env BENCH_DATABASE_URL, else a temp SQLite file)")
    parser.add_argument("--commands", type=int, help="commands per app and mode (default 400, quick 40)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)

    warmup, commands, submissions, slow_submissions = (5, 40, 10, 5) if args.quick else (20, 400, 50, 20)
    commands = args.commands or commands
    rounds = min(4 if args.quick else ROUNDS, commands)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("bot", "slack_bolt", "slack_sdk", "waitress", "alembic"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    os.chdir(ROOT)  # write_policy reads ./policy.yaml
    tmp = tempfile.TemporaryDirectory(prefix="bench-intake-")
    workdir = Path(tmp.name)
    policy_file = write_policy(workdir)
    cleanups: list[Callable[[], None]] = [tmp.cleanup]  # run last-in first-out
    try:
        if args.database_url:
            database_url, drop_schema = postgres_schema(args.database_url)
            cleanups.insert(0, drop_schema)
            backend = "postgresql"
        else:
            database_url, backend = f"sqlite:///{workdir / 'escalations.db'}", "sqlite"
        fake = start_fake_slack()
        cleanups.insert(0, fake.stop)
        watcher = CallWatcher(fake)
        floor = serve_floor(fake, policy_file)
        cleanups.insert(0, floor.stop)
        bot = serve_bot(fake, database_url, policy_file)
        cleanups.insert(0, bot.stop)

        print(f"intake latency bench: {backend}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"{commands} commands per app and mode in {rounds} alternating turns, {CONCURRENCY} concurrent workers"
              + (" (quick)" if args.quick else ""))
        violations: list[str] = []
        for app in (floor, bot):
            run_commands(app, fake, watcher, warmup, CONCURRENCY, "warm-up")

        phases: list[Phase] = []
        for workers, mode in ((1, "sequential"), (CONCURRENCY, f"{CONCURRENCY}-concurrent")):
            pair, seen = run_in_turns((floor, bot), fake, watcher, commands, workers, (f"floor {mode}", f"bot {mode}"), rounds)
            phases += pair
            violations += seen
        floor_seq, bot_seq, floor_conc, bot_conc = phases
        intake = print_intake_table([(floor_seq, floor_seq), (bot_seq, floor_seq), (floor_conc, floor_conc), (bot_conc, floor_conc)])

        ratios = {f"{mode}_p{pct}": percentile(bot_phase.open_ms, pct) / percentile(floor_phase.open_ms, pct)
                  for mode, bot_phase, floor_phase in (("sequential", bot_seq, floor_seq), ("concurrent", bot_conc, floor_conc))
                  for pct in (50, 99)}
        worst_p99 = max(percentile(p.open_ms, 99) for p in (bot_seq, bot_conc))
        incomplete = sum(p.missing + p.failed for p in phases)
        ratio_ok = all(r <= TARGET_RATIO for r in ratios.values()) and incomplete == 0
        window_ok = worst_p99 < SLACK_TRIGGER_WINDOW_MS and incomplete == 0
        print()
        print(f"{'PASS' if ratio_ok else 'FAIL'}  bot p50 and p99 <= {TARGET_RATIO:g}x the floor's   "
              f"(sequential p50 {ratios['sequential_p50']:.2f}x p99 {ratios['sequential_p99']:.2f}x, "
              f"{CONCURRENCY}-concurrent p50 {ratios['concurrent_p50']:.2f}x p99 {ratios['concurrent_p99']:.2f}x)")
        print(f"{'PASS' if window_ok else 'FAIL'}  bot p99 < {SLACK_TRIGGER_WINDOW_MS:.0f} ms, Slack's trigger window   (worst bot p99 {worst_p99:.1f} ms)"
              + (f"  [{incomplete} commands without a modal]" if incomplete else ""))

        print()
        print("Ticket submission (bot, one ticket at a time), ms from the view_submission request to:")
        print("  ack = its HTTP reply (closes the modal); card in / answered = the ticket card's chat.postMessage")
        print("  reaching fake Slack / being answered by it")
        print(SUBMISSION_HEADER)
        print("-" * len(SUBMISSION_HEADER))
        violations += fresh_start(fake, watcher)
        submission = [print_submission(run_submissions(bot, fake, watcher, submissions,
                                                       "Slack at full speed", wait_for_dm=True))]
        slow_ack_ok: bool | None = None
        if hasattr(fake, "delay"):
            violations += fresh_start(fake, watcher)
            fake.delay("chat.postMessage", SLOW_SLACK_SECONDS)
            try:
                submission.append(print_submission(run_submissions(
                    bot, fake, watcher, slow_submissions,
                    f"chat.postMessage answered {SLOW_SLACK_SECONDS:g} s late", wait_for_dm=False)))
            finally:
                getattr(fake, "clear_delays", lambda: None)()
            slow_ack_p99 = submission[-1]["ack"]["p99_ms"]
            slow_ack_ok = slow_ack_p99 is not None and slow_ack_p99 < SLOW_SLACK_SECONDS * 1000 and not submission[-1]["failed"]
            print()
            print(f"{'PASS' if slow_ack_ok else 'FAIL'}  ack p99 with a slow Slack < {SLOW_SLACK_SECONDS * 1000:.0f} ms "
                  f"(the ack does not wait for chat.postMessage)")
        else:
            print("slow-Slack pass skipped: this FakeSlack has no delay(method, seconds, times=None)")

        violations += list(fake.violations)
        if violations:
            print(f"\nnote: fake Slack recorded {len(violations)} violation(s), first: {violations[0]}")

        results = {
            "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick,
            "environment": {"python": platform.python_version(), "platform": platform.platform(),
                            "cpus": os.cpu_count(), "database": backend},
            "config": {"warmup": warmup, "commands_per_phase": commands, "rounds": rounds, "concurrency": CONCURRENCY,
                       "server_threads": SERVER_THREADS, "listener_threads": LISTENER_THREADS,
                       "submissions": submissions, "slow_submissions": slow_submissions,
                       "slow_slack_seconds": SLOW_SLACK_SECONDS, "percentile": "nearest-rank"},
            "intake": intake,
            "checks": {
                "bot_p50_p99_within_1_2x_floor": {"pass": ratio_ok, "ratios": {k: finite(v) for k, v in ratios.items()}},
                "bot_p99_under_3000ms": {"pass": window_ok, "worst_bot_p99_ms": finite(worst_p99)},
                "ack_p99_under_slow_slack_delay": {"pass": slow_ack_ok} if slow_ack_ok is not None else "skipped: no FakeSlack.delay",
            },
            "submission": submission,
            "fake_violations": violations,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.out}")
    finally:
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up; the figures are already written
                print(f"warning: clean-up {getattr(cleanup, '__qualname__', cleanup)} failed: {exc!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
