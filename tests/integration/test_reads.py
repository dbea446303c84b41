"""Reading and following a ticket, on a real database with a recording notifier: export, subscribe,
systemic escalation, status and my tickets."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.rendering import Renderer
from bot.domain.lifecycle import ResolutionForm, UpdateForm
from bot.domain.tickets import DomainError, NotAllowed
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import ServiceContext
from bot.services.intake import announce_ticket, open_ticket
from bot.services.messages import Notice
from bot.services.outbox import relay_all
from bot.services.queries import export_timeline, my_tickets, ticket_status
from bot.services.resolve import resolve_ticket
from bot.services.systemic_escalation import escalate_systemic
from bot.services.updates import post_update, toggle_subscription
from models import OutboxMessage, Participant, Ticket, TimelineEvent
from tests.integration.recording import RecordingNotifier
from tests.integration.test_services import FORM
from tests.policies import open_seed_policy

BASE = open_seed_policy()
LEVELS = tuple(replace(BASE.level(key), responders=people, open_to_everyone=False)
               for key, people in (("L1", ("U0L1ENG",)), ("L2", ("U0L2ENG",)), ("L3", ("U0L3ENG", "S0ONCALL"))))
POLICY = replace(BASE, levels=LEVELS, management=replace(BASE.management, managers=("U0BOSS",)))
VPN = replace(FORM, category="VPN connection troubleshooting")  # an L1 category
UPDATE = UpdateForm(status="Rolled back the release; watching error rates.", next_steps="Confirm with finance.",
                    next_update_by=None)


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier(groups={"S0ONCALL": frozenset({"U0ONCALL1"})})


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock, notifier: RecordingNotifier) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=notifier)


def filed(ctx: ServiceContext, form=FORM, reporter: str = "U0AGENT") -> int:  # noqa: ANN001
    ticket_id = open_ticket(ctx, form, reporter_id=reporter, intake_key=None).ticket_id
    announce_ticket(ctx, ticket_id)
    return ticket_id


def events(ctx: ServiceContext, ticket_id: int) -> list[str]:
    with ctx.sessions() as session:
        query = select(TimelineEvent.kind).where(TimelineEvent.ticket_id == ticket_id).order_by(TimelineEvent.id)
        return list(session.scalars(query))


def export_rows_queued(ctx: ServiceContext, ticket_id: int) -> list[OutboxMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id,
                                                                OutboxMessage.kind == "timeline_export")))


def dms(notifier: RecordingNotifier, notice: str) -> list[str | None]:
    return [d.user for d, _ in notifier.deliveries if d.notice.value == notice]


# Export


def test_an_export_queues_one_upload_per_format_and_nothing_is_uploaded_until_the_outbox_sends_it(
        ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    ticket_id = filed(ctx)
    assert export_timeline(ctx, ticket_id, actor_id="U0AGENT", once="cmd-1") is True
    assert export_timeline(ctx, ticket_id, actor_id="U0AGENT", once="cmd-1") is False  # the same command re-sent
    queued = export_rows_queued(ctx, ticket_id)
    assert [row.status for row in queued] == ["pending", "pending"]
    assert notifier.uploads == []
    assert events(ctx, ticket_id).count("timeline_exported") == 1
    relay_all(ctx, ticket_id=ticket_id)
    assert sorted(name.rsplit(".", 1)[1] for _, name, _ in notifier.uploads) == ["csv", "json"]
    assert {user for user, _, _ in notifier.uploads} == {"U0AGENT"}  # by DM, to whoever asked
    assert [row.status for row in export_rows_queued(ctx, ticket_id)] == ["sent", "sent"]


def test_the_files_are_built_when_sent_from_the_timeline_as_it_was_when_asked(
        ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ticket_id = filed(ctx)
    asked = clock.now()
    export_timeline(ctx, ticket_id, actor_id="U0AGENT")
    clock.advance(timedelta(minutes=5))
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L2ENG")  # after the request, before the files are built
    relay_all(ctx, ticket_id=ticket_id)
    files = {name.rsplit(".", 1)[1]: (name, content) for _, name, content in notifier.uploads}
    assert files["csv"][0].startswith(f"ESC-{ticket_id}-timeline-{asked:%Y%m%d-%H%M%S}-")
    rows = list(csv.DictReader(io.StringIO(files["csv"][1].decode())))
    assert [r["event"] for r in rows] == ["created", "routed", "card_posted", "notified"]
    assert set(rows[0]) == {"ticket", "at_utc", "actor", "event", "source", "details"} and rows[0]["actor"] == "U0AGENT"
    exported = json.loads(files["json"][1])
    assert (exported["ticket"], exported["title"], exported["as_of"]) == (f"ESC-{ticket_id}", FORM.title, asked.isoformat())
    assert [e["event"] for e in exported["events"]] == [r["event"] for r in rows]
    assert "acknowledged" in events(ctx, ticket_id)  # it happened; the export is of the moment it was asked for


def test_a_failed_upload_is_retried_and_arrives_once(ctx: ServiceContext, clock: ManualClock,
                                                     notifier: RecordingNotifier) -> None:
    ticket_id = filed(ctx)
    notifier.failing.add("upload")
    export_timeline(ctx, ticket_id, actor_id="U0AGENT")
    relay_all(ctx, ticket_id=ticket_id)
    assert notifier.uploads == [] and [row.status for row in export_rows_queued(ctx, ticket_id)] == ["pending", "pending"]
    notifier.failing.clear()
    clock.advance(timedelta(minutes=10))
    relay_all(ctx, ticket_id=ticket_id)
    relay_all(ctx, ticket_id=ticket_id)
    assert sorted(name.rsplit(".", 1)[1] for _, name, _ in notifier.uploads) == ["csv", "json"]
    assert Notice.EXPORT_FAILED.value not in [notice for notice, _ in notifier.notices()]  # a retry is no failure


def test_an_export_slack_will_never_take_is_told_to_the_asker_once_by_dm(ctx: ServiceContext, clock: ManualClock,
                                                                          notifier: RecordingNotifier) -> None:
    """The asker was told the export is on its way: when its files become dead letters, one DM (however
    many files failed) says it will not come and why; the ticket's timeline keeps each failure."""
    ticket_id = filed(ctx)
    notifier.failing.add("upload_refused")
    export_timeline(ctx, ticket_id, actor_id="U0AGENT", once="cmd-1")
    relay_all(ctx, ticket_id=ticket_id)
    clock.advance(timedelta(minutes=1))
    relay_all(ctx, ticket_id=ticket_id)
    assert notifier.uploads == [] and [row.status for row in export_rows_queued(ctx, ticket_id)] == ["dead", "dead"]
    told = [(d, card) for d, card in notifier.deliveries if d.notice == Notice.EXPORT_FAILED]
    assert [(d.user, d.extra["reason"], card.ref) for d, card in told] == [("U0AGENT", "invalid_channel", f"ESC-{ticket_id}")]
    assert told[0][0].extra["filename"].startswith(f"ESC-{ticket_id}-timeline-")
    assert events(ctx, ticket_id).count("delivery_failed") == 2
    text = Renderer().render("notices/export_failed.md.j2", t=told[0][1], **told[0][0].extra)
    assert "did not arrive" in text and "invalid_channel" in text and told[0][0].extra["filename"] in text


def test_a_stranger_may_not_export_and_nothing_is_queued(ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    ticket_id = filed(ctx)
    with pytest.raises(NotAllowed, match=f"You can't view the timeline of ESC-{ticket_id}"):
        export_timeline(ctx, ticket_id, actor_id="U0STRANGER")
    relay_all(ctx, ticket_id=ticket_id)
    assert export_rows_queued(ctx, ticket_id) == [] and notifier.uploads == []
    assert "timeline_exported" not in events(ctx, ticket_id)


# Subscribe


def test_who_may_view_subscribes_hears_every_update_and_a_second_toggle_unsubscribes(
        ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    ticket_id = filed(ctx)  # an L2 ticket: L1's responder may read it, so may subscribe
    assert toggle_subscription(ctx, ticket_id, user_id="U0L1ENG", once="click-1") is True
    assert toggle_subscription(ctx, ticket_id, user_id="U0L1ENG", once="click-1") is None  # the click replayed
    post_update(ctx, ticket_id, actor_id="U0L2ENG", form=UPDATE)
    assert "U0L1ENG" in dms(notifier, "update")
    assert toggle_subscription(ctx, ticket_id, user_id="U0L1ENG") is False
    before = len(dms(notifier, "update"))
    post_update(ctx, ticket_id, actor_id="U0L2ENG", form=UPDATE)
    assert "U0L1ENG" not in dms(notifier, "update")[before:]
    assert [k for k in events(ctx, ticket_id) if k.endswith("subscribed")] == ["subscribed", "unsubscribed"]


def test_a_stranger_may_not_subscribe(ctx: ServiceContext) -> None:
    ticket_id = filed(ctx)
    with pytest.raises(NotAllowed):
        toggle_subscription(ctx, ticket_id, user_id="U0STRANGER")
    with ctx.sessions() as session:
        assert session.scalars(select(Participant).where(Participant.user_id == "U0STRANGER")).all() == []
    assert "subscribed" not in events(ctx, ticket_id)


def test_a_subscription_never_widens_who_may_view(ctx: ServiceContext, notifier: RecordingNotifier) -> None:
    """He subscribed as L1's responder; once he is no longer one, the subscription alone lets him read nothing."""
    ticket_id = filed(ctx)
    toggle_subscription(ctx, ticket_id, user_id="U0L1ENG")
    moved = replace(ctx, policy=replace(POLICY, levels=(replace(LEVELS[0], responders=("U0NEWL1",)), *LEVELS[1:])))
    with pytest.raises(NotAllowed):
        ticket_status(moved, ticket_id, actor_id="U0L1ENG")
    with pytest.raises(NotAllowed):
        export_timeline(moved, ticket_id, actor_id="U0L1ENG")
    assert my_tickets(moved, actor_id="U0L1ENG") == ([], {})
    post_update(moved, ticket_id, actor_id="U0L2ENG", form=UPDATE)
    assert "U0L1ENG" not in dms(notifier, "update") and "U0AGENT" in dms(notifier, "update")  # the reporter still hears
    assert "notice_withheld" in events(ctx, ticket_id)
    assert toggle_subscription(moved, ticket_id, user_id="U0L1ENG") is False  # leaving is always allowed


# Systemic escalation


def raise_alert(ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier, count: int = 3) -> tuple[int, list[int]]:
    ids = []
    for _ in range(count):
        clock.advance(timedelta(minutes=5))
        ids.append(filed(ctx, VPN))
    (notice, _), *_ = notifier.systemic
    return notice.alert_id, ids


def levels_of(ctx: ServiceContext, ids: list[int]) -> list[str]:
    with ctx.sessions() as session:
        return [session.get_one(Ticket, i).level_key for i in ids]


def test_escalating_a_systemic_alert_sends_every_live_ticket_to_the_last_level_once(
        ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    alert_id, ids = raise_alert(ctx, clock, notifier, count=4)
    resolve_ticket(ctx, ids[0], actor_id="U0L1ENG",
                   form=ResolutionForm(resolution="Reset the VPN profile.", root_cause="Stale profile.",
                                       lessons="Push profiles centrally.", postmortem_owner=None))
    assert escalate_systemic(ctx, alert_id, actor_id="U0L3ENG") == ids[1:]  # the resolved one stays where it was
    assert levels_of(ctx, ids) == ["L1", "L3", "L3", "L3"]
    with ctx.sessions() as session:
        reasons = session.scalars(select(TimelineEvent.details).where(TimelineEvent.kind == "escalated")).all()
    assert [r["reason"] for r in reasons] == ["systemic"] * 3
    notice, existing = notifier.systemic[-1]
    assert existing is not None and notice.escalated_by == "U0L3ENG"  # the notice is refreshed: who, and no button
    assert [c.level.key for c in notifier.updates[-3:]] == ["L3", "L3", "L3"]
    with pytest.raises(DomainError, match="already escalated"):
        escalate_systemic(ctx, alert_id, actor_id="U0L3ENG")
    assert [events(ctx, i).count("escalated") for i in ids] == [0, 1, 1, 1]


def test_only_the_last_levels_responders_or_a_manager_may_escalate_a_systemic_alert(
        ctx: ServiceContext, clock: ManualClock, notifier: RecordingNotifier) -> None:
    alert_id, ids = raise_alert(ctx, clock, notifier)
    with pytest.raises(NotAllowed):
        escalate_systemic(ctx, alert_id, actor_id="U0L1ENG")
    assert levels_of(ctx, ids) == ["L1", "L1", "L1"]
    assert escalate_systemic(ctx, alert_id, actor_id="U0BOSS") == ids
    assert levels_of(ctx, ids) == ["L3", "L3", "L3"]


# Status


def test_status_is_the_card_and_the_timeline_in_order_for_who_may_view(ctx: ServiceContext, clock: ManualClock) -> None:
    ticket_id = filed(ctx)
    clock.advance(timedelta(minutes=12))
    acknowledge_ticket(ctx, ticket_id, actor_id="U0L2ENG")
    shown = ticket_status(ctx, ticket_id, actor_id="U0AGENT")
    assert (shown.ticket.ref, shown.ticket.title, shown.ticket.level.key) == (f"ESC-{ticket_id}", FORM.title, "L2")
    assert shown.ticket.ack_summary == "after 12m — within the 8h SLA"
    kinds = [e.kind for e in shown.entries]
    assert kinds[:5] == ["created", "routed", "card_posted", "notified", "acknowledged"]  # then who was told of it
    assert [e.at for e in shown.entries] == sorted(e.at for e in shown.entries)
    with pytest.raises(NotAllowed, match=f"You can't view the timeline of ESC-{ticket_id}"):
        ticket_status(ctx, ticket_id, actor_id="U0STRANGER")


# My tickets


def test_my_tickets_are_the_open_ones_i_am_on_and_my_levels_queues(ctx: ServiceContext, clock: ManualClock) -> None:
    server = filed(ctx)  # L2, reported by U0AGENT
    clock.advance(timedelta(minutes=1))
    vpn = filed(ctx, VPN, reporter="U0OTHER")  # L1
    mine, queues = my_tickets(ctx, actor_id="U0AGENT")
    assert ([c.id for c in mine], queues) == ([server], {})
    mine, queues = my_tickets(ctx, actor_id="U0L2ENG")
    assert mine == [] and {title: [c.id for c in cards] for title, cards in queues.items()} == {"L2 Technical Support": [server]}
    toggle_subscription(ctx, vpn, user_id="U0L2ENG")  # a responder may read every ticket, so his subscriptions are his
    assert [c.id for c in my_tickets(ctx, actor_id="U0L2ENG")[0]] == [vpn]
    resolve_ticket(ctx, server, actor_id="U0L2ENG",
                   form=ResolutionForm(resolution="Restarted the pool with more workers.", root_cause="Worker exhaustion.",
                                       lessons="Alert on queue depth.", postmortem_owner=None))
    assert my_tickets(ctx, actor_id="U0AGENT") == ([], {})  # resolved: no longer open
    assert my_tickets(ctx, actor_id="U0L2ENG")[1] == {"L2 Technical Support": []}
