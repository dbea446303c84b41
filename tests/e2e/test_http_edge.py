"""The HTTP edge of the real bot on waitress: body cap, connection limits, idle timeouts, the gate, response_url hosts."""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from app import BackgroundServer, server_options
from bot.slack.gate import MAX_BODY
from bot.slack.ids import Action
from fakeslack import FakeSlack, SlackSender
from fakeslack.sender import USER_AGENT, sign
from tests.e2e.harness import SIGNING_SECRET, RunningBot, file_ticket, tickets

MiB = 1024 * 1024


def address(bot: RunningBot) -> tuple[str, int]:
    url = urllib.parse.urlsplit(bot.server.url)
    return url.hostname or "127.0.0.1", url.port or 80


def rss_bytes() -> int:
    """This process's resident memory (the bot's server runs in it)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def head(length: int | None, *, chunked: bool = False, extra: dict[str, str] | None = None) -> bytes:
    lines = ["POST /slack/events HTTP/1.1", "Host: bot", "Content-Type: application/x-www-form-urlencoded", f"User-Agent: {USER_AGENT}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(sock: socket.socket) -> int:
    """The status code of the first response on the socket."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"connection closed before a status line: {data!r}")
        data += chunk
    return int(data.split(b" ", 2)[1])


def signed_headers(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body)}


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.exc_info or "unhandled error" in r.getMessage() or "Traceback" in r.getMessage()]
    assert bad == [], [(r.name, r.getMessage()) for r in bad]


# -- item 4: server limits ------------------------------------------------------------------------


def test_a_100_mb_body_is_refused_with_413_from_its_headers_alone(bot: RunningBot) -> None:
    started = time.perf_counter()
    with socket.create_connection(address(bot), timeout=5) as sock:
        sock.sendall(head(100 * MiB))  # headers only: the answer must come without the body
        assert status_of(sock) == 413
    assert time.perf_counter() - started < 1.0


def test_four_concurrent_100_mb_uploads_are_cut_off_and_the_server_does_not_grow(bot: RunningBot) -> None:
    before = rss_bytes()
    results: list[tuple[int, int, float]] = []

    def upload() -> None:
        started, sent, status = time.perf_counter(), 0, 0
        with socket.create_connection(address(bot), timeout=5) as sock:
            sock.sendall(head(100 * MiB))
            status = status_of(sock)
            chunk = b"a" * (256 * 1024)
            try:
                while sent < 100 * MiB:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:  # the server closed the connection: the rest of the body is never read
                pass
        results.append((status, sent, time.perf_counter() - started))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    grown = rss_bytes() - before
    print(f"\n413 uploads: {[(s, round(n / MiB, 1), round(t, 3)) for s, n, t in results]}; RSS {before / MiB:.0f} MiB -> +{grown / MiB:.1f} MiB")
    assert [status for status, _, _ in results] == [413] * 4
    assert all(sent < 50 * MiB for _, sent, _ in results)  # what the kernel's buffers took before the reset
    assert grown < 32 * MiB


def test_a_chunked_body_over_the_cap_is_refused_with_413(bot: RunningBot) -> None:
    with socket.create_connection(address(bot), timeout=5) as sock:
        sock.sendall(head(None, chunked=True))
        chunk = b"a" * (64 * 1024)
        status = 0
        try:
            for _ in range(2 * MAX_BODY // len(chunk)):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except OSError:
            pass
        status = status_of(sock)
    assert status == 413


def test_a_signed_chunked_slash_command_is_served(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    body = urllib.parse.urlencode(slack._command_fields("U0AGENT", "", command="/escalate", channel_id="C0GENERAL", user_name=None)).encode()
    with socket.create_connection(address(bot), timeout=5) as sock:
        sock.sendall(head(None, chunked=True, extra=signed_headers(body)))
        half = len(body) // 2
        sock.sendall(b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, body[:half], len(body) - half, body[half:]))
        assert status_of(sock) == 200
    fake.wait_for("views.open")


def test_150_idle_connections_still_leave_escalate_acknowledged_within_3_seconds(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    idle = [socket.create_connection(address(bot), timeout=5) for _ in range(150)]
    try:
        time.sleep(0.3)  # let the server accept them all
        reply = slack.slash_command("U0AGENT", "", channel_id="C0GENERAL")
        print(f"\n/escalate with 150 idle connections open: acknowledged in {reply.elapsed * 1000:.0f} ms")
        assert reply.status == 200 and reply.elapsed < 3.0
        fake.wait_for("views.open")
        closed = [s for s in idle if _closed(s)]
        assert closed == []  # they were still open while the command was served
    finally:
        for sock in idle:
            sock.close()


def _closed(sock: socket.socket) -> bool:
    """Whether the peer has closed the connection (without waiting)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    finally:
        sock.setblocking(True)


def test_an_idle_connection_is_closed_by_the_server_within_its_timeout(bot: RunningBot) -> None:
    short = BackgroundServer(bot.runtime.wsgi, threads=2, channel_timeout=2).start()  # production: CHANNEL_TIMEOUT
    try:
        url = urllib.parse.urlsplit(short.url)
        with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
            started = time.perf_counter()
            assert sock.recv(1) == b""  # blocks until the server hangs up
            waited = time.perf_counter() - started
    finally:
        short.stop()
    cleanup = server_options()["cleanup_interval"]
    print(f"\nidle connection closed after {waited:.2f} s (channel_timeout 2 s, cleanup every {cleanup} s)")
    assert 1.5 < waited < 2 + cleanup + 1.0


def test_a_request_trickled_in_a_byte_at_a_time_is_cut_off_at_the_deadline(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    """Slowloris: each byte restarts waitress's idle timer, so the deadline on a whole request must end it;
    meanwhile the server keeps answering Slack."""
    from app import REQUEST_DEADLINE

    trickling = [socket.create_connection(address(bot), timeout=5) for _ in range(150)]
    try:
        for sock in trickling:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
        started, cut = time.perf_counter(), set()
        while len(cut) < len(trickling) and time.perf_counter() - started < REQUEST_DEADLINE + 4:
            if time.perf_counter() - started < 1.0:
                reply = slack.slash_command("U0AGENT", "help")
                assert reply.status == 200 and reply.elapsed < 3.0
            for n, sock in enumerate(trickling):
                if n in cut:
                    continue
                try:
                    sock.sendall(b"X")  # one more header byte
                except OSError:
                    cut.add(n)
                    continue
                if _closed(sock):
                    cut.add(n)
            time.sleep(0.5)
        waited = time.perf_counter() - started
    finally:
        for sock in trickling:
            sock.close()
    print(f"\n150 trickling connections cut off after {waited:.1f} s (deadline {REQUEST_DEADLINE} s)")
    assert len(cut) == len(trickling) and REQUEST_DEADLINE - 1 < waited < REQUEST_DEADLINE + 4


def test_the_production_idle_timeout_is_short() -> None:
    options = server_options()
    assert options["channel_timeout"] + options["cleanup_interval"] <= 15
    assert options["connection_limit"] >= 150 + 16


def test_healthz_answers_and_other_paths_do_not_reach_bolt(bot: RunningBot) -> None:
    assert urllib.request.urlopen(bot.server.url + "/healthz", timeout=5).read() == b"ok\n"
    for path, status in (("/slack/events", 405), ("/", 404), ("/slack/install", 404)):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bot.server.url + path, timeout=5)
        assert refused.value.code == status


# -- item 3: check before you parse ----------------------------------------------------------------


UNSIGNED = [b"\xff\xfe\x00garbage", b"{not json", b'{"type": "block_actions", "actions": "x"}', b"payload=not-json",
            b"payload=%7B%22type%22%3A5", b'{"n": ' + b"9" * 100_000 + b"}", b"[" * 200_000, b"payload=" + b"1" * 50_000]


@pytest.mark.parametrize("body", UNSIGNED, ids=["garbage", "invalid json", "odd json", "payload not json", "payload cut",
                                                 "huge number", "deep nesting", "huge payload number"])
def test_an_unsigned_malformed_body_gets_401_and_no_traceback(body: bytes, bot: RunningBot, slack: SlackSender,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        forged = slack.post(body, signature="v0=" + "0" * 64)
        unsigned = _post_without_slack_headers(bot, body)
    assert (forged.status, unsigned) == (401, 401)
    no_tracebacks(caplog)
    assert tickets(bot) == []


def _post_without_slack_headers(bot: RunningBot, body: bytes) -> int:
    request = urllib.request.Request(bot.events_url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=5).status
    except urllib.error.HTTPError as refused:
        return refused.code


SIGNED_ODD = {
    "payload=5": ("payload=5", "form"),
    'payload="[]"': ("payload=%5B%5D", "form"),
    "payload null": ("payload=null", "form"),
    "user=5": ({"type": "block_actions", "user": 5, "actions": [{"action_id": "ticket_acknowledge", "value": "1"}]}, "form"),
    'actions="x"': ({"type": "block_actions", "user": {"id": "U0AGENT"}, "actions": "x"}, "form"),
    "actions=[]": ({"type": "block_actions", "user": {"id": "U0AGENT"}, "actions": []}, "form"),
    "actions=[5]": ({"type": "block_actions", "user": {"id": "U0AGENT"}, "actions": [5]}, "form"),
    "view=[]": ({"type": "view_submission", "user": {"id": "U0AGENT"}, "view": []}, "form"),
    "view without type": ({"type": "view_submission", "user": {"id": "U0AGENT"}, "view": {"callback_id": "new_escalation"}}, "form"),
    "team=[]": ({"type": "view_submission", "team": ["id"], "view": {"type": "modal", "callback_id": "new_escalation"}}, "form"),
    "channel=7": ({"type": "block_actions", "channel": 7, "actions": [{"action_id": "ticket_acknowledge"}]}, "form"),
    "event=7": ({"type": "event_callback", "event": 7}, "json"),
    "event=null": ({"type": "event_callback", "event": None}, "json"),
    "event.user=[]": ({"type": "event_callback", "event": {"type": "app_home_opened", "user": []}}, "json"),
    "authorizations=x": ({"type": "event_callback", "authorizations": "x", "event": {"type": "app_home_opened"}}, "json"),
    "block_suggestion action_id=5": ({"type": "block_suggestion", "action_id": 5}, "form"),
    "json list": ([1, 2, 3], "json"),
    "json number": (12, "json"),
    "invalid json": ("{not json", "json"),
    "invalid utf-8": (b"\xff\xfe", "form"),
    "huge number": ('{"type": "event_callback", "n": ' + "9" * 10_000 + "}", "json"),
    "deep nesting": ("[" * 100_000, "json"),
    "lone surrogate": ('{"type": "block_actions", "user": {"id": "\\ud800"}, "actions": [{"action_id": "ticket_acknowledge"}]}', "form-json"),
    "empty body": ("", "form"),
}


@pytest.mark.parametrize("body, kind", list(SIGNED_ODD.values()), ids=list(SIGNED_ODD))
def test_a_signed_odd_payload_gets_a_4xx_or_an_empty_200_and_changes_nothing(
    body: Any, kind: str, bot: RunningBot, slack: SlackSender, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    if kind == "form" and not isinstance(body, (str, bytes)):
        body = urllib.parse.urlencode({"payload": json.dumps(body)})
    elif kind == "form-json":
        body = urllib.parse.urlencode({"payload": body})
    elif kind == "json" and not isinstance(body, str):
        body = json.dumps(body)
    content_type = "application/json" if kind == "json" else "application/x-www-form-urlencoded"
    with caplog.at_level(logging.INFO):
        reply = slack.post(body, content_type=content_type)
        time.sleep(0.05)  # anything a listener would do after its ack
    assert 400 <= reply.status < 500 or (reply.status == 200 and reply.body == ""), (reply.status, reply.body)
    no_tracebacks(caplog)
    assert tickets(bot) == [] and fake.calls_to("views.open") == [] and fake.calls_to("chat.postMessage") == []


def test_url_verification_still_answers_its_challenge(bot: RunningBot, slack: SlackSender) -> None:
    reply = slack.post(json.dumps({"token": "t", "challenge": "c-123", "type": "url_verification"}), content_type="application/json")
    assert reply.status == 200 and reply.json() == {"challenge": "c-123"}


def test_a_stale_signed_request_is_refused(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    fields = slack._command_fields("U0AGENT", "", command="/escalate", channel_id="C0GENERAL", user_name=None)
    reply = slack.post(urllib.parse.urlencode(fields), timestamp=int(time.time()) - 301)
    assert reply.status == 401 and fake.calls_to("views.open") == []


# -- item 6: outbound only to Slack ----------------------------------------------------------------


class Attacker:
    """A tiny HTTP server on loopback that records every request it receives."""

    def __init__(self) -> None:
        received: list[tuple[str, bytes]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.append((self.path, self.rfile.read(int(self.headers.get("Content-Length") or 0))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    server = Attacker()
    yield server
    server.stop()


def _status_command(slack: SlackSender, response_url: str) -> Any:
    fields = slack._command_fields("U0L2ENG", "status ESC-1", command="/escalate", channel_id="C0GENERAL", user_name=None)
    fields["response_url"] = response_url
    return slack.post(urllib.parse.urlencode(fields))


def test_a_slash_command_with_a_foreign_response_url_sends_the_ticket_nowhere(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, attacker: Attacker, caplog: pytest.LogCaptureFixture
) -> None:
    file_ticket(slack, fake, bot)
    with caplog.at_level(logging.INFO):
        reply = _status_command(slack, attacker.url + "/steal")
    assert reply.status == 400
    control = _status_command(slack, fake.new_response_url(channel_id="C0GENERAL", user_id="U0L2ENG"))
    assert control.status == 200
    fake.wait_until(lambda: any("ESC-1" in json.dumps(r["body"]) for r in fake.responses), message="the control reply reached Slack")
    assert attacker.received == []
    assert any("response_url is not Slack's" in r.getMessage() for r in caplog.records)


def test_a_button_click_with_a_foreign_response_url_sends_nothing_there(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, attacker: Attacker
) -> None:
    card = file_ticket(slack, fake, bot)
    payload = slack._block_action_payload("U0STRANGER", action_id=Action.ACKNOWLEDGE.value, value="1", block_id=None,
                                          channel_id=card["channel"], message_ts=card["ts"], message=None, view=None)
    own_url = payload["response_url"]
    payload["response_url"] = attacker.url.replace("127.0.0.1", "localhost") + "/steal"
    reply = slack.post(urllib.parse.urlencode({"payload": json.dumps(payload)}))
    assert reply.status == 400
    payload["response_url"] = own_url  # control: the same click with Slack's URL gets the stranger's refusal there
    assert slack.post(urllib.parse.urlencode({"payload": json.dumps(payload)})).status == 200
    fake.wait_until(lambda: any(r["url"] == own_url for r in fake.responses), message="the refusal reached Slack")
    assert attacker.received == []
    assert tickets(bot)[0].acknowledged_at is None
