"""Start-up validation: one line naming the setting, or the policy file's line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.policy_file import PolicyError, load_policy, parse_policy
from tests.policies import open_seed_text

SHIPPED = Path("policy.yaml").read_text()
DEFAULT = open_seed_text()
BASE = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "_env_file": None}


def test_the_default_policy_reproduces_the_seed() -> None:
    policy = parse_policy(DEFAULT)
    assert [(lv.key, lv.name, lv.response_sla.total_seconds()) for lv in policy.levels] == [
        ("L1", "Help Desk", 4 * 3600), ("L2", "Technical Support", 8 * 3600), ("L3", "Engineering", 15 * 60),
    ]
    assert policy.followups.critical.total_seconds() == 7200 and policy.followups.standard.days == 1
    assert policy.management.notify_after.total_seconds() == 4 * 3600
    assert policy.outage_threshold_percent == 25 and policy.total_users == 1000
    assert {c.key: (c.phone or c.email) for c in policy.contacts} == {
        "l3_oncall": "1-800-ENG-HELP", "security": "1-800-SEC-HELP", "infra": "infra-oncall@company.com",
        "dba": "dba-oncall@company.com", "support_manager": "ext 7777", "it_director": "ext 8888",
    }
    assert [r.key for r in policy.reasons] == ["sla_unresolved", "complexity", "systemic", "customer_executive", "regulatory"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("response_sla: 8h", "response_sla: 8", "policy.yaml:26: levels.1.response_sla 8 needs a unit"),
        ("  standard_at:", "  standrd_at:", "followups.standrd_at is not a known policy key"),
        ("channel: \"#support-l2\"", "channel: support", "levels.1.channel 'support' must be a channel ID"),
        ("responders: everyone             # REQUIRED", "responders: [bob]  #", "levels.0.responders 'bob' is not a Slack user ID"),
        ("notify: [dba]", "notify: [dbx]", "notifies unknown contact 'dbx'"),
        ("  total_users: 1000", "  total_users: -1", "organization.total_users"),
    ],
)
def test_an_invalid_policy_names_the_line_and_key(old: str, new: str, expected: str) -> None:
    assert old in DEFAULT
    with pytest.raises(PolicyError) as caught:
        parse_policy(DEFAULT.replace(old, new, 1))
    message = str(caught.value)
    assert expected in message and "\n" not in message


def test_the_shipped_policy_refuses_to_start_until_the_admin_names_who_may_act() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(SHIPPED)
    assert str(caught.value).startswith("Policy error: policy.yaml:12: levels.0.responders names nobody: list who answers for L1")
    assert "responders: everyone" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("responders", "line", "expected"),
    [
        ("responders: []", 28, "levels.1.responders names nobody"),
        ("responders: null", 28, "levels.1.responders names nobody"),
        ("responders: [everyone]", 28, "levels.1.responders write `responders: everyone` on its own"),
        ("responders: anyone", 28, "levels.1.responders must be a list of Slack user IDs"),
        ("responders: [U0L2ENG, 7]", 28, "levels.1.responders must be a list of Slack user IDs"),
    ],
)
def test_a_level_that_names_nobody_is_a_start_up_error_naming_file_line_and_key(responders: str, line: int, expected: str) -> None:
    text = SHIPPED.replace("responders: []", "responders: [U0L1ENG]", 1).replace("responders: []", "L2_RESPONDERS", 1)
    text = text.replace("responders: []", "responders: [U0L3ENG]", 1).replace("L2_RESPONDERS", responders)
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="/etc/bot/policy.yaml")
    assert str(caught.value).startswith(f"Policy error: /etc/bot/policy.yaml:{line}: {expected}"), str(caught.value)


def test_a_level_without_a_responders_key_is_an_error_at_the_levels_line() -> None:
    text = DEFAULT.replace("    responders: everyone             # REQUIRED (start-up refuses an empty list): the Slack user IDs (U…) and/or\n", "", 1)
    with pytest.raises(PolicyError, match=r"^Policy error: policy.yaml:8: levels.0.responders names nobody"):
        parse_policy(text)


def test_everyone_opens_a_level_explicitly_and_a_list_names_people() -> None:
    text = SHIPPED.replace("responders: []", "responders: everyone", 1).replace("responders: []", "responders: [U0L2ENG, S0TEAM]", 1)
    policy = parse_policy(text.replace("responders: []", "responders: [U0L3ENG]", 1))
    assert policy.level("L1").open_to_everyone and policy.level("L1").responders == ()
    assert not policy.level("L2").open_to_everyone and policy.level("L2").responders == ("U0L2ENG", "S0TEAM")


def test_malformed_yaml_and_a_missing_file_are_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"policy.yaml:\d+: not valid YAML"):
        parse_policy("levels: [")
    with pytest.raises(PolicyError, match="POLICY_FILE .* does not exist"):
        load_policy(tmp_path / "nope.yaml")


def test_settings_defaults_match_the_product_table() -> None:
    settings = Settings(**BASE)
    assert settings.database_url == "sqlite:///escalations.db"
    assert settings.policy_file == "policy.yaml" and settings.port == 3000 and settings.host == "0.0.0.0"
    assert settings.slash_command == "/escalate" and settings.timezone == "UTC"
    assert settings.scheduler_interval.total_seconds() == 10 and not settings.socket_mode and not settings.email_enabled
    assert (settings.notice_burst_limit, settings.notice_burst_window.total_seconds()) == (5, 60)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"slack_bot_token": None}, "SLACK_BOT_TOKEN is required"),
        ({"slack_bot_token": "xoxp-1"}, "SLACK_BOT_TOKEN must be a bot token"),
        ({"slack_signing_secret": None}, "SLACK_SIGNING_SECRET is required in HTTP mode"),
        ({"slack_app_token": "bad"}, "SLACK_APP_TOKEN must be an app-level token"),
        ({"port": "http"}, "PORT"),
        ({"timezone": "Mars/Olympus"}, "TIMEZONE 'Mars/Olympus' is not an IANA time zone"),
        ({"scheduler_interval": "soon"}, "SCHEDULER_INTERVAL"),
        ({"database_url": "mysql://x"}, "DATABASE_URL must be a sqlite"),
        ({"slash_command": "escalate"}, "SLASH_COMMAND must look like /escalate"),
        ({"notice_burst_limit": "-1"}, "NOTICE_BURST_LIMIT"),
        ({"notice_burst_window": "1s"}, "NOTICE_BURST_WINDOW must be between 10s and 1h"),
        ({"notice_burst_window": "often"}, "NOTICE_BURST_WINDOW"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(overrides: dict, expected: str) -> None:
    values = {**BASE, **overrides}
    values = {k: v for k, v in values.items() if v is not None or k == "_env_file"}
    with pytest.raises(ConfigError) as caught:
        load_settings(**values)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_socket_mode_needs_no_signing_secret_and_postgres_urls_get_the_psycopg_driver() -> None:
    settings = Settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1", database_url="postgres://u@h/db", _env_file=None)
    assert settings.socket_mode and settings.database_url == "postgresql+psycopg://u@h/db"


def test_business_hours_are_optional_per_level_and_validated() -> None:
    with_hours = DEFAULT.replace("    hotline: l3_oncall", '    hotline: l3_oncall\n    business_hours: {days: [mon, tue, wed, thu, fri], start: "08:00", end: "18:00"}', 1)
    level = parse_policy(with_hours).level("L3")
    assert level.business_hours is not None and level.business_hours.days == frozenset(range(5))
    assert parse_policy(DEFAULT).level("L1").business_hours is None
    with pytest.raises(PolicyError, match="start must be before end"):
        parse_policy(DEFAULT.replace("    hotline: l3_oncall", '    hotline: l3_oncall\n    business_hours: {start: "18:00", end: "08:00"}', 1))
    with pytest.raises(PolicyError, match="days must be"):
        parse_policy(DEFAULT.replace("    hotline: l3_oncall", "    hotline: l3_oncall\n    business_hours: {days: [funday]}", 1))


def test_the_weekly_digest_defaults_to_monday_nine_in_the_reports_channel_and_bad_keys_are_named() -> None:
    from datetime import time

    reports = parse_policy(open_seed_text(reports=True)).reports
    assert (reports.channel, reports.weekday, reports.at, reports.weeks) == ("#support-reports", 0, time(9, 0), 8)
    assert parse_policy(open_seed_text().replace('weekly: "monday 09:00"', 'weekly: "Fri 17:30"')).reports.weekday == 4
    assert parse_policy(open_seed_text()).reports.channel is None  # channel: null, no digest
    for old, new, named in (('weekly: "monday 09:00"', 'weekly: "someday 09:00"', "reports.weekly"),
                            ('weekly: "monday 09:00"', 'weekly: "monday 25:00"', "reports.weekly"),
                            ('channel: null', 'channel: "reports"', "reports.channel"),
                            ("weeks: 8 ", "weeks: 1 ", "reports.weeks")):
        assert old in open_seed_text()
        with pytest.raises(PolicyError, match=rf"^Policy error: policy.yaml:\d+: {named} "):
            parse_policy(open_seed_text().replace(old, new))
