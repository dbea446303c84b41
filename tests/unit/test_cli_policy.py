"""`python -m bot check-policy` and `python -m bot preview`: policy files in, text and exit codes out; no
Slack token, no database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.policies import open_seed_text

ROOT = Path(__file__).resolve().parents[2]
AT = "2026-11-27T17:00+01:00"  # a Friday, 17:00 in Berlin


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env, no Slack secrets: only what the commands need."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("SLACK_", "POLICY_", "DATABASE_", "TIMEZONE")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TIMEZONE", "Europe/Berlin")


def good_policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(open_seed_text())
    return path


def test_check_policy_summarises_each_level_and_previews_each_trigger_and_first_category(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = good_policy(tmp_path)
    assert main(["check-policy", str(path), "--at", AT]) == 0
    out = capsys.readouterr().out
    assert f"{path}: OK. 3 levels, 5 triggers, 18 categories; times in Europe/Berlin." in out
    assert ("L3 Engineering: response SLA 15m, calendar time; channel #support-l3; responders: everyone; "
            "scope: 6 categories") in out
    assert out.count("Dry-run: critical · ") == 5  # one per trigger
    for category in ("Password resets and account lockouts", "Complex software configuration", "System architecture and design issues"):
        assert f"Dry-run: high · {category}" in out
    assert "• Fri 2026-11-27 17:15 CET (+15m): Response SLA breached: notice in #support-l3." in out
    assert "<!date^" not in out and "&lt;" not in out  # plain text, not mrkdwn
    assert out.rstrip().endswith("Follow-ups start at filing.")


def test_check_policy_reads_the_policy_file_setting_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = good_policy(tmp_path)
    monkeypatch.setenv("POLICY_FILE", str(path))
    assert main(["check-policy", "--at", AT]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: OK.")


def test_a_broken_policy_exits_non_zero_with_one_line_naming_the_key_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(open_seed_text().replace("response_sla: 8h", "response_sla: 8", 1))
    assert main(["check-policy", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Policy error: {path}:") and "levels.1.response_sla" in lines[0] and "needs a unit" in lines[0]
    line = int(lines[0].split(":")[2])
    assert "response_sla: 8" in path.read_text().splitlines()[line - 1]


def test_a_missing_policy_file_and_a_bad_setting_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["check-policy", str(tmp_path / "nope.yaml")]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert main(["preview", "high", "vpn", "--policy", str(good_policy(tmp_path))]) == 1
    assert capsys.readouterr().err.strip() == "Configuration error: TIMEZONE 'Mars/Olympus' is not an IANA time zone such as Europe/Berlin"


def test_preview_prints_the_timeline_as_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = good_policy(tmp_path)
    assert main(["preview", "medium", "password", "--policy", str(path), "--at", AT]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Dry-run: medium · Password resets and account lockouts"
    assert out[1].startswith("• Fri 2026-11-27 17:00 CET (at filing): Routed to L1 Help Desk as medium")
    assert "• Sat 2026-11-28 09:00 CET (+16h): Follow-up 1: a status update is asked for in the thread." in out
    assert out[-1].startswith("Assumes nobody acknowledges")


def test_preview_of_unknown_words_lists_the_choices_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preview", "high", "printer", "--policy", str(good_policy(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert "`printer` matches no category or trigger." in err and "• `data_loss`: Data loss or corruption" in err


def test_the_commands_run_as_a_module_without_a_slack_token(tmp_path: Path) -> None:
    path = good_policy(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "bot", "preview", "critical", "security_incident", "--policy", str(path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Dry-run: critical · Security incident or suspected breach")
