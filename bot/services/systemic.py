"""Systemic issues: several tickets of one category in a short window are flagged together, once."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.lifecycle import EscalationForm
from bot.domain.permissions import Act, Role, TicketPeople, require, roles_of
from bot.domain.tickets import DomainError, TicketStatus
from bot.services.context import ServiceContext
from bot.services.delivery import safely
from bot.services.escalate import escalate_ticket
from bot.services.ports import MessageRef, SystemicNotice
from bot.services.tickets import BOT_ACTOR, answers_for, get_ticket, record
from models import SystemicAlert, Ticket
from models.timeline import Source

SYSTEMIC_REASON = "systemic"
LIVE = (TicketStatus.OPEN, TicketStatus.ACKNOWLEDGED)


def check_systemic(ctx: ServiceContext, ticket_id: int) -> int | None:
    """After a ticket is filed: join the category's live alert, or raise one when the threshold is met."""
    rule = ctx.policy.systemic
    with ctx.sessions.begin() as session:
        ticket = get_ticket(session, ticket_id)
        now = ticket.created_at
        alert = session.scalars(
            select(SystemicAlert).where(SystemicAlert.category == ticket.category, SystemicAlert.window_ends_at >= now,
                                        SystemicAlert.escalated_at.is_(None)).order_by(SystemicAlert.id.desc()).with_for_update()
        ).first()
        if alert is not None:
            if ticket_id in alert.ticket_ids:
                return alert.id
            alert.ticket_ids = [*alert.ticket_ids, ticket_id]
        else:
            recent = session.scalars(
                select(Ticket.id).where(Ticket.category == ticket.category, Ticket.created_at >= now - rule.window,
                                        Ticket.created_at <= now, Ticket.status.in_(LIVE)).order_by(Ticket.id)
            ).all()
            if len(recent) < rule.threshold:
                return None
            alert = SystemicAlert(category=ticket.category, opened_at=now, window_ends_at=now + rule.window,
                                  ticket_ids=list(recent))
            session.add(alert)
            session.flush()
            for member in recent:
                record(session, member, "systemic_flagged", actor=BOT_ACTOR, source=Source.SYSTEM, at=now,
                       alert=alert.id, category=ticket.category, tickets=list(recent))
        alert_id = alert.id
    _publish(ctx, alert_id)
    return alert_id


def _publish(ctx: ServiceContext, alert_id: int) -> None:
    """Post (or refresh) the one notice in the last level's channel."""
    with ctx.sessions() as session:
        alert = session.get_one(SystemicAlert, alert_id)
        tickets = session.scalars(select(Ticket).where(Ticket.id.in_(alert.ticket_ids)).order_by(Ticket.id)).all()
        existing = MessageRef(alert.notice_channel, alert.notice_ts) if alert.notice_channel and alert.notice_ts else None
        links = []
        for t in tickets:
            ref = MessageRef(t.card_channel, t.card_ts) if t.card_channel and t.card_ts else None
            link = safely(ctx, t.id, "permalink", lambda r=ref: ctx.notifier.permalink(r), record_failure=False) if ref else None
            links.append((f"ESC-{t.id}", t.title, link))
        notice = SystemicNotice(alert_id=alert.id, category=alert.category, channel=ctx.policy.last_level.channel,
                                tickets=tuple(links), window=ctx.policy.systemic.window, escalated_by=alert.escalated_by)
    posted = safely(ctx, tickets[0].id, "systemic_notice", lambda: ctx.notifier.post_systemic_notice(notice, existing),
                    where=notice.channel)
    if posted is not None and existing is None:
        with ctx.sessions.begin() as session:
            alert = session.get_one(SystemicAlert, alert_id)
            alert.notice_channel, alert.notice_ts = posted.channel, posted.ts


def escalate_systemic(ctx: ServiceContext, alert_id: int, *, actor_id: str) -> list[int]:
    """One click: every live ticket of the alert goes to the last level with the reason "systemic"."""
    last = ctx.policy.last_level
    people = TicketPeople(level=last, reporter_id="", assignee_id=None, managers=ctx.policy.management.managers)
    roles = roles_of(actor_id, people, responder=answers_for(ctx, last, actor_id), any_responder=False)
    require(Act.ESCALATE, roles & {Role.RESPONDER, Role.MANAGER}, people, ref="these tickets")
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
        todo = [(t.id, t.business_impact, t.troubleshooting) for t in tickets if t.status in LIVE and t.level_key != last.key]
    refs = ", ".join(f"ESC-{i}" for i in ids)
    reason = next((r.key for r in ctx.policy.reasons if r.key == SYSTEMIC_REASON), ctx.policy.reasons[0].key)
    escalated = []
    for ticket_id, impact, tried in todo:
        form = EscalationForm(reason=reason, target_level=last.key, business_impact=impact,
                              troubleshooting=tried, notes=f"Part of a systemic issue: {refs}.")
        try:
            escalate_ticket(ctx, ticket_id, actor_id=actor_id, form=form, source=Source.BUTTON, authorized=True)
            escalated.append(ticket_id)
        except DomainError as exc:
            ctx.log.info("systemic escalation skipped ESC-%s: %s", ticket_id, exc)
    _publish(ctx, alert_id)
    return escalated
