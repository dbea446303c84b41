"""A bot replica in its own process, for multi-process tests: the real runtime (app.build) on the
given database and fake Slack, with a clock the test moves by writing a file.

Reads one command per line on stdin and answers one JSON line on stdout:
  sweep          fire due timers and relay the outbox (what the scheduler does every tick)
  claim_timers   claim due timers and stop there (a test then kills the process: a crash after claiming)
  claim_outbox   claim due outbox rows and stop there (a crash before posting)
  quit
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import build, check_slack  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services.claims import claim  # noqa: E402
from bot.services.outbox import LEASE as OUTBOX_LEASE  # noqa: E402
from bot.services.sweep import sweep  # noqa: E402
from bot.services.timers import LEASE as TIMER_LEASE  # noqa: E402
from models import OutboxMessage, Timer  # noqa: E402


class FileClock:
    """The time written in a file (ISO 8601), so several processes share one simulated clock."""

    def __init__(self, path: Path):
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def main() -> None:
    database_url, api_url, token, policy_file, clock_file, worker = sys.argv[1:7]
    logging.basicConfig(level=logging.ERROR)
    settings = Settings(slack_bot_token=token, slack_signing_secret="replica", slack_api_url=api_url,
                        database_url=database_url, policy_file=policy_file, _env_file=None)
    from datetime import timedelta

    runtime = build(settings, clock=FileClock(Path(clock_file)), pace=timedelta(0))
    check_slack(runtime, attempts=1)
    ctx = runtime.deps.services
    print(json.dumps({"ready": worker}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        now = ctx.clock.now()
        if command == "sweep":
            done = sweep(ctx, worker=worker)
            answer: dict[str, object] = {"fired": done.fired, "sent": done.sent}
        elif command == "claim_timers":
            with ctx.sessions.begin() as session:
                answer = {"claimed": claim(session, Timer, due=(Timer.status == "pending") & (Timer.due_at <= now),
                                           order_by=Timer.due_at, now=now, lease_until=now + TIMER_LEASE,
                                           worker=worker, limit=1000)}
        elif command == "claim_outbox":
            with ctx.sessions.begin() as session:
                answer = {"claimed": claim(session, OutboxMessage,
                                           due=(OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                                           order_by=OutboxMessage.id, now=now, lease_until=now + OUTBOX_LEASE,
                                           worker=worker, limit=1000)}
        elif command == "quit":
            break
        else:
            answer = {"error": f"unknown command {command!r}"}
        print(json.dumps(answer), flush=True)
    runtime.close()


if __name__ == "__main__":
    main()
