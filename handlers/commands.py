"""`/escalate` and its sub-commands: one table from sub-command to the function that answers it."""

from __future__ import annotations

from typing import Any, Callable

from slack_bolt import Ack, App, Respond

from bot.domain.preview import preview_words
from bot.domain.reports import Report
from bot.domain.tickets import Move, ticket_ref
from bot.services.outbox import relay_all
from bot.services.queries import export_timeline, my_tickets, ticket_status
from bot.services.reports import recent
from bot.services.sla_digest import request_report_chart
from bot.slack.blocks import preview_reply, status_reply, text_blocks
from bot.slack.notifier import report_message
from bot.slack.payloads import CommandKind, CommandRequest, read_command
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.modals import open_move_modal

Subcommand = Callable[[Deps, CommandRequest, Ack, dict[str, Any], Respond], None]


def new(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    deps.open_modal(body, respond, deps.modal_cache.new_escalation(deps.services.policy, origin_channel=request.channel_id))


def escalate(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    open_move_modal(deps, body, respond, Move.ESCALATE, _ticket(request), request.user_id)


def status(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    view = ticket_status(deps.services, _ticket(request), actor_id=request.user_id)
    respond(**status_reply(deps.renderer, view.ticket, view.entries), response_type="ephemeral")


def export(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    ticket_id = _ticket(request)
    if export_timeline(deps.services, ticket_id, actor_id=request.user_id, once=request.command_key):
        respond(text=deps.reply("exported", ref=ticket_ref(ticket_id)), response_type="ephemeral")
        relay_all(deps.services, ticket_id=ticket_id)  # queued with the request; sent now, or after an outage


def listing(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack()
    mine, queues = my_tickets(deps.services, actor_id=request.user_id)
    respond(blocks=text_blocks(deps.reply("list", mine=mine, queues=queues, command=deps.settings.slash_command)),
            text="Your tickets", response_type="ephemeral")


def contacts(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    policy = deps.services.policy
    ack(text=deps.reply("contacts", contacts=policy.contacts, levels=policy.levels), response_type="ephemeral")


def preview(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    """Anyone in the workspace may: it shows only the policy."""
    ack()
    ctx = deps.services
    answer = preview_words(ctx.policy, request.args, now=ctx.clock.now(), tz=ctx.tz)
    respond(**preview_reply(deps.renderer, answer, ctx.policy, command=deps.settings.slash_command), response_type="ephemeral")


def report(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ctx, args = deps.services, request.report
    if args is None:
        ack(text=deps.reply("report_usage", problem=request.problem, command=deps.settings.slash_command),
            response_type="ephemeral")
        return
    ack()
    figures = recent(ctx, period=args.period, level=args.level, category=args.category, severity=args.severity,
                     asked_by=request.user_id)
    respond(**report_reply(deps, figures, period=args.period), response_type="ephemeral")
    if args.chart:  # the same figures week by week, drawn, by DM (through the outbox: an outage delays it)
        key = request_report_chart(ctx, figures, user=request.user_id, period=args.period, once=request.command_key)
        respond(text=deps.reply("chart_coming"), response_type="ephemeral")
        relay_all(ctx, key=key)


def help_text(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    ack(text=deps.reply("help", command=deps.settings.slash_command), response_type="ephemeral")


def unknown(deps: Deps, request: CommandRequest, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
    command = deps.settings.slash_command
    ack(text=deps.reply("unknown", text=request.text) + "\n" + deps.reply("help", command=command), response_type="ephemeral")


SUBCOMMANDS: dict[CommandKind, Subcommand] = {
    CommandKind.NEW: new, CommandKind.ESCALATE: escalate, CommandKind.STATUS: status, CommandKind.EXPORT: export,
    CommandKind.LIST: listing, CommandKind.CONTACTS: contacts, CommandKind.PREVIEW: preview, CommandKind.REPORT: report,
    CommandKind.HELP: help_text, CommandKind.UNKNOWN: unknown,
}
ABOUT_A_TICKET = (CommandKind.ESCALATE, CommandKind.STATUS, CommandKind.EXPORT)  # without a ticket: the usage


def register(app: App, deps: Deps) -> None:
    def escalate_command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        request = read_command(body)
        kind = CommandKind.UNKNOWN if request.kind in ABOUT_A_TICKET and request.ticket_id is None else request.kind
        SUBCOMMANDS[kind](deps, request, ack, body, respond)

    app.command(deps.settings.slash_command)(guarded(deps, escalate_command))


def _ticket(request: CommandRequest) -> int:
    assert request.ticket_id is not None  # the table sends a sub-command about a ticket only with one
    return request.ticket_id


def report_reply(deps: Deps, report: Report, *, period: str) -> dict[str, Any]:
    """The report as blocks (its table) and a text fallback, as the weekly digest shows it."""
    text, blocks = report_message(deps.renderer, report, period=period, reasons=deps.services.policy.reasons)
    return {"blocks": blocks, "text": text}
