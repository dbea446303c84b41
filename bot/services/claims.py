"""Atomic claims with a lease, so several replicas never take the same row: `FOR UPDATE SKIP LOCKED`
on PostgreSQL, a single `UPDATE … RETURNING` on SQLite (which serialises writers)."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.orm import Session


WORKER = f"{socket.gethostname()}:{os.getpid()}"  # who holds a lease: unique per process, so replicas never share one


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
