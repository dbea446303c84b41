"""Durations as the policy writes them: `30s`, `15m`, `2h`, `1d`, or combined like `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """Parse `15m`, `2h`, `1d`, `30s` or `1h30m`; raise ValueError with a readable reason."""
    cleaned = str(text).strip().lower().replace(" ", "")
    if not cleaned or _PART.sub("", cleaned) != "":
        raise ValueError(f"{text!r} is not a duration; write it like 30s, 15m, 2h or 1d")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Render a duration compactly for people: `45s`, `12m`, `4h`, `1h 30m`, `2d 3h`."""
    total = int(delta.total_seconds())
    if total < 60:
        return f"{max(total, 0)}s"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes and not days else ""]
    return " ".join(p for p in parts if p)
