"""Several bot processes on one PostgreSQL, crashes and restarts: every notification exactly once.

These start real processes (tests/replica.py runs app.build with a shared, file-driven clock) and
count what fake Slack received. Marked slow; they run in CI, where PostgreSQL is available.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.db import make_engine, make_sessions
from bot.policy_file import load_policy
from bot.services.context import ServiceContext
from bot.services.intake import open_ticket
from fakeslack import FakeSlack
from models import OutboxMessage, Timer, TimelineEvent
from tests.conftest import T0
from tests.e2e.harness import write_policy
from tests.integration.recording import Groups, RecordingNotifier
from tests.integration.test_services import FORM

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes on one database: PostgreSQL only")
    return database_url


class Replica:
    def __init__(self, name: str, url: str, fake: FakeSlack, policy: Path, clock_file: Path):
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "replica.py"), url, fake.api_url, fake.bot_token, str(policy),
             str(clock_file), name], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert json.loads(self.read()) == {"ready": name}

    def read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"replica {self.name} died"
        return line

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def ask(self, command: str) -> dict:
        self.send(command)
        return json.loads(self.read())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.send("quit")
            self.process.wait(timeout=30)


class World:
    """Fake Slack, a policy, a shared clock file, and the database the replicas share."""

    def __init__(self, url: str, fake: FakeSlack, tmp: Path):
        self.url, self.fake, self.tmp = url, fake, tmp
        self.policy = write_policy(tmp)
        self.clock_file = tmp / "clock"
        self.clock = ManualClock(T0)
        self.tick(timedelta(0))
        self.engine = make_engine(url)
        self.ctx = ServiceContext(sessions=make_sessions(self.engine), policy=load_policy(self.policy), clock=self.clock,
                                  notifier=RecordingNotifier(), directory=Groups())
        self.replicas: list[Replica] = []

    def tick(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.clock_file.write_text(self.clock.now().isoformat())

    def replica(self, name: str) -> Replica:
        started = Replica(name, self.url, self.fake, self.policy, self.clock_file)
        self.replicas.append(started)
        return started

    def file_tickets(self, count: int) -> list[int]:
        forms = [replace(FORM, triggers=frozenset({"data_loss"})) if i % 2 else FORM for i in range(count)]
        return [open_ticket(self.ctx, form, reporter_id="U0AGENT", intake_key=None).ticket_id for form in forms]

    def count(self, kind: str) -> dict[int, int]:
        with self.ctx.sessions() as session:
            rows = session.execute(select(TimelineEvent.ticket_id, func.count()).where(TimelineEvent.kind == kind)
                                   .group_by(TimelineEvent.ticket_id)).all()
        return {ticket: n for ticket, n in rows}

    def posts(self) -> int:
        return sum(1 for c in self.fake.calls if c.method == "chat.postMessage" and c.status == 200 and c.response.get("ok"))

    def outbox(self) -> list[OutboxMessage]:
        with self.ctx.sessions() as session:
            return list(session.scalars(select(OutboxMessage)))

    def drain(self, replica: "Replica") -> None:
        """Past the storm-control window: the digests of what a burst folded go out."""
        self.tick(timedelta(seconds=65))
        replica.ask("sweep")

    def posting_rows(self) -> list[OutboxMessage]:
        """The outbox rows that each become one chat.postMessage (group expansions and systemic checks
        only queue more rows; of an alert's notice rows only the raising one posts, the rest update it;
        notices storm control folded go out in their recipient's digest, which is one post)."""
        return [row for row in self.outbox()
                if (row.kind == "notice" and row.digest_key is None) or row.kind in ("card_post", "digest")
                or (row.kind == "systemic_notice" and row.payload["post"])]


@pytest.fixture
def world(pg_url: str, fake: FakeSlack, tmp_path: Path) -> Iterator[World]:
    from bot.db import migrate

    engine = make_engine(pg_url)
    migrate(engine)
    engine.dispose()
    made = World(pg_url, fake, tmp_path)
    yield made
    for replica in made.replicas:
        if replica.process.poll() is None:
            replica.kill()
    made.engine.dispose()


def test_two_replicas_over_simulated_hours_deliver_each_reminder_breach_and_manager_dm_once(world: World) -> None:
    tickets = world.file_tickets(30)
    a, b = world.replica("a"), world.replica("b")
    for _ in range(6 * 10):  # ten simulated hours in 10-minute ticks, both replicas sweeping at once
        world.tick(timedelta(minutes=10))
        a.send("sweep")
        b.send("sweep")
        a.read()
        b.read()
    assert world.count("sla_breached") == {t: 1 for t in tickets}
    assert world.count("managers_notified") == {t: 1 for t in tickets}
    critical = [t for i, t in enumerate(tickets) if i % 2]
    followups = world.count("followup_requested")
    assert all(followups[t] == 5 for t in critical)  # every 2 hours for 10 hours
    world.drain(a)
    assert all(r.status == "sent" for r in world.outbox())
    assert world.posts() == len(world.posting_rows())  # one successful Slack post per notification, across both processes
    with world.ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired")) > 0


def test_a_replica_killed_after_claiming_timers_loses_nothing_and_doubles_nothing(world: World) -> None:
    tickets = world.file_tickets(10)
    world.tick(timedelta(hours=9))  # breaches, warnings, manager notices all due
    doomed = world.replica("doomed")
    claimed = doomed.ask("claim_timers")["claimed"]
    assert claimed
    doomed.kill()  # SIGKILL between claiming the timers and posting anything
    survivor = world.replica("survivor")
    assert survivor.ask("sweep")["fired"] == 0  # the dead replica's lease still holds
    world.tick(timedelta(minutes=2))  # the lease runs out
    survivor.ask("sweep")
    assert world.count("sla_breached") == {t: 1 for t in tickets}
    assert world.count("managers_notified") == {t: 1 for t in tickets}
    world.drain(survivor)
    assert all(r.status == "sent" for r in world.outbox()) and world.posts() == len(world.posting_rows())


def test_a_replica_killed_after_claiming_the_outbox_lets_another_send_each_message_once(world: World) -> None:
    from bot.services.timers import fire_due_timers

    world.file_tickets(6)
    world.tick(timedelta(hours=9))
    assert fire_due_timers(world.ctx, worker="test") > 0  # notices are queued, nothing is sent yet
    doomed = world.replica("doomed")
    claimed = doomed.ask("claim_outbox")["claimed"]  # the tickets' cards and notices, and the timers' notices
    assert claimed and world.posts() == 0
    doomed.kill()  # SIGKILL after claiming the messages, before posting them
    survivor = world.replica("survivor")
    survivor.ask("sweep")
    assert world.posts() == 0  # the dead replica's claims still hold
    world.tick(timedelta(minutes=2))
    survivor.ask("sweep")
    world.drain(survivor)
    assert all(r.status == "sent" for r in world.outbox()) and world.posts() == len(world.posting_rows())


def test_after_a_stopped_period_a_restart_sends_one_catch_up_per_overdue_ticket(world: World) -> None:
    tickets = world.file_tickets(4)
    critical = [t for i, t in enumerate(tickets) if i % 2]
    first = world.replica("before")
    world.tick(timedelta(minutes=30))
    first.ask("sweep")
    first.stop()
    world.tick(timedelta(hours=12))  # nobody running for twelve hours
    second = world.replica("after")
    second.ask("sweep")
    followups = world.count("followup_requested")
    assert all(followups[t] == 1 for t in critical)  # six missed checks coalesce into one
    assert world.count("managers_notified") == {t: 1 for t in tickets}
    world.drain(second)
    assert all(r.status == "sent" for r in world.outbox()) and world.posts() == len(world.posting_rows())


def test_a_replica_killed_while_slack_holds_its_answer_leaves_no_second_copy(world: World) -> None:
    from tests.e2e.test_exactly_once import copies

    world.file_tickets(3)
    world.fake.lose_answer("chat.postMessage", late=60)  # the first post lands; its answer is held back
    doomed = world.replica("doomed")
    doomed.send("sweep")
    world.fake.wait_until(lambda: world.fake.all_messages(), message="the first post landed")
    doomed.kill()  # SIGKILL while waiting for Slack's answer: the outcome is known only to Slack
    survivor = world.replica("survivor")
    world.tick(timedelta(minutes=1))  # past the dead replica's lease
    survivor.ask("sweep")
    posting = world.posting_rows()
    assert all(r.status == "sent" for r in posting)
    assert {r.dedupe_key for r in posting} == set(copies(world.fake)) and set(copies(world.fake).values()) == {1}
