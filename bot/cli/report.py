"""`python -m bot report --since YYYY-MM-DD --until YYYY-MM-DD [--level L2] [--csv FILE]`: the SLA
figures for a period as text, and optionally the period's tickets and timelines as the auditors' CSV.

Dates are days in TIMEZONE; --until is inclusive (the period ends at the next midnight there)."""

from __future__ import annotations

import argparse
import sys
from datetime import date, time, timedelta
from pathlib import Path

from bot.cli.offline import SetupError, offline_context
from bot.domain.schedule import local
from bot.domain.tickets import DomainError
from bot.rendering import Renderer
from bot.services.reports import export_period, report


def add(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="SLA figures for a period, and its tickets' timelines as CSV",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", type=_day, required=True, metavar="YYYY-MM-DD", help="first day (in TIMEZONE)")
    parser.add_argument("--until", type=_day, required=True, metavar="YYYY-MM-DD", help="last day, inclusive")
    parser.add_argument("--level", help="one level's figures (and its tickets in the CSV), e.g. L2")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write the period's tickets and timelines here")
    parser.set_defaults(run=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def run(args: argparse.Namespace) -> int:
    if args.until < args.since:
        print(f"python -m bot report: --until {args.until} is before --since {args.since}", file=sys.stderr)
        return 2
    try:
        with offline_context() as ctx:
            since = local(args.since, time(0), ctx.tz)
            until = local(args.until + timedelta(days=1), time(0), ctx.tz)
            figures = report(ctx, since=since, until=until, level=args.level)
            reasons = {r.key: r.label for r in ctx.policy.reasons}
            print(Renderer().render_email("report.txt.j2", report=figures, first=args.since, last=args.until,
                                          zone=ctx.tz.key, reasons=reasons), end="")
            if args.csv is not None:
                with args.csv.open("w", encoding="utf-8", newline="") as out:
                    rows = export_period(ctx, out, since=since, until=until, level=args.level)
                print(f"Wrote {rows} timeline events to {args.csv}")
    except (SetupError, DomainError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"python -m bot report: cannot write {args.csv}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


