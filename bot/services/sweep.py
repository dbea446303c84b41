"""One tick of the scheduler: fire due timers, then relay the outbox. Safe to run on every replica."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.context import ServiceContext
from bot.services.outbox import relay_all
from bot.services.claims import WORKER, release_dead
from bot.services.sla_digest import plan_weekly_digest
from bot.services.timers import fire_due_timers
from models import OutboxMessage, Timer


@dataclass(frozen=True)
class Swept:
    fired: int
    sent: int


def release_dead_claims(ctx: ServiceContext) -> int:
    """At start-up: what crashed processes on this host had claimed is free at once (a replica lost on
    another host holds its rows only for the short lease)."""
    with ctx.sessions.begin() as session:
        now = ctx.clock.now()
        return release_dead(session, OutboxMessage, now=now) + release_dead(session, Timer, now=now)


def sweep(ctx: ServiceContext, *, worker: str = WORKER) -> Swept:
    plan_weekly_digest(ctx)  # the next slot's digest is queued a week ahead: a restart over the slot loses nothing
    fired = fire_due_timers(ctx, worker=worker)
    return Swept(fired=fired, sent=relay_all(ctx, worker=worker))
