"""The policy dry-run against hand-computed timelines (pure: no database, no Slack)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.preview import Preview, Problem, PreviewRequest, Refusal, StepKind, Subject, dry_run, find_subject, read_preview
from bot.domain.severity import Severity
from bot.policy_file import parse_policy
from tests.policies import open_seed_policy, open_seed_text

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def staffed_policy(*, business_hours_l2: bool = False):
    """The seed with named L3 responders (a user and a group) and a manager."""
    text = open_seed_text()
    l3 = text.index("key: L3")
    text = text[:l3] + text[l3:].replace("responders: everyone", "responders: [U0L3ONE, S0L3TEAM]", 1)
    text = text.replace("managers: []", "managers: [U0BOSS]")
    if business_hours_l2:
        text = text.replace("    response_sla: 8h\n",
                            '    response_sla: 8h\n    business_hours: {days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00"}\n')
    return parse_policy(text)


def times(preview: Preview, kind: StepKind) -> list[datetime]:
    return [step.at for step in preview.steps if step.kind is kind]


def kinds(preview: Preview) -> list[StepKind]:
    return [step.kind for step in preview.steps]


def test_a_security_incident_goes_to_l3_as_critical_with_its_15_minute_clock_and_two_hourly_followups() -> None:
    policy = staffed_policy()
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    preview = dry_run(policy, severity=Severity.LOW, trigger=policy.trigger("security_incident"), now=now, tz=BERLIN)

    assert preview.level.key == "L3" and preview.severity is Severity.CRITICAL
    assert preview.routing.reason == "automatic escalation: Security incident or suspected breach"
    assert preview.response_due == datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
    assert times(preview, StepKind.PREBREACH) == [datetime(2026, 11, 27, 9, 11, 15, tzinfo=UTC)]  # 75% of 15m
    assert times(preview, StepKind.BREACH) == [datetime(2026, 11, 27, 9, 15, tzinfo=UTC)]
    assert times(preview, StepKind.ESCALATION_SUGGESTED) == []  # L3 is the last level
    assert times(preview, StepKind.FOLLOWUP) == [datetime(2026, 11, 27, h, 0, tzinfo=UTC) for h in (11, 13, 15)]
    assert times(preview, StepKind.MANAGER_NOTICE) == [datetime(2026, 11, 27, 13, 0, tzinfo=UTC)]
    page = next(s for s in preview.steps if s.kind is StepKind.PAGE)
    assert page.people == ("U0L3ONE", "S0L3TEAM") and page.at == now
    named = next(s for s in preview.steps if s.kind is StepKind.CONTACT_NAMED)
    assert named.contacts[0].key == "security"  # no Slack id: named in the ticket's thread
    hotline = next(s for s in preview.steps if s.kind is StepKind.HOTLINE)
    assert [c.key for c in hotline.contacts] == ["l3_oncall", "security"]
    breach = next(s for s in preview.steps if s.kind is StepKind.BREACH)
    assert breach.channel == "#support-l3" and breach.people == ("U0BOSS",) and breach.offset == timedelta(minutes=15)
    postmortem = preview.steps[-1]
    assert postmortem.kind is StepKind.POSTMORTEM and postmortem.at is None and postmortem.due_after == timedelta(days=5)
    timed = [s.at for s in preview.steps if s.at is not None]
    assert timed == sorted(timed)


def test_a_standard_ticket_is_asked_daily_at_nine_local_across_the_autumn_clock_change() -> None:
    policy = open_seed_policy()
    now = datetime(2026, 10, 23, 10, 0, tzinfo=UTC)  # Friday, 12:00 CEST; clocks go back on Sunday the 25th
    preview = dry_run(policy, severity=Severity.MEDIUM, category="VPN connection troubleshooting", now=now, tz=BERLIN)

    assert preview.level.key == "L1" and preview.severity is Severity.MEDIUM
    assert "in L1 Help Desk's scope" in preview.routing.reason
    assert times(preview, StepKind.PREBREACH) == [datetime(2026, 10, 23, 13, 0, tzinfo=UTC)]
    assert times(preview, StepKind.BREACH) == [datetime(2026, 10, 23, 14, 0, tzinfo=UTC)]
    assert times(preview, StepKind.ESCALATION_SUGGESTED) == [datetime(2026, 10, 23, 14, 0, tzinfo=UTC)]
    assert next(s for s in preview.steps if s.kind is StepKind.ESCALATION_SUGGESTED).level.key == "L2"
    assert times(preview, StepKind.FOLLOWUP) == [
        datetime(2026, 10, 24, 7, 0, tzinfo=UTC),  # Saturday 09:00 CEST
        datetime(2026, 10, 25, 8, 0, tzinfo=UTC),  # Sunday 09:00 CET
        datetime(2026, 10, 26, 8, 0, tzinfo=UTC),
    ]
    assert StepKind.PAGE not in kinds(preview) and StepKind.HOTLINE not in kinds(preview)
    assert StepKind.POSTMORTEM not in kinds(preview)  # required for critical only


def test_a_level_with_business_hours_filed_on_friday_evening_is_due_on_monday() -> None:
    policy = staffed_policy(business_hours_l2=True)
    now = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # Friday 18:00 in Berlin, after hours
    preview = dry_run(policy, severity=Severity.HIGH, category="Database connectivity problems", now=now, tz=BERLIN)

    assert preview.level.key == "L2"
    # 8 business hours from Monday 09:00 CET: Monday 17:00 CET; 75% (6h): Monday 15:00 CET.
    assert preview.response_due == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert times(preview, StepKind.PREBREACH) == [datetime(2026, 11, 30, 14, 0, tzinfo=UTC)]
    assert times(preview, StepKind.ESCALATION_SUGGESTED) == [datetime(2026, 11, 30, 16, 0, tzinfo=UTC)]
    # The manager notice counts calendar time from filing, so it comes long before the breach.
    assert times(preview, StepKind.MANAGER_NOTICE) == [datetime(2026, 11, 27, 21, 0, tzinfo=UTC)]
    assert kinds(preview).index(StepKind.MANAGER_NOTICE) < kinds(preview).index(StepKind.PREBREACH)
    assert times(preview, StepKind.FOLLOWUP)[0] == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)  # Saturday 09:00 CET


def test_without_a_prebreach_warning_the_preview_shows_none() -> None:
    policy = dataclasses.replace(open_seed_policy(), prebreach_fraction=None)
    preview = dry_run(policy, severity=Severity.HIGH, category="Other", now=datetime(2026, 11, 27, 9, 0, tzinfo=UTC), tz=BERLIN)
    assert StepKind.PREBREACH not in kinds(preview)
    assert preview.level.key == "L1" and "starts at L1" in preview.routing.reason


def test_many_affected_users_make_the_preview_a_widespread_outage() -> None:
    policy = open_seed_policy()
    preview = dry_run(policy, severity=Severity.LOW, category="VPN connection troubleshooting", affected_users=400,
                      now=datetime(2026, 11, 27, 9, 0, tzinfo=UTC), tz=BERLIN)
    assert preview.level.key == "L3" and [t.key for t in preview.routing.triggers] == ["widespread_outage"]


def test_categories_and_triggers_are_found_loosely_and_ambiguity_is_refused() -> None:
    policy = open_seed_policy()
    assert find_subject(policy, "SECURITY_INCIDENT") == Subject(trigger=policy.trigger("security_incident"))
    assert find_subject(policy, "data loss or corruption") == Subject(trigger=policy.trigger("data_loss"))
    assert find_subject(policy, "vpn") == Subject(category="VPN connection troubleshooting")
    assert find_subject(policy, "firewall") == Subject(category="Security software and firewall issues")
    assert find_subject(policy, "other") == Subject(category="Other")
    ambiguous = find_subject(policy, "database")
    assert isinstance(ambiguous, tuple) and {s.category for s in ambiguous} == {
        "Database connectivity problems", "Database corruption and recovery"}
    assert find_subject(policy, "no such thing") == ()


def test_bad_words_are_refusals_that_list_the_choices() -> None:
    policy = open_seed_policy()
    assert read_preview(policy, ["Critical", "security_incident"]) == PreviewRequest(
        Severity.CRITICAL, Subject(trigger=policy.trigger("security_incident")))
    usage = read_preview(policy, ["critical"])
    assert isinstance(usage, Refusal) and usage.problem is Problem.USAGE and len(usage.categories) == 19
    severity = read_preview(policy, ["urgent", "vpn"])
    assert isinstance(severity, Refusal) and severity.problem is Problem.SEVERITY and "critical" in severity.severities
    unknown = read_preview(policy, ["high", "printer", "on", "fire"])
    assert isinstance(unknown, Refusal) and unknown.problem is Problem.UNKNOWN and unknown.text == "printer on fire"
    assert len(unknown.triggers) == 5
    ambiguous = read_preview(policy, ["high", "security"])
    assert isinstance(ambiguous, Refusal) and ambiguous.problem is Problem.AMBIGUOUS
    assert [t.key for t in ambiguous.triggers] == ["security_incident"]
    assert set(ambiguous.categories) == {"Security software and firewall issues", "Security incidents and breaches"}
