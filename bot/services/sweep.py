"""One tick of the scheduler: fire due timers, then relay the outbox. Safe to run on every replica."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.context import ServiceContext
from bot.services.outbox import relay_all
from bot.services.claims import WORKER
from bot.services.timers import fire_due_timers


@dataclass(frozen=True)
class Swept:
    fired: int
    sent: int


def sweep(ctx: ServiceContext, *, worker: str = WORKER) -> Swept:
    fired = fire_due_timers(ctx, worker=worker)
    return Swept(fired=fired, sent=relay_all(ctx, worker=worker))
