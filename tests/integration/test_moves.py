"""The lifecycle moves on a real database with a recording notifier and a manual clock: escalate (a
page or the handoff e-mail), reassign, post-mortem done, reopen, and the one path they share."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.forms import FormInvalid
from bot.domain.lifecycle import EscalationAsked, EscalationForm, ReassignAsked, ResolutionForm, UpdateAsked
from bot.domain.severity import Severity
from bot.domain.tickets import DomainError, IllegalTransition, Move, NotAllowed, TicketStatus
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import ServiceContext
from bot.services.escalate import apply_escalation, check_escalation, escalate_ticket
from bot.services.intake import announce_ticket, open_ticket
from bot.services.moves import ChangedMeanwhile, open_move
from bot.services.messages import Email
from bot.services.resolve import complete_postmortem, reopen_ticket, resolve_ticket
from bot.services.updates import apply_reassign, apply_update, check_reassign, check_update, reassign_ticket
from models import OutboxMessage, Participant, Ticket, Timer, TimerStatus, TimelineEvent
from tests.integration.recording import RecordingNotifier
from tests.integration.test_services import FORM, POLICY

ESCALATION = EscalationForm(reason="complexity", target_level="L3", business_impact=FORM.business_impact,
                            troubleshooting="Restarted the app pool, then the whole host.", notes="Looks like the load balancer.")
FIXED = ResolutionForm("Replaced the failing disk.", "A disk wore out.", "Alert on SMART errors.", None)


@dataclass
class Inbox:
    """The Mailer port, remembering what it was asked to send."""

    sent: list[Email] = field(default_factory=list)

    def send(self, email: Email) -> None:
        self.sent.append(email)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier(groups={"S0ONCALL": frozenset({"U0ONCALL1", "U0ONCALL2"})})


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock, notifier: RecordingNotifier, inbox: Inbox) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=notifier,
                          mailer=inbox)


def file(ctx: ServiceContext, **changes: object) -> int:
    filed = open_ticket(ctx, replace(FORM, **changes), reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    return filed.ticket_id


def events(ctx: ServiceContext, ticket_id: int) -> list[TimelineEvent]:
    with ctx.sessions() as session:
        return list(session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.id)))


def kinds(ctx: ServiceContext, ticket_id: int) -> list[str]:
    return [e.kind for e in events(ctx, ticket_id)]


def ticket(ctx: ServiceContext, ticket_id: int) -> Ticket:
    with ctx.sessions() as session:
        return session.get_one(Ticket, ticket_id)


def pending_timers(ctx: ServiceContext, ticket_id: int) -> list[str]:
    with ctx.sessions() as session:
        return sorted(session.scalars(select(Timer.kind).where(Timer.ticket_id == ticket_id,
                                                                Timer.status == TimerStatus.PENDING.value)))


def test_a_standard_escalation_moves_up_with_a_fresh_sla_and_sends_the_handoff_email(
        ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier, inbox: Inbox) -> None:
    ticket_id = file(ctx)
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L2ENG")
    clock.advance(timedelta(hours=1))
    escalate_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=ESCALATION)
    row = ticket(ctx, ticket_id)
    assert (row.level_key, row.status, row.acknowledged_by, row.assignee_id, row.handoffs) == ("L3", TicketStatus.OPEN, None, None, 1)
    assert row.level_entered_at == clock.now() and row.response_due_at == clock.now() + POLICY.level("L3").response_sla
    assert row.troubleshooting == ESCALATION.troubleshooting
    (escalated,) = [e for e in events(ctx, ticket_id) if e.kind == "escalated"]
    assert escalated.details["from_level"] == "L2" and escalated.details["changes"] == ["more troubleshooting done"]
    assert [c.level.key for c in notifier.cards] == ["L2", "L3"]  # the handoff card in the new level's channel
    assert not [n for n, _ in notifier.notices() if n == "page"]
    (mail,) = inbox.sent
    assert mail.to == (POLICY.level("L3").email,) and "Looks like the load balancer." in mail.text
    assert "escalated" in [n for n, _ in notifier.notices()]
    with ctx.sessions() as session:
        escalators = session.scalars(select(Participant.user_id).where(Participant.ticket_id == ticket_id,
                                                                       Participant.role == "escalator")).all()
    assert escalators == ["U0L2ENG"]
    assert "response_breach" in pending_timers(ctx, ticket_id)  # the new level's SLA timers started over


def test_a_critical_escalation_pages_the_levels_responders_instead_of_mailing(
        ctx: ServiceContext, notifier: RecordingNotifier, inbox: Inbox) -> None:
    ticket_id = file(ctx, severity=Severity.CRITICAL, category="Password and account access", affected_users=1)
    assert ticket(ctx, ticket_id).level_key != "L3"
    before = len(notifier.deliveries)
    escalate_ticket(ctx, ticket_id, actor_id="U0AGENT", form=ESCALATION)  # the reporter may escalate
    paged = sorted(user for notice, user in notifier.notices()[before:] if notice == "page")
    assert paged == ["U0L3ENG", "U0ONCALL1", "U0ONCALL2"]  # the group's members, expanded when relayed
    assert inbox.sent == []


def test_escalation_is_checked_before_anything_is_written(ctx: ServiceContext) -> None:
    ticket_id = file(ctx)
    asked = EscalationAsked(ticket_id, "U0L2ENG", "V0ESC1", reason="complexity", target_level="L1",
                            business_impact="tbd", troubleshooting=ESCALATION.troubleshooting, notes="")
    with pytest.raises(FormInvalid) as invalid:
        check_escalation(ctx, asked)
    assert set(invalid.value.errors) == {"target_level", "business_impact"}
    with pytest.raises(NotAllowed):
        check_escalation(ctx, replace(asked, actor_id="U0STRANGER"))
    assert ticket(ctx, ticket_id).level_key == "L2" and "escalated" not in kinds(ctx, ticket_id)


def test_opening_a_moves_modal_is_its_check_and_a_one_call_move_validates_its_form(ctx: ServiceContext) -> None:
    """The modal opens on the ticket as its check saw it, for whom the move's act allows, while the move
    can land; a one-call use case can't skip what the modal's form is validated for (no escalating down)."""
    ticket_id = file(ctx)
    seen = open_move(ctx, ticket_id, Move.ESCALATE, actor_id="U0L2ENG")
    assert (seen.ref, seen.level.key, seen.business_impact) == (f"ESC-{ticket_id}", "L2", FORM.business_impact)
    assert open_move(ctx, ticket_id, Move.REASSIGN, actor_id="U0L2ENG").assignee_id is None
    with pytest.raises(NotAllowed):
        open_move(ctx, ticket_id, Move.RESOLVE, actor_id="U0AGENT")  # the reporter may not resolve
    with pytest.raises(IllegalTransition):
        open_move(ctx, ticket_id, Move.COMPLETE_POSTMORTEM, actor_id="U0L2ENG")  # nothing is due yet
    with pytest.raises(FormInvalid):
        escalate_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=replace(ESCALATION, target_level="L1"))
    escalate_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=ESCALATION)
    with pytest.raises(DomainError, match="the last level"):
        open_move(ctx, ticket_id, Move.ESCALATE, actor_id="U0L3ENG")
    assert kinds(ctx, ticket_id).count("escalated") == 1


def test_of_two_checked_escalations_the_second_is_told_the_ticket_changed_meanwhile(ctx: ServiceContext) -> None:
    ticket_id = file(ctx)
    asked = EscalationAsked(ticket_id, "U0L2ENG", "V0ESC1", reason="complexity", target_level="L3",
                            business_impact=FORM.business_impact, troubleshooting=FORM.troubleshooting, notes="")
    first, second = check_escalation(ctx, asked), check_escalation(ctx, replace(asked, actor_id="U0AGENT", once="V0ESC2"))
    apply_escalation(ctx, first)
    with pytest.raises(ChangedMeanwhile, match="ESC-1 changed meanwhile"):
        apply_escalation(ctx, second)
    assert ticket(ctx, ticket_id).handoffs == 1 and kinds(ctx, ticket_id).count("escalated") == 1
    apply_escalation(ctx, first)  # the same modal re-sent: applied once
    assert kinds(ctx, ticket_id).count("escalated") == 1


def test_an_update_checked_before_an_acknowledgement_still_posts(ctx: ServiceContext) -> None:
    ticket_id = file(ctx)
    checked = check_update(ctx, UpdateAsked(ticket_id, "U0L2ENG", "V0UPD1", status="Rolled back the release; watching."))
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L2ENG")
    apply_update(ctx, checked)
    assert ticket(ctx, ticket_id).status is TicketStatus.ACKNOWLEDGED and "update_posted" in kinds(ctx, ticket_id)


def test_an_update_checked_before_the_ticket_closed_is_refused(ctx: ServiceContext) -> None:
    ticket_id = file(ctx)
    checked = check_update(ctx, UpdateAsked(ticket_id, "U0L2ENG", "V0UPD1", status="Rolled back the release; watching."))
    resolve_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=FIXED)
    with pytest.raises(ChangedMeanwhile):
        apply_update(ctx, checked)
    assert "update_posted" not in kinds(ctx, ticket_id)
    with pytest.raises(IllegalTransition, match="ESC-1 is closed; reopen it before posting updates"):
        check_update(ctx, UpdateAsked(ticket_id, "U0L2ENG", "V0UPD2", status="Rolled back the release; watching."))


def test_a_responder_reassigns_and_the_new_assignee_hears_of_every_change(
        ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    ticket_id = file(ctx)
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L2ENG")
    reassign_ticket(ctx, ticket_id, actor_id="U0L2ENG", assignee_id="U0OTHER")
    row = ticket(ctx, ticket_id)
    assert (row.assignee_id, row.status) == ("U0OTHER", TicketStatus.ACKNOWLEDGED)
    reassigned = [e for e in events(ctx, ticket_id) if e.kind == "reassigned"]
    assert [(e.details["assignee"], e.details["previous"]) for e in reassigned] == [("U0OTHER", "U0L2ENG")]
    assert ("reassigned", "U0OTHER") in notifier.notices()
    resolve_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=FIXED)
    assert ("resolved", "U0OTHER") in notifier.notices()  # subscribed by the reassignment


def test_reassigning_needs_a_responder_an_assignee_and_an_open_ticket(ctx: ServiceContext) -> None:
    ticket_id = file(ctx)
    with pytest.raises(NotAllowed):
        check_reassign(ctx, ReassignAsked(ticket_id, "U0AGENT", "V0RE1", assignee_id="U0AGENT"))
    with pytest.raises(FormInvalid):
        check_reassign(ctx, ReassignAsked(ticket_id, "U0L2ENG", "V0RE1", assignee_id=None))
    checked = check_reassign(ctx, ReassignAsked(ticket_id, "U0L2ENG", "V0RE1", assignee_id="U0OTHER"))
    resolve_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=FIXED)
    with pytest.raises(ChangedMeanwhile):
        apply_reassign(ctx, checked)
    assert ticket(ctx, ticket_id).assignee_id is None


def test_the_postmortem_owner_links_the_document_and_the_ticket_closes(
        ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket_id = file(ctx, triggers=frozenset({"security_incident"}))
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L3ENG")
    resolve_ticket(ctx, ticket_id, actor_id="U0L3ENG", form=replace(FIXED, postmortem_owner="U0PM"))
    assert ticket(ctx, ticket_id).status is TicketStatus.POSTMORTEM_DUE
    assert pending_timers(ctx, ticket_id) == ["postmortem_reminder"]
    with pytest.raises(NotAllowed):
        complete_postmortem(ctx, ticket_id, actor_id="U0AGENT", url="https://docs.example.com/pm")
    clock.advance(timedelta(days=2))
    complete_postmortem(ctx, ticket_id, actor_id="U0PM", url="https://docs.example.com/pm")
    row = ticket(ctx, ticket_id)
    assert (row.status, row.postmortem_url, row.closed_at) == (TicketStatus.CLOSED, "https://docs.example.com/pm", clock.now())
    after_postmortem = kinds(ctx, ticket_id)[kinds(ctx, ticket_id).index("postmortem_completed"):]
    assert after_postmortem[:2] == ["postmortem_completed", "closed"]
    assert pending_timers(ctx, ticket_id) == []
    assert ("closed", "U0AGENT") in notifier.notices()
    with pytest.raises(IllegalTransition):
        complete_postmortem(ctx, ticket_id, actor_id="U0PM", url="https://docs.example.com/pm2")


def test_the_reporter_reopens_a_closed_ticket_at_its_level_with_a_fresh_sla(
        ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket_id = file(ctx)
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L2ENG")
    resolve_ticket(ctx, ticket_id, actor_id="U0L2ENG", form=FIXED)
    assert pending_timers(ctx, ticket_id) == []
    clock.advance(timedelta(days=1))
    reopen_ticket(ctx, ticket_id, actor_id="U0AGENT", once="click-1")
    row = ticket(ctx, ticket_id)
    assert (row.status, row.level_key, row.acknowledged_by, row.assignee_id, row.resolved_at, row.closed_at) == (
        TicketStatus.OPEN, "L2", None, None, None, None)
    assert row.level_entered_at == clock.now() and row.response_due_at == clock.now() + POLICY.level("L2").response_sla
    (reopened,) = [e for e in events(ctx, ticket_id) if e.kind == "reopened"]
    assert reopened.details["previous_status"] == "closed"
    assert "response_breach" in pending_timers(ctx, ticket_id)
    assert ("reopened", "C0LEVEL") in notifier.notices()  # said in the thread
    with pytest.raises(IllegalTransition):
        reopen_ticket(ctx, ticket_id, actor_id="U0AGENT")
    with ctx.sessions() as session:
        assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "pending")) is None
