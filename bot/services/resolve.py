"""Use cases: resolve (and the critical ticket's post-mortem), close, reopen."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.domain.lifecycle import (
    PostmortemAsked, ResolutionAsked, ResolutionForm, enter_level, validate_postmortem_link, validate_resolution,
)
from bot.domain.tickets import Move, TicketStatus
from bot.services.announce import queue_notice, queue_postmortem_draft
from bot.services.context import ServiceContext
from bot.services.messages import Notice
from bot.services.moves import Change, Validated, apply_move, check_move
from bot.services.tickets import record
from models import Ticket, TimelineEvent
from models.timeline import Source


def check_resolution(ctx: ServiceContext, asked: ResolutionAsked) -> Validated[ResolutionForm]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Move.RESOLVE, once=asked.once)
    form = validate_resolution(resolution=asked.resolution, root_cause=asked.root_cause, lessons=asked.lessons,
                               postmortem_owner=asked.postmortem_owner,
                               postmortem_required=checked.target == TicketStatus.POSTMORTEM_DUE)
    return Validated(checked, form)


def resolve_ticket(ctx: ServiceContext, ticket_id: int, *, actor_id: str, form: ResolutionForm,
                   source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check (the form validated again, as a modal's is) and apply in one call: tests, the bench."""
    asked = ResolutionAsked(ticket_id, actor_id, once, resolution=form.resolution, root_cause=form.root_cause,
                            lessons=form.lessons, postmortem_owner=form.postmortem_owner)
    apply_resolution(ctx, check_resolution(ctx, asked), source=source, relay=relay)


def apply_resolution(ctx: ServiceContext, request: Validated[ResolutionForm], *, source: Source = Source.MODAL,
                     relay: bool = True) -> None:
    """Record resolution, root cause and lessons; critical tickets then wait for their post-mortem."""
    form, checked, now = request.form, request.checked, ctx.clock.now()
    needs_postmortem = checked.target == TicketStatus.POSTMORTEM_DUE
    actor_id = checked.actor_id
    owner = form.postmortem_owner or actor_id if needs_postmortem else None
    due = now + ctx.policy.postmortem.due_after
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


def check_postmortem(ctx: ServiceContext, asked: PostmortemAsked) -> Validated[str]:
    checked = check_move(ctx, asked.ticket_id, asked.actor_id, Move.COMPLETE_POSTMORTEM, once=asked.once)
    return Validated(checked, validate_postmortem_link(asked.url))


def complete_postmortem(ctx: ServiceContext, ticket_id: int, *, actor_id: str, url: str,
                        source: Source = Source.MODAL, once: str | None = None, relay: bool = True) -> None:
    """Check (the link validated again) and apply in one call."""
    apply_postmortem(ctx, check_postmortem(ctx, PostmortemAsked(ticket_id, actor_id, once, url=url)), source=source,
                     relay=relay)


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
    checked = check_move(ctx, ticket_id, actor_id, Move.REOPEN, once=once)
    seen, now = checked.seen, ctx.clock.now()
    entered = enter_level(ctx.policy.level(seen.level_key), now, ctx.tz)
    change = Change(values={**entered, "resolved_at": None, "resolved_by": None, "closed_at": None,
                            "postmortem_owner": None, "postmortem_due_at": None},
                    event="reopened", notice=Notice.REOPENED,
                    details={"previous_status": seen.status.value, "level": seen.level_key,
                             "response_due_at": entered["response_due_at"].isoformat()})
    apply_move(ctx, checked, change, now=now, source=source)
