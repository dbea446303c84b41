"""Composition root: Settings -> database -> Slack gateway -> Bolt app -> handlers -> HTTP or Socket Mode.

Nothing else reads the environment or builds clients. `python app.py` runs the bot.
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot import logs, metrics
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings, load_settings
from bot.db import make_engine, make_sessions, migrate
from bot.mail import SmtpMailer
from bot.domain.policy import Policy
from bot.policy_file import PolicyError, load_policy
from bot.rendering import Renderer
from bot.scheduler import make_scheduler
from bot.services.context import Burst, ServiceContext
from bot.services.health import state
from bot.services.outbox import relay_all
from bot.services.sweep import release_dead_claims, sweep
from bot.slack.gate import MAX_BODY, SlackGate
from bot.readiness import Readiness
from bot.slack.gateway import SlackError, SlackGateway, SlackRejected, make_client
from bot.slack.metered import MeteredApp
from bot.slack.notifier import SlackNotifier
from bot.slack.pacing import Pacer
from handlers import register_handlers
from handlers.deps import Deps

log = logging.getLogger("bot")
EVENTS_PATH = "/slack/events"
SERVER_THREADS = 16
CONNECTION_LIMIT = 1000  # open connections waitress serves at once (default 100: idle ones starved Slack's requests)
FD_RESERVE = 128  # descriptors kept for the database, Slack and SMTP clients, log files
CHANNEL_TIMEOUT = 10  # seconds an idle connection lives (default 120)
CLEANUP_INTERVAL = 1  # seconds between waitress's sweeps for idle connections
BACKLOG = 2048  # connections the kernel queues before waitress accepts them
MAX_HEADER_BYTES = 32 * 1024  # all request headers together (default 256 KiB); Slack sends about 1 KiB
RELAY_EVERY = timedelta(seconds=2)  # the outbox relay's own tick: it probes a backing-off Slack this often
REQUEST_DEADLINE = 5  # seconds a client may take to send one whole request; Slack sends it at once
METRICS_CONTENT_TYPE = metrics.CONTENT_TYPE
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client itself, at import: an environment variable, not a setting


class StartupError(Exception):
    """One line for the operator, naming the setting or policy key at fault."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    bolt: App
    deps: Deps
    listeners: ThreadPoolExecutor
    readiness: Readiness
    multiprocess_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR: /metrics merges every process's files

    @property
    def wsgi(self) -> Callable[..., Iterable[bytes]]:
        return http_app(self.bolt, signing_secret=self.settings.slack_signing_secret, api_url=self.settings.slack_api_url,
                        ready=self.readiness.problems, metrics=self.scrape)

    @property
    def ops_wsgi(self) -> Callable[..., Iterable[bytes]]:
        """Socket Mode's side listener: /healthz, /readyz and /metrics, no Slack endpoint."""
        return ops_app(ready=self.readiness.problems, metrics=self.scrape)

    def scrape(self) -> bytes:
        """One scrape: the instruments, and the database's state now."""
        return metrics.scrape(metrics.StateCollector(lambda: state(self.deps.services)), multiprocess_dir=self.multiprocess_dir)

    def close(self) -> None:
        """Finish the work listeners started after their ack, then release the database."""
        self.listeners.shutdown(wait=True)
        self.engine.dispose()


def ops_app(*, ready: Callable[[], list[str]] = list, metrics: Callable[[], bytes] | None = None) -> Callable[..., Iterable[bytes]]:
    """WSGI for operators: /healthz says the process is up; /readyz says whether it is fit to serve
    (503 naming each failing check); /metrics is Prometheus's text format."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        if path == "/readyz":
            problems = ready()
            start_response("503 Service Unavailable" if problems else "200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return ["".join(f"{p}\n" for p in problems).encode() if problems else b"ready\n"]
        if path == "/metrics" and metrics is not None:
            start_response("200 OK", [("Content-Type", METRICS_CONTENT_TYPE)])
            return [metrics()]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"Not Found\n"]

    return application


def http_app(bolt: App, *, signing_secret: str | None, api_url: str, now: Callable[[], float] = time.time,
             ready: Callable[[], list[str]] = list, metrics: Callable[[], bytes] | None = None) -> Callable[..., Iterable[bytes]]:
    """WSGI: Slack posts to /slack/events (through the gate, then Bolt); everything else is `ops_app`."""
    events = SlackGate(SlackRequestHandler(bolt, path=EVENTS_PATH), signing_secret=signing_secret, api_url=api_url, now=now)
    ops = ops_app(ready=ready, metrics=metrics)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == EVENTS_PATH and method == "POST":
            return events(environ, start_response)
        if path == EVENTS_PATH:
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain; charset=utf-8"), ("Allow", "POST")])
            return [b"Method Not Allowed\n"]
        return ops(environ, start_response)

    return application


def build(settings: Settings, *, clock: Clock | None = None, policy: Policy | None = None,
          pace: timedelta = timedelta(seconds=1)) -> Runtime:
    """Wire everything; raise StartupError with one clear line when something is missing or wrong."""
    try:
        policy = policy or load_policy(settings.policy_file)
    except PolicyError as exc:
        raise StartupError(str(exc)) from None
    for level in policy.levels:
        if level.open_to_everyone:
            log.warning("policy: level %s is open to every workspace member (responders: everyone)", level.key)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        raise StartupError(f"Configuration error: DATABASE_URL cannot be used ({type(exc.orig or exc).__name__}: {str(exc.orig or exc).strip().splitlines()[0]})") from None
    client = make_client(settings.slack_bot_token, settings.slack_api_url)
    gateway = SlackGateway(client)
    relay_gateway = SlackGateway(make_client(settings.slack_bot_token, settings.slack_api_url, retries=False))
    renderer = Renderer()
    mailer = None
    if settings.smtp_host:
        mailer = SmtpMailer(settings.smtp_host, settings.smtp_port, sender=settings.smtp_from or "escalations@localhost",
                            username=settings.smtp_username, password=settings.smtp_password, starttls=settings.smtp_starttls)
    services = ServiceContext(sessions=make_sessions(engine), policy=policy, clock=clock or SystemClock(),
                              notifier=SlackNotifier(gateway, renderer, policy, command=settings.slash_command), renderer=renderer, mailer=mailer,
                              directory=gateway,
                              tz=settings.tz, relay_notifier=SlackNotifier(relay_gateway, renderer, policy, command=settings.slash_command,
                                                           pacer=Pacer(pace)),
                              burst=Burst(settings.notice_burst_limit, settings.notice_burst_window)
                              if settings.notice_burst_limit else None)
    multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
    if multiprocess_dir is not None and not os.path.isdir(multiprocess_dir):
        raise StartupError(f"Configuration error: {MULTIPROC_ENV} {multiprocess_dir!r} is not a directory (create it, empty, before start-up)")
    listeners = logs.ContextThreadPool(max_workers=16, thread_name_prefix="listener")
    try:
        bolt = MeteredApp(
            client=client,
            signing_secret=settings.slack_signing_secret or "socket-mode",
            request_verification_enabled=not settings.socket_mode,
            token_verification_enabled=False,  # start-up must not need Slack: main() checks the token, patiently
            process_before_response=False,
            listener_executor=listeners,
        )
    except BoltError as exc:
        raise StartupError(f"Configuration error: SLACK_BOT_TOKEN was refused by Slack at {settings.slack_api_url} ({exc})") from None
    deps = Deps(settings=settings, services=services, gateway=gateway, renderer=renderer)
    register_handlers(bolt, deps)
    freed = release_dead_claims(services)
    if freed:
        log.info("released %d outbox/timer claims held by dead processes on this host", freed)
    return Runtime(settings=settings, engine=engine, bolt=bolt, deps=deps, listeners=listeners,
                   readiness=Readiness(services), multiprocess_dir=multiprocess_dir)


def server_options(*, threads: int = SERVER_THREADS, fd_limit: int | None = None) -> dict[str, Any]:
    """waitress's settings, for production and for every test server alike.

    Slack gives an app 3 seconds to answer and sends small bodies, so: refuse a body over the gate's cap
    from its Content-Length (413, never read), close idle connections after CHANNEL_TIMEOUT seconds,
    and hold up to CONNECTION_LIMIT connections (within the process's open-file limit) so idle ones
    can't keep Slack's next request waiting."""
    if fd_limit is None:
        fd_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return {
        "threads": threads,
        "ident": "escalation-bot",
        "max_request_body_size": MAX_BODY + 1,  # waitress refuses a Content-Length of this size or more
        "max_request_header_size": MAX_HEADER_BYTES,
        "connection_limit": max(100, min(CONNECTION_LIMIT, fd_limit - FD_RESERVE)),
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": CLEANUP_INTERVAL,
        "backlog": BACKLOG,
        "asyncore_use_poll": True,  # select() cannot watch descriptors above 1023
        "expose_tracebacks": False,
    }


def enforce_request_deadline(server: Any, deadline: float = REQUEST_DEADLINE) -> None:
    """Close connections that trickle a request in for longer than `deadline` seconds (slowloris).

    waitress's idle timeout restarts with every byte received, so a byte every few seconds would hold
    a connection for ever. Its periodic sweep (`maintenance`, every cleanup_interval) now also closes a
    connection whose same unfinished request it has seen for longer than the deadline."""
    first_seen: dict[int, tuple[object, float]] = {}
    idle_sweep = server.maintenance

    def maintenance(now: float) -> None:
        idle_sweep(now)
        unfinished: dict[int, tuple[object, float]] = {}
        for fd, channel in list(server.active_channels.items()):
            request = channel.request
            if request is None or request.completed:
                continue
            seen = first_seen.get(fd)
            since = seen[1] if seen is not None and seen[0] is request else now
            unfinished[fd] = (request, since)
            if now - since > deadline:
                channel.will_close = True
        first_seen.clear()
        first_seen.update(unfinished)

    server.maintenance = maintenance


def serve_http(runtime: Runtime) -> None:
    """HTTP mode on waitress, a production WSGI server (threads; no Bolt dev server)."""
    from waitress.server import create_server

    options = server_options()
    server = create_server(runtime.wsgi, host=runtime.settings.host, port=runtime.settings.port, **options)
    enforce_request_deadline(server)
    log.info("listening on http://%s:%s%s (bodies up to %d bytes, %d connections, idle timeout %ds, %ds to send a request)",
             runtime.settings.host, runtime.settings.port, EVENTS_PATH, MAX_BODY, options["connection_limit"],
             options["channel_timeout"], REQUEST_DEADLINE)
    server.run()


class BackgroundServer:
    """waitress on a thread, stoppable, with the production settings: Socket Mode's side listener, tests,
    benchmarks and the sandbox (port 0 = any free port; `overrides` change a server option, e.g. a short
    channel_timeout for one test)."""

    def __init__(self, wsgi: Callable[..., Iterable[bytes]], host: str = "127.0.0.1", port: int = 0, threads: int = SERVER_THREADS,
                 request_deadline: float = REQUEST_DEADLINE, **overrides: Any):
        from waitress.server import create_server

        self.options = {**server_options(threads=threads), **overrides}
        self._server = create_server(wsgi, host=host, port=port, **self.options)
        enforce_request_deadline(self._server, request_deadline)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="waitress", daemon=True)
        self.url = f"http://{host}:{self._server.effective_port}"

    def _loop(self) -> None:
        server = self._server
        while not self._stopping.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1, use_poll=server.adj.asyncore_use_poll)
        server.close()
        server.task_dispatcher.shutdown()

    def start(self) -> "BackgroundServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)


def serve_socket_mode(runtime: Runtime) -> None:
    """Socket Mode: Slack's requests come over the WebSocket; HOST:PORT serves only /healthz, /readyz and /metrics."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    side = BackgroundServer(runtime.ops_wsgi, host=runtime.settings.host, port=runtime.settings.port).start()
    log.info("serving /healthz, /readyz and /metrics on %s", side.url)
    log.info("connecting to Slack in Socket Mode")
    try:
        SocketModeHandler(runtime.bolt, runtime.settings.slack_app_token).start()
    finally:
        side.stop()


TOKEN_REFUSED = frozenset({"invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed"})
SLACK_RETRY_CAP = 30.0  # seconds between start-up checks of an unreachable Slack, at most


def check_slack(runtime: Runtime, *, sleep: Callable[[float], None] = time.sleep, attempts: int | None = None) -> None:
    """auth.test until Slack answers, one log line per failed attempt and no traceback; /readyz says
    "not ready" meanwhile. A refused token raises StartupError naming SLACK_BOT_TOKEN."""
    url, wait, tried = runtime.settings.slack_api_url, 1.0, 0
    probe = SlackGateway(make_client(runtime.settings.slack_bot_token, url, timeout=5, retries=False))  # one try each
    while attempts is None or tried < attempts:
        tried += 1
        try:
            identity = probe.whoami()
        except SlackRejected as exc:
            if exc.code in TOKEN_REFUSED:
                raise StartupError(f"Configuration error: SLACK_BOT_TOKEN was refused by Slack at {url} ({exc.code})") from None
            raise StartupError(f"Configuration error: Slack at {url} refused auth.test ({exc.code})") from None
        except SlackError as exc:
            runtime.readiness.slack_problem = f"not answering at {url} ({exc.code})"
            if attempts is not None and tried >= attempts:
                log.warning("Slack is not answering at %s (%s); serving anyway and trying again", url, exc.code)
                return
            log.warning("Slack is not answering at %s (%s); trying again in %.0f s", url, exc.code, wait)
            sleep(wait)
            wait = min(wait * 2, SLACK_RETRY_CAP)
            continue
        tell_bolt_who_we_are(runtime.bolt, identity)
        runtime.readiness.slack_answered()
        log.info("Slack answers at %s", url)
        return


def tell_bolt_who_we_are(bolt: App, identity: Any) -> None:
    """Bolt would call auth.test itself, at construction (so start-up would need Slack) or lazily on a
    request (without the token, in 1.30); it gets the answer check_slack already has instead."""
    from slack_bolt.middleware.authorization.single_team_authorization import SingleTeamAuthorization

    for middleware in bolt._middleware_list:  # noqa: SLF001 - Bolt offers no setter for this
        if isinstance(middleware, SingleTeamAuthorization):
            middleware.auth_test_result = identity


def watch_slack(runtime: Runtime) -> None:
    """check_slack on a thread while the HTTP listener answers; a token refused later ends the process."""
    def run() -> None:
        try:
            check_slack(runtime)
        except StartupError as exc:
            print(exc, file=sys.stderr, flush=True)
            os._exit(2)  # the main thread is serving HTTP; nothing is half-done before Slack first answers

    threading.Thread(target=run, name="slack-check", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--sandbox"]:  # the composition root's one choice: the bot against fake Slack, in a browser
        return run_sandbox(args[1:])
    try:
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)
        runtime = build(settings)
    except (ConfigError, StartupError) as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        check_slack(runtime, attempts=None if settings.socket_mode else 1)  # Socket Mode can't serve without Slack
    except StartupError as exc:
        print(exc, file=sys.stderr)
        runtime.close()
        return 2
    if not runtime.readiness.slack.is_set():
        watch_slack(runtime)
    ctx = runtime.deps.services
    runtime.readiness.sweep_interval = settings.scheduler_interval

    def swept() -> None:
        sweep(ctx)
        runtime.readiness.swept()

    scheduler = make_scheduler({
        "sweep": (settings.scheduler_interval, swept),  # timers, then the outbox
        "relay": (min(settings.scheduler_interval, RELAY_EVERY), lambda: relay_all(ctx)),  # seconds after Slack recovers
    })
    scheduler.start()
    try:
        (serve_socket_mode if settings.socket_mode else serve_http)(runtime)
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)
        runtime.close()
    return 0


def run_sandbox(args: list[str]) -> int:
    """`python app.py --sandbox [--host H] [--port P]`: see sandbox/ (nothing of it is in the bot's own path)."""
    import argparse

    from sandbox.server import run

    parser = argparse.ArgumentParser(prog="app.py --sandbox", description="The bot against a fake Slack, in a browser.")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=3333)
    parser.add_argument("--timezone", default="UTC", help="the workspace's time zone (IANA name)")
    options = parser.parse_args(args)
    return run(host=options.host, port=options.port, tz=options.timezone)


if __name__ == "__main__":
    sys.exit(main())
