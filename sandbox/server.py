"""The sandbox process: fake Slack, the real bot (`app.build()`), and the page that plays Slack's client.

Everything the page does reaches the bot as Slack would send it — signed HTTP requests to
/slack/events through `fakeslack.SlackSender` — and everything the bot sends goes through the Web API
methods it uses against Slack, served by `fakeslack.FakeSlack`. The page is server-rendered HTML
(`sandbox.render`) with a little JavaScript that long-polls for changes.
"""

from __future__ import annotations

import json
import logging
import secrets
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.config import Settings
from bot.domain.durations import parse_duration
from bot.services.outbox import relay_all
from bot.services.sweep import sweep
from fakeslack import FakeSlack, SlackSender
from sandbox import render
from sandbox.clock import OffsetClock
from sandbox.workspace import AGENT, PEOPLE, seed, write_policy, zone_of

log = logging.getLogger("sandbox")
HERE = Path(__file__).resolve().parent
ADVANCES = {"15 minutes": timedelta(minutes=15), "2 hours": timedelta(hours=2), "1 day": timedelta(days=1)}
RELAY_EVERY, SWEEP_EVERY = 1.0, 5.0  # real seconds: what the app's scheduler does, a little brisker
MAX_UPLOAD = 5 * 1024 * 1024
WAIT = 15.0  # seconds a page's long poll waits for a change


@dataclass
class Sandbox:
    """One running sandbox. `start()` builds it; `url` is the page; `stop()` ends it."""

    host: str = "127.0.0.1"
    port: int = 0
    tz: str = "UTC"
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="escalation-sandbox-")))

    def start(self) -> "Sandbox":
        from app import BackgroundServer, build, check_slack  # the composition root builds the bot

        self.clock = OffsetClock()
        self.fake = FakeSlack(clock=self.clock.epoch, socket_ping_interval=None).start()
        seed(self.fake, self.tz)
        self.signing_secret = secrets.token_hex(16)
        settings = Settings(  # never .env's Slack settings or database: only what the sandbox chose
            slack_bot_token=self.fake.bot_token, slack_signing_secret=self.signing_secret, slack_api_url=self.fake.api_url,
            database_url=f"sqlite:///{self.workdir / 'sandbox.db'}", policy_file=str(write_policy(self.workdir)),
            slack_app_token=None, timezone=self.tz, smtp_host=None, _env_file=None)
        self.runtime = build(settings, clock=self.clock)
        check_slack(self.runtime, attempts=1)
        self.bot_server = BackgroundServer(self.runtime.wsgi, host="127.0.0.1", port=0, threads=8).start()
        self.slack = SlackSender(self.bot_server.url + "/slack/events", self.signing_secret, self.fake)
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one sweep at a time (the loop and the clock buttons)
        self._jobs = threading.Thread(target=self._run_jobs, name="sandbox-jobs", daemon=True)
        self._jobs.start()
        self.page_server = BackgroundServer(self.wsgi, host=self.host, port=self.port, threads=16,
                                            request_deadline=WAIT + 10,  # /wait holds a request open
                                            max_request_body_size=2 * MAX_UPLOAD).start()  # we refuse, with a reason
        return self

    @property
    def url(self) -> str:
        return self.page_server.url + "/"

    def stop(self) -> None:
        self._stop.set()
        self._jobs.join(timeout=10)
        self.page_server.stop()
        self.bot_server.stop()
        self.runtime.close()
        self.fake.stop()

    # ----------------------------------------------------------------------------------------- jobs

    def _run_jobs(self) -> None:
        """The app's scheduler, in real time: relay the outbox every second, sweep timers every few."""
        last_sweep = 0.0
        while not self._stop.wait(RELAY_EVERY):
            try:
                with self._lock:
                    if time.monotonic() - last_sweep >= SWEEP_EVERY:
                        sweep(self.runtime.deps.services)
                        last_sweep = time.monotonic()
                    else:
                        relay_all(self.runtime.deps.services)
            except Exception:  # a sandbox job must never die; the bot's own errors are logged by it
                log.exception("sandbox job failed")

    def advance(self, delta: timedelta) -> None:
        """Move the bot's clock on and run the sweep at once, as if that time had passed."""
        self.clock.advance(delta)
        with self._lock:
            sweep(self.runtime.deps.services)
        self.fake.touch()

    # ----------------------------------------------------------------------------------------- page

    def context(self, user: str) -> dict[str, Any]:
        people = {p.id: p.real_name for p in PEOPLE} | {self.fake.bot_user_id: "escalations (bot)"}
        channels = {c["id"]: c["name"] for c in self.fake.conversations() if not c.get("is_im")}
        return {"users": people, "channels": channels, "tz": ZoneInfo(zone_of(user, self.tz)), "now": self.clock.now()}

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        form: dict[str, list[str]] = {}
        if method == "POST" and path == "/upload":  # a file chosen in a modal's file field: the raw bytes
            length = int(environ.get("CONTENT_LENGTH") or 0)
            user = _one(query, "as") or AGENT
            if length > MAX_UPLOAD or user not in {p.id for p in PEOPLE}:
                return _reply(start_response, "413 Payload Too Large" if length > MAX_UPLOAD else "400 Bad Request",
                              "application/json", json.dumps({"error": "Files in the sandbox are at most 5 MB, from its people."}).encode())
            name = (_one(query, "name") or "file").strip()[:200]
            shown = self.fake.add_file(user, name, environ["wsgi.input"].read(length),
                                       mimetype=_one(query, "type") or "application/octet-stream")
            return _reply(start_response, "200 OK", "application/json", json.dumps({"id": shown["id"], "name": name}).encode())
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > 1_000_000:
                return _reply(start_response, "413 Payload Too Large", "text/plain", b"too large\n")
            form = urllib.parse.parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"), keep_blank_values=True)
        user = _one(form, "as") or _one(query, "as") or AGENT
        if user not in {p.id for p in PEOPLE}:
            return _reply(start_response, "400 Bad Request", "application/json", json.dumps({"error": "No such person here."}).encode())
        try:
            if method == "GET" and path == "/":
                return _reply(start_response, "200 OK", "text/html; charset=utf-8", self.page(user, query).encode())
            if method == "GET" and path == "/panel":
                return _reply(start_response, "200 OK", "application/json", json.dumps(self.panel(user, query)).encode())
            if method == "GET" and path == "/wait":
                since = int(_one(query, "since") or 0)
                version = self.fake.wait_for_change(since, timeout=WAIT)
                return _reply(start_response, "200 OK", "application/json", json.dumps({"version": version}).encode())
            if method == "GET" and path == "/favicon.ico":
                return _reply(start_response, "204 No Content", "image/x-icon", b"")
            if method == "GET" and path == "/sandbox.css":
                return _reply(start_response, "200 OK", "text/css; charset=utf-8", render.CSS_PATH.read_bytes())
            if method == "POST" and path in ACTIONS:
                answer = ACTIONS[path](self, user, form)
                return _reply(start_response, "200 OK", "application/json", json.dumps(answer or {}).encode())
        except ValueError as exc:  # a form Slack's client would not send: say so, change nothing
            return _reply(start_response, "400 Bad Request", "application/json", json.dumps({"error": str(exc)}).encode())
        return _reply(start_response, "404 Not Found", "text/plain", b"not found\n")

    def page(self, user: str, query: dict[str, list[str]]) -> str:
        return PAGE.render(people=PEOPLE, me=user, channel=_one(query, "c") or "", advances=list(ADVANCES))

    def panel(self, user: str, query: dict[str, list[str]]) -> dict[str, Any]:
        """Everything the page shows for this person, as HTML fragments, with the version it reflects."""
        version = self.fake.version
        ctx = self.context(user)
        conversations = [c for c in self.fake.conversations() if not c.get("is_im") or c.get("user") == user]
        selected = _one(query, "c") or next((c["id"] for c in conversations if c.get("name") == "general"), "")
        thread = _one(query, "thread")
        view = self.fake.open_view(user)
        home = self.fake.home_view(user)
        messages = self.fake.messages(selected) if selected and selected != "home" else []
        top = [m for m in messages if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]
        replies = {m["ts"]: sum(1 for r in messages if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]) for m in top}
        return {
            "version": version,
            "now": self.clock.now().astimezone(ctx["tz"]).strftime("%a %d %b %Y, %H:%M:%S %Z"),
            "sidebar": SIDEBAR.render(conversations=conversations, selected=selected, people=ctx["users"], me=user),
            "messages": MESSAGES.render(
                selected=selected, messages=top, replies=replies, render=render, ctx=ctx,
                ephemerals=self.fake.ephemerals_for(selected, user) if selected and selected != "home" else [],
                home=render.home(home, **ctx) if selected == "home" and home else None),
            "thread": THREAD.render(channel=selected, parent=next((m for m in messages if m["ts"] == thread), None),
                                    replies=[m for m in messages if m.get("thread_ts") == thread and m["ts"] != thread],
                                    render=render, ctx=ctx) if thread else "",
            "modal": render.modal(view, errors=self.fake.view_errors(view["id"]), **ctx) if view else "",
            "channel": selected,
            "view_id": view["id"] if view else "",
        }


def _command(box: Sandbox, user: str, form: dict[str, list[str]]) -> dict[str, Any]:
    text, channel = (_one(form, "text") or "").strip(), _one(form, "channel") or ""
    command, _, rest = text.partition(" ")
    if command != box.runtime.settings.slash_command:
        raise ValueError(f"Only {box.runtime.settings.slash_command} is a command here; type it with what follows it.")
    reply = box.slack.slash_command(user, rest.strip(), command=command, channel_id=channel)
    return {"status": reply.status}


def _action(box: Sandbox, user: str, form: dict[str, list[str]]) -> dict[str, Any]:
    action_id, value, block_id = _one(form, "action_id") or "", _one(form, "value"), _one(form, "block_id")
    view_id, channel, ts = _one(form, "view_id"), _one(form, "channel"), _one(form, "ts")
    home = box.fake.home_view(user)
    if view_id and view_id in box.fake.views:  # an element in an open modal
        reply = box.slack.block_action(user, action_id=action_id, value=value, block_id=block_id,
                                       view=box.fake.views[view_id])
    elif view_id and home is not None and home.get("id") == view_id:  # in the person's App Home
        reply = box.slack.block_action(user, action_id=action_id, value=value, block_id=block_id, view=home)
    elif channel and ts:
        reply = box.slack.block_action(user, action_id=action_id, value=value, block_id=block_id, channel_id=channel,
                                       message_ts=ts)
    else:
        raise ValueError("That button is no longer on screen.")
    return {"status": reply.status}


def _submit(box: Sandbox, user: str, form: dict[str, list[str]]) -> dict[str, Any]:
    view = box.fake.views.get(_one(form, "view_id") or "")
    if view is None:
        raise ValueError("That modal is no longer open.")
    form = {k: v for k, v in form.items() if k not in ("as", "view_id")}
    files = {f: box.fake.files[f] for ids in form.values() for f in ids if f in box.fake.files}
    shown = {f: {k: v for k, v in record.items() if k in ("id", "name", "title", "mimetype", "size", "permalink")}
             for f, record in files.items()}
    values = render.form_values(view, form, tz=ZoneInfo(zone_of(user, box.tz)), files=shown)
    reply = box.slack.view_submission(user, view, values)
    return {"status": reply.status}


def _close(box: Sandbox, user: str, form: dict[str, list[str]]) -> dict[str, Any]:
    box.fake.close_view(_one(form, "view_id") or "")  # the bot's modals set no notify_on_close: nothing to send
    return {}


def _home(box: Sandbox, user: str, form: dict[str, list[str]]) -> dict[str, Any]:
    box.slack.event({"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home",
                     "event_ts": f"{box.clock.epoch():.6f}"})
    return {}


def _clock(box: Sandbox, user: str, form: dict[str, list[str]]) -> dict[str, Any]:
    label = _one(form, "by") or ""
    delta = ADVANCES.get(label) or parse_duration(label)
    box.advance(delta)
    return {"now": box.clock.now().isoformat()}


ACTIONS: dict[str, Callable[[Sandbox, str, dict[str, list[str]]], dict[str, Any] | None]] = {
    "/command": _command, "/action": _action, "/submit": _submit, "/close": _close, "/home": _home, "/clock": _clock,
}


def _one(values: dict[str, list[str]], key: str) -> str | None:
    found = values.get(key)
    return found[0] if found else None


def _reply(start_response: Callable[..., Any], status: str, content_type: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
    return [body]


_ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"]),
                   trim_blocks=True, lstrip_blocks=True)
PAGE, SIDEBAR, MESSAGES, THREAD = (_ENV.get_template(f"{name}.html.j2") for name in ("page", "sidebar", "messages", "thread"))


def run(host: str = "127.0.0.1", port: int = 3333, tz: str = "UTC") -> int:
    """`make sandbox`: start, print the URL, serve until Ctrl-C."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    box = Sandbox(host=host, port=port, tz=tz).start()
    print(f"Escalation bot sandbox: open {box.url} (fake Slack, simulated clock, nothing reaches the real Slack; Ctrl-C stops it)",
          flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
    return 0
