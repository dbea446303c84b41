"""`python -m bot check-policy [FILE]` and `python -m bot preview <severity> <category or trigger>`: the
policy dry-run as text, from the same files and settings as the bot, without Slack or a database."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Any

from bot.clock import SystemClock
from bot.config import ConfigError, load_settings
from bot.domain.policy import Policy
from bot.domain.preview import Preview, Refusal, dry_run, preview_words
from bot.domain.severity import Severity
from bot.policy_file import PolicyError, load_policy
from bot.rendering import Renderer

COMMAND = "python -m bot"


def add(subparsers: Any) -> None:
    check = subparsers.add_parser("check-policy", help="validate a policy file and preview each trigger and level",
                                  description="Validate a policy file (default: POLICY_FILE), print each level's summary "
                                              "and the dry-run of each trigger and of each level's first category.")
    check.add_argument("file", nargs="?", help="the policy file (default: the POLICY_FILE setting)")
    check.add_argument("--severity", default=Severity.HIGH.value, choices=[s.value for s in Severity],
                       help="the severity previewed for each level's first category (default: high)")
    _at(check)
    check.set_defaults(run=check_policy)

    preview = subparsers.add_parser("preview", help="what the policy does with a ticket filed now",
                                    description="The timeline a ticket filed now would get, assuming nobody acknowledges.")
    preview.add_argument("severity", help="critical, high, medium or low")
    preview.add_argument("subject", nargs="+", help="a category (any unique part of it) or a trigger (key or label)")
    preview.add_argument("--policy", dest="file", help="the policy file (default: the POLICY_FILE setting)")
    preview.add_argument("--affected-users", type=int, default=None, help="affected users (the outage rule)")
    _at(preview)
    preview.set_defaults(run=preview_policy)


def _at(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", type=_moment, default=None, metavar="ISO",
                        help="file the imagined ticket at this time, e.g. 2026-11-27T17:00+01:00 (default: now)")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date-time like 2026-11-27T17:00+01:00") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _load(args: argparse.Namespace) -> tuple[Policy, Any, str] | None:
    """The policy (FILE, else POLICY_FILE), the zone and the path; None after printing the one-line error."""
    try:
        settings = load_settings(slack=False)
        path = args.file or settings.policy_file
        return load_policy(path), settings.tz, path
    except (ConfigError, PolicyError) as exc:
        print(exc, file=sys.stderr)
        return None


def check_policy(args: argparse.Namespace) -> int:
    if (loaded := _load(args)) is None:
        return 1
    policy, tz, path = loaded
    now = args.at or SystemClock().now()
    renderer = Renderer()
    triggers = [dry_run(policy, severity=Severity.CRITICAL, trigger=t, now=now, tz=tz) for t in policy.triggers]
    categories = [dry_run(policy, severity=Severity(args.severity), category=level.scope[0], now=now, tz=tz)
                  for level in policy.levels if level.scope]
    print(renderer.render_text_block("check_policy.txt.j2", "summary", policy=policy, path=path, tz=tz))
    for preview in (*triggers, *categories):
        print("\n" + _text(renderer, preview, policy, footer=False))
    print("\n" + renderer.render_text_block("preview.md.j2", "footer"))
    return 0


def preview_policy(args: argparse.Namespace) -> int:
    if (loaded := _load(args)) is None:
        return 1
    policy, tz, _ = loaded
    renderer = Renderer()
    preview = preview_words(policy, [args.severity, *args.subject], now=args.at or SystemClock().now(), tz=tz,
                            affected_users=args.affected_users)
    if isinstance(preview, Refusal):
        print(renderer.render_text_block("preview.md.j2", "refused", r=preview, command=COMMAND), file=sys.stderr)
        return 2
    print(_text(renderer, preview, policy, footer=True))
    return 0


def _text(renderer: Renderer, preview: Preview, policy: Policy, *, footer: bool) -> str:
    blocks = ("title", "steps", "footer") if footer else ("title", "steps")
    return "\n".join(renderer.render_text_block("preview.md.j2", b, p=preview, policy=policy) for b in blocks)
