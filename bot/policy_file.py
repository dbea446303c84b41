"""The policy file (YAML): validated with pydantic, errors point at the file's line and key."""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator,
)

from bot.domain import policy as domain
from bot.domain.durations import parse_duration
from bot.domain.severity import Severity
from bot.slack.ids import CHANNEL_REF, MENTIONABLE_USER, USER_OR_GROUP

_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
OPEN_TO_EVERYONE = "everyone"  # `responders: everyone`: the admin opened a level to every workspace member
OPTION_TEXT_LIMIT = 75  # Slack's limit for a select option's text: categories must fit


class PolicyError(Exception):
    """The policy file is missing or invalid; one line naming file, line, key and why."""


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{value!r} needs a unit, like {value}m or {value}h")
    return parse_duration(str(value))


def _clock_time(value: Any) -> time | None:
    if value is None or isinstance(value, time):
        return value
    if isinstance(value, int):  # YAML 1.1 reads 09:00 unquoted as sexagesimal 540
        hours, minutes = divmod(value, 60)
        return time(hours, minutes)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"{value!r} is not a time of day like 09:00")
    return time(int(match.group(1)), int(match.group(2)))


Duration = Annotated[timedelta, BeforeValidator(_duration)]
ClockTime = Annotated[time | None, BeforeValidator(_clock_time)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _slack_ids(values: list[str]) -> list[str]:
    for value in values:
        if not USER_OR_GROUP.match(value):
            raise ValueError(f"{value!r} is not a Slack user ID (U…) or user-group ID (S…)")
    return values


class OrganizationModel(_Strict):
    total_users: int = Field(default=1000, gt=0)


DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class BusinessHoursModel(_Strict):
    days: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    start: ClockTime = time(9, 0)
    end: ClockTime = time(17, 0)

    @field_validator("days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        unknown = [d for d in value if d.lower() not in DAYS]
        if unknown or not value:
            raise ValueError(f"days must be a non-empty list of {', '.join(DAYS)}")
        return [d.lower() for d in value]

    @model_validator(mode="after")
    def _order(self) -> "BusinessHoursModel":
        if self.start is None or self.end is None or self.start >= self.end:
            raise ValueError("start must be before end, like start: \"09:00\", end: \"17:00\"")
        return self

    def to_domain(self) -> domain.WorkingHours:
        assert self.start is not None and self.end is not None
        return domain.WorkingHours(frozenset(DAYS[d] for d in self.days), self.start, self.end)


class LevelModel(_Strict):
    key: str
    name: str = Field(min_length=1, max_length=60)
    response_sla: Duration
    channel: str
    responders: Annotated[Any, Field(validate_default=True)] = None  # a list of U…/S… ids, or "everyone"
    email: str | None = None
    bridge_url: str | None = None
    scope: list[Annotated[str, Field(min_length=1, max_length=OPTION_TEXT_LIMIT)]] = []
    hotline: str | None = None
    business_hours: BusinessHoursModel | None = None

    @field_validator("responders")
    @classmethod
    def _responders(cls, value: Any, info: ValidationInfo) -> list[str] | str:
        """Fail closed: nobody named is an error; opening a level to all is said in so many words."""
        if value == OPEN_TO_EVERYONE:
            return value
        if value is None or value == []:
            level = info.data.get("key", "this level")
            raise ValueError(f"names nobody: list who answers for {level} (Slack user IDs U… or user-group IDs S…), "
                             f"or write `responders: {OPEN_TO_EVERYONE}` to let any workspace member act on its tickets")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"must be a list of Slack user IDs (U…) or user-group IDs (S…), or {OPEN_TO_EVERYONE}")
        if OPEN_TO_EVERYONE in value:
            raise ValueError(f"write `responders: {OPEN_TO_EVERYONE}` on its own, not inside a list")
        return _slack_ids(value)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("must be a short identifier like L1")
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not CHANNEL_REF.match(value):
            raise ValueError(f"{value!r} must be a channel ID (C…) or a #name in lower case")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("bridge_url")
    @classmethod
    def _bridge(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://\S+$", value):
            raise ValueError(f"{value!r} must be an http(s) URL")
        return value


class TriggerModel(_Strict):
    key: str
    label: str = Field(min_length=1, max_length=OPTION_TEXT_LIMIT)
    notify: list[str] = []


class AutomaticModel(_Strict):
    outage_threshold_percent: float = Field(default=25, gt=0, le=100)
    triggers: list[TriggerModel]


class ReasonModel(_Strict):
    key: str
    label: str = Field(min_length=1, max_length=OPTION_TEXT_LIMIT)


class ManualModel(_Strict):
    reasons: list[ReasonModel] = Field(min_length=1)


class FollowupsModel(_Strict):
    critical: Duration = timedelta(hours=2)
    standard: Duration = timedelta(days=1)
    standard_at: ClockTime = time(9, 0)


class ManagementModel(_Strict):
    notify_after: Duration = timedelta(hours=4)
    managers: list[str] = []

    @field_validator("managers")
    @classmethod
    def _managers(cls, value: list[str]) -> list[str]:
        for item in value:
            if not MENTIONABLE_USER.match(item):
                raise ValueError(f"{item!r} is not a Slack user ID (U…)")
        return value


class PostmortemModel(_Strict):
    required_for: list[str] = ["critical"]
    due_after: Duration = timedelta(days=5)

    @field_validator("required_for")
    @classmethod
    def _severities(cls, value: list[str]) -> list[str]:
        allowed = {severity.value for severity in Severity}
        for item in value:
            if item not in allowed:
                raise ValueError(f"{item!r} is not a severity ({', '.join(sorted(allowed))})")
        return value


class SystemicModel(_Strict):
    threshold: int = Field(default=3, ge=2)
    window: Duration = timedelta(minutes=60)


class SlaModel(_Strict):
    prebreach_warning: float | None = Field(default=0.75, gt=0, lt=1)


class ReportsModel(_Strict):
    channel: str | None = None
    weekly: str = "monday 09:00"
    weeks: int = Field(default=8, ge=2, le=26)

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not CHANNEL_REF.match(value):
            raise ValueError(f"{value!r} must be a channel ID (C…) or a #name in lower case")
        return value

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: str) -> str:
        _weekly_slot(value)
        return value

    def to_domain(self) -> domain.Reports:
        weekday, at = _weekly_slot(self.weekly)
        return domain.Reports(channel=self.channel, weekday=weekday, at=at, weeks=self.weeks)


def _weekly_slot(value: str) -> tuple[int, time]:
    """"monday 09:00" (or "Mon 9:00") -> (0, 09:00)."""
    parts = str(value).split()
    day = parts[0][:3].lower() if parts else ""
    if len(parts) != 2 or day not in DAYS or not parts[0].lower().startswith(day):
        raise ValueError(f"{value!r} must be a weekday and a time, like \"monday 09:00\"")
    at = _clock_time(parts[1])
    assert at is not None
    return DAYS[day], at


class ContactModel(_Strict):
    key: str
    name: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None
    slack: str | None = None

    @field_validator("slack")
    @classmethod
    def _slack(cls, value: str | None) -> str | None:
        if value is not None:
            _slack_ids([value])
        return value


class PolicyModel(_Strict):
    organization: OrganizationModel = OrganizationModel()
    levels: list[LevelModel] = Field(min_length=1)
    automatic_escalation: AutomaticModel
    manual_escalation: ManualModel
    followups: FollowupsModel = FollowupsModel()
    management: ManagementModel = ManagementModel()
    postmortem: PostmortemModel = PostmortemModel()
    systemic: SystemicModel = SystemicModel()
    sla: SlaModel = SlaModel()
    reports: ReportsModel = ReportsModel()
    contacts: list[ContactModel] = []

    @model_validator(mode="after")
    def _cross_references(self) -> "PolicyModel":
        _unique("levels", [lv.key for lv in self.levels])
        _unique("automatic_escalation.triggers", [t.key for t in self.automatic_escalation.triggers])
        _unique("manual_escalation.reasons", [r.key for r in self.manual_escalation.reasons])
        _unique("contacts", [c.key for c in self.contacts])
        categories = [item for lv in self.levels for item in lv.scope]
        if len(set(categories)) != len(categories):
            dupes = sorted({c for c in categories if categories.count(c) > 1})
            raise ValueError(f"scope category {dupes[0]!r} is listed under more than one level")
        if domain.OTHER_CATEGORY in categories:
            raise ValueError(f"scope category {domain.OTHER_CATEGORY!r} is reserved for tickets that fit no level")
        contact_keys = {c.key for c in self.contacts}
        for lv in self.levels:
            if lv.hotline is not None and lv.hotline not in contact_keys:
                raise ValueError(f"level {lv.key!r} names unknown hotline contact {lv.hotline!r} (add it under contacts)")
        for trigger in self.automatic_escalation.triggers:
            for key in trigger.notify:
                if key not in contact_keys:
                    raise ValueError(f"trigger {trigger.key!r} notifies unknown contact {key!r} (add it under contacts)")
        return self

    def to_domain(self) -> domain.Policy:
        return domain.Policy(
            total_users=self.organization.total_users,
            levels=tuple(
                domain.Level(
                    key=lv.key,
                    name=lv.name,
                    response_sla=lv.response_sla,
                    channel=lv.channel,
                    responders=() if lv.responders == OPEN_TO_EVERYONE else tuple(lv.responders),
                    open_to_everyone=lv.responders == OPEN_TO_EVERYONE,
                    email=lv.email,
                    bridge_url=lv.bridge_url,
                    scope=tuple(lv.scope),
                    hotline=lv.hotline,
                    business_hours=lv.business_hours.to_domain() if lv.business_hours else None,
                )
                for lv in self.levels
            ),
            outage_threshold_percent=self.automatic_escalation.outage_threshold_percent,
            triggers=tuple(
                domain.Trigger(t.key, t.label, tuple(t.notify)) for t in self.automatic_escalation.triggers
            ),
            reasons=tuple(domain.Reason(r.key, r.label) for r in self.manual_escalation.reasons),
            followups=domain.Followups(self.followups.critical, self.followups.standard, self.followups.standard_at),
            management=domain.Management(self.management.notify_after, tuple(self.management.managers)),
            postmortem=domain.Postmortem(tuple(self.postmortem.required_for), self.postmortem.due_after),
            systemic=domain.Systemic(self.systemic.threshold, self.systemic.window),
            contacts=tuple(domain.Contact(c.key, c.name, c.phone, c.email, c.slack) for c in self.contacts),
            prebreach_fraction=self.sla.prebreach_warning,
            reports=self.reports.to_domain(),
        )


def _unique(where: str, keys: list[str]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"{where}: key {key!r} is used twice")
        seen.add(key)


def load_policy(path: str | Path) -> domain.Policy:
    """Read and validate the policy file; raise PolicyError with file:line and the key at fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"Policy error: POLICY_FILE {str(path)!r} does not exist (copy policy.yaml from the repository)") from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = "policy.yaml") -> domain.Policy:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise PolicyError(f"Policy error: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise PolicyError(f"Policy error: {source}: the file must be a mapping with levels, automatic_escalation, …")
    try:
        return PolicyModel.model_validate(data).to_domain()
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = ".".join(str(part) for part in loc) or "(top level)"
        line = _line_of(root, loc)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "is not a known policy key (check the spelling)"
        elif error["type"] == "missing":
            message = "is required"
        where = f"{source}:{line}" if line else source
        raise PolicyError(f"Policy error: {where}: {key} {message}") from None


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest YAML node that `loc` reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                key_node = next((k for k, _ in node.value if k.value == part), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
