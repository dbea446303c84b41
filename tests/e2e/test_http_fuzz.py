"""Property: no request body, signed or not, gets a 5xx or a traceback from the real bot, or leaves a half-made ticket.

Hypothesis builds slash commands, block_actions, view_submission, view_closed, block_suggestion and
event_callback payloads, mostly in Slack's shapes with a few fields replaced by any JSON value or
dropped, plus raw bytes; most are signed. Each goes to the real runtime's WSGI app (gate, Bolt,
listeners, SQLite, fake Slack) in this process. Bolt's synchronous part runs on the test thread, so
a traceback logged there is pinned to the body that caused it (and shrunk by Hypothesis); listener
work after the ack is checked once at the end.
"""

from __future__ import annotations

import collections
import copy
import io
import json
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app import Runtime, build, check_slack
from bot.policy_file import load_policy
from bot.slack.blocks import escalate_modal, new_escalation_modal, postmortem_modal, reassign_modal, resolve_modal, update_modal
from bot.slack.ids import INPUT_ACTION, Action, Callback
from fakeslack import FakeSlack
from fakeslack.sender import sign
from models import Ticket, TimelineEvent
from tests.e2e.harness import GOOD_FORM, PEOPLE, SIGNING_SECRET, settings_for, start_fake_slack, write_policy

# Examples per kind, 10,200 bodies in all: fewer of the kinds whose listeners run (Bolt polls for the
# ack every 10 ms, and the listener's work shares the GIL with the fake Slack's validation), more of
# the ones answered without a listener (~3 ms each, most of it Hypothesis).
EXAMPLES = {"view_submission": 1000, "block_actions": 1100, "slash_command": 1100, "event_callback": 1500,
            "view_closed": 2700, "block_suggestion": 2800}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=6), inner, max_size=2),
    max_leaves=3,
)
USERS = st.sampled_from([*PEOPLE, "U0NOBODY"])
CHANNELS = st.sampled_from(["C0GENERAL", "#support-l1", "C0NOPE", "D0DM"])
TICKET_VALUES = st.sampled_from(["1", "2", "3", "0", "99999999999999999999", "", "abc", "-1", "1.5"])


class BadRecords(logging.Handler):
    """Keeps every log record with a traceback or the error boundary's 'unhandled error'."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "unhandled error" in record.getMessage() or "Traceback" in record.getMessage():
            self.records.append(record)


@dataclass
class Fuzzed:
    runtime: Runtime
    fake: FakeSlack
    views: dict[str, dict[str, Any]]
    bad: BadRecords
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    in_app: dict[str, float] = field(default_factory=dict)


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[Fuzzed]:
    """The real runtime on SQLite against fake Slack, its WSGI app called in-process."""
    fake = start_fake_slack()
    policy_file = write_policy(tmp_path)
    runtime = build(settings_for(fake, f"sqlite:///{tmp_path / 'fuzz.db'}", policy_file), pace=timedelta(0))
    check_slack(runtime, attempts=1)
    policy = load_policy(policy_file)
    levels = [lv.key for lv in policy.levels]
    views = {
        Callback.NEW_ESCALATION.value: new_escalation_modal(policy, origin_channel="C0GENERAL"),
        Callback.ESCALATE.value: escalate_modal(policy, ticket_id=1, ref="ESC-1", current_level=levels[0], default_target=levels[1],
                                                business_impact=GOOD_FORM["business_impact"], troubleshooting=GOOD_FORM["troubleshooting"]),
        Callback.POST_UPDATE.value: update_modal(ticket_id=1, ref="ESC-1"),
        Callback.RESOLVE.value: resolve_modal(ticket_id=1, ref="ESC-1", postmortem=True, owner="U0L2ENG"),
        Callback.REASSIGN.value: reassign_modal(ticket_id=1, ref="ESC-1", current=None),
        Callback.POSTMORTEM_DONE.value: postmortem_modal(ticket_id=1, ref="ESC-1"),
    }
    bad = BadRecords()
    root = logging.getLogger()
    root.addHandler(bad)
    yield Fuzzed(runtime=runtime, fake=fake, views=views, bad=bad)
    root.removeHandler(bad)
    runtime.close()
    fake.stop()


def call(app: Any, body: bytes, *, content_type: str, signed: bool, headers: dict[str, str]) -> int:
    """POST /slack/events straight into the WSGI app; the status code."""
    stamp = str(int(time.time()))
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "",
        "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": sign(SIGNING_SECRET, stamp, body) if signed else "v0=" + "0" * 64,
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    statuses: list[str] = []
    b"".join(app(environ, lambda status, response_headers, exc_info=None: statuses.append(status)))
    return int(statuses[0][:3])


# -- payloads ------------------------------------------------------------------------------------------
# Hypothesis spends ~0.1 ms per choice, so a body is a few choices: a payload in Slack's shape built
# from small pools, then 0-3 mutations (a value at a random path replaced by an odd one, or deleted).
# Values that need the fake at request time are placeholders, filled in by `materialise`.

TRIGGER, FAKE_URL = "<trigger>", "<fake response_url>"
APP_ID, BOT_USER = "A0FAKEAPP", "UBOT0001"  # FakeSlack's defaults
ODD_VALUES: list[Any] = [None, True, False, 0, -1, 7, 2**64, 10**30, 1e308, 1.5, "", "x", "U0AGENT", "ESC-1", "\u202e", [], [5], ["id"],
                         [{}], [None], {}, {"id": 5}, {"id": []}, {"type": 7}, {"callback_id": 5}, "http://127.0.0.1:9/x", "http://[abc/x"]
ODD = st.one_of(st.sampled_from(ODD_VALUES), st.sampled_from(ODD_VALUES), JSON).map(copy.deepcopy)  # mutations may nest into it
TEXTS = st.sampled_from(["", "x", "Enough words to pass every minimum length check here.", "<!channel> *bold*", "ESC-1", "ünïcödé ✓"])
# Foreign URLs point at a closed port on loopback: the fuzz never reaches beyond this machine, even if
# the gate let one through. (Slack's real hook hosts are allowed by the gate but can't be reached here.)
FOREIGN_URL = "http://127.0.0.1:9/steal"
RESPONSE_URLS = st.sampled_from([FAKE_URL, FAKE_URL, FAKE_URL, FOREIGN_URL])


FORM = {**GOOD_FORM, "log_links": "https://logs.example.com/lb-02"}


def user_object(user: str) -> dict[str, Any]:
    return {"id": user, "username": PEOPLE.get(user, "x"), "name": PEOPLE.get(user, "x"), "team_id": "T0FAKE"}


def interactive(kind: str, user: str, url: str | None) -> dict[str, Any]:
    """The fields every interactive payload carries."""
    payload = {"type": kind, "team": {"id": "T0FAKE", "domain": "fake"}, "user": user_object(user), "api_app_id": APP_ID,
               "token": "fake-verification-token", "trigger_id": TRIGGER, "is_enterprise_install": False, "enterprise": None}
    if url is not None:
        payload["response_url"] = url
    return payload


def entry(element: dict[str, Any], block_id: str, text: str) -> dict[str, Any]:
    """The state.values entry a user filling `element` sensibly would produce (GOOD_FORM where it names the block)."""
    kind = element["type"]
    options = list(element.get("options") or []) + [o for g in element.get("option_groups") or [] for o in g["options"]]
    if kind in ("plain_text_input", "url_text_input", "email_text_input"):
        return {"type": kind, "value": FORM.get(block_id, text) if kind == "plain_text_input" else "https://wiki.example.com/pm/1"}
    if kind == "number_input":
        return {"type": kind, "value": GOOD_FORM.get(block_id, "40")}
    if kind in ("static_select", "radio_buttons"):
        wanted = GOOD_FORM.get(block_id)
        return {"type": kind, "selected_option": next((o for o in options if o["value"] == wanted), options[0] if options else None)}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": []}
    if kind == "users_select":
        return {"type": kind, "selected_user": "U0L2ENG"}
    if kind == "datetimepicker":
        return {"type": kind, "selected_date_time": 1_900_000_000}
    if kind == "file_input":
        return {"type": kind, "files": []}
    return {"type": kind}


def submitted(view: dict[str, Any], view_id: str, metadata: str | None, user: str) -> dict[str, Any]:
    """A view_submission of `view` as a user who filled every input sensibly would send it."""
    text = "Enough words to pass every minimum length check here."
    shown = json.loads(json.dumps(view))  # a fresh copy (faster than deepcopy): mutations must not reach the next example
    values = {b["block_id"]: {INPUT_ACTION: entry(b["element"], b["block_id"], text)} for b in shown["blocks"] if b.get("type") == "input"}
    shown.update(id=view_id, state={"values": json.loads(json.dumps(values))})
    if metadata is not None:
        shown["private_metadata"] = metadata
    return {**interactive("view_submission", user, None), "view": shown, "response_urls": []}


def view_submissions(views: dict[str, dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    callbacks = st.sampled_from([Callback.NEW_ESCALATION.value] * 2 + [c for c in views if c != Callback.NEW_ESCALATION.value])
    metadata = st.sampled_from([None, '{"ticket": 1}', '{"ticket": 2}', '{"ticket": 3}', '{"channel": "C0GENERAL"}', "not json", '{"ticket": "1"}'])
    return st.builds(lambda c, n, m, u: submitted(views[c], f"V{n}", m, u), callbacks, st.integers(min_value=0, max_value=10**6), metadata, USERS)


def block_actions(action_id: str, value: str, user: str, channel: str, url: str) -> dict[str, Any]:
    return {**interactive("block_actions", user, url),
            "container": {"type": "message", "channel_id": channel, "message_ts": "1700000000.000100", "is_ephemeral": False},
            "channel": {"id": channel, "name": "x"}, "message": {"type": "message", "ts": "1700000000.000100", "text": "", "blocks": []},
            "state": {"values": {}},
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value, "action_ts": "1700000000.2",
                         "text": {"type": "plain_text", "text": "Go"}}]}


def slash_command(text: str, user: str, channel: str, url: str, command: str) -> dict[str, Any]:
    return {"token": "fake-verification-token", "team_id": "T0FAKE", "team_domain": "fake", "channel_id": channel, "channel_name": "x",
            "user_id": user, "user_name": PEOPLE.get(user, "x"), "command": command, "text": text, "api_app_id": APP_ID,
            "is_enterprise_install": "false", "response_url": url, "trigger_id": TRIGGER}


def event_callback(kind: str, event_type: str, user: str, tab: str) -> dict[str, Any]:
    event = {"type": event_type, "user": user, "channel": "D0DM", "tab": tab, "event_ts": "1700000000.1",
             "view": {"id": "V1", "team_id": "T0FAKE", "type": "home"}}
    return {"token": "t", "team_id": "T0FAKE", "api_app_id": APP_ID, "event": event, "type": kind, "event_id": "Ev1", "event_time": 1700000000,
            "challenge": "c", "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": "T0FAKE", "user_id": BOT_USER, "is_bot": True, "is_enterprise_install": False}]}


def view_closed(callback: str, user: str) -> dict[str, Any]:
    return {**interactive("view_closed", user, None), "is_cleared": False,
            "view": {"id": "V1", "type": "modal", "callback_id": callback, "private_metadata": '{"ticket": 1}', "state": {"values": {}}}}


def block_suggestion(action_id: str, value: str, user: str) -> dict[str, Any]:
    return {**interactive("block_suggestion", user, None), "action_id": action_id, "block_id": "b1", "value": value,
            "container": {"type": "view", "view_id": "V1"}, "view": {"id": "V1", "type": "modal", "callback_id": Callback.NEW_ESCALATION.value}}


ACTION_IDS = st.sampled_from([a.value for a in Action] + ["other"])
COMMAND_TEXT = st.sampled_from(["", "", "help", "list", "contacts", "status ESC-1", "export ESC-2", "ESC-1", "ESC-3", "ESC-99999999999999999999",
                                "status", "payload", "ssl_check", "status ESC-1 ESC-2", "<@U0AGENT>", "ESC-0"])


def payloads(views: dict[str, dict[str, Any]]) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    return {
        "view_submission": view_submissions(views),
        "block_actions": st.builds(block_actions, ACTION_IDS, TICKET_VALUES, USERS, CHANNELS, RESPONSE_URLS),
        "slash_command": st.builds(slash_command, COMMAND_TEXT, USERS, CHANNELS, RESPONSE_URLS, st.sampled_from(["/escalate"] * 5 + ["/other"])),
        "event_callback": st.builds(event_callback, st.sampled_from(["event_callback"] * 8 + ["url_verification", "app_rate_limited"]),
                                    st.sampled_from(["app_home_opened"] * 2 + ["message", "app_mention", "function_executed"]), USERS,
                                    st.sampled_from(["home", "home", "messages"])),
        "view_closed": st.builds(view_closed, st.sampled_from([c.value for c in Callback] + ["other"]), USERS),
        "block_suggestion": st.builds(block_suggestion, st.sampled_from([a.value for a in Action] + [INPUT_ACTION]), TEXTS, USERS),
    }


def materialise(payload: dict[str, Any], fake: FakeSlack) -> dict[str, Any]:
    """Fill the placeholders (top-level trigger_id and response_url(s)): a fresh trigger, a response_url the fake knows."""
    fresh = {"trigger_id": fake.mint_trigger_id, "response_url": lambda: fake.new_response_url(channel_id="C0GENERAL", user_id="U0AGENT")}
    for key, make in fresh.items():
        if payload.get(key) in (TRIGGER, FAKE_URL):
            payload[key] = make()
    for entry in payload.get("response_urls") or []:
        if entry.get("response_url") == FAKE_URL:
            entry["response_url"] = fresh["response_url"]()
    return payload


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in a JSON value, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from paths(child, prefix + (key,))


MUTATIONS = st.lists(st.tuples(st.integers(min_value=0, max_value=10**6), st.booleans(), ODD), max_size=3)


def mutate(data: st.DataObject, payload: Any) -> Any:
    """0-3 times: the value at a random path replaced by an odd one, or its key deleted."""
    for index, delete, odd in data.draw(MUTATIONS):
        where = list(paths(payload))
        if not where:
            break
        *parents, key = where[index % len(where)]
        node = payload
        for parent in parents:
            node = node[parent]
        if delete and isinstance(node, dict):
            del node[key]
        else:
            node[key] = odd
    return payload


CONTENT_TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded"])
RAW = st.tuples(st.binary(max_size=64), CONTENT_TYPES)
FLAGS = st.integers(min_value=0, max_value=99)  # <10: raw bytes instead of the payload; 10-19: unsigned; 20-24: a retry


def encode(kind: str, payload: Any, flags: int, raw: tuple[bytes, str]) -> tuple[bytes, str]:
    """The body as Slack would send it for the kind (or the raw bytes)."""
    if flags < 10:
        return raw
    if kind == "event_callback":
        return json.dumps(payload).encode(), "application/json"
    if kind == "slash_command":
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded"
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def run_kind(fuzzed: Fuzzed, kind: str, strategy: st.SearchStrategy[dict[str, Any]]) -> None:
    """Hypothesis over one kind of payload: every answer is below 500, with no traceback on this thread."""
    app = fuzzed.runtime.wsgi
    fuzzed.counts[kind], fuzzed.in_app[kind], started = 0, 0.0, time.perf_counter()

    @settings(max_examples=EXAMPLES[kind], deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy, st.data(), FLAGS)
    def one(payload: dict[str, Any], data: st.DataObject, flags: int) -> None:
        payload = mutate(data, materialise(payload, fuzzed.fake))
        body, content_type = encode(kind, payload, flags, data.draw(RAW) if flags < 10 else (b"", ""))
        signed = not 10 <= flags < 20
        headers = {"X-Slack-Retry-Num": "1"} if 20 <= flags < 25 else {}
        before = len(fuzzed.bad.records)
        sent = time.perf_counter()
        status = call(app, body, content_type=content_type, signed=signed, headers=headers)
        fuzzed.counts[kind] += 1
        fuzzed.in_app[kind] += time.perf_counter() - sent
        mine = [r for r in fuzzed.bad.records[before:] if r.thread == threading.get_ident()]
        assert status < 500, (status, body[:2000])
        assert mine == [], (describe(mine), body[:2000])

    one()
    fuzzed.seconds[kind] = time.perf_counter() - started


def describe(records: list[logging.LogRecord]) -> list[str]:
    """One line per bad record: logger, message, and where the exception was raised."""
    lines = []
    for record in records:
        where = ""
        if record.exc_info and record.exc_info[2] is not None:
            tb = record.exc_info[2]
            while tb.tb_next is not None:
                tb = tb.tb_next
            where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 2)[-2:]}:{tb.tb_lineno}"
            where += f" {type(record.exc_info[1]).__name__}: {str(record.exc_info[1])[:120]}"
        lines.append(f"{record.name}: {record.getMessage()[:160]}{where}")
    return lines


def test_no_generated_request_gets_a_5xx_a_traceback_or_leaves_a_half_made_ticket(fuzzed: Fuzzed) -> None:
    started = time.perf_counter()
    for kind, strategy in payloads(fuzzed.views).items():
        run_kind(fuzzed, kind, strategy)
    fuzzed.runtime.listeners.shutdown(wait=True)  # the work listeners started after their acks
    elapsed = time.perf_counter() - started
    with fuzzed.runtime.deps.services.sessions() as session:
        filed = list(session.scalars(select(Ticket.id)))
        kinds = {(e.ticket_id, e.kind) for e in session.scalars(select(TimelineEvent))}
    for kind, count in fuzzed.counts.items():
        print(f"\nfuzz {kind}: {count} bodies in {fuzzed.seconds[kind]:.1f} s ({fuzzed.in_app[kind]:.1f} s answering)", end="")
    print(f"\nfuzz: {sum(fuzzed.counts.values())} bodies in {elapsed:.1f} s; {len(filed)} tickets filed")
    assert sum(fuzzed.counts.values()) >= 10_000
    distinct = collections.Counter(re.sub(r"ref=\w+ ", "", line) for line in describe(fuzzed.bad.records))
    for line, count in distinct.most_common():
        print(f"  {count:5d} x {line}")
    assert sorted(distinct) == []
    assert [t for t in filed if not {(t, "created"), (t, "routed")} <= kinds] == []
