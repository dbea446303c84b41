"""Atomic claims with a lease, so several replicas never take the same row: `FOR UPDATE SKIP LOCKED`
on PostgreSQL, a single `UPDATE … RETURNING` on SQLite (which serialises writers)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session


HOST = socket.gethostname()
# A claim on an outbox row or a batch of timers: renewed as each row's send starts, so a replica that
# died holds its rows this long at most (a batch of timers fires in well under a second).
LEASE = timedelta(seconds=20)
WORKER = f"{HOST}:{os.getpid()}"  # who holds a lease: unique per process, so replicas never share one


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def release_dead(session: Session, model: type, *, now: datetime, host: str = HOST, me: str = WORKER,
                 alive: Callable[[int], bool] = pid_alive) -> int:
    """Free the live leases that processes of this host hold but which have died (a crash, SIGKILL):
    their rows are due again now, not when the lease runs out. Returns how many were freed."""
    held = session.execute(select(model.id, model.claimed_by).where(  # type: ignore[attr-defined]
        model.claimed_by.startswith(f"{host}:"), model.claimed_by != me,  # type: ignore[attr-defined]
        model.claimed_until >= now)).all()  # type: ignore[attr-defined]
    pids = {row_id: holder.rpartition(":")[2] for row_id, holder in held}
    dead = [row_id for row_id, pid in pids.items() if pid.isdigit() and not alive(int(pid))]
    if dead:
        session.execute(update(model).where(model.id.in_(dead))  # type: ignore[attr-defined]
                        .values(claimed_until=None, claimed_by=None).execution_options(synchronize_session=False))
    return len(dead)


def claim(session: Session, model: type, *, due: ColumnElement[bool], order_by: object, now: datetime,
          lease_until: datetime, worker: str, limit: int) -> list[int]:
    """Take up to `limit` due rows whose lease is free; returns their ids. Commit to publish the lease."""
    free = (model.claimed_until.is_(None)) | (model.claimed_until < now)  # type: ignore[attr-defined]
    candidates: Select = select(model.id).where(due, free).order_by(order_by).limit(limit)  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(model)
        .where(model.id.in_(candidates.scalar_subquery()))  # type: ignore[attr-defined]
        .values(claimed_until=lease_until, claimed_by=worker)
        .returning(model.id)  # type: ignore[attr-defined]
    )
    return sorted(session.scalars(statement).all())
