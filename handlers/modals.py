"""Opening the lifecycle modals (from a card button or the command): a read use case, then the builder."""

from __future__ import annotations

from typing import Any

from bot.domain.tickets import ticket_ref
from bot.services.escalate import escalation_defaults
from bot.services.resolve import postmortem_ref, resolution_needs_postmortem
from bot.services.updates import reassign_current, update_ref
from bot.slack.blocks import escalate_modal, postmortem_modal, reassign_modal, resolve_modal, update_modal
from handlers.deps import Deps


def open_escalate_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    d = escalation_defaults(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, escalate_modal(
        deps.services.policy, ticket_id=ticket_id, ref=d.ref, current_level=d.current_level, default_target=d.target_level,
        business_impact=d.business_impact, troubleshooting=d.troubleshooting))


def open_update_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    deps.open_modal(body, respond, update_modal(ticket_id=ticket_id, ref=update_ref(deps.services, ticket_id, actor_id=actor_id)))


def open_resolve_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    postmortem = resolution_needs_postmortem(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, resolve_modal(ticket_id=ticket_id, ref=ticket_ref(ticket_id), postmortem=postmortem, owner=actor_id))


def open_reassign_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    current = reassign_current(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, reassign_modal(ticket_id=ticket_id, ref=ticket_ref(ticket_id), current=current))


def open_postmortem_modal(deps: Deps, body: dict[str, Any], respond: Any, ticket_id: int, actor_id: str) -> None:
    ref = postmortem_ref(deps.services, ticket_id, actor_id=actor_id)
    deps.open_modal(body, respond, postmortem_modal(ticket_id=ticket_id, ref=ref))
