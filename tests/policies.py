"""The shipped policy.yaml as tests need it: the seed's rules, with every level opened explicitly.

The shipped file names no responders, so it does not load until the admin chooses (fail closed);
tests that are not about permissions open each level with `responders: everyone`.
"""

from __future__ import annotations

from pathlib import Path

from bot.domain.policy import Policy
from bot.policy_file import parse_policy

SHIPPED = Path(__file__).resolve().parent.parent / "policy.yaml"


REPORTS_CHANNEL = 'channel: "#support-reports"'


def open_seed_text(*, reports: bool = False) -> str:
    """The seed, every level open; without the weekly digest unless `reports` (its rows, queued a week
    ahead, would sit in the outbox of every test that waits for the outbox to empty)."""
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("responders: []") == 3, "policy.yaml changed shape; update tests/policies.py"
    assert text.count(REPORTS_CHANNEL) == 1, "policy.yaml changed shape; update tests/policies.py"
    return text.replace("responders: []", "responders: everyone").replace(REPORTS_CHANNEL, "channel: null" if not reports else REPORTS_CHANNEL)


def open_seed_policy(*, reports: bool = False) -> Policy:
    return parse_policy(open_seed_text(reports=reports), source="policy.yaml")
