"""`/escalate` and its sub-commands."""

from __future__ import annotations

from typing import Any, Callable

from slack_bolt import Ack, App, Respond

from bot.domain.preview import Refusal, preview_words
from bot.services.digest import request_report_chart
from bot.services.outbox import relay_all
from bot.domain.reports import Report
from bot.services.queries import export_timeline, my_tickets, ticket_status
from bot.services.reports import recent
from bot.slack.blocks import preview_blocks, status_reply, text_blocks
from bot.slack.notifier import report_message
from bot.slack.payloads import CommandKind, read_command
from handlers.deps import Deps
from handlers.errors import guarded
from handlers.modals import open_escalate_modal


def register(app: App, deps: Deps) -> None:
    app.command(deps.settings.slash_command)(guarded(deps, _escalate_command(deps)))


def _escalate_command(deps: Deps) -> Callable[..., None]:
    command = deps.settings.slash_command
    ctx = deps.services

    def escalate_command(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        request = read_command(body)
        if request.kind is CommandKind.NEW:
            ack()
            deps.open_modal(body, respond, deps.modal_cache.new_escalation(ctx.policy, origin_channel=request.channel_id))
        elif request.kind is CommandKind.ESCALATE and request.ticket_id is not None:
            ack()
            open_escalate_modal(deps, body, respond, request.ticket_id, request.user_id)
        elif request.kind is CommandKind.STATUS and request.ticket_id is not None:
            ack()
            view = ticket_status(ctx, request.ticket_id, actor_id=request.user_id)
            respond(**status_reply(deps.renderer, view.card, view.entries), response_type="ephemeral")
        elif request.kind is CommandKind.EXPORT and request.ticket_id is not None:
            ack()
            if export_timeline(ctx, request.ticket_id, actor_id=request.user_id, once=request.command_key):
                respond(text=deps.reply("exported", ref=f"ESC-{request.ticket_id}"), response_type="ephemeral")
                relay_all(ctx, ticket_id=request.ticket_id)  # queued with the request; sent now, or after an outage
        elif request.kind is CommandKind.LIST:
            ack()
            mine, queues = my_tickets(ctx, actor_id=request.user_id)
            respond(blocks=text_blocks(deps.reply("list", mine=mine, queues=queues, command=command)),
                    text="Your tickets", response_type="ephemeral")
        elif request.kind is CommandKind.CONTACTS:
            ack(text=deps.reply("contacts", contacts=ctx.policy.contacts, levels=ctx.policy.levels), response_type="ephemeral")
        elif request.kind is CommandKind.PREVIEW:  # anyone in the workspace: it shows only the policy
            ack()
            preview = preview_words(ctx.policy, request.args, now=ctx.clock.now(), tz=ctx.tz)
            if isinstance(preview, Refusal):
                respond(text=deps.renderer.render_block("preview.md.j2", "refused", r=preview, command=command),
                        response_type="ephemeral")
            else:
                parts = {b: deps.renderer.render_block("preview.md.j2", b, p=preview, policy=ctx.policy) for b in ("title", "steps", "footer")}
                header = deps.renderer.render_text_block("preview.md.j2", "title", p=preview, policy=ctx.policy)  # plain_text
                respond(text=parts["title"], blocks=preview_blocks(title=header, steps=parts["steps"], footer=parts["footer"]),
                        response_type="ephemeral")
        elif request.kind is CommandKind.REPORT and request.report is None:
            ack(text=deps.reply("report_usage", problem=request.problem, command=command), response_type="ephemeral")
        elif request.kind is CommandKind.REPORT and request.report is not None:
            ack()
            args = request.report
            figures = recent(ctx, period=args.period, level=args.level, category=args.category, severity=args.severity,
                             asked_by=request.user_id)
            respond(**report_reply(deps, figures, period=args.period), response_type="ephemeral")
            if args.chart:  # the same figures week by week, drawn, by DM (through the outbox: an outage delays it)
                key = request_report_chart(ctx, figures, user=request.user_id, period=args.period, once=request.command_key)
                respond(text=deps.reply("chart_coming"), response_type="ephemeral")
                relay_all(ctx, key=key)
        elif request.kind is CommandKind.HELP:
            ack(text=deps.reply("help", command=command), response_type="ephemeral")
        else:
            usage = deps.reply("unknown", text=request.text) + "\n" + deps.reply("help", command=command)
            ack(text=usage, response_type="ephemeral")

    return escalate_command


def report_reply(deps: Deps, report: Report, *, period: str) -> dict[str, Any]:
    """The report as blocks (its table) and a text fallback, as the weekly digest shows it."""
    text, blocks = report_message(deps.renderer, report, period=period, reasons=deps.services.policy.reasons)
    return {"blocks": blocks, "text": text}
