"""Services on a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) with a recording notifier."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.intake import IntakeForm
from bot.domain.severity import Severity
from bot.domain.tickets import IllegalTransition, NotAllowed, TicketStatus
from tests.policies import open_seed_policy
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import ServiceContext
from bot.services.intake import announce_ticket, open_ticket
from models import Ticket, TimelineEvent
from models.timeline import TimelineIsAppendOnly
from tests.integration.recording import Groups, RecordingNotifier

BASE_POLICY = open_seed_policy()
L2 = replace(BASE_POLICY.level("L2"), responders=("U0L2ENG",), open_to_everyone=False)
L3 = replace(BASE_POLICY.level("L3"), responders=("U0L3ENG", "S0ONCALL"), open_to_everyone=False)
POLICY = replace(BASE_POLICY, levels=(BASE_POLICY.level("L1"), L2, L3))

FORM = IntakeForm(
    title="Payroll returns 502", category="Server and application troubleshooting", severity=Severity.HIGH,
    description="Payroll web app returns 502 for every request.", error_messages="502 Bad Gateway", links=(),
    attachments=(), troubleshooting="Restarted the app pool.", business_impact="Finance cannot run payroll today.",
    affected_users=40, triggers=frozenset(), customer_executive=False, regulatory=False,
)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier(groups={"S0ONCALL": frozenset({"U0ONCALL1", "U0ONCALL2"})})


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock, notifier: RecordingNotifier) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=notifier)


def events(ctx: ServiceContext, ticket_id: int) -> list[str]:
    with ctx.sessions() as session:
        query = select(TimelineEvent.kind).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.id)
        return list(session.scalars(query))


def ticket(ctx: ServiceContext, ticket_id: int) -> Ticket:
    with ctx.sessions() as session:
        return session.get_one(Ticket, ticket_id)


def test_a_standard_ticket_is_routed_by_category_with_its_sla_snapshotted(ctx: ServiceContext, clock: ManualClock) -> None:
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key="V1")
    row = ticket(ctx, filed.ticket_id)
    assert (row.level_key, row.severity, row.status) == ("L2", Severity.HIGH, TicketStatus.OPEN)
    assert row.response_due_at == clock.now() + timedelta(hours=8) and row.response_sla_seconds == 8 * 3600
    assert events(ctx, filed.ticket_id) == ["created", "routed"]


def test_the_same_modal_submitted_twice_files_one_ticket(ctx: ServiceContext) -> None:
    first = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key="V1")
    again = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key="V1")
    assert again == replace(first, created=False)
    with ctx.sessions() as session:
        assert len(session.scalars(select(Ticket)).all()) == 1


def test_announcing_posts_the_card_and_confirms_to_the_reporter(ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    assert [c.level.key for c in notifier.cards] == ["L2"]
    assert notifier.notices() == [("reporter_confirmation", "U0AGENT")]
    confirmation = notifier.deliveries[0][1]
    assert confirmation.card_link and confirmation.posted is not None
    assert ticket(ctx, filed.ticket_id).card_ts == confirmation.posted.ts
    assert events(ctx, filed.ticket_id) == ["created", "routed", "card_posted", "notified"]


def test_a_security_incident_pages_l3_responders_and_groups_and_notifies_security(ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    filed = open_ticket(ctx, replace(FORM, triggers=frozenset({"security_incident"})), reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    row = ticket(ctx, filed.ticket_id)
    assert (row.level_key, row.severity) == ("L3", Severity.CRITICAL)
    assert sorted(notifier.notices()) == [
        ("contact_no_slack", "C0LEVEL"),  # Security has no Slack handle by default: its phone goes in the thread
        ("page", "U0L3ENG"), ("page", "U0ONCALL1"), ("page", "U0ONCALL2"),  # the group's members, expanded when relayed
        ("reporter_confirmation", "U0AGENT"),
    ]
    assert [c.name for c in notifier.cards[0].hotline] == ["Level 3 On-Call Engineer", "Security Incident Response"]


def test_a_contact_with_a_slack_handle_gets_a_dm(ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    contacts = tuple(replace(c, slack="U0SECURITY") if c.key == "security" else c for c in POLICY.contacts)
    ctx = replace(ctx, policy=replace(POLICY, contacts=contacts))
    filed = open_ticket(ctx, replace(FORM, triggers=frozenset({"security_incident"})), reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    assert ("contact_alert", "U0SECURITY") in notifier.notices()


def test_a_card_that_cannot_be_posted_is_on_the_timeline_and_the_reporter_still_hears(ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    notifier.failing.add("card")
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    assert events(ctx, filed.ticket_id) == ["created", "routed", "delivery_failed", "notified"]
    assert ticket(ctx, filed.ticket_id).card_ts is None


def test_a_responder_acknowledges_once_and_a_second_click_changes_nothing(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    clock.advance(timedelta(minutes=12))
    first = acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0L2ENG")
    assert first.first and first.ticket.ack_summary == "after 12m — within the 8h SLA"
    clock.advance(timedelta(minutes=1))
    second = acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0L2ENG")
    assert not second.first and second.by == "U0L2ENG" and second.at == first.at
    assert events(ctx, filed.ticket_id).count("acknowledged") == 1
    assert len(notifier.updates) == 1
    row = ticket(ctx, filed.ticket_id)
    assert (row.status, row.acknowledged_by) == (TicketStatus.ACKNOWLEDGED, "U0L2ENG")


def test_someone_outside_the_level_cannot_acknowledge(ctx: ServiceContext) -> None:
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    with pytest.raises(NotAllowed, match="L2 Technical Support.s responders"):
        acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0L3ENG")
    assert ticket(ctx, filed.ticket_id).acknowledged_at is None
    assert "acknowledged" not in events(ctx, filed.ticket_id)


def test_a_user_group_member_may_acknowledge_for_the_level(ctx: ServiceContext) -> None:
    filed = open_ticket(ctx, replace(FORM, triggers=frozenset({"data_loss"})), reporter_id="U0AGENT", intake_key=None)
    assert acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0ONCALL2").first


def test_group_membership_comes_from_the_directory_not_the_notifier(engine: Engine, clock: ManualClock) -> None:
    """The directory says what a group is and who is in it, for the permission check and for the page."""
    groups = Groups({"S0ONCALL": frozenset({"U0ONCALL1"})})
    notifier = RecordingNotifier(groups={"S0ONCALL": frozenset({"U0SOMEONEELSE"})})  # never asked
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=groups)
    filed = open_ticket(ctx, replace(FORM, triggers=frozenset({"security_incident"})), reporter_id="U0AGENT", intake_key=None)
    announce_ticket(ctx, filed.ticket_id)
    assert [to for notice, to in notifier.notices() if notice == "page"] == ["U0L3ENG", "U0ONCALL1"]
    with pytest.raises(NotAllowed):
        acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0SOMEONEELSE")
    assert acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0ONCALL1").first
    assert "S0ONCALL" in groups.asked


def test_a_closed_ticket_cannot_be_acknowledged(ctx: ServiceContext) -> None:
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    with ctx.sessions.begin() as session:
        session.get_one(Ticket, filed.ticket_id).status = TicketStatus.CLOSED
    with pytest.raises(IllegalTransition):
        acknowledge_ticket(ctx, filed.ticket_id, actor_id="U0L2ENG")


def test_simultaneous_acknowledgements_have_exactly_one_winner(ctx: ServiceContext) -> None:
    ctx = replace(ctx, policy=replace(POLICY, levels=(POLICY.level("L1"), replace(L2, responders=(), open_to_everyone=True), L3)))
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def click(user: str) -> None:
        barrier.wait()
        results.append(acknowledge_ticket(ctx, filed.ticket_id, actor_id=user).first)

    threads = [threading.Thread(target=click, args=(f"U0ENG{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]
    assert events(ctx, filed.ticket_id).count("acknowledged") == 1


def test_the_timeline_is_append_only(ctx: ServiceContext) -> None:
    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    with pytest.raises(TimelineIsAppendOnly):
        with ctx.sessions.begin() as session:
            session.scalars(select(TimelineEvent).where(TimelineEvent.ticket_id == filed.ticket_id)).first().kind = "edited"
    with pytest.raises(TimelineIsAppendOnly):
        with ctx.sessions.begin() as session:
            session.delete(session.scalars(select(TimelineEvent)).first())
    assert events(ctx, filed.ticket_id) == ["created", "routed"]


def test_a_systemic_notice_needs_three_tickets_in_the_window_and_is_raised_once(ctx: ServiceContext, clock: ManualClock,
                                                                                notifier: RecordingNotifier) -> None:
    vpn = replace(FORM, category="VPN connection troubleshooting")
    first = open_ticket(ctx, vpn, reporter_id="U0A", intake_key=None).ticket_id
    announce_ticket(ctx, first)
    clock.advance(timedelta(minutes=61))  # the first falls out of the 60-minute window
    ids = [first]
    for _ in range(3):
        clock.advance(timedelta(minutes=5))
        ids.append(open_ticket(ctx, vpn, reporter_id="U0A", intake_key=None).ticket_id)
        announce_ticket(ctx, ids[-1])  # the check was queued with the ticket; it runs when relayed
    other = open_ticket(ctx, replace(FORM, category="Email and calendar problems"), reporter_id="U0A", intake_key=None).ticket_id
    announce_ticket(ctx, other)
    assert "systemic_flagged" not in events(ctx, other)
    assert len(notifier.systemic) == 1
    notice, existing = notifier.systemic[0]
    assert [ref for ref, _, _ in notice.tickets] == [f"ESC-{i}" for i in ids[1:]] and existing is None
    assert all(link for _, _, link in notice.tickets)  # the cards were posted first: the notice links to them
    clock.advance(timedelta(minutes=5))
    late = open_ticket(ctx, vpn, reporter_id="U0A", intake_key=None).ticket_id
    announce_ticket(ctx, late)
    notice, existing = notifier.systemic[-1]
    assert len(notifier.systemic) == 2 and existing is not None and notice.tickets[-1][0] == f"ESC-{late}"  # refreshed in place


def test_the_systemic_check_run_twice_adds_the_ticket_once_and_flags_once(ctx: ServiceContext, clock: ManualClock,
                                                                          notifier: RecordingNotifier) -> None:
    from bot.services.outbox import relay_all
    from bot.services.systemic import check_systemic
    from models import SystemicAlert

    vpn = replace(FORM, category="VPN connection troubleshooting")
    ids = []
    for _ in range(4):
        clock.advance(timedelta(minutes=1))
        ids.append(open_ticket(ctx, vpn, reporter_id="U0A", intake_key=None).ticket_id)
    for ticket_id in (*ids, *ids):  # every check twice (a retried row, two replicas): nothing more happens
        assert check_systemic(ctx, ticket_id) in (None, 1)
    relay_all(ctx)  # the intake's own check rows too: they find every ticket counted already
    with ctx.sessions() as session:
        alerts = session.scalars(select(SystemicAlert)).all()
    assert [a.ticket_ids for a in alerts] == [ids]
    assert [events(ctx, i).count("systemic_flagged") for i in ids] == [1, 1, 1, 0]
    # Slack sees one notice posted (when the third ticket raised it), then updated once (for the fourth); each is
    # rendered as the alert stands when sent, and both are sent after the checks: four tickets each time.
    assert [(len(notice.tickets), existing is None) for notice, existing in notifier.systemic] == [(4, True), (4, False)]


def test_a_refresh_of_a_systemic_notice_not_posted_yet_waits_for_the_post(ctx: ServiceContext, clock: ManualClock,
                                                                          notifier: RecordingNotifier) -> None:
    """Two rows for one alert relayed at once never post two notices: only the raising row posts."""
    from bot.services.systemic import SystemicNoticePayload, send_systemic_notice
    from bot.services.ports import DeliveryFailed, Once
    from bot.services.systemic import check_systemic

    vpn = replace(FORM, category="VPN connection troubleshooting")
    ids = [open_ticket(ctx, vpn, reporter_id="U0A", intake_key=None).ticket_id for _ in range(4)]
    for ticket_id in ids:
        check_systemic(ctx, ticket_id)
    with pytest.raises(DeliveryFailed, match="not posted yet"):  # the 4th ticket's refresh, sent before the post
        send_systemic_notice(ctx, SystemicNoticePayload(alert=1, post=False), Once("refresh"))
    assert notifier.systemic == []
    send_systemic_notice(ctx, SystemicNoticePayload(alert=1, post=True), Once("post"))
    send_systemic_notice(ctx, SystemicNoticePayload(alert=1, post=True), Once("post"))  # the post row again (a retry): an update
    send_systemic_notice(ctx, SystemicNoticePayload(alert=1, post=False), Once("refresh"))
    assert [existing is None for _, existing in notifier.systemic] == [True, False, False]
    assert len(notifier.systemic[-1][0].tickets) == 4


def test_an_action_relays_its_own_tickets_messages_and_leaves_any_backlog_to_the_sweep(ctx: ServiceContext,
                                                                                     notifier: RecordingNotifier) -> None:
    from bot.services.sweep import sweep
    from models import OutboxMessage

    backlog = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None).ticket_id  # queued, never relayed:
    with ctx.sessions() as session:  # as if Slack had been down when it was filed
        assert session.query(OutboxMessage).filter(OutboxMessage.ticket_id == backlog, OutboxMessage.status == "pending").count()
    mine = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None).ticket_id
    announce_ticket(ctx, mine)
    assert [c.id for c in notifier.cards] == [mine]  # the click's thread sent only its own ticket's card
    sweep(ctx, worker="sweeper")
    assert sorted(c.id for c in notifier.cards) == sorted([mine, backlog])


def test_a_batch_writes_its_rows_and_notes_when_flushed_and_enqueue_at_once(ctx: ServiceContext, clock: ManualClock) -> None:
    """Batching is the caller's choice, visible where it is called: nothing ambient in the session."""
    from sqlalchemy import func

    from bot.services.queue import Batch, NoPayload, OutboxKind, enqueue
    from models import OutboxMessage
    from models.timeline import Source

    filed = open_ticket(ctx, FORM, reporter_id="U0AGENT", intake_key=None)
    rows = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.dedupe_key.like("test:%"))
    notes = select(func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == "test_note")
    with ctx.sessions.begin() as session:
        with Batch(session) as batch:
            batch.enqueue(key="test:1", kind=OutboxKind.SYSTEMIC_CHECK, ticket_id=filed.ticket_id, payload=NoPayload(),
                          now=clock.now())
            batch.note(filed.ticket_id, "test_note", actor="U0BOT", source=Source.SYSTEM, at=clock.now())
            assert (session.scalar(rows), session.scalar(notes)) == (0, 0)  # deferred
        assert (session.scalar(rows), session.scalar(notes)) == (1, 1)
        enqueue(session, key="test:2", kind=OutboxKind.SYSTEMIC_CHECK, ticket_id=filed.ticket_id, payload=NoPayload(),
                now=clock.now())
        assert session.scalar(rows) == 2  # written at once
        with pytest.raises(RuntimeError), Batch(session) as batch:
            batch.enqueue(key="test:3", kind=OutboxKind.SYSTEMIC_CHECK, ticket_id=None, payload=NoPayload(), now=clock.now())
            raise RuntimeError("the caller failed: the batch writes nothing")
        assert session.scalar(rows) == 2
