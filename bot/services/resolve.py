"""Use cases: resolve (and the critical ticket's post-mortem), close, reopen."""

from __future__ import annotations

from sqlalchemy import update

from bot.domain.lifecycle import ResolutionForm
from bot.domain.permissions import Act
from bot.domain.tickets import DomainError, Move, resolve_target, ticket_ref, transition
from bot.services import timers
from bot.services.context import ServiceContext
from bot.services.announce import queue_change, queue_notice, queue_postmortem_draft
from bot.services.outbox import relay_all
from bot.services.ports import Notice
from bot.services.tickets import authorize, first_time, get_ticket, record, response_due
from models import Ticket
from models.timeline import Source


def postmortem_required(ctx: ServiceContext, ticket: Ticket) -> bool:
    return ticket.severity.value in ctx.policy.postmortem.required_for


def prepare_resolution(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> bool:
    """Check the actor may resolve and the ticket is resolvable; True when a post-mortem will be needed."""
    ticket = authorize(ctx, ticket_id, actor_id, Act.RESOLVE)
    transition(ticket.status, Move.RESOLVE)
    return postmortem_required(ctx, ticket)


def prepare_postmortem(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> str:
    ticket = authorize(ctx, ticket_id, actor_id, Act.COMPLETE_POSTMORTEM)
    transition(ticket.status, Move.COMPLETE_POSTMORTEM)
    return ticket_ref(ticket_id)


def resolve_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: ResolutionForm,
                   source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Record resolution, root cause and lessons; critical tickets then wait for their post-mortem."""
    seen = authorize(ctx, ticket_id, actor_id, Act.RESOLVE)
    needs_postmortem = postmortem_required(ctx, seen)
    target = resolve_target(seen.status, postmortem_required=needs_postmortem)
    now = ctx.clock.now()
    owner = form.postmortem_owner or actor_id if needs_postmortem else None
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "resolve", now):
            return  # this modal was already applied: a replayed submission changes nothing
        done = session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.status == seen.status, Ticket.level_key == seen.level_key)
            .values(status=target, resolved_at=now, resolved_by=actor_id, resolution=form.resolution,
                    root_cause=form.root_cause, lessons_learned=form.lessons, postmortem_owner=owner,
                    postmortem_due_at=now + ctx.policy.postmortem.due_after if needs_postmortem else None,
                    closed_at=None if needs_postmortem else now)
        ).rowcount == 1
        if not done:
            raise DomainError(f"{ticket_ref(ticket_id)} changed while you were resolving it; look at the card and try again.")
        event = record(session, ticket_id, "resolved", actor=actor_id, source=source, at=now, resolution=form.resolution,
                       root_cause=form.root_cause, lessons_learned=form.lessons)
        ticket = get_ticket(session, ticket_id)
        if needs_postmortem and owner:
            requested = record(session, ticket_id, "postmortem_requested", actor=actor_id, source=source, at=now,
                               owner=owner, due_at=(now + ctx.policy.postmortem.due_after).isoformat())
            # The owner gets the request (with its Done button) and a draft built from the whole timeline.
            queue_notice(session, ticket_id, requested, Notice.POSTMORTEM_REQUESTED, now, user=owner)
            queue_postmortem_draft(session, ticket_id, requested, owner, now)
        else:
            record(session, ticket_id, "closed", actor=actor_id, source=source, at=now)
        timers.on_resolved(session, ticket, now)
        queue_change(session, ticket, event, Notice.RESOLVED, now, actor_id=actor_id)
    if relay:
        relay_all(ctx, ticket_id=ticket_id)


def complete_postmortem(ctx: ServiceContext, ticket_id: int, *, actor_id: str, url: str,
                        source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """The post-mortem is written: link it and close the ticket."""
    seen = authorize(ctx, ticket_id, actor_id, Act.COMPLETE_POSTMORTEM)
    target = transition(seen.status, Move.COMPLETE_POSTMORTEM)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "postmortem_done", now):
            return  # this modal was already applied: a replayed submission changes nothing
        done = session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.status == seen.status)
            .values(status=target, postmortem_url=url, closed_at=now)
        ).rowcount == 1
        if not done:
            raise DomainError(f"{ticket_ref(ticket_id)} changed meanwhile; look at the card and try again.")
        record(session, ticket_id, "postmortem_completed", actor=actor_id, source=source, at=now, url=url)
        event = record(session, ticket_id, "closed", actor=actor_id, source=source, at=now)
        timers.on_closed(session, ticket_id)
        queue_change(session, get_ticket(session, ticket_id), event, Notice.CLOSED, now, actor_id=actor_id)
    if relay:
        relay_all(ctx, ticket_id=ticket_id)


def reopen_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, source: Source = Source.BUTTON,
                  once: str | None = None) -> None:
    """Back to open at its current level, with a fresh response SLA; the resolution stays on the timeline.
    `once` names the click: re-sent, it reopens nothing."""
    seen = authorize(ctx, ticket_id, actor_id, Act.REOPEN)
    target = transition(seen.status, Move.REOPEN)
    level = ctx.policy.level(seen.level_key)
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        if not first_time(session, once, ticket_id, "reopen", now):
            return  # this very click was already applied: a replay changes nothing
        done = session.execute(
            update(Ticket).where(Ticket.id == ticket_id, Ticket.status == seen.status)
            .values(status=target, level_entered_at=now, response_sla_seconds=int(level.response_sla.total_seconds()),
                    response_due_at=response_due(ctx, level, now), acknowledged_by=None, acknowledged_at=None,
                    assignee_id=None, resolved_at=None, resolved_by=None, closed_at=None,
                    postmortem_owner=None, postmortem_due_at=None)
        ).rowcount == 1
        if not done:
            raise DomainError(f"{ticket_ref(ticket_id)} changed meanwhile; look at the card and try again.")
        event = record(session, ticket_id, "reopened", actor=actor_id, source=source, at=now,
                       previous_status=seen.status.value, level=level.key,
                       response_due_at=response_due(ctx, level, now).isoformat())
        ticket = get_ticket(session, ticket_id)
        timers.on_level_entered(ctx, session, ticket, now)
        queue_change(session, ticket, event, Notice.REOPENED, now, actor_id=actor_id)
    relay_all(ctx, ticket_id=ticket_id)


