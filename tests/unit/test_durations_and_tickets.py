"""Durations, ticket refs, the transition table and acknowledgement timing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.durations import format_duration, parse_duration
from bot.domain.policy import Level
from bot.domain.tickets import (
    IllegalTransition, Move, TicketStatus, ack_timing, parse_ticket_ref, responders_may_act, ticket_ref, transition,
)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), (" 4H ", 14400)])
def test_policy_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "4", "h", "4 hours", "0m", "-5m", "1w"])
def test_malformed_durations_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match="15m|longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(45, "45s"), (720, "12m"), (14400, "4h"), (5400, "1h 30m"), (183600, "2d 3h")])
def test_durations_format_for_people(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_ticket_refs_round_trip_and_reject_other_text() -> None:
    assert ticket_ref(42) == "ESC-42"
    assert parse_ticket_ref(" esc-42 ") == 42
    assert parse_ticket_ref("ESC-") is None
    assert parse_ticket_ref("ESC-42x") is None


def test_acknowledging_is_legal_only_from_open() -> None:
    assert transition(TicketStatus.OPEN, Move.ACKNOWLEDGE) is TicketStatus.ACKNOWLEDGED
    for status in (TicketStatus.ACKNOWLEDGED, TicketStatus.CLOSED, TicketStatus.POSTMORTEM_DUE):
        with pytest.raises(IllegalTransition):
            transition(status, Move.ACKNOWLEDGE)


def test_a_closed_ticket_cannot_be_resolved_again() -> None:
    with pytest.raises(IllegalTransition, match="closed can't be resolved"):
        transition(TicketStatus.CLOSED, Move.RESOLVE)


def test_ack_timing_says_how_fast_against_the_sla() -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
    fast = ack_timing(start, start + timedelta(minutes=12), timedelta(hours=4))
    assert fast.within_sla and fast.summary == "after 12m — within the 4h SLA"
    slow = ack_timing(start, start + timedelta(minutes=20), timedelta(minutes=15))
    assert not slow.within_sla and slow.summary == "after 20m — outside the 15m SLA"


def test_only_a_levels_responders_may_act_and_groups_count() -> None:
    level = Level(key="L2", name="Technical Support", response_sla=timedelta(hours=8), channel="#l2", responders=("U1", "S9"))
    assert responders_may_act(level, "U1", frozenset())
    assert responders_may_act(level, "U7", frozenset({"U7"}))
    assert not responders_may_act(level, "U2", frozenset({"U7"}))


def test_a_level_without_responders_lets_nobody_act_unless_opened_to_everyone() -> None:
    level = Level(key="L1", name="Help Desk", response_sla=timedelta(hours=4), channel="#l1")
    assert not responders_may_act(level, "U123", frozenset())
    assert not responders_may_act(level, "U123", frozenset({"U9"}))
    opened = Level(key="L1", name="Help Desk", response_sla=timedelta(hours=4), channel="#l1", open_to_everyone=True)
    assert responders_may_act(opened, "U123", frozenset())
