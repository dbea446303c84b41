"""What a command-line run is given: settings without Slack, the policy, the database, and a service
context whose notifier refuses (nothing here may talk to Slack). Errors are one line naming the setting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import SystemClock
from bot.config import ConfigError, load_settings
from bot.db import make_engine, make_sessions
from bot.policy_file import PolicyError, load_policy
from bot.services.context import ServiceContext
from bot.services.ports import DeliveryFailed, NoGroups


class SetupError(Exception):
    """The command cannot run; one line for the operator, naming the setting or key at fault."""


class NoSlack:
    """The command line's notifier: every call is refused (the report commands never make one)."""

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise DeliveryFailed("the command line does not talk to Slack", permanent=True)
        return refuse


@contextmanager
def offline_context(**overrides: object) -> Iterator[ServiceContext]:
    """Settings (no SLACK_BOT_TOKEN needed), the policy, the database as the bot left it (not migrated:
    a read-only command changes nothing), then a ServiceContext on the system clock."""
    try:
        settings = load_settings(slack=False, **overrides)
    except ConfigError as exc:
        raise SetupError(str(exc)) from None
    try:
        policy = load_policy(settings.policy_file)
    except PolicyError as exc:
        raise SetupError(str(exc)) from None
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not url.database.startswith(":") \
            and not Path(url.database).exists():  # not an in-memory one; SQLite would create an empty file
        raise SetupError(f"Configuration error: DATABASE_URL names no database file ({url.database} does not exist)")
    engine = make_engine(settings.database_url)
    try:
        try:
            tables = set(inspect(engine).get_table_names())
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise SetupError(f"Configuration error: DATABASE_URL cannot be used ({type(getattr(exc, 'orig', None) or exc).__name__}: {reason})") from None
        if not {"tickets", "timeline_events"} <= tables:
            raise SetupError("Configuration error: DATABASE_URL holds no escalation bot tables (start the bot once to create them)")
        yield ServiceContext(sessions=make_sessions(engine), policy=policy, clock=SystemClock(), notifier=NoSlack(), directory=NoGroups(),
                             tz=settings.tz)
    finally:
        engine.dispose()
