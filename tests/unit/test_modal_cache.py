"""The New escalation modal is built once per policy, and what the cache serves is what a fresh build gives."""

from __future__ import annotations

import dataclasses
import json

from bot.policy_file import parse_policy
from bot.slack.blocks import ModalCache, new_escalation_modal
from tests.policies import open_seed_policy, open_seed_text

POLICY = open_seed_policy()


def exactly(view: dict) -> str:
    """The view as Slack receives it: JSON, key order included (dict equality ignores order)."""
    return json.dumps(view, ensure_ascii=False)


def test_the_cached_modal_is_exactly_a_freshly_built_one_for_every_channel() -> None:
    cache = ModalCache()
    for channel in ("C0GENERAL", None, "C0OTHER", "C0GENERAL"):
        assert exactly(cache.new_escalation(POLICY, origin_channel=channel)) == exactly(new_escalation_modal(POLICY, origin_channel=channel))


def test_the_modal_is_built_once_per_policy_and_each_command_gets_its_own_channel() -> None:
    cache = ModalCache()
    first = cache.new_escalation(POLICY, origin_channel="C0FIRST")
    second = cache.new_escalation(POLICY, origin_channel="C0SECOND")
    assert second["blocks"] is first["blocks"]  # served from the cache, not rebuilt
    assert json.loads(first["private_metadata"]) == {"channel": "C0FIRST"}
    assert json.loads(second["private_metadata"]) == {"channel": "C0SECOND"}


def test_a_changed_policy_gets_its_own_modal_never_the_stale_one() -> None:
    cache = ModalCache()
    old = cache.new_escalation(POLICY, origin_channel="C1")
    changed = dataclasses.replace(POLICY, total_users=12345, triggers=POLICY.triggers[:2])
    new = cache.new_escalation(changed, origin_channel="C1")
    assert exactly(new) == exactly(new_escalation_modal(changed, origin_channel="C1")) != exactly(old)
    assert "Out of 12,345" in exactly(new)
    assert exactly(cache.new_escalation(POLICY, origin_channel="C1")) == exactly(old)  # and back again


def test_a_reloaded_policy_file_builds_the_modal_afresh() -> None:
    cache = ModalCache()
    cache.new_escalation(POLICY, origin_channel="C1")
    reloaded = parse_policy(open_seed_text().replace("name: Engineering", "name: Platform Engineering", 1), source="policy.yaml")
    view = cache.new_escalation(reloaded, origin_channel="C1")
    assert exactly(view) == exactly(new_escalation_modal(reloaded, origin_channel="C1"))
    category = next(b for b in view["blocks"] if b.get("block_id") == "category")["element"]
    assert "L3 Platform Engineering" in [g["label"]["text"] for g in category["option_groups"]]
