"""The escalation policy as the domain sees it: levels, triggers, reasons, cadences, contacts.

Built by `bot.policy_file` from the validated YAML file; immutable once loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta

OTHER_CATEGORY = "Other"


@dataclass(frozen=True)
class Level:
    key: str
    name: str
    response_sla: timedelta
    channel: str
    responders: tuple[str, ...] = ()
    email: str | None = None
    bridge_url: str | None = None
    scope: tuple[str, ...] = ()
    hotline: str | None = None  # contact key of the level's escalation hotline
    business_hours: "WorkingHours | None" = None  # None: the SLA clock runs on calendar time (the seed)
    open_to_everyone: bool = False  # the policy said `responders: everyone`: any workspace member may act


    @property
    def title(self) -> str:
        return f"{self.key} {self.name}"


@dataclass(frozen=True)
class WorkingHours:
    """When a level's SLA clock runs: working days (0 = Monday) and hours, in the bot's TIMEZONE."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Trigger:
    """An automatic-escalation criterion: any one sends the ticket to the last level as critical."""

    key: str
    label: str
    notify: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    """A manual-escalation reason from the seed."""

    key: str
    label: str


@dataclass(frozen=True)
class Contact:
    key: str
    name: str
    phone: str | None = None
    email: str | None = None
    slack: str | None = None


@dataclass(frozen=True)
class Followups:
    critical: timedelta
    standard: timedelta
    standard_at: time | None


@dataclass(frozen=True)
class Management:
    notify_after: timedelta
    managers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Postmortem:
    required_for: tuple[str, ...]  # severity values
    due_after: timedelta

    def required(self, severity: str) -> bool:
        """Does a ticket of this severity (a Severity, or its value) need a post-mortem before it closes?"""
        return str(severity) in self.required_for


@dataclass(frozen=True)
class Systemic:
    threshold: int
    window: timedelta


@dataclass(frozen=True)
class Reports:
    """Where and when the weekly SLA digest goes: `channel` (None: no digest) every `weekday` (0 = Monday)
    at `at` in TIMEZONE, with a chart of the last `weeks` weeks."""

    channel: str | None = None
    weekday: int = 0
    at: time = time(9, 0)
    weeks: int = 8


@dataclass(frozen=True)
class Policy:
    total_users: int
    levels: tuple[Level, ...]
    outage_threshold_percent: float
    triggers: tuple[Trigger, ...]
    reasons: tuple[Reason, ...]
    followups: Followups
    management: Management
    postmortem: Postmortem
    systemic: Systemic
    contacts: tuple[Contact, ...] = field(default=())
    prebreach_fraction: float | None = 0.75  # warn when this share of the response SLA has passed; None: off
    reports: Reports = field(default_factory=Reports)

    def level(self, key: str) -> Level:
        for level in self.levels:
            if level.key == key:
                return level
        raise KeyError(key)

    @property
    def first_level(self) -> Level:
        return self.levels[0]

    @property
    def last_level(self) -> Level:
        return self.levels[-1]

    def next_level(self, key: str) -> Level | None:
        keys = [level.key for level in self.levels]
        index = keys.index(key)
        return self.levels[index + 1] if index + 1 < len(self.levels) else None

    def trigger(self, key: str) -> Trigger:
        for trigger in self.triggers:
            if trigger.key == key:
                return trigger
        raise KeyError(key)

    def contact(self, key: str) -> Contact:
        for contact in self.contacts:
            if contact.key == key:
                return contact
        raise KeyError(key)

    def level_for_category(self, category: str) -> Level:
        """The level whose scope lists the category; anything else starts at the first level."""
        for level in self.levels:
            if category in level.scope:
                return level
        return self.first_level

    def hotline_from(self, key: str) -> Contact | None:
        """The escalation hotline of this level, or of the nearest level above that has one."""
        keys = [level.key for level in self.levels]
        for level in self.levels[keys.index(key):]:
            if level.hotline:
                return self.contact(level.hotline)
        return None

    def critical_contacts(self, level_key: str, trigger_keys: frozenset[str] | set[str] | list[str]) -> tuple[Contact, ...]:
        """What a critical ticket's card shows: the level's hotline, plus the contacts its triggers notify."""
        hotline = self.hotline_from(level_key)
        contacts = ([hotline] if hotline else []) + [
            self.contact(key) for t in self.triggers if t.key in trigger_keys for key in t.notify
        ]
        return tuple({c.key: c for c in contacts}.values())

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(item for level in self.levels for item in level.scope)
