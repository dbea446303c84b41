"""Routing rules from the seed: category -> level, automatic triggers -> L3 critical, the 25% rule."""

from __future__ import annotations

import pytest

from bot.domain.policy import OTHER_CATEGORY
from bot.domain.routing import exceeds_outage_threshold, route
from bot.domain.severity import Severity
from tests.policies import open_seed_policy

POLICY = open_seed_policy()

SEED_LEVELS = {
    "L1": [
        "Password resets and account lockouts",
        "Basic software installation and configuration",
        "Hardware setup and connectivity issues",
        "Email and calendar problems",
        "VPN connection troubleshooting",
        "Ticket routing to appropriate teams",
    ],
    "L2": [
        "Complex software configuration",
        "Network connectivity and infrastructure issues",
        "Server and application troubleshooting",
        "Database connectivity problems",
        "Security software and firewall issues",
        "Custom application support",
    ],
    "L3": [
        "System architecture and design issues",
        "Critical system outages and failures",
        "Security incidents and breaches",
        "Database corruption and recovery",
        "Infrastructure scaling and performance",
        "Third-party integrations and APIs",
    ],
}


@pytest.mark.parametrize(("level", "category"), [(lv, c) for lv, cats in SEED_LEVELS.items() for c in cats])
def test_every_seed_category_routes_to_its_level_keeping_the_chosen_severity(level: str, category: str) -> None:
    decision = route(POLICY, category=category, severity=Severity.MEDIUM, trigger_keys=set(), affected_users=3)
    assert decision.level_key == level
    assert decision.severity is Severity.MEDIUM
    assert not decision.automatic


def test_other_category_starts_at_the_help_desk() -> None:
    decision = route(POLICY, category=OTHER_CATEGORY, severity=Severity.LOW, trigger_keys=set(), affected_users=0)
    assert decision.level_key == "L1"


@pytest.mark.parametrize("trigger", ["security_incident", "widespread_outage", "data_loss", "critical_app_failure", "customer_facing"])
def test_each_automatic_trigger_goes_straight_to_l3_as_critical(trigger: str) -> None:
    decision = route(POLICY, category="Password resets and account lockouts", severity=Severity.LOW,
                     trigger_keys={trigger}, affected_users=1)
    assert decision.level_key == "L3"
    assert decision.severity is Severity.CRITICAL
    assert [t.key for t in decision.triggers] == [trigger]


@pytest.mark.parametrize(("affected", "outage"), [(0, False), (249, False), (250, False), (251, True), (1000, True)])
def test_more_than_25_percent_affected_counts_as_a_widespread_outage(affected: int, outage: bool) -> None:
    assert exceeds_outage_threshold(POLICY, affected) is outage
    decision = route(POLICY, category="Email and calendar problems", severity=Severity.MEDIUM,
                     trigger_keys=set(), affected_users=affected)
    assert (decision.level_key, decision.severity) == (("L3", Severity.CRITICAL) if outage else ("L1", Severity.MEDIUM))
    assert ("widespread_outage" in [t.key for t in decision.triggers]) is outage


def test_security_incident_notifies_the_security_contact() -> None:
    assert POLICY.trigger("security_incident").notify == ("security",)
    assert POLICY.contact("security").phone == "1-800-SEC-HELP"
