"""Buttons on ticket cards and notifications."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain.tickets import ticket_ref
from bot.services.acknowledge import acknowledge_ticket
from bot.slack.ids import Action
from bot.slack.payloads import read_button
from handlers.deps import Deps
from handlers.errors import guarded

COMING_SOON = {Action.ESCALATE: "Escalating", Action.POST_UPDATE: "Posting updates", Action.RESOLVE: "Resolving"}


def register(app: App, deps: Deps) -> None:
    def acknowledge(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        press = read_button(body)
        if press.ticket_id is None:
            return
        result = acknowledge_ticket(deps.services, press.ticket_id, actor_id=press.user_id)
        if not result.first:
            deps.tell(body, respond, deps.reply("already_acknowledged", ref=ticket_ref(press.ticket_id), by=result.by, at=result.at))

    def coming_soon(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        deps.tell(body, respond, deps.reply("coming_soon", what=COMING_SOON[Action(read_button(body).action_id)]))

    def link_only(ack: Ack) -> None:
        ack()  # a URL button: Slack opens the link; we only acknowledge the click

    app.action(Action.ACKNOWLEDGE.value)(guarded(deps, acknowledge))
    for action in COMING_SOON:
        app.action(action.value)(guarded(deps, coming_soon))
    app.action(Action.OPEN_CARD.value)(link_only)
