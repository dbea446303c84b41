"""Use cases: resolve (and the critical ticket's post-mortem), close, reopen."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from bot.domain.lifecycle import (
    PostmortemAsked, ResolutionAsked, ResolutionForm, enter_level, validate_postmortem_link, validate_resolution,
)
from bot.domain.permissions import Act
from bot.domain.tickets import Move, resolve_target, ticket_ref
from bot.services.announce import queue_notice, queue_postmortem_draft
from bot.services.context import ServiceContext
from bot.services.moves import Change, Validated, apply_move, check_move
from bot.services.messages import Notice
from bot.services.tickets import record
from models import Ticket, TimelineEvent
from models.timeline import Source


def postmortem_required(ctx: ServiceContext, ticket: Ticket) -> bool:
    return ticket.severity.value in ctx.policy.postmortem.required_for


def resolution_needs_postmortem(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> bool:
    """Opening the modal: the actor may resolve and the ticket is resolvable; True when a post-mortem will be needed."""
    return postmortem_required(ctx, check_move(ctx, ticket_id, actor_id, Act.RESOLVE, Move.RESOLVE).seen)


def check_resolution(ctx: ServiceContext, asked: ResolutionAsked) -> Validated[ResolutionForm]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Act.RESOLVE, Move.RESOLVE, once=asked.once)
    form = validate_resolution(resolution=asked.resolution, root_cause=asked.root_cause, lessons=asked.lessons,
                               postmortem_owner=asked.postmortem_owner,
                               postmortem_required=postmortem_required(ctx, checked.seen))
    return Validated(checked, form)


def resolve_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: ResolutionForm,
                   source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check and apply in one call (a validated form: tests, the bench)."""
    checked = check_move(ctx, ticket_id, actor_id, Act.RESOLVE, Move.RESOLVE, once=once)
    apply_resolution(ctx, Validated(checked, form), source=source, relay=relay)


def apply_resolution(ctx: ServiceContext, request: Validated[ResolutionForm], *, source: Source = Source.MODAL,
                     relay: bool = True) -> None:
    """Record resolution, root cause and lessons; critical tickets then wait for their post-mortem."""
    form, seen, now = request.form, request.checked.seen, ctx.clock.now()
    needs_postmortem = postmortem_required(ctx, seen)
    actor_id = request.checked.actor_id
    owner = form.postmortem_owner or actor_id if needs_postmortem else None
    due = now + ctx.policy.postmortem.due_after
    checked = replace(request.checked, target=resolve_target(seen.status, postmortem_required=needs_postmortem))
    change = Change(values={"resolved_at": now, "resolved_by": actor_id, "resolution": form.resolution,
                            "root_cause": form.root_cause, "lessons_learned": form.lessons, "postmortem_owner": owner,
                            "postmortem_due_at": due if needs_postmortem else None,
                            "closed_at": None if needs_postmortem else now},
                    event="resolved", notice=Notice.RESOLVED,
                    details={"resolution": form.resolution, "root_cause": form.root_cause, "lessons_learned": form.lessons})

    def request_postmortem(session: Session, ticket: Ticket, event: TimelineEvent) -> None:
        """The owner gets the request (with its Done button) and a draft built from the whole timeline."""
        if needs_postmortem and owner:
            requested = record(session, ticket.id, "postmortem_requested", actor=actor_id, source=source, at=now,
                               owner=owner, due_at=due.isoformat())
            queue_notice(session, ticket.id, requested, Notice.POSTMORTEM_REQUESTED, now, user=owner)
            queue_postmortem_draft(session, ticket.id, requested, owner, now)
        else:
            record(session, ticket.id, "closed", actor=actor_id, source=source, at=now)

    apply_move(ctx, checked, change, now=now, source=source, effects=request_postmortem, relay=relay)


def postmortem_ref(ctx: ServiceContext, ticket_id: int, *, actor_id: str) -> str:
    """Opening the modal: the actor may close the post-mortem and it is due; the ticket's ref."""
    check_move(ctx, ticket_id, actor_id, Act.COMPLETE_POSTMORTEM, Move.COMPLETE_POSTMORTEM)
    return ticket_ref(ticket_id)


def check_postmortem(ctx: ServiceContext, asked: PostmortemAsked) -> Validated[str]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Act.COMPLETE_POSTMORTEM, Move.COMPLETE_POSTMORTEM,
                         once=asked.once)
    return Validated(checked, validate_postmortem_link(asked.url))


def complete_postmortem(ctx: ServiceContext, ticket_id: int, *, actor_id: str, url: str,
                        source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check and apply in one call."""
    checked = check_move(ctx, ticket_id, actor_id, Act.COMPLETE_POSTMORTEM, Move.COMPLETE_POSTMORTEM, once=once)
    apply_postmortem(ctx, Validated(checked, url), source=source, relay=relay)


def apply_postmortem(ctx: ServiceContext, request: Validated[str], *, source: Source = Source.MODAL,
                     relay: bool = True) -> None:
    """The post-mortem is written: link it and close the ticket."""
    now = ctx.clock.now()
    change = Change(values={"postmortem_url": request.form, "closed_at": now}, event="closed", details={},
                    notice=Notice.CLOSED, recorded_first=(("postmortem_completed", {"url": request.form}),))
    apply_move(ctx, request.checked, change, now=now, source=source, relay=relay)


def reopen_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, source: Source = Source.BUTTON,
                  once: str | None = None) -> None:
    """Back to open at its current level, with a fresh response SLA; the resolution stays on the timeline.
    `once` names the click: re-sent, it reopens nothing."""
    checked = check_move(ctx, ticket_id, actor_id, Act.REOPEN, Move.REOPEN, once=once)
    seen, now = checked.seen, ctx.clock.now()
    entered = enter_level(ctx.policy.level(seen.level_key), now, ctx.tz)
    change = Change(values={**entered, "resolved_at": None, "resolved_by": None, "closed_at": None,
                            "postmortem_owner": None, "postmortem_due_at": None},
                    event="reopened", notice=Notice.REOPENED,
                    details={"previous_status": seen.status.value, "level": seen.level_key,
                             "response_due_at": entered["response_due_at"].isoformat()})
    apply_move(ctx, checked, change, now=now, source=source)
