"""The command line: each sub-command is a module here with `add(subparsers)` (which sets `run`, a
function of the parsed arguments returning the exit code). Settings and the policy come from the
same environment and files as the bot; Slack is never called."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence


COMMANDS = ("policy", "report")  # module names under bot.cli, each adding its sub-command(s)


class _Parser(argparse.ArgumentParser):
    """A bad argument is one line on stderr (what is wrong; `--help` shows the usage) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(prog="python -m bot", description="Escalation bot: reports and policy checks.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"bot.cli.{name}").add(subparsers)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.run(args))
