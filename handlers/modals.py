"""Opening a lifecycle move's modal (from a card button, a notice or the command): the move's check, then
its builder."""

from __future__ import annotations

from typing import Any

from bot.domain.tickets import Move
from bot.services.moves import open_move
from bot.slack.blocks import MOVE_MODALS
from handlers.deps import Deps


def open_move_modal(deps: Deps, body: dict[str, Any], respond: Any, move: Move, ticket_id: int, actor_id: str) -> None:
    """Refused (not theirs to do, or not now) before anything opens; else the modal, pre-filled from the ticket."""
    ticket = open_move(deps.services, ticket_id, move, actor_id=actor_id)
    deps.open_modal(body, respond, MOVE_MODALS[move](deps.services.policy, ticket, actor_id))
