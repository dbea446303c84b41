"""The sandbox's seeded workspace: its people, its channels, and a policy that names them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fakeslack import FakeSlack

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    role: str  # what the person switcher says about them
    tz: str | None = None  # their own time zone (Slack shows date tokens in it); None: the workspace's


PEOPLE = (
    Person("U0SBAGENT", "alex", "Alex Agent", "support agent: files tickets with /escalate"),
    Person("U0SBL1", "lee", "Lee One", "L1 Help Desk"),
    Person("U0SBL2", "kim", "Kim Two", "L2 Systems", "Europe/Berlin"),
    Person("U0SBL3", "sam", "Sam Three", "L3 Engineering", "America/New_York"),
    Person("U0SBSEC", "rio", "Rio Security", "security responder (L3, paged on security incidents)"),
    Person("U0SBMGR", "max", "Max Manager", "support manager", "Asia/Singapore"),
)
AGENT, L1, L2, L3, SECURITY, MANAGER = (p.id for p in PEOPLE)
CHANNELS = ("support-l1", "support-l2", "support-l3", "support-reports")  # (fake Slack has #general already)


def seed(fake: FakeSlack, tz: str) -> None:
    """People and channels, as a Slack admin would have set them up for the bot."""
    for person in PEOPLE:
        fake.add_user(person.id, person.name, real_name=person.real_name, tz=person.tz or tz)
    for name in CHANNELS:
        fake.add_channel(name, id="C0SB" + name.replace("support-", "").replace("-", "").upper())


def zone_of(user_id: str, workspace: str) -> str:
    """The zone a person reads times in."""
    return next((p.tz for p in PEOPLE if p.id == user_id and p.tz), workspace)


def write_policy(directory: Path) -> Path:
    """The shipped policy.yaml with the sandbox's people as responders, manager and contacts."""
    text = (ROOT / "policy.yaml").read_text(encoding="utf-8")
    for level, responders in (("l1", f"[{L1}]"), ("l2", f"[{L2}]"), ("l3", f"[{L3}, {SECURITY}]")):
        text, replaced = re.subn(rf'(channel: "#support-{level}".*\n\s+responders: )\[\]', rf"\g<1>{responders}", text, count=1)
        if replaced != 1:
            raise RuntimeError(f"policy.yaml: cannot find the responders of level {level}")
    text = text.replace("  managers: []", f"  managers: [{MANAGER}]", 1)
    text = re.sub(r"(\{key: security, name: Security Incident Response, phone: [^,]+, slack: )null", rf"\g<1>{SECURITY}", text)
    text = re.sub(r"(\{key: l3_oncall, name: Level 3 On-Call Engineer, phone: [^,]+, slack: )null", rf"\g<1>{L3}", text)
    path = directory / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path
