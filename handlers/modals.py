"""Opening the lifecycle modals (from a card button or the command), after the permission check."""

from __future__ import annotations

from typing import Any

from bot.rendering import escape_mrkdwn
from bot.services.escalate import prepare_escalation
from bot.services.queries import TicketWithTimeline
from bot.services.resolve import prepare_postmortem, prepare_resolution
from bot.services.updates import prepare_reassign, prepare_update
from bot.slack.blocks import escalate_modal, postmortem_modal, reassign_modal, resolve_modal, update_modal
from handlers.deps import Deps


def open_escalate_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    d = prepare_escalation(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, escalate_modal(
        deps.services.policy, ticket_id=ticket_id, ref=d.ref, current_level=d.current_level, default_target=d.target_level,
        business_impact=d.business_impact, troubleshooting=d.troubleshooting))


def open_update_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    ref = prepare_update(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, update_modal(ticket_id=ticket_id, ref=ref))


def open_resolve_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    postmortem = prepare_resolution(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, resolve_modal(ticket_id=ticket_id, ref=f"ESC-{ticket_id}", postmortem=postmortem, owner=actor_id))


def open_reassign_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    ticket = prepare_reassign(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, reassign_modal(ticket_id=ticket_id, ref=f"ESC-{ticket_id}", current=ticket.assignee_id))


def open_postmortem_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    ref = prepare_postmortem(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, postmortem_modal(ticket_id=ticket_id, ref=ref))


def status_texts(deps: Deps, view: TicketWithTimeline) -> tuple[str, str]:
    """A ticket's status as `/escalate status` and the Status button show it: the summary, and the timeline."""
    parts = deps.renderer.render_blocks("card.md.j2", t=view.card)
    summary = "\n".join(parts[name] for name in ("summary", "status", "context") if parts[name])
    return f"*{view.card.ref}* · {summary}", deps.reply("timeline", t=view.card, entries=view.entries)


def status_fallback(view: TicketWithTimeline) -> str:
    return f"{view.card.ref}: {escape_mrkdwn(view.card.title)}"
