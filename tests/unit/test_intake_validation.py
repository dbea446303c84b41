"""The seed's documentation rules, as the modal enforces them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain.intake import IntakeDraft, IntakeInvalid, validate_intake
from bot.domain.severity import Severity
from tests.policies import open_seed_policy

POLICY = open_seed_policy()
GOOD = IntakeDraft(
    title="Payroll returns 502",
    category="Server and application troubleshooting",
    severity="high",
    description="Payroll web app returns 502 for every request since 08:10.",
    error_messages="502 Bad Gateway",
    troubleshooting="Restarted the app pool, checked the load balancer.",
    business_impact="Finance cannot run the monthly payroll due today.",
    affected_users="40",
)


def test_a_complete_draft_validates() -> None:
    form = validate_intake(GOOD, POLICY)
    assert form.severity is Severity.HIGH and form.affected_users == 40


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"category": "Knitting"}, "category"),
        ({"severity": "urgent"}, "severity"),
        ({"description": "broken"}, "description"),
        ({"error_messages": ""}, "error_messages"),
        ({"troubleshooting": "none"}, "troubleshooting"),
        ({"business_impact": "n/a"}, "business_impact"),
        ({"business_impact": "some users"}, "business_impact"),
        ({"affected_users": "-3"}, "affected_users"),
        ({"affected_users": "2.5"}, "affected_users"),
        ({"affected_users": "many"}, "affected_users"),
        ({"affected_users": ""}, "affected_users"),
        ({"log_links": "ftp://x javascript:alert(1)"}, "log_links"),
        ({"triggers": frozenset({"made_up"})}, "triggers"),
    ],
)
def test_each_bad_field_gets_its_own_message(change: dict, field: str) -> None:
    with pytest.raises(IntakeInvalid) as caught:
        validate_intake(replace(GOOD, **change), POLICY)
    assert list(caught.value.errors) == [field]


def test_an_empty_draft_lists_every_required_field() -> None:
    with pytest.raises(IntakeInvalid) as caught:
        validate_intake(IntakeDraft(), POLICY)
    assert set(caught.value.errors) == {
        "title", "category", "severity", "description", "error_messages", "troubleshooting", "business_impact", "affected_users",
    }


def test_zero_affected_users_and_thousands_separators_are_accepted() -> None:
    assert validate_intake(replace(GOOD, affected_users="0"), POLICY).affected_users == 0
    assert validate_intake(replace(GOOD, affected_users="1,200"), POLICY).affected_users == 1200
