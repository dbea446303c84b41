"""A bot replica in its own process, for multi-process tests: the real runtime (app.build) on the
given database and fake Slack, with a clock the test moves by writing a file.

Reads one command per line on stdin and answers one JSON line on stdout:
  sweep          fire due timers and relay the outbox (what the scheduler does every tick)
  relay          relay the outbox only (the app's second job, every 2 s: notices a recovered Slack quickly)
  claim_timers   claim due timers and stop there (a test then kills the process: a crash after claiming)
  claim_outbox   claim due outbox rows and stop there (a crash before posting)
  quit

The worker name `-` stands for the app's own (host:pid), whose claims a restart on this host frees at
once; any other name holds its claims until their lease runs out.

`serve(commands)` takes more commands (name -> function of the context, the worker and the rest of
the line), for scripts that build on this one (bench/delivery_replica.py).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import build, check_slack  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services.claims import WORKER, claim  # noqa: E402
from bot.services.context import ServiceContext  # noqa: E402
from bot.services.claims import LEASE  # noqa: E402
from bot.services.outbox import relay_all  # noqa: E402
from bot.services.sweep import sweep  # noqa: E402
from models import OutboxMessage, Timer  # noqa: E402


class FileClock:
    """The time written in a file (ISO 8601), so several processes share one simulated clock."""

    def __init__(self, path: Path):
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


Command = Callable[[ServiceContext, str, str], dict[str, object]]


def serve(commands: Mapping[str, Command] | None = None) -> None:
    database_url, api_url, token, policy_file, clock_file, worker = sys.argv[1:7]
    worker = WORKER if worker == "-" else worker
    logging.basicConfig(level=logging.ERROR)
    settings = Settings(slack_bot_token=token, slack_signing_secret="replica", slack_api_url=api_url,
                        database_url=database_url, policy_file=policy_file, _env_file=None)
    runtime = build(settings, clock=FileClock(Path(clock_file)), pace=timedelta(0))
    check_slack(runtime, attempts=1)
    ctx = runtime.deps.services
    print(json.dumps({"ready": worker}), flush=True)
    for line in sys.stdin:
        command, _, rest = line.strip().partition(" ")
        now = ctx.clock.now()
        answer: dict[str, object]
        if commands and command in commands:
            answer = commands[command](ctx, worker, rest)
        elif command == "sweep":
            done = sweep(ctx, worker=worker)
            answer = {"fired": done.fired, "sent": done.sent}
        elif command == "relay":
            answer = {"sent": relay_all(ctx, worker=worker)}
        elif command == "claim_timers":
            with ctx.sessions.begin() as session:
                answer = {"claimed": claim(session, Timer, due=(Timer.status == "pending") & (Timer.due_at <= now),
                                           order_by=Timer.due_at, now=now, lease_until=now + LEASE,
                                           worker=worker, limit=1000)}
        elif command == "claim_outbox":
            with ctx.sessions.begin() as session:
                answer = {"claimed": claim(session, OutboxMessage,
                                           due=(OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                                           order_by=OutboxMessage.id, now=now, lease_until=now + LEASE,
                                           worker=worker, limit=1000)}
        elif command == "quit":
            break
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    runtime.close()


if __name__ == "__main__":
    serve()
