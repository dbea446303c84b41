"""The App Home as a queue: what needs me now, my tickets, the queues, the managers' view.

A read model of frozen dataclasses, built with a bounded number of statements whatever the volume:
each section is one query that counts its rows and returns only the first few (a window count), the
queues are one GROUP BY. Who sees what follows the permission table (bot/domain/permissions.py).
The Home is re-published when a ticket its viewer is concerned with changes: the outbox queues a
per-ticket fan-out (coalesced per window) that queues one publish per person who opened the Home.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.domain.reports import Report
from bot.domain.tickets import LIVE_STATES, TicketStatus, ticket_ref
from bot.services import reports
from bot.services.context import ServiceContext
from bot.services.ports import Once
from bot.services.queue import OutboxKind, Payload, Rows, enqueue, queue_row
from bot.services.readmodel import Home, HomeTicket, Listing, ManagerView, QueueFigures, Section
from bot.services.tickets import Reader, reader, theirs, upsert_insert
from models import HomeViewer, Participant, Ticket, Timer, TimelineEvent
from models.timer import TimerKind, TimerStatus

Figures = Callable[[datetime, datetime], Report]  # the report service: a period's figures per level
FIRST = 8  # rows a section shows on the Home; the rest are counted ("and N more")
MORE = 200  # rows the "see all" modal lists
REFRESH_WINDOW = timedelta(seconds=5)  # changes within one window cause one publish per person


def open_home(ctx: ServiceContext, *, actor_id: str) -> Home:
    """The person opened the Home tab: remember it (their Home is refreshed from now on) and publish it."""
    who = reader(ctx, actor_id)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        levels = "," + "".join(f"{key}," for key in who.levels)
        session.execute(upsert_insert(session)(HomeViewer).values(user_id=actor_id, opened_at=now, levels=levels)
                        .on_conflict_do_update(index_elements=["user_id"], set_={"opened_at": now, "levels": levels}))
    built = home(ctx, actor_id=actor_id, who=who)
    ctx.notifier.publish_home(actor_id, built)
    return built


def home(ctx: ServiceContext, *, actor_id: str, figures: Figures | None = None, who: Reader | None = None) -> Home:
    """The read model of one person's Home (`figures`: a period's figures per level; default the report service)."""
    who = who or reader(ctx, actor_id)
    figures = figures or (lambda since, until: reports.report(ctx, since=since, until=until))
    now = ctx.clock.now()
    with ctx.sessions() as session:
        listed = {s: listing(ctx, session, s, who, now, FIRST) for s in Section if s is not Section.OPEN_LONG or who.manager}
        queues = queue_figures(ctx, session, now) if who.reads_all else ()
    managers = None
    if who.manager:
        local = now.astimezone(ctx.tz)
        since = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        since = since.astimezone(now.tzinfo)
        managers = ManagerView(since=since, until=now, figures=figures(since, now) if figures else None,
                               open_long=listed[Section.OPEN_LONG], notify_after=ctx.policy.management.notify_after)
    return Home(user_id=actor_id, now=now, awaiting_ack=listed[Section.AWAITING_ACK], followups=listed[Section.FOLLOWUPS],
                postmortems=listed[Section.POSTMORTEMS], mine=listed[Section.MINE], queues=queues, managers=managers)


def home_more(ctx: ServiceContext, *, actor_id: str, section: Section, limit: int = MORE) -> Listing:
    """One section at length, for the "see all" modal (the same rule of who sees what)."""
    who = reader(ctx, actor_id)
    if section is Section.OPEN_LONG and not who.manager:
        return Listing(section, (), 0)
    with ctx.sessions() as session:
        return listing(ctx, session, section, who, ctx.clock.now(), limit)


def _next_followup() -> Any:
    return (select(func.min(Timer.due_at)).where(Timer.ticket_id == Ticket.id, Timer.kind == TimerKind.FOLLOWUP.value,
                                                 Timer.status == TimerStatus.PENDING.value)
            .correlate(Ticket).scalar_subquery())


def _next_due() -> Any:
    """What is due next, by state: the response, the next follow-up (or the promised update), the post-mortem."""
    return case(
        (Ticket.status == TicketStatus.OPEN, Ticket.response_due_at),
        (Ticket.status == TicketStatus.ACKNOWLEDGED, func.coalesce(_next_followup(), Ticket.next_update_by)),
        (Ticket.status == TicketStatus.POSTMORTEM_DUE, Ticket.postmortem_due_at),
        else_=None,
    )


def _where(ctx: ServiceContext, section: Section, who: Reader, now: datetime) -> ColumnElement[bool]:
    me = who.user_id
    if section is Section.AWAITING_ACK:  # at a level I answer for: I may view and acknowledge it
        return and_(Ticket.status == TicketStatus.OPEN, Ticket.level_key.in_(who.levels))
    if section is Section.FOLLOWUPS:  # assigned to me: the assignee may view it
        return and_(Ticket.status.in_(LIVE_STATES), Ticket.assignee_id == me)
    if section is Section.POSTMORTEMS:  # the owner may view it
        return and_(Ticket.status == TicketStatus.POSTMORTEM_DUE, Ticket.postmortem_owner == me)
    if section is Section.OPEN_LONG:  # managers read every ticket
        return and_(Ticket.status.in_(LIVE_STATES), Ticket.created_at <= now - ctx.policy.management.notify_after)
    return theirs(who)


def listing(ctx: ServiceContext, session: Session, section: Section, who: Reader, now: datetime, limit: int) -> Listing:
    """One statement: the section's first `limit` rows, most urgent first, and the count of all of them."""
    due = _next_due().label("due")
    order: list[Any]
    if section is Section.OPEN_LONG:
        order = [Ticket.created_at, Ticket.id]
    else:  # breached first (their due time is past), then by time left; nothing due last
        order = [due.is_(None), due, Ticket.id]
    rows = session.execute(
        select(Ticket.id, Ticket.title, Ticket.severity, Ticket.status, Ticket.level_key, Ticket.created_at,
               Ticket.response_due_at, due, func.count().over().label("total"))
        .where(_where(ctx, section, who, now)).order_by(*order).limit(limit)
    ).all()
    titles = {lv.key: lv.title for lv in ctx.policy.levels}
    items = tuple(
        HomeTicket(id=r.id, ref=ticket_ref(r.id), title=r.title, severity=r.severity, status=r.status, level_key=r.level_key,
                   level_title=titles.get(r.level_key, r.level_key), created_at=r.created_at, due_at=r.due,
                   breached=r.status is TicketStatus.OPEN and r.response_due_at <= now,
                   overdue=r.due is not None and r.due <= now)
        for r in rows
    )
    return Listing(section, items, rows[0].total if rows else 0)


def queue_figures(ctx: ServiceContext, session: Session, now: datetime) -> tuple[QueueFigures, ...]:
    """Every level's live tickets in one GROUP BY; the most urgent queue first (breached, waiting, oldest)."""
    unacked = Ticket.status == TicketStatus.OPEN
    rows = {r.level_key: r for r in session.execute(
        select(Ticket.level_key, func.count().label("open"),
               func.sum(case((unacked, 1), else_=0)).label("unacknowledged"),
               func.sum(case((and_(unacked, Ticket.response_due_at <= now), 1), else_=0)).label("breached"),
               func.min(Ticket.level_entered_at).label("oldest"))
        .where(Ticket.status.in_(LIVE_STATES)).group_by(Ticket.level_key))}
    queues = [
        QueueFigures(level_key=lv.key, title=lv.title, open=rows[lv.key].open if lv.key in rows else 0,
                     unacknowledged=int(rows[lv.key].unacknowledged or 0) if lv.key in rows else 0,
                     breached=int(rows[lv.key].breached or 0) if lv.key in rows else 0,
                     oldest=rows[lv.key].oldest if lv.key in rows else None)
        for lv in ctx.policy.levels
    ]
    far = now + timedelta(days=36500)
    return tuple(sorted(queues, key=lambda q: (-q.breached, -q.unacknowledged, q.oldest or far)))


# ---- Refresh: the outbox carries it (durable), coalesced per window, only for people who opened the Home.

@dataclass(frozen=True)
class HomeFanoutPayload(Payload):
    bucket: int  # the refresh window (REFRESH_WINDOW) the ticket changed in


@dataclass(frozen=True)
class HomeRefreshPayload(Payload):
    user: str

    def where(self) -> str:
        return self.user


def queue_home_refresh(into: Rows, ticket_id: int, now: datetime) -> None:
    """The Homes showing this ticket are re-published when this window ends, once per ticket and window
    (not a notice: storm control never counts it; it has no recipient). Dropped when the rows are
    written if nobody has opened the Home."""
    bucket, ends = refresh_window(now)
    queue_row(into, key=f"{OutboxKind.HOME_FANOUT}:{ticket_id}:{bucket}", kind=OutboxKind.HOME_FANOUT,
              ticket_id=ticket_id, payload=HomeFanoutPayload(bucket), now=now, due=ends)


def refresh_window(now: datetime) -> tuple[int, datetime]:
    """The window `now` falls in, and when it ends (the refresh goes out then, with every change in it)."""
    window = REFRESH_WINDOW.total_seconds()
    bucket = int(now.timestamp() // window)
    return bucket, datetime.fromtimestamp((bucket + 1) * window, tz=now.tzinfo)


def concerned(ctx: ServiceContext, session: Session, ticket_id: int, since: datetime) -> list[str]:
    """People whose Home shows the ticket, who opened their Home: the responders of its level (and of the
    level it left since `since`), its people (reporter, assignee, post-mortem owner, participants, whoever
    acted on it since, the assignee it was taken from), and managers."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return []
    events = session.execute(select(TimelineEvent.actor_id, TimelineEvent.kind, TimelineEvent.details).where(
        TimelineEvent.ticket_id == ticket_id, TimelineEvent.at >= since)).all()
    levels = {ticket.level_key} | {str(e.details.get("from_level")) for e in events if e.kind == "escalated"}
    people = {ticket.reporter_id, ticket.assignee_id, ticket.postmortem_owner, ticket.acknowledged_by,
              *ctx.policy.management.managers, *(e.actor_id for e in events),
              *(str(e.details.get("previous")) for e in events if e.kind == "reassigned" and e.details.get("previous")),
              *session.scalars(select(Participant.user_id).where(Participant.ticket_id == ticket_id))}
    people.discard(None)
    answers = [HomeViewer.levels.contains(f",{key},") for key in sorted(levels)]
    return list(session.scalars(select(HomeViewer.user_id).where(
        or_(HomeViewer.user_id.in_(sorted(p for p in people if p)), *answers)).order_by(HomeViewer.user_id)))


def send_home_fanout(ctx: ServiceContext, payload: HomeFanoutPayload, ticket_id: int, once: Once) -> None:
    """A ticket changed in this window: queue one Home publish per person concerned (deduplicated per
    person and window, however many tickets changed)."""
    now = ctx.clock.now()
    since = datetime.fromtimestamp(payload.bucket * REFRESH_WINDOW.total_seconds(), tz=now.tzinfo) - REFRESH_WINDOW
    with ctx.sessions.begin() as session:
        for user in concerned(ctx, session, ticket_id, since):
            enqueue(session, key=f"{OutboxKind.HOME_REFRESH}:{user}:{payload.bucket}", kind=OutboxKind.HOME_REFRESH,
                    ticket_id=None, payload=HomeRefreshPayload(user), now=now)


def send_home_refresh(ctx: ServiceContext, payload: HomeRefreshPayload, once: Once) -> None:
    """Build the person's Home as it is now and publish it (views.publish replaces it: a retry is harmless)."""
    ctx.relay.publish_home(payload.user, home(ctx, actor_id=payload.user))
