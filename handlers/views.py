"""Modal submissions: read, check (permission and form), apply (committed, once per view), ack, then
relay to Slack; every problem up to the commit is an inline error in the still-open modal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from slack_bolt import Ack, App

from bot.domain.forms import FormInvalid
from bot.domain.tickets import DomainError
from bot.services.context import ServiceContext
from bot.services.escalate import apply_escalation, check_escalation
from bot.services.intake import announce_ticket, check_intake, open_ticket
from bot.services.outbox import relay_all
from bot.services.resolve import apply_postmortem, apply_resolution, check_postmortem, check_resolution
from bot.services.updates import apply_reassign, apply_update, check_reassign, check_update
from bot.slack.blocks import form_errors
from bot.slack.ids import Callback
from bot.slack.payloads import (
    read_escalation, read_intake, read_postmortem, read_reassign, read_resolution, read_submission, read_update,
)
from handlers.deps import Deps
from handlers.errors import guarded


class ModalMove(NamedTuple):
    """A lifecycle modal: read the typed request, check it (nothing written), apply what was checked."""

    read: Callable[[dict[str, Any]], Any]
    check: Callable[[ServiceContext, Any], Any]
    apply: Callable[..., None]


MOVES: dict[Callback, ModalMove] = {
    Callback.ESCALATE: ModalMove(read_escalation, check_escalation, apply_escalation),
    Callback.POST_UPDATE: ModalMove(read_update, check_update, apply_update),
    Callback.RESOLVE: ModalMove(read_resolution, check_resolution, apply_resolution),
    Callback.POSTMORTEM_DONE: ModalMove(read_postmortem, check_postmortem, apply_postmortem),
    Callback.REASSIGN: ModalMove(read_reassign, check_reassign, apply_reassign),
}


def register(app: App, deps: Deps) -> None:
    ctx = deps.services

    def refuse(ack: Ack, body: dict[str, Any], problem: Exception) -> None:
        errors = problem.errors if isinstance(problem, FormInvalid) else {"": str(problem)}
        view = body.get("view")
        ack(response_action="errors", errors=form_errors(errors, view if isinstance(view, dict) else {}))

    def new_escalation(ack: Ack, body: dict[str, Any]) -> None:
        """File durably before closing the modal, then announce (slow Slack work after the ack)."""
        submission = read_submission(body)
        try:
            form = check_intake(ctx, read_intake(body.get("view") or {}, file_hosts=deps.own_hosts))
        except FormInvalid as invalid:
            return refuse(ack, body, invalid)
        filed = open_ticket(ctx, form, reporter_id=submission.user_id, intake_key=submission.view_id)
        ack()
        if filed.created:
            announce_ticket(ctx, filed.ticket_id)

    def ticket_modal(move: ModalMove) -> Callable[..., None]:
        """The shape every lifecycle modal shares: the move is committed before the modal closes (once
        per view, however often it is re-sent), so a problem, a lost race included, is shown inline with
        what was typed still there; Slack hears of it after the ack."""

        def submitted(ack: Ack, body: dict[str, Any]) -> None:
            asked = move.read(body)
            try:
                move.apply(ctx, move.check(ctx, asked), relay=False)
            except (DomainError, FormInvalid) as problem:
                return refuse(ack, body, problem)
            ack()
            relay_all(ctx, ticket_id=asked.ticket_id)

        return submitted

    app.view(Callback.NEW_ESCALATION.value)(guarded(deps, new_escalation))
    for callback, move in MOVES.items():
        app.view(callback.value)(guarded(deps, ticket_modal(move)))
