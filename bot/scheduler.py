"""APScheduler is the ticker; the database is the truth. Jobs are plain functions that call services."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("bot.scheduler")


def make_scheduler(jobs: dict[str, tuple[timedelta, Callable[[], object]]]) -> BackgroundScheduler:
    """One in-memory scheduler running each job every its own interval; a slow run is never doubled up."""
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1})
    for name, (interval, job) in jobs.items():
        scheduler.add_job(_logged(name, job), "interval", seconds=interval.total_seconds(), id=name, name=name)
    return scheduler


def _logged(name: str, job: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - a failed sweep is logged and retried at the next tick
            log.exception("scheduled job %s failed", name)

    return run
