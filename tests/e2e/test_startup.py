"""`python app.py` as an operator runs it: clear one-line errors, or a bot serving /slack/events on waitress."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fakeslack import FakeSlack, SlackSender
from tests.e2e.harness import SIGNING_SECRET, start_fake_slack, write_policy

ROOT = Path(__file__).resolve().parents[2]


def run_app(cwd: Path, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "POLICY_", "SMTP_"))}
    return subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=timeout)


def test_without_a_dot_env_start_up_names_the_missing_setting_and_the_sandbox(tmp_path: Path) -> None:
    result = run_app(tmp_path, {})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: SLACK_BOT_TOKEN is required (set it in .env or the environment; see .env.example)."
        " To try the bot without Slack, run `make sandbox`"
    )


def test_an_invalid_policy_stops_start_up_with_the_line_and_key(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text((ROOT / "policy.yaml").read_text().replace("response_sla: 4h", "response_sla: soon"))
    result = run_app(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("Policy error: policy.yaml:10: levels.0.response_sla 'soon' is not a duration")


def test_the_shipped_policy_fails_closed_until_the_admin_names_the_responders(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text((ROOT / "policy.yaml").read_text())
    result = run_app(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert "\n" not in line
    assert line.startswith("Policy error: policy.yaml:12: levels.0.responders names nobody: list who answers for L1")
    assert "`responders: everyone`" in line


def test_a_token_slack_refuses_is_named_at_start_up(tmp_path: Path) -> None:
    fake = start_fake_slack()
    try:
        write_policy(tmp_path)
        result = run_app(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake.api_url})
    finally:
        fake.stop()
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Configuration error: SLACK_BOT_TOKEN was refused by Slack")
    assert "(invalid_auth)" in result.stderr.strip().splitlines()[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(tmp_path: Path, fake: FakeSlack) -> tuple[subprocess.Popen[str], int]:
    """`python app.py` in HTTP mode against the fake Slack, as an operator starts it; returns it and its port."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "POLICY_"))}
    env.update(SLACK_BOT_TOKEN=fake.bot_token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=fake.api_url,
               POLICY_FILE=str(write_policy(tmp_path)), HOST="127.0.0.1", PORT=str(port))
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def test_the_run_command_migrates_and_serves_slack_events_over_http(tmp_path: Path) -> None:
    fake = start_fake_slack()
    process, port = launch(tmp_path, fake)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    assert response.read() == b"ok\n"
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"bot did not start: {process.stdout.read() if process.stdout else ''}")
                time.sleep(0.1)
        reply = SlackSender(f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, fake).slash_command("U0AGENT", "")
        assert reply.status == 200
        fake.wait_for("views.open", timeout=10)
        assert (tmp_path / "escalations.db").exists()  # the embedded SQLite default, migrated to head
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
        fake.stop()
    assert "waitress" in output.lower() or "listening on" in output


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_with_slack_down_the_bot_serves_says_not_ready_and_is_ready_once_slack_answers(tmp_path: Path) -> None:
    fake = start_fake_slack()
    fake.outage(503)
    process, port = launch(tmp_path, fake)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _safe_get(base + "/healthz")[0] != 200:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "never answered /healthz"
            time.sleep(0.1)
        status, body = _get(base + "/readyz")
        assert status == 503 and "slack: not answering" in body, body
        time.sleep(2.5)  # a few attempts, one log line each
        fake.end_outage()
        deadline = time.monotonic() + 20
        while (answer := _get(base + "/readyz"))[0] != 200:
            assert time.monotonic() < deadline, f"never ready: {answer}"
            time.sleep(0.2)
        assert answer[1] == "ready\n"
        reply = SlackSender(base + "/slack/events", SIGNING_SECRET, fake).slash_command("U0AGENT", "")
        assert reply.status == 200
        fake.wait_for("views.open", timeout=10)
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
        fake.stop()
    assert "Traceback" not in output, output
    attempts = [line for line in output.splitlines() if "Slack is not answering at" in line]
    assert len(attempts) >= 2 and "Slack answers at" in output, output


def _safe_get(url: str) -> tuple[int, str]:
    try:
        return _get(url)
    except OSError:
        return 0, ""
