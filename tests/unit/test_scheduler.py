"""APScheduler is only the ticker: one in-memory interval job per sweep, never doubled, never fatal."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.scheduler import make_scheduler


def test_each_job_ticks_every_interval_and_a_slow_run_is_not_doubled() -> None:
    scheduler = make_scheduler({"sweep": (timedelta(seconds=10), lambda: None), "relay": (timedelta(seconds=2), lambda: None)})
    scheduler.start(paused=True)  # started, the jobs are scheduled as they will run; paused, none runs
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    assert {name: j.trigger.interval for name, j in jobs.items()} == {"sweep": timedelta(seconds=10), "relay": timedelta(seconds=2)}
    # Missed ticks while a sweep is busy collapse into one, and a sweep never runs twice at once.
    assert all(j.coalesce is True and j.max_instances == 1 for j in jobs.values())


def test_a_failing_sweep_is_logged_and_the_next_tick_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        raise RuntimeError("database went away")

    scheduler = make_scheduler({"sweep": (timedelta(seconds=1), flaky)})
    (job,) = scheduler.get_jobs()
    with caplog.at_level(logging.ERROR, logger="bot.scheduler"):
        job.func()
        job.func()
    assert len(calls) == 2 and "scheduled job sweep failed" in caplog.text
