"""`/escalate` and its sub-commands."""

from __future__ import annotations

from typing import Any, Callable

from slack_bolt import Ack, App, Respond

from bot.slack.blocks import new_escalation_modal
from bot.slack.gateway import TriggerExpired
from bot.slack.payloads import CommandKind, read_command
from handlers.deps import Deps
from handlers.errors import guarded

COMING_SOON = {
    CommandKind.ESCALATE: "Escalating from the command",
    CommandKind.STATUS: "The status view",
    CommandKind.LIST: "The ticket list",
    CommandKind.CONTACTS: "The contacts directory",
}


def register(app: App, deps: Deps) -> None:
    app.command(deps.settings.slash_command)(guarded(deps, _escalate_command(deps)))


def _escalate_command(deps: Deps) -> Callable[..., None]:
    command = deps.settings.slash_command

    def escalate_command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        request = read_command(body)
        if request.kind is CommandKind.NEW:
            ack()
            view = new_escalation_modal(deps.services.policy, origin_channel=request.channel_id)
            try:
                deps.gateway.open_view(request.trigger_id or "", view)
            except TriggerExpired:
                respond(text=deps.reply("trigger_expired", command=command), response_type="ephemeral")
        elif request.kind in COMING_SOON:
            ack(text=deps.reply("coming_soon", what=COMING_SOON[request.kind]), response_type="ephemeral")
        elif request.kind is CommandKind.HELP:
            ack(text=deps.reply("help", command=command), response_type="ephemeral")
        else:
            usage = deps.reply("unknown", text=request.text) + "\n" + deps.reply("help", command=command)
            ack(text=usage, response_type="ephemeral")

    return escalate_command
