"""Read-side use cases: a ticket with its timeline, the timeline export, and my tickets."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.exports import defuse
from bot.domain.permissions import Act
from bot.domain.tickets import OPEN_STATES, ticket_ref
from bot.services.context import ServiceContext
from bot.services.messages import Notice
from bot.services.ports import Once
from bot.services.readmodel import Entry, TicketView
from bot.services.queue import NoticePayload, OutboxKind, Payload, enqueue
from bot.services.tickets import authorize, entries, first_time, get_ticket, reader, record, theirs, view_of
from models import Ticket, TimelineEvent
from models.timeline import Source

EXPORT_COLUMNS = ("ticket", "at_utc", "actor", "event", "source", "details")
EXPORT_FORMATS = ("csv", "json")  # one outbox row (one upload) each: a retry never re-sends the other


@dataclass(frozen=True)
class TicketWithTimeline:
    ticket: TicketView
    entries: tuple[Entry, ...]


def ticket_status(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> TicketWithTimeline:
    authorize(ctx, ticket_id, actor_id, Act.VIEW)
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id)
        return TicketWithTimeline(view_of(ctx.policy, ticket), entries(session, ticket_id))


def export_rows(ticket_id: int, timeline: tuple[Entry, ...]) -> list[dict[str, str]]:
    return [
        {"ticket": ticket_ref(ticket_id), "at_utc": e.at.isoformat(), "actor": e.actor, "event": e.kind,
         "source": e.source, "details": json.dumps(e.details, ensure_ascii=False, sort_keys=True)}
        for e in timeline
    ]


def to_csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: defuse(v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def export_timeline(ctx: ServiceContext, ticket_id: int, *, actor_id: str, once: str | None = None) -> bool:
    """Queue the chronological log, as it is now, for upload as CSV and JSON to the actor by DM; the
    outbox sends it (retried through a Slack outage) and the caller relays it after replying.
    `once` names the command: a re-sent copy queues nothing and answers False."""
    authorize(ctx, ticket_id, actor_id, Act.VIEW)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "export", now):
            return False
        shown = session.scalar(select(func.count(TimelineEvent.id)).where(TimelineEvent.ticket_id == ticket_id)) or 0
        event = record(session, ticket_id, "timeline_exported", actor=actor_id, source=Source.COMMAND, at=now, events=shown)
        for fmt in EXPORT_FORMATS:
            # A name per request (its time and its event), so a later look-up by title finds this upload only.
            name = f"{ticket_ref(ticket_id)}-timeline-{now:%Y%m%d-%H%M%S}-{event.id}.{fmt}"
            enqueue(session, key=f"{OutboxKind.TIMELINE_EXPORT}:{once or event.id}:{fmt}", kind=OutboxKind.TIMELINE_EXPORT,
                    ticket_id=ticket_id, now=now, payload=ExportPayload(user=actor_id, format=fmt, filename=name,
                                                                         before=event.id, as_of=now.isoformat()))
    return True


@dataclass(frozen=True)
class ExportPayload(Payload):
    """One file of an export: for whom, which format and name, the timeline up to which event, as of when."""

    user: str
    format: str
    filename: str
    before: int
    as_of: str

    def where(self) -> str:
        return self.user


def send_timeline_export(ctx: ServiceContext, payload: ExportPayload, ticket_id: int, once: Once) -> None:
    """The outbox sender: build the file from the timeline as it was when asked, and upload it by DM."""
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id)
        ref, title = ticket_ref(ticket.id), ticket.title
        rows = export_rows(ticket.id, entries(session, ticket.id, before=payload.before))
    if payload.format == "csv":
        content = to_csv(rows)
    else:
        content = json.dumps({"ticket": ref, "title": title, "as_of": payload.as_of, "events": rows},
                             ensure_ascii=False, indent=2).encode()
    ctx.relay.upload(payload.user, filename=payload.filename, content=content, title=payload.filename,
                     comment=f"Timeline of {ref} ({len(rows)} events, as of {payload.as_of})", once=once)


def export_undelivered(session: Session, payload: ExportPayload, ticket_id: int | None, reason: str,
                       now: datetime) -> None:
    """A file of an export that Slack will not take (a dead letter): the asker was told it is on its way,
    so they hear by DM that it is not, once per request however many of its files fail."""
    if ticket_id is not None:
        notice = NoticePayload(Notice.EXPORT_FAILED, user=payload.user, reader_check=True,
                               extra={"filename": payload.filename, "reason": reason})
        enqueue(session, key=f"{Notice.EXPORT_FAILED}:{ticket_id}:{payload.before}", kind=OutboxKind.NOTICE,
                ticket_id=ticket_id, payload=notice, now=now, recipient=notice.recipient)


def my_tickets(ctx: ServiceContext, *, actor_id: str, limit: int = 25) -> tuple[list[TicketView], dict[str, list[TicketView]]]:
    """Open tickets I reported, escalated, subscribed to or am assigned; and the queues of my levels."""
    who = reader(ctx, actor_id)
    # The queues of the levels they answer for by name (a level open to everyone is nobody's queue).
    my_levels = [lv for lv in ctx.policy.levels if lv.key in who.levels and lv.responders]
    with ctx.sessions() as session:
        mine = session.scalars(select(Ticket).where(theirs(who)).order_by(Ticket.response_due_at).limit(limit)).all()
        queues = {
            lv.title: [view_of(ctx.policy, t) for t in session.scalars(
                select(Ticket).where(Ticket.level_key == lv.key, Ticket.status.in_(OPEN_STATES))
                .order_by(Ticket.response_due_at).limit(limit))]
            for lv in my_levels
        }
        return [view_of(ctx.policy, t) for t in mine], queues
