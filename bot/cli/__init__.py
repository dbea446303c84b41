"""The command line: each sub-command is a module here with `add(subparsers)` (which sets `run`, a
function of the parsed arguments returning the exit code). Settings and the policy come from the
same environment and files as the bot; Slack is never called."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from bot.config import ConfigError, Settings, describe_settings_error

COMMANDS = ("policy",)  # module names under bot.cli, each adding its sub-command(s)


class OfflineSettings(Settings):
    """The bot's settings for commands that never call Slack: its token and signing secret are not needed
    (nor checked); everything else is read and validated as the bot reads it."""

    slack_bot_token: str | None = None  # type: ignore[assignment]

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:  # replaces Settings' check: not used here
        return value

    @model_validator(mode="after")
    def _http_mode_needs_secret(self) -> "OfflineSettings":  # replaces Settings' check: no HTTP server here
        return self


def offline_settings(**overrides: Any) -> OfflineSettings:
    """Settings without Slack's secrets; ConfigError with one line naming the setting when one is wrong."""
    try:
        return OfflineSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_settings_error(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Escalation bot: reports and policy checks.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"bot.cli.{name}").add(subparsers)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.run(args))
