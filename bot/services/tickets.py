"""Shared ticket plumbing for services: loading, the timeline, and the card snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.domain.permissions import WHO_MAY, Act, TicketPeople, outsider_refusal, require, roles_of
from bot.domain.policy import Contact, Level, Policy
from bot.domain import timers as domain_timers
from bot.domain.routing import affected_share_percent
from bot.domain.schedule import BusinessHours
from bot.domain.tickets import OPEN_STATES, NotAllowed, TicketNotFound, ack_timing, responders_may_act, ticket_ref
from bot.services.ports import DeliveryFailed
from bot.services.readmodel import Entry, Handoff, MessageRef, TicketView
from models import AppliedRequest, Participant, ParticipantRole, Ticket, TimelineEvent
from models.timeline import Source

if TYPE_CHECKING:
    from bot.services.context import ServiceContext

BOT_ACTOR = "bot"


def get_ticket(session: Session, ticket_id: int, *, for_update: bool = False) -> Ticket:
    query = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    ticket = session.scalars(query).one_or_none()
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def record(
    session: Session, ticket_id: int, kind: str, *, actor: str, source: Source, at: datetime, **details: Any
) -> TimelineEvent:
    """Append one timeline event (never updated, never deleted), written now and returned: its id keys
    the notifications it causes (`queue.Batch.note` defers one nobody needs the id of, for a bulk INSERT)."""
    event = TimelineEvent(ticket_id=ticket_id, at=at, actor_id=actor, kind=kind, source=source.value, details=details)
    session.add(event)
    session.flush()
    return event


def upsert_insert(session: Session) -> Any:
    """The dialect's `insert` (PostgreSQL or SQLite), the one that offers ON CONFLICT DO NOTHING."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def first_time(session: Session, key: str | None, ticket_id: int, kind: str, at: datetime) -> bool:
    """Claim a request for this transaction: False when it was already applied (a replay, or Slack's
    retry). `key` is a modal's view id or a click's; INSERT … ON CONFLICT DO NOTHING, so of two at
    once exactly one wins."""
    if key is None:
        return True
    claimed = session.scalar(upsert_insert(session)(AppliedRequest).values(key=key, ticket_id=ticket_id, kind=kind, applied_at=at)
                             .on_conflict_do_nothing(index_elements=["key"]).returning(AppliedRequest.key))
    return claimed is not None


def timeline(session: Session, ticket_id: int) -> list[TimelineEvent]:
    query = select(TimelineEvent).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.at, TimelineEvent.id)
    return list(session.scalars(query))


def hotline_for(policy: Policy, ticket: Ticket) -> tuple[Contact, ...]:
    """The contacts a critical ticket shows: the level's hotline, plus the contacts its triggers notify."""
    if ticket.severity != "critical":
        return ()
    return policy.critical_contacts(ticket.level_key, ticket.triggers)


def view_of(policy: Policy, ticket: Ticket, *, card_link: str | None = None) -> TicketView:
    """A plain snapshot of the ticket for messages; resolves policy names at this moment."""
    level = policy.level(ticket.level_key)
    sla = timedelta(seconds=ticket.response_sla_seconds)
    ack_summary = None
    if ticket.acknowledged_at is not None:
        ack_summary = ack_timing(ticket.level_entered_at, ticket.acknowledged_at, sla).summary
    labels = {t.key: t.label for t in policy.triggers}
    return TicketView(
        id=ticket.id,
        ref=ticket_ref(ticket.id),
        title=ticket.title,
        category=ticket.category,
        severity=ticket.severity,
        status=ticket.status,
        level=level,
        reporter_id=ticket.reporter_id,
        created_at=ticket.created_at,
        level_entered_at=ticket.level_entered_at,
        response_sla=sla,
        response_due_at=ticket.response_due_at,
        description=ticket.description,
        error_messages=ticket.error_messages,
        troubleshooting=ticket.troubleshooting,
        business_impact=ticket.business_impact,
        affected_users=ticket.affected_users,
        affected_share=affected_share_percent(policy, ticket.affected_users),
        links=tuple(ticket.links),
        attachments=tuple(ticket.attachments),
        triggers=tuple(labels.get(key, key) for key in ticket.triggers),
        customer_executive=ticket.customer_executive,
        regulatory=ticket.regulatory,
        hotline=hotline_for(policy, ticket),
        acknowledged_by=ticket.acknowledged_by,
        acknowledged_at=ticket.acknowledged_at,
        ack_summary=ack_summary,
        posted=MessageRef(ticket.card_channel, ticket.card_ts) if ticket.card_channel and ticket.card_ts else None,
        card_link=card_link,
        assignee_id=ticket.assignee_id,
        last_update_at=ticket.last_update_at,
        next_update_by=ticket.next_update_by,
        resolved_by=ticket.resolved_by,
        resolved_at=ticket.resolved_at,
        resolution=ticket.resolution,
        root_cause=ticket.root_cause,
        lessons_learned=ticket.lessons_learned,
        postmortem_owner=ticket.postmortem_owner,
        postmortem_due_at=ticket.postmortem_due_at,
        postmortem_url=ticket.postmortem_url,
        closed_at=ticket.closed_at,
    )


def entries(session: Session, ticket_id: int, *, last: int | None = None, skip: tuple[str, ...] = (),
            before: int | None = None) -> tuple[Entry, ...]:
    """The timeline in order, as plain entries (optionally without some kinds, only the last few, or
    only the events recorded before the one with id `before`)."""
    events = [e for e in timeline(session, ticket_id) if e.kind not in skip and (before is None or e.id < before)]
    if last is not None:
        events = events[-last:]
    return tuple(Entry(e.at, e.actor_id, e.kind, e.source, dict(e.details)) for e in events)


def participants(session: Session, ticket_id: int, *roles: ParticipantRole) -> list[str]:
    query = select(Participant.user_id).where(Participant.ticket_id == ticket_id).order_by(Participant.id)
    if roles:
        query = query.where(Participant.role.in_([r.value for r in roles]))
    return list(dict.fromkeys(session.scalars(query)))


def add_participant(session: Session, ticket_id: int, user_id: str, role: ParticipantRole, at: datetime) -> bool:
    """Idempotent: returns False when the person already had that role on the ticket."""
    exists = session.scalar(select(Participant.id).where(
        Participant.ticket_id == ticket_id, Participant.user_id == user_id, Participant.role == role.value))
    if exists:
        return False
    session.add(Participant(ticket_id=ticket_id, user_id=user_id, role=role.value, added_at=at))
    return True


def watchers(session: Session, ticket: Ticket, *, except_for: str | None = None) -> list[str]:
    """Who hears of every change: the reporter, everyone who escalated, and subscribers."""
    people = [ticket.reporter_id, *participants(session, ticket.id, ParticipantRole.ESCALATOR, ParticipantRole.SUBSCRIBER)]
    return [p for p in dict.fromkeys(people) if p != except_for and p != BOT_ACTOR]


def subscribers_without_role(session: Session, ticket: Ticket) -> list[str]:
    """Subscribers who are not also the reporter or an escalator (whose right to read is re-checked)."""
    kept = {ticket.reporter_id, *participants(session, ticket.id, ParticipantRole.ESCALATOR)}
    return [p for p in participants(session, ticket.id, ParticipantRole.SUBSCRIBER) if p not in kept]


def people_of(policy: Policy, session: Session, ticket: Ticket) -> TicketPeople:
    return TicketPeople(
        level=policy.level(ticket.level_key),
        reporter_id=ticket.reporter_id,
        assignee_id=ticket.assignee_id,
        managers=policy.management.managers,
        postmortem_owner=ticket.postmortem_owner,
        escalators=frozenset(participants(session, ticket.id, ParticipantRole.ESCALATOR)),
    )


def answers_for(ctx: "ServiceContext", level: Level, actor_id: str) -> bool:
    """Is the actor one of the level's responders (user groups expanded; `everyone` when the policy opened it)?"""
    groups = [r for r in level.responders if ctx.directory.is_group(r)]
    members = frozenset().union(*(members_of(ctx, g) for g in groups))
    return responders_may_act(level, actor_id, members)


def authorize(ctx: "ServiceContext", ticket_id: int, actor_id: str, act: Act) -> Ticket:
    """Load the ticket and check the actor may do `act` to it; NotAllowed names who may (to those who
    may read the ticket; anyone else learns nothing, not even whether it exists)."""
    with ctx.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            if not supports(ctx, actor_id):
                raise NotAllowed(outsider_refusal(act, ticket_ref(ticket_id)))
            raise TicketNotFound(ticket_id)
        people = people_of(ctx.policy, session, ticket)
    responder = answers_for(ctx, people.level, actor_id)
    roles = roles_of(actor_id, people, responder=responder, any_responder=responder)
    if not roles & WHO_MAY[act]:  # only now ask about the other levels (each user group is a Slack call)
        roles = roles_of(actor_id, people, responder=responder, any_responder=responds_anywhere(ctx, actor_id))
    require(act, roles, people, ref=ticket_ref(ticket_id))
    return ticket


def levels_answered(ctx: "ServiceContext", actor_id: str) -> Iterator[Level]:
    """The levels the actor is a responder of (user groups expanded), asked one at a time: each user group
    may be a Slack call, so a caller that needs only one stops early."""
    return (lv for lv in ctx.policy.levels if (lv.responders or lv.open_to_everyone) and answers_for(ctx, lv, actor_id))


def responds_anywhere(ctx: "ServiceContext", actor_id: str) -> bool:
    """A responder of some level."""
    return next(levels_answered(ctx, actor_id), None) is not None


@dataclass(frozen=True)
class Reader:
    """Who is looking (the Home, `/escalate list`): the levels they answer for, and whether they manage."""

    user_id: str
    levels: tuple[str, ...]
    manager: bool

    @property
    def reads_all(self) -> bool:
        """Managers and responders of any level may read every ticket (as `supports` says)."""
        return self.manager or bool(self.levels)


def reader(ctx: "ServiceContext", actor_id: str) -> Reader:
    levels = tuple(lv.key for lv in levels_answered(ctx, actor_id))
    return Reader(actor_id, levels, actor_id in ctx.policy.management.managers)


def theirs(who: Reader) -> ColumnElement[bool]:
    """Their open tickets: reported, assigned, post-mortem owned, escalated or followed. Anyone else than a
    reader of every ticket reads only what a role of theirs opens (a subscription is no such role), so a
    subscription lists a ticket only for someone who may read it anyway."""
    me = who.user_id
    roles = [ParticipantRole.ESCALATOR, ParticipantRole.SUBSCRIBER] if who.reads_all else [ParticipantRole.ESCALATOR]
    followed = select(Participant.ticket_id).where(Participant.user_id == me, Participant.role.in_([r.value for r in roles]))
    return and_(Ticket.status.in_(OPEN_STATES), or_(Ticket.reporter_id == me, Ticket.assignee_id == me,
                                                    Ticket.postmortem_owner == me, Ticket.id.in_(followed)))


def supports(ctx: "ServiceContext", actor_id: str) -> bool:
    """A manager, or a responder of some level: someone who may read every ticket."""
    return actor_id in ctx.policy.management.managers or responds_anywhere(ctx, actor_id)


def may_view(ctx: "ServiceContext", ticket_id: int, actor_id: str) -> bool:
    """The permission table's answer for reading the ticket, as a yes or no."""
    try:
        authorize(ctx, ticket_id, actor_id, Act.VIEW)
    except NotAllowed:
        return False
    return True


def members_of(ctx: "ServiceContext", group_id: str) -> frozenset[str]:
    """A user group's members; when Slack can't say, nobody (logged), so a check fails closed."""
    try:
        return ctx.directory.members_of(group_id)
    except DeliveryFailed as exc:
        ctx.log.warning("could not list members of user group %s: %s", group_id, exc.reason)
        return frozenset()


def handoff_of(session: Session, ticket: Ticket) -> Handoff | None:
    """The latest escalation, as the handoff summary shows it (None before any escalation)."""
    event = session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == ticket.id, TimelineEvent.kind == "escalated")
                            .order_by(TimelineEvent.id.desc()).limit(1)).first()
    if event is None:
        return None
    d = event.details
    return Handoff(escalated_by=event.actor_id, from_level=str(d.get("from_level")), reason=str(d.get("reason_label")),
                   notes=str(d.get("notes") or ""), changes=tuple(d.get("changes") or ()), number=ticket.handoffs)


def calendar_of(ctx: "ServiceContext", level: Level) -> BusinessHours | None:
    """The level's business hours in TIMEZONE, or None when its SLA clock runs on calendar time."""
    return domain_timers.business_calendar(level, ctx.tz)
