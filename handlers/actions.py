"""Buttons on ticket cards, notifications and systemic-issue notices."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain.tickets import Move, ticket_ref
from bot.services.acknowledge import acknowledge_ticket
from bot.services.home import home_more
from bot.services.queries import ticket_status
from bot.services.readmodel import Section
from bot.services.resolve import reopen_ticket
from bot.services.systemic_escalation import escalate_systemic
from bot.services.updates import toggle_subscription
from bot.slack.blocks import BUTTON_MOVES, MOVE_MODALS, status_modal
from bot.slack.ids import Action
from bot.slack.notifier import home_more_modal
from bot.slack.payloads import read_button
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.modals import open_move_modal

# The buttons that open a lifecycle move's modal (the others act at once: Acknowledge, Reopen).
MODAL_BUTTONS: dict[Action, Move] = {action: move for action, move in BUTTON_MOVES.items() if move in MOVE_MODALS}


def register(app: App, deps: Deps) -> None:
    ctx = deps.services

    def acknowledge(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        press = read_button(body)
        if press.ticket_id is None:
            return
        result = acknowledge_ticket(ctx, press.ticket_id, actor_id=press.user_id, once=press.click_key)
        if result is not None and not result.first:
            deps.tell(body, respond, deps.reply("already_acknowledged", ref=ticket_ref(press.ticket_id), by=result.by, at=result.at))

    def open_modal(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        press = read_button(body)
        if press.ticket_id is not None:
            open_move_modal(deps, body, respond, MODAL_BUTTONS[Action(press.action_id)], press.ticket_id, press.user_id)

    def subscribe(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        press = read_button(body)
        if press.ticket_id is not None:
            added = toggle_subscription(ctx, press.ticket_id, user_id=press.user_id, once=press.click_key)
            if added is not None:  # None: this very click was already applied (a replay)
                deps.tell(body, respond, deps.reply("subscribed" if added else "unsubscribed", ref=ticket_ref(press.ticket_id)))

    def reopen(ack: Ack, body: dict[str, Any], respond: Respond) -> None:  # `respond`: the boundary answers by it
        ack()
        press = read_button(body)
        if press.ticket_id is not None:
            reopen_ticket(ctx, press.ticket_id, actor_id=press.user_id, once=press.click_key)

    def systemic(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        press = read_button(body)
        if press.ticket_id is not None:  # the button's value is the alert id
            done = escalate_systemic(ctx, press.ticket_id, actor_id=press.user_id)
            deps.tell(body, respond, deps.reply("systemic_done", count=len(done), level=ctx.policy.last_level.title))

    def status(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """The Status button (on the App Home): what `/escalate status` says, in a modal; only for who may view."""
        ack()
        press = read_button(body)
        if press.ticket_id is not None:
            view = ticket_status(ctx, press.ticket_id, actor_id=press.user_id)
            deps.open_modal(body, respond, status_modal(deps.renderer, view.ticket, view.entries))

    def home_section(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """"See all" on the App Home: the section at length, in a modal (the same rule of who sees what)."""
        ack()
        press = read_button(body)
        if press.value in set(Section):
            listing = home_more(ctx, actor_id=press.user_id, section=Section(press.value))
            deps.open_modal(body, respond, home_more_modal(deps.renderer, listing, command=deps.settings.slash_command))

    def link_only(ack: Ack) -> None:
        ack()  # a URL button: Slack opens the link; we only acknowledge the click

    app.action(Action.ACKNOWLEDGE.value)(guarded(deps, acknowledge))
    for action in MODAL_BUTTONS:
        app.action(action.value)(guarded(deps, open_modal))
    app.action(Action.SUBSCRIBE.value)(guarded(deps, subscribe))
    app.action(Action.REOPEN.value)(guarded(deps, reopen))
    app.action(Action.SYSTEMIC_ESCALATE.value)(guarded(deps, systemic))
    app.action(Action.STATUS.value)(guarded(deps, status))
    app.action(Action.HOME_MORE.value)(guarded(deps, home_section))
    app.action(Action.OPEN_CARD.value)(link_only)
