"""The shipped policy.yaml as tests need it: the seed's rules, with every level opened explicitly.

The shipped file names no responders, so it does not load until the admin chooses (fail closed);
tests that are not about permissions open each level with `responders: everyone`.
"""

from __future__ import annotations

from pathlib import Path

from bot.domain.policy import Policy
from bot.policy import parse_policy

SHIPPED = Path(__file__).resolve().parent.parent / "policy.yaml"


def open_seed_text() -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count("responders: []") == 3, "policy.yaml changed shape; update tests/policies.py"
    return text.replace("responders: []", "responders: everyone")


def open_seed_policy() -> Policy:
    return parse_policy(open_seed_text(), source="policy.yaml")
