"""Files people open in a spreadsheet (the timeline export, the auditors' CSV)."""

from __future__ import annotations


def defuse(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (CSV injection): a leading = + - @ tab or CR is quoted."""
    return "'" + value if value[:1] in "=+-@\t\r" else value
