"""APScheduler is only the ticker: one in-memory interval job per sweep, never doubled, never fatal."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.scheduler import make_scheduler


def test_each_job_ticks_every_interval_and_a_slow_run_is_not_doubled() -> None:
    scheduler = make_scheduler({"sweep": (timedelta(seconds=10), lambda: None), "relay": (timedelta(seconds=2), lambda: None)})
    job, relay = scheduler.get_jobs()
    assert job.id == "sweep" and job.trigger.interval == timedelta(seconds=10)
    assert relay.id == "relay" and relay.trigger.interval == timedelta(seconds=2)
    # Missed ticks while a sweep is busy collapse into one, and a sweep never runs twice at once.
    assert scheduler._job_defaults["coalesce"] is True and scheduler._job_defaults["max_instances"] == 1


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
