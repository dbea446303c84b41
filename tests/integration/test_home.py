"""The App Home's read model on a real database: sections, order, who sees what, overflow, refresh."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, event, select, update
from slack_sdk.models.views import View

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.domain.lifecycle import ResolutionForm
from bot.domain.reports import LevelFigures, Report
from bot.domain.severity import Severity
from bot.rendering import Renderer
from bot.services.acknowledge import acknowledge_ticket
from bot.services.context import Burst, ServiceContext
from bot.services.home import FIRST, home, home_more, open_home
from bot.services.readmodel import Home, Section
from bot.services.intake import open_ticket
from bot.services.outbox import relay_all
from bot.services.resolve import resolve_ticket
from bot.services.updates import toggle_subscription
from bot.slack.blocks import home_view
from bot.slack.notifier import home_more_modal, home_parts
from fakeslack import validate_view
from models import HomeViewer, OutboxMessage, Participant, Ticket
from tests.integration.recording import RecordingNotifier
from tests.integration.test_services import FORM, notifier  # noqa: F401 - the fixture (a recorder that knows S0ONCALL)
from tests.policies import open_seed_policy
from tests.seeding import seed_open_tickets

BASE = open_seed_policy()
POLICY = replace(BASE, levels=(
    replace(BASE.level("L1"), responders=("U0L1ENG",), open_to_everyone=False),
    replace(BASE.level("L2"), responders=("U0L2ENG",), open_to_everyone=False),
    replace(BASE.level("L3"), responders=("U0L3ENG", "S0ONCALL"), open_to_everyone=False),
), management=replace(BASE.management, managers=("U0BOSS",)))


@pytest.fixture
def ctx(engine: Engine, clock: ManualClock, notifier: RecordingNotifier) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier, directory=notifier)


def file(ctx: ServiceContext, reporter: str = "U0AGENT", **changes: object) -> int:
    return open_ticket(ctx, replace(FORM, **changes), reporter_id=reporter, intake_key=None).ticket_id


def refs(listing: object) -> list[str]:
    return [t.ref for t in listing.items]  # type: ignore[attr-defined]


def set_due(ctx: ServiceContext, ticket_id: int, due: datetime) -> None:
    with ctx.sessions.begin() as session:
        session.execute(update(Ticket).where(Ticket.id == ticket_id).values(response_due_at=due))


def view_of(built: Home) -> dict:
    """The Home as published: checked by slack_sdk's models and by the fake Slack's validator."""
    view = home_view(home_parts(Renderer(), built, command="/escalate"))
    View(**view).validate_json()
    assert validate_view(view) == [], validate_view(view)
    assert len(view["blocks"]) <= 100
    return view


def test_needs_me_now_lists_breached_tickets_first_then_by_time_left(ctx: ServiceContext, clock: ManualClock) -> None:
    later, breached, soon = file(ctx, title="Later"), file(ctx, title="Breached"), file(ctx, title="Soon")
    now = clock.now()
    set_due(ctx, later, now + timedelta(minutes=50))
    set_due(ctx, breached, now - timedelta(minutes=5))
    set_due(ctx, soon, now + timedelta(minutes=10))
    mine = home(ctx, actor_id="U0L2ENG")
    assert refs(mine.awaiting_ack) == [f"ESC-{breached}", f"ESC-{soon}", f"ESC-{later}"]
    assert [t.breached for t in mine.awaiting_ack.items] == [True, False, False]
    text = str(view_of(mine))
    assert f"<!date^{int((now + timedelta(minutes=10)).timestamp())}^{{date_short_pretty}} {{time}}|" in text
    assert "ticket_acknowledge" in text and "ticket_post_update" in text and "ticket_status" in text


def test_each_responder_sees_only_the_levels_they_answer_for_user_groups_included(ctx: ServiceContext) -> None:
    l2 = file(ctx)
    l3 = file(ctx, severity=Severity.CRITICAL, triggers=frozenset({"data_loss"}))
    assert refs(home(ctx, actor_id="U0L2ENG").awaiting_ack) == [f"ESC-{l2}"]
    assert refs(home(ctx, actor_id="U0ONCALL1").awaiting_ack) == [f"ESC-{l3}"]  # through the user group
    assert home(ctx, actor_id="U0L1ENG").awaiting_ack.total == 0
    assert home(ctx, actor_id="U0BOSS").awaiting_ack.total == 0  # a manager may acknowledge, but answers for no level


def test_follow_ups_i_owe_and_post_mortems_i_own(ctx: ServiceContext, clock: ManualClock) -> None:
    acked = file(ctx)
    acknowledge_ticket(ctx, acked, actor_id="U0L2ENG")
    critical = file(ctx, severity=Severity.CRITICAL, triggers=frozenset({"data_loss"}))
    resolve_ticket(ctx, critical, actor_id="U0L3ENG", form=ResolutionForm("Restored the volume.", "The disk filled up.", "Alert earlier on disk use.", "U0L3ENG"))
    l2, l3 = home(ctx, actor_id="U0L2ENG"), home(ctx, actor_id="U0L3ENG")
    assert refs(l2.followups) == [f"ESC-{acked}"] and l2.awaiting_ack.total == 0
    (owed,) = l2.followups.items
    assert owed.due_at is not None and owed.due_at > clock.now()  # the next follow-up timer
    assert refs(l3.postmortems) == [f"ESC-{critical}"] and l3.postmortems.items[0].due_at is not None
    assert refs(l2.mine) == [f"ESC-{acked}"]  # the assignee's own ticket
    view_of(l2)
    view_of(l3)


def test_mine_lists_reported_escalated_and_subscribed_but_a_subscription_never_widens_who_may_view(ctx: ServiceContext, clock: ManualClock) -> None:
    reported = file(ctx, reporter="U0AGENT")
    other = file(ctx, reporter="U0COLLEAGUE")
    with ctx.sessions.begin() as session:  # subscribed while a role let him (say he was the reporter of another)
        session.add(Participant(ticket_id=other, user_id="U0AGENT", role="subscriber", added_at=clock.now()))
    agent = home(ctx, actor_id="U0AGENT")
    assert refs(agent.mine) == [f"ESC-{reported}"]  # not the one he may not view
    assert agent.queues == () and agent.managers is None  # no queues for someone outside support
    toggle_subscription(ctx, other, user_id="U0L1ENG")
    assert f"ESC-{other}" in refs(home(ctx, actor_id="U0L1ENG").mine)  # a responder may read it: listed
    assert home(ctx, actor_id="U0STRANGER").mine.total == 0
    more = home_more(ctx, actor_id="U0AGENT", section=Section.MINE)
    assert refs(more) == [f"ESC-{reported}"]
    assert home_more(ctx, actor_id="U0AGENT", section=Section.OPEN_LONG).total == 0  # managers only


def test_queues_count_each_level_and_put_the_most_urgent_first(ctx: ServiceContext, clock: ManualClock) -> None:
    with ctx.sessions.begin() as session:
        seed_open_tickets(session, 3, level="L1", now=clock.now(), spread=timedelta(minutes=30))
        seed_open_tickets(session, 4, level="L3", now=clock.now(), spread=timedelta(hours=3))  # filed 3h, 2h15, 1h30, 45m ago: 3 past their hour
        seed_open_tickets(session, 2, level="L2", now=clock.now(), status="acknowledged")
    queues = {q.level_key: q for q in home(ctx, actor_id="U0L1ENG").queues}
    order = [q.level_key for q in home(ctx, actor_id="U0L1ENG").queues]
    assert order[0] == "L3" and (queues["L3"].open, queues["L3"].unacknowledged, queues["L3"].breached) == (4, 4, 3)
    assert (queues["L2"].open, queues["L2"].unacknowledged, queues["L2"].breached) == (2, 0, 0)
    assert queues["L1"].oldest == clock.now() - timedelta(minutes=30)


def test_managers_see_this_weeks_figures_from_the_port_and_tickets_open_over_four_hours(ctx: ServiceContext, clock: ManualClock) -> None:
    old = file(ctx, title="Old one")
    clock.advance(timedelta(hours=4, minutes=1))
    file(ctx, title="New one")
    asked: list[tuple[datetime, datetime]] = []

    def figures(since: datetime, until: datetime) -> Report:
        asked.append((since, until))
        l2 = LevelFigures(level="L2", title="L2 Technical Support", opened=12, mtta=timedelta(minutes=14), attainment=0.917, breaches=1)
        return Report(since=since, until=until, levels=(l2,), total=l2)

    boss = home(ctx, actor_id="U0BOSS", figures=figures)
    assert boss.managers is not None and refs(boss.managers.open_long) == [f"ESC-{old}"]
    assert asked == [(datetime(2026, 11, 23, tzinfo=timezone.utc), clock.now())]  # Monday 00:00 (TIMEZONE: UTC) to now
    text = "\n".join(b.get("text", {}).get("text", "") for b in view_of(boss)["blocks"])
    assert "*L2 Technical Support*: 12 opened · MTTA 14m · SLA 92% · 1 breaches" in text
    assert home(ctx, actor_id="U0L2ENG", figures=figures).managers is None  # not for others


def test_thousands_of_tickets_show_the_first_few_and_and_n_more_within_slacks_limits(ctx: ServiceContext, clock: ManualClock) -> None:
    with ctx.sessions.begin() as session:
        for level in ("L1", "L2", "L3"):
            seed_open_tickets(session, 400, level=level, now=clock.now(), reporter="U0BOSS", spread=timedelta(hours=9))
            seed_open_tickets(session, 50, level=level, now=clock.now(), status="acknowledged", assignee_id="U0BOSS",
                              reporter="U0BOSS")
            seed_open_tickets(session, 50, level=level, now=clock.now(), status="postmortem_due", postmortem_owner="U0BOSS",
                              postmortem_due_at=clock.now() - timedelta(days=1))
    policy = replace(POLICY, levels=tuple(replace(lv, responders=(*lv.responders, "U0BOSS")) for lv in POLICY.levels))
    boss = home(replace(ctx, policy=policy), actor_id="U0BOSS")
    for listing in boss.listings:
        assert len(listing.items) == FIRST and listing.more > 0, listing.section
    assert boss.awaiting_ack.total == 1200 and boss.mine.total == 1500
    view = view_of(boss)
    assert [b["accessory"]["value"] for b in view["blocks"] if b.get("block_id", "").startswith("home_more_")] == [
        "awaiting_ack", "followups", "postmortems", "mine", "open_long"]
    more = home_more(replace(ctx, policy=policy), actor_id="U0BOSS", section=Section.AWAITING_ACK)
    modal = home_more_modal(Renderer(), more, command="/escalate")
    View(**modal).validate_json()
    assert validate_view(modal) == [] and len(more.items) == 200 and "…and 1,000 more" in str(modal)


def count_statements(engine: Engine, run: object) -> int:
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        run()  # type: ignore[operator]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return len(statements)


def test_the_home_costs_the_same_statements_for_5_or_500_open_tickets(ctx: ServiceContext, engine: Engine, clock: ManualClock) -> None:
    def seeded(n: int) -> None:
        with ctx.sessions.begin() as session:
            for level in ("L1", "L2", "L3"):
                seed_open_tickets(session, n, level=level, now=clock.now(), reporter="U0BOSS")
                seed_open_tickets(session, n, level=level, now=clock.now(), status="acknowledged", assignee_id="U0BOSS")

    policy = replace(POLICY, levels=tuple(replace(lv, responders=(*lv.responders, "U0BOSS")) for lv in POLICY.levels))
    boss_ctx = replace(ctx, policy=policy)
    seeded(1)
    few = count_statements(engine, lambda: home(boss_ctx, actor_id="U0BOSS"))
    seeded(165)  # 3 levels × (1 + 165) × 2 states: about 1,000 open tickets, 500 of them waiting for him
    many = count_statements(engine, lambda: home(boss_ctx, actor_id="U0BOSS"))
    assert few == many and many <= 8, (few, many)


def test_a_change_republishes_the_home_of_those_who_opened_it_once_per_window(ctx: ServiceContext, clock: ManualClock,
                                                                               notifier: RecordingNotifier) -> None:
    first = file(ctx)
    open_home(ctx, actor_id="U0L2ENG")
    open_home(ctx, actor_id="U0L1ENG")  # opened, but no ticket of his changes
    assert [u for u, _ in notifier.homes] == ["U0L2ENG", "U0L1ENG"]
    relay_all(ctx)
    notifier.homes.clear()
    for n in range(5):  # a burst: five tickets filed in the same few seconds, one acknowledged
        file(ctx, title=f"Burst {n}")
    acknowledge_ticket(ctx, first, actor_id="U0L2ENG")
    relay_all(ctx)
    assert notifier.homes == []  # coalesced: nothing before the window ends
    clock.advance(timedelta(seconds=6))
    relay_all(ctx)
    assert [u for u, _ in notifier.homes] == ["U0L2ENG"]  # once, for the one who opened it and is concerned
    (_, latest), = notifier.homes
    assert latest.awaiting_ack.total == 5 and refs(latest.followups) == [f"ESC-{first}"]
    clock.advance(timedelta(minutes=1))
    relay_all(ctx)
    assert len(notifier.homes) == 1  # nothing more
    with ctx.sessions() as session:
        assert session.scalar(select(HomeViewer.levels).where(HomeViewer.user_id == "U0L2ENG")) == ",L2,"
        assert {r.status for r in session.scalars(select(OutboxMessage).where(OutboxMessage.kind.like("home_%")))} == {"sent"}


def test_home_refreshes_are_not_counted_by_storm_control(engine: Engine, clock: ManualClock, notifier: RecordingNotifier) -> None:
    ctx = ServiceContext(sessions=make_sessions(engine), policy=POLICY, clock=clock, notifier=notifier,
                         directory=notifier, burst=Burst(limit=1, window=timedelta(minutes=1)))
    open_home(ctx, actor_id="U0AGENT")
    file(ctx)
    clock.advance(timedelta(seconds=6))
    relay_all(ctx)
    assert [u for u, _ in notifier.homes].count("U0AGENT") == 2  # the open, and the refresh
    with ctx.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "home_refresh")).all()
    assert rows and all(r.recipient is None for r in rows)  # no recipient: never counted, never folded
    confirmations = [d for d, _ in notifier.deliveries if d.user == "U0AGENT"]
    assert len(confirmations) == 1  # the reporter's confirmation went out despite the Home publish


def test_while_nobody_has_opened_the_home_a_change_queues_no_refresh(ctx: ServiceContext, clock: ManualClock,
                                                                     notifier: RecordingNotifier) -> None:
    acknowledge_ticket(ctx, file(ctx), actor_id="U0L2ENG")
    clock.advance(timedelta(seconds=6))
    relay_all(ctx)
    with ctx.sessions() as session:
        assert session.scalars(select(OutboxMessage.kind).where(OutboxMessage.kind.like("home_%"))).all() == []
    assert notifier.homes == []
