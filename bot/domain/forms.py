"""Shared rules for what people type into modals."""

from __future__ import annotations

import re
import unicodedata

MAX_TEXT = 3000  # Slack's plain_text_input limit; a forged payload with more is refused, not clipped
_PLACEHOLDERS = {"n/a", "na", "none", "tbd", "unknown", "-", "?", "no impact", "idk", "same", "see above"}
URL = re.compile(r"^https?://[^\s<>|]+$", re.IGNORECASE)


CONTROL_CHARACTERS = "Remove the control characters (such as NUL) from this field; they can't be stored."


def has_control_characters(text: str) -> bool:
    """NUL and the other C0/C1 controls (tab, newline and carriage return allowed), or a lone surrogate:
    text no database stores as typed, refused while the modal is still open."""
    return any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in text)


class FormInvalid(Exception):
    """Field -> message, for Slack's inline modal errors."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def meaningful(text: str, minimum: int) -> bool:
    """Long enough and not a placeholder such as "n/a" or "tbd"."""
    stripped = " ".join(text.split())
    return len(stripped) >= minimum and stripped.lower() not in _PLACEHOLDERS


def check_text(errors: dict[str, str], field: str, text: str, *, minimum: int, what: str) -> str:
    """Record an error for a missing, placeholder, oversized or unstorable text; return the text stripped."""
    if has_control_characters(text):
        errors[field] = CONTROL_CHARACTERS
    elif len(text) > MAX_TEXT:
        errors[field] = f"Keep it under {MAX_TEXT:,} characters; attach longer logs as files."
    elif not meaningful(text, minimum):
        errors[field] = f"{what} (at least {minimum} characters)."
    return text.strip()


def check_optional(errors: dict[str, str], field: str, text: str) -> str:
    """An optional text: only its length and characters are checked; returned stripped."""
    if has_control_characters(text):
        errors[field] = CONTROL_CHARACTERS
    elif len(text) > MAX_TEXT:
        errors[field] = f"Keep it under {MAX_TEXT:,} characters."
    return text.strip()
