"""`python -m bot <command>`: the operators' command line (reports, policy checks, dry-runs)."""

from bot.cli import main

raise SystemExit(main())
