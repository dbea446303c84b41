"""Every payload reader returns a typed request or raises PayloadInvalid, whatever JSON it is given.

Property-based (hypothesis): bodies shaped like Slack's, with any JSON value at any leaf, and bodies
of pure noise. A reader that raised anything else (TypeError, OverflowError, ValueError…) would
become a failure after the ack or a 500; a typed result must hold only values that fit the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.domain.tickets import MAX_TICKET_ID
from bot.slack.payloads import (
    CHANNEL_ID, USER_ID, VIEW_ID, PayloadInvalid, read_button, read_command, read_home_opened, read_intake,
    CommandKind, ReportArgs, Requester, input_block_ids, read_requester, read_submission, read_ticket_submission,
    read_values, slack_hosted,
)
from bot.slack.ids import IntakeBlock

EXAMPLES = 1000
json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**40), max_value=10**40), st.floats(allow_nan=False),
    st.text(max_size=40), st.sampled_from(["U0AGENT", "V0VIEW1", "C0CHAN", "1", "42", "9" * 30, "²", "\x00", "\ud800"]),
)
json_any = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
maybe = st.one_of(json_any, json_leaf)


def element(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"type": st.just(kind)}, optional={
        "value": maybe, "selected_option": st.one_of(maybe, st.fixed_dictionaries({"value": maybe})),
        "selected_options": st.one_of(maybe, st.lists(st.fixed_dictionaries({"value": maybe}), max_size=3)),
        "selected_user": maybe, "selected_date_time": maybe,
        "files": st.one_of(maybe, st.lists(st.fixed_dictionaries({}, optional={
            "id": maybe, "name": maybe, "title": maybe, "permalink": maybe}), max_size=12)),
    })


ELEMENT_KINDS = ["plain_text_input", "number_input", "static_select", "checkboxes", "users_select", "datetimepicker",
                 "file_input", "radio_buttons", "url_text_input"]
state_values = st.dictionaries(
    st.one_of(st.sampled_from([b.value for b in IntakeBlock] + ["status", "assignee", "next_update_by"]), st.text(max_size=8)),
    st.one_of(maybe, st.fixed_dictionaries({"value": st.one_of(maybe, st.sampled_from(ELEMENT_KINDS).flatmap(element))})),
    max_size=8,
)
metadata = st.one_of(maybe, st.builds(lambda v: json.dumps({"ticket": v, "channel": v}), json_leaf), st.just('{"ticket": 1}'))
view = st.one_of(maybe, st.fixed_dictionaries({}, optional={
    "id": st.one_of(maybe, st.sampled_from(["V0VIEW1", "V" + "A" * 80])), "private_metadata": metadata,
    "state": st.one_of(maybe, st.fixed_dictionaries({"values": st.one_of(maybe, state_values)}))}))
user = st.one_of(maybe, st.fixed_dictionaries({}, optional={"id": st.one_of(maybe, st.sampled_from(["U0AGENT", "U" + "A" * 40]))}))
submission = st.fixed_dictionaries({}, optional={"type": maybe, "user": user, "view": view})
button_body = st.fixed_dictionaries({}, optional={
    "user": user, "actions": st.one_of(maybe, st.lists(st.one_of(maybe, st.fixed_dictionaries({}, optional={
        "action_id": maybe, "value": st.one_of(maybe, st.sampled_from(["1", "42", "9" * 40, "²", "-1", "0"]))})), max_size=2)),
    "channel": st.one_of(maybe, st.fixed_dictionaries({"id": maybe})), "container": maybe, "message": maybe})
command_body = st.fixed_dictionaries({}, optional={
    "user_id": st.one_of(maybe, st.just("U0AGENT")), "channel_id": maybe, "trigger_id": maybe,
    "response_url": st.one_of(maybe, st.just("https://hooks.slack.com/commands/T1/1/x")),
    "text": st.one_of(maybe, st.sampled_from(["", "ESC-42", "status ESC-7", "export esc-1", "help", "ESC-" + "9" * 30]))})


def fits(text: str | None, limit: int = 32) -> bool:
    return text is None or (isinstance(text, str) and len(text) <= limit)


def typed_or_named(read: Any, body: Any) -> Any:
    """Run a reader; PayloadInvalid is a fine answer, any other exception is a bug."""
    try:
        return read(body)
    except PayloadInvalid as refused:
        assert str(refused)
        return None


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(command_body)
def test_read_command_returns_a_command_or_a_named_error(body: dict[str, Any]) -> None:
    request = typed_or_named(read_command, body)
    if request is not None:
        assert USER_ID.match(request.user_id) and fits(request.user_id)
        assert request.channel_id is None or CHANNEL_ID.match(request.channel_id)
        assert request.ticket_id is None or 1 <= request.ticket_id <= MAX_TICKET_ID or request.ticket_id == 0
        assert "\x00" not in request.text


def test_preview_takes_the_words_after_it_and_only_preview_does() -> None:
    body = {"user_id": "U0AGENT", "channel_id": "C0SUPPORT", "response_url": "https://hooks.slack.com/commands/1/2",
            "text": "  PREVIEW   critical \u202esecurity_incident  "}
    request = read_command(body)
    assert request.kind is CommandKind.PREVIEW and request.args == ("critical", "security_incident")
    assert read_command({**body, "text": "preview"}).args == ()
    assert read_command({**body, "text": "list"}).args == () and read_command({**body, "text": "previews x"}).kind is CommandKind.UNKNOWN


@SETTINGS
@given(button_body)
def test_read_button_returns_a_press_or_a_named_error(body: dict[str, Any]) -> None:
    press = typed_or_named(read_button, body)
    if press is not None:
        assert USER_ID.match(press.user_id) and fits(press.user_id)
        assert press.ticket_id is None or (type(press.ticket_id) is int and 1 <= press.ticket_id <= MAX_TICKET_ID)
        assert isinstance(press.action_id, str) and fits(press.channel_id) and fits(press.message_ts)


@SETTINGS
@given(submission)
def test_read_ticket_submission_returns_a_submission_or_a_named_error(body: dict[str, Any]) -> None:
    s = typed_or_named(read_ticket_submission, body)
    if s is not None:
        assert type(s.ticket_id) is int and 1 <= s.ticket_id <= MAX_TICKET_ID
        assert USER_ID.match(s.user_id) and VIEW_ID.match(s.view_id) and len(s.view_id) <= 64
        for value in s.values.values():
            assert value is None or isinstance(value, (str, datetime))
            if isinstance(value, datetime):
                assert value.tzinfo is not None and value.year < 2101


@SETTINGS
@given(submission)
def test_read_submission_and_read_intake_return_drafts_or_named_errors(body: dict[str, Any]) -> None:
    s = typed_or_named(read_submission, body)
    if s is not None:
        assert USER_ID.match(s.user_id) and len(s.view_id) <= 64
    draft = typed_or_named(lambda b: read_intake(b.get("view") if isinstance(b.get("view"), dict) else {}), body)
    if draft is not None:
        for field in ("title", "category", "severity", "description", "error_messages", "log_links", "troubleshooting",
                      "business_impact", "affected_users"):
            assert isinstance(getattr(draft, field), str)
        assert all(isinstance(t, str) for t in draft.triggers) and len(draft.attachments) <= 10
        for a in draft.attachments:
            assert fits(a.file_id) and len(a.name) <= 255 and "\x00" not in a.name
            assert a.permalink is None or slack_hosted(a.permalink)


@SETTINGS
@given(st.one_of(view, maybe))
def test_read_values_never_raises_anything_but_a_named_error(raw: Any) -> None:
    typed_or_named(lambda v: read_values(v if isinstance(v, dict) else {}), raw)


@SETTINGS
@given(st.fixed_dictionaries({}, optional={"tab": maybe, "user": maybe}))
def test_read_home_opened_names_a_valid_user_or_refuses(event: dict[str, Any]) -> None:
    user = typed_or_named(read_home_opened, event)
    assert user is None or (USER_ID.match(user) and fits(user))


@pytest.mark.parametrize(("url", "trusted"), [
    ("https://acme.slack.com/files/U1/F1/log.txt", True),
    ("https://files.slack.com/files-pri/T1-F1/log.txt", True),
    ("https://slack.com.evil.example/files/x", False),
    ("https://evilslack.com/files/x", False),
    ("http://acme.slack.com/files/x", False),
    ("javascript:alert(1)", False),
    ("https://acme.slack.com/files/\x00", False),
    (None, False),
])
def test_only_slacks_own_hosts_are_believed_for_file_links(url: Any, trusted: bool) -> None:
    assert slack_hosted(url) is trusted
    assert slack_hosted("http://127.0.0.1:4000/files/F1", ("127.0.0.1",))


def test_file_names_lose_controls_and_direction_overrides() -> None:
    view = {"state": {"values": {"attachments": {"value": {"type": "file_input", "files": [
        {"id": "F0LOG1", "name": "report\u202egpj.exe\x00"}]}}}}}
    (attachment,) = read_intake(view).attachments
    assert attachment.name == "reportgpj.exe"


def report_command(text: str) -> Any:
    return read_command({"text": text, "user_id": "U0MANAGER", "response_url": "https://hooks.slack.com/commands/1"})


@pytest.mark.parametrize(("text", "expected"), [
    ("report", ReportArgs()),
    ("REPORT 30d", ReportArgs(period="30d")),
    ('report quarter level=l2 category="Email and calendar problems" severity=HIGH chart',
     ReportArgs(period="quarter", level="l2", category="Email and calendar problems", severity="high", chart=True)),
    ("report category=\u201cVPN connection troubleshooting\u201d 7d", ReportArgs(category="VPN connection troubleshooting")),
])
def test_the_report_command_reads_its_period_filters_and_chart_in_any_order(text: str, expected: ReportArgs) -> None:
    request = report_command(text)
    assert (request.kind, request.report, request.problem) == (CommandKind.REPORT, expected, None)


@pytest.mark.parametrize(("text", "problem"), [
    ("report month", "`month` is not a period (use 7d, 30d, quarter)"),
    ("report 7d 30d", "give one period"),
    ("report colour=red", "`colour` is not a filter (use level, category or severity)"),
    ("report severity=urgent", "`urgent` is not a severity (use critical, high, medium, low)"),
    ('report category="Email', "a quote is not closed"),
    ("report level=", "`level=` needs a value"),
    ("report level=L1 level=L2", "`level` is given twice"),
])
def test_words_the_report_does_not_take_are_named_not_raised(text: str, problem: str) -> None:
    request = report_command(text)
    assert (request.kind, request.report, request.problem) == (CommandKind.REPORT, None, problem)


@given(st.text(max_size=200))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_any_report_text_reads_as_arguments_or_a_named_problem(text: str) -> None:
    request = report_command("report " + text)
    assert request.kind is CommandKind.REPORT and (request.report is None) != (request.problem is None)


def test_whom_to_answer_is_read_from_a_command_or_an_interaction_and_never_raises() -> None:
    command = {"response_url": "https://hooks.slack.com/commands/T0/1/x", "user_id": "U0AGENT", "channel_id": "C0HELP"}
    assert read_requester(command) == Requester("https://hooks.slack.com/commands/T0/1/x", "U0AGENT", "C0HELP")
    click = {"user": {"id": "U0ENG"}, "container": {"channel_id": "C0L2"}}
    assert read_requester(click) == Requester(None, "U0ENG", "C0L2")
    hostile = {"response_url": 7, "user": "U0X", "user_id": ["U0Y"], "channel": {"id": "<!channel>"}, "container": 3}
    assert read_requester(hostile) == Requester(None, None, None)


def test_a_modals_input_blocks_are_read_in_order_and_anything_else_is_none() -> None:
    view = {"blocks": [{"type": "section", "block_id": "s"}, {"type": "input", "block_id": "title"}, "junk",
                       {"type": "input", "block_id": 5}, {"type": "input", "block_id": "impact"}]}
    assert input_block_ids(view) == ["title", "impact"]
    assert input_block_ids({"blocks": "x"}) == [] and input_block_ids(None) == []

