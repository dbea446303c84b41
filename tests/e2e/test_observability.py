"""Operators can see it: /metrics (ack latency, state gauges, delivery lag, retries, dead letters, Slack
errors), the Socket Mode side listener, JSON log lines, multiprocess metrics.

The real bot over HTTP against fake Slack, and `python app.py` as an operator runs it. The instruments
are per process, so in-process tests compare a scrape before and after.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.clock import ManualClock
from bot.services.outbox import relay_all
from fakeslack import FakeSlack, SlackSender, SocketSender
from models import OutboxMessage
from tests.e2e.harness import GOOD_FORM, SIGNING_SECRET, RunningBot, file_ticket, open_modal, press, start_fake_slack, write_policy

ROOT = Path(__file__).resolve().parents[2]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


def scrape(base_url: str) -> Samples:
    status, content_type, body = get(base_url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    return parse(body)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def outbox_rows(bot: RunningBot) -> list[OutboxMessage]:
    with bot.runtime.deps.services.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# -- /metrics over the HTTP port --------------------------------------------------------------------


def test_acks_of_a_command_a_modal_and_a_button_are_timed_per_surface(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    before = scrape(bot.server.url)
    card = file_ticket(slack, fake, bot)  # /escalate, then the modal's submission
    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)
    after = scrape(bot.server.url)
    for surface in ("slash_command", "view_submission", "block_action"):
        count = "escalation_ack_latency_seconds_count"
        assert value(after, count, surface=surface) == value(before, count, surface=surface) + 1, surface
        assert value(after, "escalation_ack_latency_seconds_bucket", surface=surface, le="3.0") >= 1  # within Slack's 3 s
        assert value(after, "escalation_ack_latency_seconds_sum", surface=surface) > value(before, "escalation_ack_latency_seconds_sum", surface=surface)
    assert card["channel"]


def test_the_gauges_show_tickets_by_level_and_status_and_timers_once_overdue(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot)  # high severity: L2
    samples = scrape(bot.server.url)
    assert value(samples, "escalation_state_up") == 1
    assert value(samples, "escalation_tickets", level="L2", status="open") == 1
    assert value(samples, "escalation_outbox_pending", kind="notice") == 0
    assert value(samples, "escalation_outbox_oldest_due_age_seconds") == 0
    assert not [k for k in samples if k[0] == "escalation_timers_overdue"]  # nothing due yet
    clock.advance(timedelta(hours=9))  # past the response SLA (8 h); no sweep runs in this test
    samples = scrape(bot.server.url)
    assert value(samples, "escalation_timers_overdue", kind="response_breach") == 1
    assert value(samples, "escalation_timers_overdue", kind="prebreach") == 1
    assert value(samples, "escalation_timers_overdue", kind="followup") == 0  # due tomorrow
    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)
    fake.wait_until(lambda: value(scrape(bot.server.url), "escalation_tickets", level="L2", status="acknowledged") == 1,
                    message="the gauge follows the ticket")


def test_an_outage_shows_as_retries_by_reason_slack_errors_by_method_and_the_delivery_lag_after_recovery(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot)
    before = scrape(bot.server.url)
    fake.outage(503)
    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)

    def all_failed() -> bool:  # the click's own relay has tried every row and let go of it
        waiting = [r for r in outbox_rows(bot) if r.status == "pending"]
        return bool(waiting) and all(r.last_error == "http_503" and r.claimed_until is None for r in waiting)

    fake.wait_until(all_failed, message="the click's messages failed and wait to be retried")
    during = scrape(bot.server.url)
    assert value(during, "escalation_outbox_retries_total", reason="http_503") > value(before, "escalation_outbox_retries_total", reason="http_503")
    assert value(during, "escalation_slack_api_errors_total", method="chat.update", code="http_503") > \
        value(before, "escalation_slack_api_errors_total", method="chat.update", code="http_503")
    assert value(during, "escalation_outbox_pending", kind="card_update") == 1
    fake.end_outage()
    clock.advance(timedelta(seconds=40))  # Slack was down for 40 s of the bot's time
    assert value(scrape(bot.server.url), "escalation_outbox_oldest_due_age_seconds") >= 38
    assert relay_all(bot.runtime.deps.services) == value(during, "escalation_outbox_pending", kind="card_update") + \
        value(during, "escalation_outbox_pending", kind="notice")  # the scheduler's relay job sends them all
    after = scrape(bot.server.url)
    lag = "escalation_delivery_lag_seconds"
    assert value(after, lag + "_count", kind="card_update") > value(before, lag + "_count", kind="card_update")
    late = value(after, lag + "_count", kind="card_update") - value(after, lag + "_bucket", kind="card_update", le="30.0")
    assert late - (value(before, lag + "_count", kind="card_update") - value(before, lag + "_bucket", kind="card_update", le="30.0")) >= 1
    assert value(after, "escalation_outbox_pending", kind="card_update") == 0


def test_a_refused_post_is_a_dead_letter_counted_by_reason_and_logged_with_its_ticket(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    before = scrape(bot.server.url)
    fake.fail("chat.postMessage", error="channel_not_found")
    view = open_modal(slack, fake)
    with caplog.at_level(logging.INFO):
        assert slack.view_submission("U0AGENT", view, GOOD_FORM).status == 200
        fake.wait_until(lambda: [r for r in outbox_rows(bot) if r.status == "dead"], message="a dead letter")
    after = scrape(bot.server.url)
    dead = "escalation_outbox_dead_letters_total"
    assert value(after, dead, reason="channel_not_found") == value(before, dead, reason="channel_not_found") + 1
    errors = "escalation_slack_api_errors_total"
    assert value(after, errors, method="chat.postMessage", code="channel_not_found") == \
        value(before, errors, method="chat.postMessage", code="channel_not_found") + 1
    (logged,) = [r for r in caplog.records if "dead letter" in r.getMessage()]
    assert getattr(logged, "ticket_id") == 1
    (failed_call,) = [r for r in caplog.records if r.getMessage() == "slack chat.postMessage failed: channel_not_found"]
    assert len(getattr(failed_call, "slack_req_id")) == 32  # the x-slack-req-id header of Slack's answer


def test_metrics_are_not_served_to_slack_s_path_and_other_paths_stay_404(bot: RunningBot) -> None:
    assert get(bot.server.url + "/slack/events")[0] == 405
    assert get(bot.server.url + "/metrics/x")[0] == 404
    status, _, body = get(bot.server.url + "/metrics")
    assert status == 200 and "# TYPE escalation_ack_latency_seconds histogram" in body


# -- python app.py: Socket Mode's side listener, JSON logs, settings, multiprocess ---------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(tmp_path: Path, fake: FakeSlack, **env: str) -> tuple[subprocess.Popen[str], str]:
    """`python app.py` against the fake Slack (HTTP mode unless SLACK_APP_TOKEN is given); returns it and its base URL."""
    port = free_port()
    values = {k: v for k, v in os.environ.items()
              if not k.startswith(("SLACK_", "DATABASE_", "POLICY_", "LOG_", "PROMETHEUS_")) and k.lower() not in
              ("https_proxy", "http_proxy")}  # slack_sdk's Socket Mode client can't reach loopback through a proxy
    values.update({"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake.api_url,
                   "POLICY_FILE": str(write_policy(tmp_path)), "HOST": "127.0.0.1", "PORT": str(port), **env})
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=values,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if get(base + "/healthz")[0] == 200:
                return process, base
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"bot did not start: {process.communicate()[0]}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    return process.communicate(timeout=15)[0]


def test_in_socket_mode_a_side_listener_answers_readyz_and_metrics_but_no_slack_endpoint(tmp_path: Path) -> None:
    fake = start_fake_slack()
    process, base = launch(tmp_path, fake, SLACK_APP_TOKEN=fake.app_token, SLACK_SIGNING_SECRET="")
    try:
        fake.wait_for_socket(timeout=20)
        fake.wait_until(lambda: get(base + "/readyz")[:3:2] == (200, "ready\n"), timeout=20, message="ready")
        assert SocketSender(fake).slash_command("U0AGENT", "") == {}
        fake.wait_for("views.open", timeout=10)
        samples = scrape(base)
        assert value(samples, "escalation_ack_latency_seconds_count", surface="slash_command") == 1  # timed over the socket too
        assert value(samples, "escalation_state_up") == 1
        assert get(base + "/slack/events")[0] == 404  # Slack's requests come over the WebSocket only
    finally:
        output = stop(process)
        fake.stop()
    assert "Traceback" not in output, output


def test_log_format_json_writes_one_parseable_object_a_line_with_request_and_slack_ids(tmp_path: Path) -> None:
    fake = start_fake_slack()
    process, base = launch(tmp_path, fake, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    try:
        reply = SlackSender(base + "/slack/events", SIGNING_SECRET, fake).slash_command("U0AGENT", "")
        assert reply.status == 200
        fake.wait_for("views.open", timeout=10)
        trigger = fake.calls_to("views.open")[0].params["trigger_id"]
        time.sleep(1)  # the bot logs views.open's answer after the fake has sent it
    finally:
        output = stop(process)
        fake.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert lines and all({"timestamp", "level", "logger", "message"} <= line.keys() for line in lines)
    (acked,) = [line for line in lines if line["logger"] == "bot.requests"]
    assert acked["message"].startswith("slash_command acked in") and acked["request_id"] == trigger
    assert isinstance(acked["latency_ms"], float)
    (opened,) = [line for line in lines if line["message"] == "slack views.open ok"]
    assert opened["request_id"] == trigger  # the listener's call, after the ack, in a listener thread
    assert len(opened["slack_req_id"]) == 32


def test_a_bad_log_format_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "POLICY_", "LOG_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", LOG_FORMAT="yaml")
    result = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "Configuration error: LOG_FORMAT must be text or json"


def test_with_prometheus_multiproc_dir_the_scrape_shows_what_other_processes_recorded(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    worker = ("from bot import metrics\n"
              "for _ in range(3): metrics.delivery_failed('http_503', dead=False)\n"
              "metrics.acked('slash_command', 0.2)\n")
    subprocess.run([sys.executable, "-c", worker], cwd=ROOT, env=env, check=True, timeout=30)  # a worker that has exited
    fake = start_fake_slack()
    process, base = launch(tmp_path, fake, PROMETHEUS_MULTIPROC_DIR=str(shared))
    try:
        assert SlackSender(base + "/slack/events", SIGNING_SECRET, fake).slash_command("U0AGENT", "").status == 200
        fake.wait_for("views.open", timeout=10)
        samples = scrape(base)
    finally:
        stop(process)
        fake.stop()
    assert value(samples, "escalation_outbox_retries_total", reason="http_503") == 3  # the other process's
    assert value(samples, "escalation_ack_latency_seconds_count", surface="slash_command") == 2  # its and the bot's
    assert value(samples, "escalation_state_up") == 1  # and the database's gauges, in the same scrape


def test_a_missing_prometheus_multiproc_dir_stops_start_up_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "POLICY_", "LOG_"))}
    env.update(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", POLICY_FILE=str(write_policy(tmp_path)),
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "absent"))
    result = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Configuration error: PROMETHEUS_MULTIPROC_DIR")
