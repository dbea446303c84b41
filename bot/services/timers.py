"""Timers: scheduled in the transaction of the state change, fired once by a sweep that claims them.

The scheduler only ticks; every decision is taken here, against the ticket as it is when the timer
fires. A timer that fires late (the bot was down) is marked delayed; a recurring one then skips to
its next slot after now, so missed reminders coalesce into the one that just fired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.domain.durations import format_duration
from bot.domain import timers as domain_timers
from bot.domain.severity import Severity
from bot.domain.tickets import LIVE_STATES, Move, TicketStatus
from bot.services.claims import LEASE, WORKER, claim
from bot.services.context import ServiceContext
from bot.services.delivery import enqueue_notice
from bot.services.messages import Notice
from bot.services.queue import Batch
from bot.services.tickets import BOT_ACTOR
from models import Ticket, Timer, TimerKind, TimerStatus
from models.timeline import Source

LATE = timedelta(minutes=2)  # fired this long after its due time: marked delayed
LEVEL_TIMERS = (TimerKind.RESPONSE_BREACH, TimerKind.PREBREACH, TimerKind.SLA_UNRESOLVED, TimerKind.FOLLOWUP)


# --- scheduling (called inside the services' transactions) --------------------------------------

def cancel(session: Session, ticket_id: int, *kinds: TimerKind) -> None:
    query = update(Timer).where(Timer.ticket_id == ticket_id, Timer.status == TimerStatus.PENDING.value)
    if kinds:
        query = query.where(Timer.kind.in_([k.value for k in kinds]))
    session.execute(query.values(status=TimerStatus.CANCELLED.value))


def schedule(session: Session, ticket_id: int, kind: TimerKind, due: datetime, now: datetime, *, once: bool = False) -> None:
    """Add the next occurrence of a timer; with `once`, never a second one of that kind for the ticket."""
    last = session.scalar(select(func.max(Timer.occurrence)).where(Timer.ticket_id == ticket_id, Timer.kind == kind.value))
    if once and last is not None:
        return
    session.add(Timer(ticket_id=ticket_id, kind=kind.value, occurrence=0 if last is None else last + 1, due_at=due,
                      status=TimerStatus.PENDING.value, created_at=now))


def followup_after(ctx: ServiceContext, ticket: Ticket, after: datetime) -> datetime:
    return domain_timers.followup_after(ctx.policy, ticket.severity, after, ctx.tz)


def on_level_entered(ctx: ServiceContext, session: Session, ticket: Ticket, now: datetime) -> None:
    """Filed, escalated or reopened: the level's SLA timers start over; managers hear after 4h, once."""
    cancel(session, ticket.id, *LEVEL_TIMERS)
    planned = domain_timers.level_entered_timers(
        ctx.policy, level_key=ticket.level_key, severity=ticket.severity, level_entered_at=ticket.level_entered_at,
        response_due_at=ticket.response_due_at, created_at=ticket.created_at, next_update_by=ticket.next_update_by,
        now=now, tz=ctx.tz)
    for timer in planned:
        schedule(session, ticket.id, timer.kind, timer.due, now, once=timer.once)


def on_acknowledged(session: Session, ticket_id: int) -> None:
    cancel(session, ticket_id, TimerKind.RESPONSE_BREACH, TimerKind.PREBREACH)


def on_update(ctx: ServiceContext, session: Session, ticket: Ticket, now: datetime) -> None:
    """An update resets the cadence; a promised "next update by" replaces the next reminder."""
    cancel(session, ticket.id, TimerKind.FOLLOWUP)
    if ticket.status in LIVE_STATES:
        schedule(session, ticket.id, TimerKind.FOLLOWUP, ticket.next_update_by or followup_after(ctx, ticket, now), now)


def on_resolved(session: Session, ticket: Ticket, now: datetime) -> None:
    """Resolve stops every reminder; a post-mortem due gets its daily reminder instead."""
    cancel(session, ticket.id)
    if ticket.status == TicketStatus.POSTMORTEM_DUE:
        schedule(session, ticket.id, TimerKind.POSTMORTEM_REMINDER, now + timedelta(days=1), now)


def on_closed(session: Session, ticket_id: int) -> None:
    cancel(session, ticket_id)


def on_move(ctx: ServiceContext, session: Session, ticket: Ticket, move: Move, now: datetime) -> None:
    """The hook a move calls for, chosen by where the ticket landed: a level entered (escalated,
    reopened), acknowledged, resolved or closed; an update restarts the cadence; a reassignment changes no timer."""
    if move is Move.POST_UPDATE:
        on_update(ctx, session, ticket, now)
    elif move is Move.REASSIGN:
        return
    elif ticket.status is TicketStatus.OPEN:
        on_level_entered(ctx, session, ticket, now)
    elif ticket.status is TicketStatus.ACKNOWLEDGED:
        on_acknowledged(session, ticket.id)
    elif ticket.status is TicketStatus.POSTMORTEM_DUE:
        on_resolved(session, ticket, now)
    else:
        on_closed(session, ticket.id)


# --- firing ---------------------------------------------------------------------------------------

BATCH = 250  # timers fired per transaction


def fire_due_timers(ctx: ServiceContext, *, worker: str = WORKER, limit: int = 1000) -> int:
    """Claim what is due (atomically, with a lease) and fire it in batches; returns how many fired."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        ids = claim(session, Timer, due=(Timer.status == TimerStatus.PENDING.value) & (Timer.due_at <= now),
                    order_by=Timer.due_at, now=now, lease_until=now + LEASE, worker=worker, limit=limit)
    fired = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        try:
            fired += _fire(ctx, chunk, worker)
        except Exception:  # noqa: BLE001 - one bad timer must not hold the others back: retry them one by one
            ctx.log.exception("firing %s timers together failed; firing them one at a time", len(chunk))
            for timer_id in chunk:
                try:
                    fired += _fire(ctx, [timer_id], worker)
                except Exception:  # noqa: BLE001 - logged; the timer stays claimed and is retried after its lease
                    ctx.log.exception("timer %s failed to fire", timer_id)
    return fired


def _fire(ctx: ServiceContext, timer_ids: list[int], worker: str) -> int:
    """Fire claimed timers in one transaction, each against its ticket as it is now."""
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        query = select(Timer).where(Timer.id.in_(timer_ids), Timer.status == TimerStatus.PENDING.value,
                                    Timer.claimed_by == worker).order_by(Timer.due_at, Timer.id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        timers = session.scalars(query).all()  # the rest were cancelled meanwhile, or taken by another replica
        if not timers:
            return 0
        tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_({t.ticket_id for t in timers})))}
        with Batch(session) as batch:  # the effects' notices and notes: one INSERT each, at the end
            for timer in timers:
                # Plain values for the effects; the rows are updated by the one statement below.
                set_committed_value(timer, "delayed", now - timer.due_at > LATE)
                EFFECTS[TimerKind(timer.kind)](ctx, batch, tickets[timer.ticket_id], timer, now)
        session.execute(update(Timer).where(Timer.id.in_([t.id for t in timers]))
                        .values(status=TimerStatus.FIRED.value, fired_at=now, delayed=Timer.due_at < now - LATE)
                        .execution_options(synchronize_session=False))
        return len(timers)


def _note(batch: Batch, ticket: Ticket, timer: Timer, kind: str, now: datetime, **details: object) -> None:
    batch.note(ticket.id, kind, actor=BOT_ACTOR, source=Source.SCHEDULER, at=now, timer=timer.id,
         due_at=timer.due_at.isoformat(), delayed=timer.delayed, **details)


def _breach(ctx: ServiceContext, batch: Batch, ticket: Ticket, timer: Timer, now: datetime) -> None:
    if ticket.status != TicketStatus.OPEN or ticket.acknowledged_at is not None:
        return
    level = ctx.policy.level(ticket.level_key)
    key = f"timer:{timer.id}"
    enqueue_notice(batch, key=f"{key}:channel", ticket_id=ticket.id, notice=Notice.BREACH, channel=level.channel, now=now)
    for manager in ctx.policy.management.managers:
        enqueue_notice(batch, key=f"{key}:{manager}", ticket_id=ticket.id, notice=Notice.BREACH_MANAGER, user=manager, now=now)
    _note(batch, ticket, timer, "sla_breached", now, level=level.key, managers=list(ctx.policy.management.managers))


def _prebreach(ctx: ServiceContext, batch: Batch, ticket: Ticket, timer: Timer, now: datetime) -> None:
    if ticket.status != TicketStatus.OPEN or ticket.acknowledged_at is not None:
        return
    enqueue_notice(batch, key=f"timer:{timer.id}", ticket_id=ticket.id, notice=Notice.PREBREACH, thread=True, now=now)
    _note(batch, ticket, timer, "sla_warning", now, level=ticket.level_key)


def _unresolved(ctx: ServiceContext, batch: Batch, ticket: Ticket, timer: Timer, now: datetime) -> None:
    following = ctx.policy.next_level(ticket.level_key)
    if ticket.status not in LIVE_STATES or following is None:
        return
    enqueue_notice(batch, key=f"timer:{timer.id}", ticket_id=ticket.id, notice=Notice.SLA_UNRESOLVED, thread=True,
                   now=now, extra={"next_level": following.title})
    _note(batch, ticket, timer, "escalation_suggested", now, level=ticket.level_key, next_level=following.key)


def _followup(ctx: ServiceContext, batch: Batch, ticket: Ticket, timer: Timer, now: datetime) -> None:
    if ticket.status not in LIVE_STATES:
        return
    cadence = ctx.policy.followups.critical if ticket.severity == Severity.CRITICAL else ctx.policy.followups.standard
    enqueue_notice(batch, key=f"timer:{timer.id}", ticket_id=ticket.id, notice=Notice.FOLLOWUP, thread=True, now=now,
                   extra={"cadence": format_duration(cadence)})
    _note(batch, ticket, timer, "followup_requested", now, assignee=ticket.assignee_id)
    schedule(batch.session, ticket.id, TimerKind.FOLLOWUP, followup_after(ctx, ticket, now), now)  # one catch-up, then on


def _manager_notice(ctx: ServiceContext, batch: Batch, ticket: Ticket, timer: Timer, now: datetime) -> None:
    if ticket.status not in LIVE_STATES:
        return
    open_for = format_duration(now - ticket.created_at)
    for manager in ctx.policy.management.managers:
        enqueue_notice(batch, key=f"timer:{timer.id}:{manager}", ticket_id=ticket.id, notice=Notice.MANAGER_NOTICE,
                       user=manager, now=now, extra={"open_for": open_for})
    _note(batch, ticket, timer, "managers_notified", now, managers=list(ctx.policy.management.managers), open_for=open_for)


def _postmortem_reminder(ctx: ServiceContext, batch: Batch, ticket: Ticket, timer: Timer, now: datetime) -> None:
    if ticket.status != TicketStatus.POSTMORTEM_DUE or not ticket.postmortem_owner:
        return
    overdue = ticket.postmortem_due_at is not None and now > ticket.postmortem_due_at
    enqueue_notice(batch, key=f"timer:{timer.id}", ticket_id=ticket.id, notice=Notice.POSTMORTEM_REMINDER,
                   user=ticket.postmortem_owner, now=now, extra={"overdue": "yes" if overdue else ""})
    _note(batch, ticket, timer, "postmortem_reminded", now, owner=ticket.postmortem_owner, overdue=overdue)
    schedule(batch.session, ticket.id, TimerKind.POSTMORTEM_REMINDER, max(timer.due_at + timedelta(days=1), now + timedelta(hours=12)), now)


EFFECTS = {
    TimerKind.RESPONSE_BREACH: _breach,
    TimerKind.PREBREACH: _prebreach,
    TimerKind.SLA_UNRESOLVED: _unresolved,
    TimerKind.FOLLOWUP: _followup,
    TimerKind.MANAGER_NOTICE: _manager_notice,
    TimerKind.POSTMORTEM_REMINDER: _postmortem_reminder,
}
