"""Modal submissions."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.intake import IntakeInvalid, validate_intake
from bot.services.intake import announce_ticket, open_ticket
from bot.slack.blocks import intake_errors
from bot.slack.ids import Callback
from bot.slack.payloads import read_intake, read_submission
from handlers.deps import Deps
from handlers.errors import guarded


def register(app: App, deps: Deps) -> None:
    def new_escalation(ack: Ack, body: dict[str, Any]) -> None:
        """Validate (inline errors keep the modal open), file durably, close the modal, then announce."""
        submission = read_submission(body)
        try:
            form = validate_intake(read_intake(body.get("view") or {}), deps.services.policy)
        except IntakeInvalid as invalid:
            ack(response_action="errors", errors=intake_errors(invalid.errors))
            return
        filed = open_ticket(deps.services, form, reporter_id=submission.user_id, intake_key=submission.view_id or None)
        ack()
        if filed.created:
            announce_ticket(deps.services, filed.ticket_id)

    app.view(Callback.NEW_ESCALATION.value)(guarded(deps, new_escalation))
