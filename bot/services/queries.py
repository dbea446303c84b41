"""Read-side use cases: a ticket with its timeline, the timeline export, and my tickets."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from sqlalchemy import or_, select

from bot.domain.permissions import Act
from bot.domain.tickets import TicketStatus, ticket_ref
from bot.services.context import ServiceContext
from bot.services.delivery import safely
from bot.services.ports import DeliveryFailed, Entry, TicketCard
from bot.services.tickets import answers_for, authorize, card_of, entries, first_time, get_ticket, record
from models import Participant, ParticipantRole, Ticket
from models.timeline import Source

OPEN_STATES = (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED, TicketStatus.POSTMORTEM_DUE)
EXPORT_COLUMNS = ("ticket", "at_utc", "actor", "event", "source", "details")


@dataclass(frozen=True)
class TicketWithTimeline:
    card: TicketCard
    entries: tuple[Entry, ...]


def ticket_status(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> TicketWithTimeline:
    authorize(ctx, ticket_id, actor_id, Act.VIEW)
    with ctx.sessions() as session:
        ticket = get_ticket(session, ticket_id)
        return TicketWithTimeline(card_of(ctx.policy, ticket), entries(session, ticket_id))


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
        # Defuse spreadsheet formulas in user-written details (CSV injection).
        writer.writerow({k: ("'" + v if v[:1] in "=+-@\t\r" else v) for k, v in row.items()})
    return buffer.getvalue().encode("utf-8")


def export_timeline(ctx: ServiceContext, ticket_id: int, *, actor_id: str, once: str | None = None) -> bool:
    """Upload the chronological log as CSV and JSON to the actor by DM (Slack's external upload flow).
    `once` names the command: a re-sent copy uploads nothing and answers False."""
    view = ticket_status(ctx, ticket_id, actor_id=actor_id)
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "export", ctx.clock.now()):
            return False
    rows = export_rows(ticket_id, view.entries)
    ref = view.card.ref
    as_json = json.dumps({"ticket": ref, "title": view.card.title, "events": rows}, ensure_ascii=False, indent=2).encode()
    sent = 0
    for filename, content in ((f"{ref}-timeline.csv", to_csv(rows)), (f"{ref}-timeline.json", as_json)):
        done = safely(ctx, ticket_id, "export", lambda f=filename, c=content: ctx.notifier.upload(
            actor_id, filename=f, content=c, title=f, comment=f"Timeline of {ref} ({len(rows)} events)") or True,
            where=actor_id)
        sent += bool(done)
    with ctx.sessions.begin() as session:
        record(session, ticket_id, "timeline_exported", actor=actor_id, source=Source.COMMAND, at=ctx.clock.now(),
               events=len(rows), files=sent)
    if sent < 2:
        raise DeliveryFailed("upload_failed")
    return True


def my_tickets(ctx: ServiceContext, *, actor_id: str, limit: int = 25) -> tuple[list[TicketCard], dict[str, list[TicketCard]]]:
    """Open tickets I reported, escalated, subscribed to or am assigned; and the queues of my levels."""
    my_levels = [lv for lv in ctx.policy.levels if lv.responders and answers_for(ctx, lv, actor_id)]
    # Managers and responders may read every ticket; anyone else reads only what a role of theirs
    # opens (a subscription is no such role), so it never lists a ticket they may not view.
    reads_all = actor_id in ctx.policy.management.managers or bool(my_levels) or any(
        lv.open_to_everyone for lv in ctx.policy.levels)
    roles = [ParticipantRole.ESCALATOR, ParticipantRole.SUBSCRIBER] if reads_all else [ParticipantRole.ESCALATOR]
    with ctx.sessions() as session:
        mine_ids = select(Participant.ticket_id).where(Participant.user_id == actor_id,
                                                       Participant.role.in_([r.value for r in roles]))
        mine = session.scalars(
            select(Ticket).where(Ticket.status.in_(OPEN_STATES),
                                 or_(Ticket.reporter_id == actor_id, Ticket.assignee_id == actor_id,
                                     Ticket.postmortem_owner == actor_id, Ticket.id.in_(mine_ids)))
            .order_by(Ticket.response_due_at).limit(limit)
        ).all()
        queues = {
            lv.title: [card_of(ctx.policy, t) for t in session.scalars(
                select(Ticket).where(Ticket.level_key == lv.key, Ticket.status.in_(OPEN_STATES))
                .order_by(Ticket.response_due_at).limit(limit))]
            for lv in my_levels
        }
        return [card_of(ctx.policy, t) for t in mine], queues
