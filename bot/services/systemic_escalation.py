"""A systemic issue escalated with one click: every live ticket of the alert goes to the last level.
Apart from bot/services/systemic.py (the check and the notice, which the outbox relays) because it is
a lifecycle move: it escalates through bot/services/escalate.py and relays, above the outbox."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.lifecycle import EscalationForm
from bot.domain.permissions import Act, TicketPeople, require, roles_of
from bot.domain.tickets import LIVE_STATES, DomainError, Move, ticket_ref
from bot.services.context import ServiceContext
from bot.services.escalate import apply_escalation
from bot.services.moves import Validated, checked_as
from bot.services.outbox import relay_all
from bot.services.systemic import SYSTEMIC_REASON, queue_notice
from bot.services.tickets import answers_for, get_ticket
from models import SystemicAlert, Ticket
from models.timeline import Source


def escalate_systemic(ctx: ServiceContext, alert_id: int, *, actor_id: str) -> list[int]:
    """One click: every live ticket of the alert goes to the last level with the reason "systemic"."""
    last = ctx.policy.last_level
    people = TicketPeople(level=last, reporter_id="", assignee_id=None, managers=ctx.policy.management.managers)
    roles = roles_of(actor_id, people, responder=answers_for(ctx, last, actor_id), any_responder=False)
    require(Act.ESCALATE_SYSTEMIC, roles, people, ref="these tickets")
    now = ctx.clock.now()
    with ctx.sessions.begin() as session:
        alert = session.get(SystemicAlert, alert_id, with_for_update=True)
        if alert is None:
            raise DomainError("That systemic-issue notice no longer exists.")
        if alert.escalated_at is not None:
            raise DomainError("These tickets were already escalated as a systemic issue.")
        alert.escalated_at, alert.escalated_by = now, actor_id
        ids = list(alert.ticket_ids)
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)).all()
        todo = [(t.id, t.business_impact, t.troubleshooting) for t in tickets if t.status in LIVE_STATES and t.level_key != last.key]
        queue_notice(ctx, session, alert, ids[0], now, change="escalated")  # with the flag: the button goes, whatever happens next
    refs = ", ".join(ticket_ref(i) for i in ids)
    reason = next((r.key for r in ctx.policy.reasons if r.key == SYSTEMIC_REASON), ctx.policy.reasons[0].key)
    escalated = []
    for ticket_id, impact, tried in todo:
        form = EscalationForm(reason=reason, target_level=last.key, business_impact=impact,
                              troubleshooting=tried, notes=f"Part of a systemic issue: {refs}.")
        try:
            apply_escalation(ctx, Validated(checked_as(ctx, _ticket(ctx, ticket_id), actor_id, Move.ESCALATE), form),
                             source=Source.BUTTON)
            escalated.append(ticket_id)
        except DomainError as exc:
            ctx.log.info("systemic escalation skipped %s: %s", ticket_ref(ticket_id), exc)
    relay_all(ctx, ticket_id=ids[0])  # the notice's row, if no escalation above relayed it
    return escalated


def _ticket(ctx: ServiceContext, ticket_id: int) -> Ticket:
    """The ticket as it is now: the alert's rule (checked above) authorised the escalation, not the ticket's."""
    with ctx.sessions() as session:
        return get_ticket(session, ticket_id)
