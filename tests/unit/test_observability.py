"""Log lines and metric labels, without a bot: the JSON formatter, the request id, bounded labels, LOG_FORMAT."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from bot import metrics
from bot.config import ConfigError, load_settings
from bot.logs import ContextThreadPool, JsonFormatter, inbound, request_id
from bot.slack.metered import request_id_of, surface_of


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("bot.test", logging.WARNING, __file__, 1, message, args or ("world",), None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_the_four_fields_and_only_the_known_extras() -> None:
    line = json.loads(JsonFormatter().format(record(ticket_id=7, latency_ms=12.5, secret="no")))
    assert line.pop("timestamp").endswith("+00:00")
    assert line == {"level": "WARNING", "logger": "bot.test", "message": "hello world", "ticket_id": 7, "latency_ms": 12.5}


def test_a_json_line_carries_the_request_being_handled_and_a_traceback_as_one_field() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record(exc_info=sys.exc_info())
    with inbound("Ev123"):
        line = json.loads(JsonFormatter().format(failed))
    assert line["request_id"] == "Ev123" and "ValueError: boom" in line["exception"]
    assert "request_id" not in json.loads(JsonFormatter().format(record()))  # outside a request: left out


def test_listener_threads_see_the_request_id_of_the_request_that_submitted_the_work() -> None:
    with ContextThreadPool(max_workers=1) as pool:
        with inbound("1.2.trigger"):
            seen = pool.submit(request_id.get)
        assert seen.result() == "1.2.trigger" and pool.submit(request_id.get).result() is None


def test_the_request_id_is_slack_s_event_id_or_trigger_id_else_made_up() -> None:
    assert request_id_of({"type": "event_callback", "event_id": "Ev1", "event": {}}) == "Ev1"
    assert request_id_of({"command": "/escalate", "trigger_id": "1.2.abc"}) == "1.2.abc"
    made = request_id_of({"type": "block_suggestion"})
    assert made.startswith("req-") and len(made) == 16


@pytest.mark.parametrize(("body", "surface"), [
    ({"command": "/escalate"}, "slash_command"), ({"type": "block_actions"}, "block_action"),
    ({"type": "view_submission"}, "view_submission"), ({"type": "shortcut"}, "shortcut"),
    ({"type": "message_action"}, "shortcut"), ({"type": "block_suggestion"}, "options"),
    ({"type": "event_callback"}, "event"), ({"type": "something_new"}, "other"), ({}, "other"),
])
def test_each_payload_is_counted_under_one_of_a_few_surfaces(body: dict[str, str], surface: str) -> None:
    assert surface_of(body) == surface


def test_reasons_that_are_not_codes_are_other_and_the_number_of_codes_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_seen", set())
    assert metrics.bounded("channel_not_found") == "channel_not_found"
    assert metrics.bounded("ConnectionError") == "ConnectionError"
    assert metrics.bounded("SMTP 550: mailbox unavailable for bob@example.com") == "other"
    assert metrics.bounded("x" * 49) == "other"
    for n in range(metrics.MAX_REASONS):
        metrics.bounded(f"code_{n}")
    assert metrics.bounded("one_too_many") == "other" and metrics.bounded("channel_not_found") == "channel_not_found"


def test_log_format_is_text_or_json_and_anything_else_names_the_setting() -> None:
    base = dict(slack_bot_token="xoxb-1", slack_signing_secret="s", _env_file=None)
    assert load_settings(**base).log_format == "text"
    assert load_settings(**base, log_format="JSON").log_format == "json"
    with pytest.raises(ConfigError, match=r"^Configuration error: LOG_FORMAT must be text or json$"):
        load_settings(**base, log_format="yaml")


def test_slack_sdk_s_own_error_line_per_failed_request_is_quiet_unless_debugging() -> None:
    import logging

    from bot.logs import configure

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        configure("INFO", "text")
        assert not logging.getLogger("slack_sdk.web.base_client").isEnabledFor(logging.ERROR)
        assert logging.getLogger("bot.slack").isEnabledFor(logging.INFO)  # our named line stays
        configure("DEBUG", "text")
        assert logging.getLogger("slack_sdk.web.base_client").isEnabledFor(logging.ERROR)
    finally:
        logging.getLogger("slack_sdk.web.base_client").setLevel(logging.NOTSET)
        root.handlers[:] = handlers
        root.setLevel(level)
