"""Modal submissions: read, check (permission and form), apply (committed, once per view), ack, then
relay to Slack; every problem up to the commit is an inline error in the still-open modal."""

from __future__ import annotations

from typing import Any, Callable

from slack_bolt import Ack, App

from bot.domain.forms import FormInvalid
from bot.domain.intake import validate_intake
from bot.domain.lifecycle import validate_escalation, validate_postmortem_link, validate_resolution, validate_update
from bot.domain.tickets import DomainError
from bot.services.escalate import escalate_ticket, prepare_escalation
from bot.services.intake import announce_ticket, open_ticket
from bot.services.outbox import relay_all
from bot.services.resolve import complete_postmortem, prepare_postmortem, prepare_resolution, resolve_ticket
from bot.services.updates import post_update, prepare_reassign, prepare_update, reassign_ticket
from bot.slack.blocks import form_errors
from bot.slack.ids import Callback, EscalateBlock, PostmortemBlock, ReassignBlock, ResolveBlock, UpdateBlock
from bot.slack.payloads import TicketSubmission, read_intake, read_submission, read_ticket_submission, text_of
from handlers.deps import Deps
from handlers.errors import guarded


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
            form = validate_intake(read_intake(body.get("view") or {}, file_hosts=deps.own_hosts), ctx.policy)
        except FormInvalid as invalid:
            return refuse(ack, body, invalid)
        filed = open_ticket(ctx, form, reporter_id=submission.user_id, intake_key=submission.view_id)
        ack()
        if filed.created:
            announce_ticket(ctx, filed.ticket_id)

    def ticket_modal(check: Callable[[TicketSubmission], Callable[[], None]]) -> Callable[..., None]:
        """The shape every lifecycle modal shares: `check` authorises and validates and returns the move;
        the move is committed before the modal closes (once per view, however often it is re-sent), so
        a problem, a lost race included, is shown inline with what was typed still there; Slack hears
        of it after the ack."""

        def submitted(ack: Ack, body: dict[str, Any]) -> None:
            s = read_ticket_submission(body)
            try:
                check(s)()
            except (DomainError, FormInvalid) as problem:
                return refuse(ack, body, problem)
            ack()
            relay_all(ctx, ticket_id=s.ticket_id)

        return submitted

    def escalate(s: TicketSubmission) -> Callable[[], None]:
        current = prepare_escalation(ctx, s.ticket_id, actor_id=s.user_id)
        form = validate_escalation(ctx.policy, current.current_level, reason=text_of(s.values, EscalateBlock.REASON),
                                   target_level=text_of(s.values, EscalateBlock.TARGET_LEVEL),
                                   business_impact=text_of(s.values, EscalateBlock.BUSINESS_IMPACT),
                                   troubleshooting=text_of(s.values, EscalateBlock.TROUBLESHOOTING),
                                   notes=text_of(s.values, EscalateBlock.NOTES))
        return lambda: escalate_ticket(ctx, current.ticket_id, actor_id=s.user_id, form=form, once=s.view_id, relay=False)

    def update(s: TicketSubmission) -> Callable[[], None]:
        prepare_update(ctx, s.ticket_id, actor_id=s.user_id)
        form = validate_update(status=text_of(s.values, UpdateBlock.STATUS), next_steps=text_of(s.values, UpdateBlock.NEXT_STEPS),
                               next_update_by=s.values.get(UpdateBlock.NEXT_UPDATE_BY), now=ctx.clock.now())
        return lambda: post_update(ctx, s.ticket_id, actor_id=s.user_id, form=form, once=s.view_id, relay=False)

    def resolve(s: TicketSubmission) -> Callable[[], None]:
        needs_postmortem = prepare_resolution(ctx, s.ticket_id, actor_id=s.user_id)
        owner = s.values.get(ResolveBlock.POSTMORTEM_OWNER)
        form = validate_resolution(resolution=text_of(s.values, ResolveBlock.RESOLUTION),
                                   root_cause=text_of(s.values, ResolveBlock.ROOT_CAUSE),
                                   lessons=text_of(s.values, ResolveBlock.LESSONS),
                                   postmortem_owner=owner if isinstance(owner, str) else None,
                                   postmortem_required=needs_postmortem)
        return lambda: resolve_ticket(ctx, s.ticket_id, actor_id=s.user_id, form=form, once=s.view_id, relay=False)

    def postmortem_done(s: TicketSubmission) -> Callable[[], None]:
        prepare_postmortem(ctx, s.ticket_id, actor_id=s.user_id)
        url = validate_postmortem_link(text_of(s.values, PostmortemBlock.URL))
        return lambda: complete_postmortem(ctx, s.ticket_id, actor_id=s.user_id, url=url, once=s.view_id, relay=False)

    def reassign(s: TicketSubmission) -> Callable[[], None]:
        prepare_reassign(ctx, s.ticket_id, actor_id=s.user_id)
        assignee = s.values.get(ReassignBlock.ASSIGNEE)
        if not isinstance(assignee, str) or not assignee:
            raise FormInvalid({ReassignBlock.ASSIGNEE.value: "Pick the new assignee."})
        return lambda: reassign_ticket(ctx, s.ticket_id, actor_id=s.user_id, assignee_id=assignee, once=s.view_id, relay=False)

    app.view(Callback.NEW_ESCALATION.value)(guarded(deps, new_escalation))
    for callback, check in ((Callback.ESCALATE, escalate), (Callback.POST_UPDATE, update), (Callback.RESOLVE, resolve),
                            (Callback.POSTMORTEM_DONE, postmortem_done), (Callback.REASSIGN, reassign)):
        app.view(callback.value)(guarded(deps, ticket_modal(check)))
