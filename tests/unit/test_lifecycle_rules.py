"""Who may do what, and what the lifecycle modals require."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.forms import FormInvalid
from bot.domain.lifecycle import (
    ALLOWED_MOVES, default_target, enter_level, landing, moves_offered, validate_escalation, validate_postmortem_link,
    validate_resolution, validate_update,
)
from bot.domain.permissions import ACT_OF, Act, Role, TicketPeople, require, roles_of
from bot.domain.tickets import TRANSITIONS, DomainError, IllegalTransition, Move, NotAllowed, TicketStatus
from tests.policies import open_seed_policy

POLICY = open_seed_policy()
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
L2 = POLICY.level("L2")
PEOPLE = TicketPeople(level=L2, reporter_id="U0REP", assignee_id="U0ASSIGNEE", managers=("U0BOSS",), postmortem_owner="U0PM")

MATRIX = {
    # act: (responder, assignee, manager, reporter, post-mortem owner, stranger)
    Act.ACKNOWLEDGE: (True, True, True, False, False, False),
    Act.ESCALATE: (True, True, True, True, False, False),
    Act.POST_UPDATE: (True, True, True, True, False, False),
    Act.RESOLVE: (True, True, True, False, False, False),
    Act.REOPEN: (True, False, True, True, False, False),
    Act.COMPLETE_POSTMORTEM: (True, False, True, False, True, False),
}
ACTORS = [("U0RESP", True), ("U0ASSIGNEE", False), ("U0BOSS", False), ("U0REP", False), ("U0PM", False), ("U0NOBODY", False)]


@pytest.mark.parametrize("act", list(MATRIX))
def test_the_permission_table_matches_the_issue(act: Act) -> None:
    for (actor, responder), expected in zip(ACTORS, MATRIX[act]):
        roles = roles_of(actor, PEOPLE, responder=responder, any_responder=responder)
        if expected:
            require(act, roles, PEOPLE, ref="ESC-1")
        else:
            with pytest.raises(NotAllowed):
                require(act, roles, PEOPLE, ref="ESC-1")


def test_a_refusal_names_who_can() -> None:
    with pytest.raises(NotAllowed) as caught:
        require(Act.RESOLVE, frozenset({Role.REPORTER}), PEOPLE, ref="ESC-7")
    assert str(caught.value) == "Only L2 Technical Support's responders, the assignee or a manager can resolve ESC-7."
    assert caught.value.who == ("U0ASSIGNEE", "U0BOSS")


def test_escalation_must_go_up_and_assess_business_impact() -> None:
    good = dict(reason="complexity", target_level="L3", business_impact="Payroll blocked for all of Finance.",
                troubleshooting="Restarted the pool.", notes="")
    assert validate_escalation(POLICY, "L2", **good).target_level == "L3"
    with pytest.raises(FormInvalid) as caught:
        validate_escalation(POLICY, "L2", **{**good, "target_level": "L1", "business_impact": "tbd", "reason": "bored"})
    assert set(caught.value.errors) == {"target_level", "business_impact", "reason"}


def test_the_default_target_is_the_next_level_and_there_is_none_above_l3() -> None:
    assert default_target(POLICY, "L1") == "L2"
    with pytest.raises(DomainError, match="last level"):
        default_target(POLICY, "L3")


def test_an_update_needs_a_status_and_a_promise_in_the_future() -> None:
    assert validate_update(status="Rolled back; watching.", next_steps="", next_update_by=NOW + timedelta(hours=1), now=NOW)
    with pytest.raises(FormInvalid) as caught:
        validate_update(status="ok", next_steps="x" * 3001, next_update_by=NOW, now=NOW)
    assert set(caught.value.errors) == {"status", "next_steps", "next_update_by"}


def test_resolving_needs_the_three_answers_and_a_critical_one_an_owner() -> None:
    with pytest.raises(FormInvalid) as caught:
        validate_resolution(resolution="fixed", root_cause="", lessons="n/a", postmortem_owner=None, postmortem_required=True)
    assert set(caught.value.errors) == {"resolution", "root_cause", "lessons", "postmortem_owner"}
    form = validate_resolution(resolution="Raised the pool limit.", root_cause="Leaking report job.",
                               lessons="Alert on saturation.", postmortem_owner="U1", postmortem_required=False)
    assert form.postmortem_owner is None


def test_critical_tickets_wait_for_a_post_mortem_and_others_close() -> None:
    assert landing(POLICY, TicketStatus.ACKNOWLEDGED, "L3", "critical", Move.RESOLVE, ref="ESC-1") is TicketStatus.POSTMORTEM_DUE
    assert landing(POLICY, TicketStatus.OPEN, "L2", "high", Move.RESOLVE, ref="ESC-1") is TicketStatus.CLOSED
    with pytest.raises(IllegalTransition, match="closed"):
        landing(POLICY, TicketStatus.CLOSED, "L2", "critical", Move.RESOLVE, ref="ESC-1")


def test_a_ticket_at_the_last_level_offers_no_escalation_and_its_escalation_is_refused() -> None:
    assert Move.ESCALATE in moves_offered(TicketStatus.OPEN, at_last_level=False)
    assert Move.ESCALATE not in moves_offered(TicketStatus.OPEN, at_last_level=True)
    assert moves_offered(TicketStatus.OPEN, at_last_level=True) == tuple(
        m for m in ALLOWED_MOVES[TicketStatus.OPEN] if m != Move.ESCALATE)
    assert landing(POLICY, TicketStatus.OPEN, "L2", "high", Move.ESCALATE, ref="ESC-1") is TicketStatus.OPEN
    with pytest.raises(DomainError, match="last level"):
        landing(POLICY, TicketStatus.OPEN, "L3", "high", Move.ESCALATE, ref="ESC-1")


def test_every_lifecycle_move_asks_permission_for_its_own_act() -> None:
    assert set(ACT_OF) == set(Move)
    assert {move.name for move in Move} == {act.name for act in ACT_OF.values()}


@pytest.mark.parametrize("url", ["", "wiki/pm", "javascript:alert(1)", "https://x y"])
def test_a_post_mortem_link_must_be_a_web_address(url: str) -> None:
    with pytest.raises(FormInvalid):
        validate_postmortem_link(url)


def test_entering_a_level_snapshots_its_sla_from_now_and_clears_the_acknowledgement() -> None:
    values = enter_level(L2, NOW, ZoneInfo("Europe/Berlin"))
    assert values == {"level_key": "L2", "level_entered_at": NOW, "response_sla_seconds": int(L2.response_sla.total_seconds()),
                      "response_due_at": NOW + L2.response_sla, "acknowledged_by": None, "acknowledged_at": None,
                      "assignee_id": None}
    assert values["response_due_at"].utcoffset() == timedelta(0)  # as the database gives it back


def test_the_moves_each_state_allows_come_from_the_transition_table() -> None:
    assert ALLOWED_MOVES[TicketStatus.CLOSED] == (Move.REOPEN,)
    assert Move.ACKNOWLEDGE in ALLOWED_MOVES[TicketStatus.OPEN] and Move.ACKNOWLEDGE not in ALLOWED_MOVES[TicketStatus.ACKNOWLEDGED]
    assert {(s, m) for s, moves in ALLOWED_MOVES.items() for m in moves} == set(TRANSITIONS)
