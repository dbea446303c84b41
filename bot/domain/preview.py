"""The policy dry-run: the timeline a ticket filed now would get, read from the same rules the bot runs.

Routing comes from `routing.route`, the response due time and the timers from `timers` (the functions
`services.timers.on_level_entered` schedules with), the follow-up cadence from `timers.followup_after`.
It assumes nobody acknowledges, posts an update or resolves: every timer fires when due. Follow-ups
start at filing (acknowledging does not move them; an update restarts the cadence from the update).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.policy import OTHER_CATEGORY, Contact, Level, Policy, Trigger
from bot.domain.routing import Routing, route
from bot.domain.severity import Severity
from bot.domain.timers import TimerKind, followup_after, level_entered_timers, response_due

FOLLOWUPS_SHOWN = 3  # the cadence repeats; the list shows its first few and says "and so on"


class StepKind(StrEnum):
    ROUTED = "routed"  # the level, severity and why
    CARD = "card"  # the ticket card in the level's channel
    CONFIRMATION = "confirmation"  # the reporter's DM
    PAGE = "page"  # critical: a DM to each of the level's responders
    CONTACT_DM = "contact_dm"  # a trigger's contact with a Slack id
    CONTACT_NAMED = "contact_named"  # a trigger's contact without one: named in the ticket's thread
    HOTLINE = "hotline"  # critical: the card shows the hotline and the bridge
    PREBREACH = "prebreach"
    BREACH = "breach"
    ESCALATION_SUGGESTED = "escalation_suggested"
    FOLLOWUP = "followup"
    MANAGER_NOTICE = "manager_notice"
    POSTMORTEM = "postmortem"  # not at a fixed time: on resolution


_TIMER_STEPS = {
    TimerKind.PREBREACH: StepKind.PREBREACH,
    TimerKind.RESPONSE_BREACH: StepKind.BREACH,
    TimerKind.SLA_UNRESOLVED: StepKind.ESCALATION_SUGGESTED,
    TimerKind.FOLLOWUP: StepKind.FOLLOWUP,
    TimerKind.MANAGER_NOTICE: StepKind.MANAGER_NOTICE,
}


@dataclass(frozen=True)
class Step:
    kind: StepKind
    at: datetime | None  # None: not at a fixed time (the post-mortem is due after resolution)
    offset: timedelta | None  # after filing
    people: tuple[str, ...] = ()  # Slack user or user-group ids
    channel: str | None = None
    contacts: tuple[Contact, ...] = ()
    trigger: Trigger | None = None
    level: Level | None = None  # the next level, for the escalation suggestion
    number: int = 0  # the follow-up's number (1, 2, …)
    last: bool = False  # the last follow-up shown: the cadence goes on
    bridge_url: str | None = None
    due_after: timedelta | None = None  # the post-mortem's deadline after resolution


@dataclass(frozen=True)
class Preview:
    filed_at: datetime
    tz: ZoneInfo
    requested_severity: Severity
    category: str | None
    trigger: Trigger | None
    routing: Routing
    level: Level
    response_due: datetime
    steps: tuple[Step, ...]

    @property
    def severity(self) -> Severity:
        return self.routing.severity

    @property
    def subject(self) -> str:
        return self.trigger.key if self.trigger else self.category or OTHER_CATEGORY


def dry_run(policy: Policy, *, severity: Severity, now: datetime, tz: ZoneInfo, category: str | None = None,
            trigger: Trigger | None = None, affected_users: int | None = None,
            followups: int = FOLLOWUPS_SHOWN) -> Preview:
    """What happens to a ticket filed `now` with this severity and category (or trigger), if nobody acts."""
    routing = route(policy, category=category or OTHER_CATEGORY, severity=severity,
                    trigger_keys={trigger.key} if trigger else set(), affected_users=affected_users)
    level = policy.level(routing.level_key)
    due = response_due(level, now, tz)
    steps: list[Step] = [
        Step(StepKind.ROUTED, now, timedelta(0)),
        Step(StepKind.CARD, now, timedelta(0), channel=level.channel),
        Step(StepKind.CONFIRMATION, now, timedelta(0)),
    ]
    critical = routing.severity == Severity.CRITICAL
    if critical:
        steps.append(Step(StepKind.PAGE, now, timedelta(0), people=level.responders))
    for fired in routing.triggers:
        for key in fired.notify:
            contact = policy.contact(key)
            kind = StepKind.CONTACT_DM if contact.slack else StepKind.CONTACT_NAMED
            steps.append(Step(kind, now, timedelta(0), contacts=(contact,), trigger=fired,
                              people=(contact.slack,) if contact.slack else ()))
    if critical:
        contacts = policy.critical_contacts(level.key, {t.key for t in routing.triggers})
        if contacts or level.bridge_url:
            steps.append(Step(StepKind.HOTLINE, now, timedelta(0), contacts=contacts, bridge_url=level.bridge_url))
    planned = level_entered_timers(policy, level_key=level.key, severity=routing.severity, level_entered_at=now,
                                   response_due_at=due, created_at=now, next_update_by=None, now=now, tz=tz)
    timed: list[Step] = []
    for timer in planned:
        kind = _TIMER_STEPS[timer.kind]
        if timer.kind is TimerKind.FOLLOWUP:
            timed.extend(_followups(policy, routing.severity, timer.due, now, tz, followups))
        elif timer.kind is TimerKind.RESPONSE_BREACH:
            timed.append(Step(kind, timer.due, timer.due - now, channel=level.channel, people=policy.management.managers))
        elif timer.kind is TimerKind.SLA_UNRESOLVED:
            timed.append(Step(kind, timer.due, timer.due - now, level=policy.next_level(level.key)))
        elif timer.kind is TimerKind.MANAGER_NOTICE:
            timed.append(Step(kind, timer.due, timer.due - now, people=policy.management.managers))
        else:
            timed.append(Step(kind, timer.due, timer.due - now))
    steps.extend(sorted(timed, key=lambda step: step.at or now))  # stable: breach before its suggestion
    if policy.postmortem.required(routing.severity):
        steps.append(Step(StepKind.POSTMORTEM, None, None, due_after=policy.postmortem.due_after))
    return Preview(filed_at=now, tz=tz, requested_severity=severity, category=None if trigger else category or OTHER_CATEGORY,
                   trigger=trigger, routing=routing, level=level, response_due=due, steps=tuple(steps))


def _followups(policy: Policy, severity: Severity, first: datetime, now: datetime, tz: ZoneInfo, count: int) -> list[Step]:
    """The first `count` follow-ups: each fires when due and schedules the next from then (services.timers._followup)."""
    steps, due = [], first
    for number in range(1, count + 1):
        steps.append(Step(StepKind.FOLLOWUP, due, due - now, number=number, last=number == count))
        due = followup_after(policy, severity, due, tz)
    return steps


# --- reading what someone typed ----------------------------------------------------------------------

class Problem(StrEnum):
    USAGE = "usage"  # nothing, or only a severity
    SEVERITY = "severity"  # not a severity
    UNKNOWN = "unknown"  # matches no category or trigger
    AMBIGUOUS = "ambiguous"  # matches several


@dataclass(frozen=True)
class Subject:
    category: str | None = None
    trigger: Trigger | None = None


@dataclass(frozen=True)
class PreviewRequest:
    severity: Severity
    subject: Subject


@dataclass(frozen=True)
class Refusal:
    """Why the words can't be previewed, and the choices to offer (the matches, or everything)."""

    problem: Problem
    text: str
    severities: tuple[str, ...]
    triggers: tuple[Trigger, ...]
    categories: tuple[str, ...]


def read_preview(policy: Policy, words: list[str] | tuple[str, ...]) -> PreviewRequest | Refusal:
    """`<severity> <category or trigger>`: the severity exactly, the rest loosely (see `find_subject`)."""
    severities = tuple(s.value for s in Severity)

    def refuse(problem: Problem, text: str, triggers: tuple[Trigger, ...] | None = None,
               categories: tuple[str, ...] | None = None) -> Refusal:
        everything = triggers is None and categories is None
        return Refusal(problem, text, severities, policy.triggers if everything else triggers or (),
                       all_categories(policy) if everything else categories or ())

    if len(words) < 2:
        return refuse(Problem.USAGE, " ".join(words))
    try:
        severity = Severity(words[0].lower())
    except ValueError:
        return refuse(Problem.SEVERITY, words[0])
    text = " ".join(words[1:])
    found = find_subject(policy, text)
    if isinstance(found, Subject):
        return PreviewRequest(severity, found)
    if not found:
        return refuse(Problem.UNKNOWN, text)
    return refuse(Problem.AMBIGUOUS, text, tuple(s.trigger for s in found if s.trigger),
                  tuple(s.category for s in found if s.category))


def all_categories(policy: Policy) -> tuple[str, ...]:
    return (*policy.categories, OTHER_CATEGORY)


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", text).casefold().split())


def find_subject(policy: Policy, text: str) -> Subject | tuple[Subject, ...]:
    """A trigger by key or label, or a category, matched case-insensitively: an exact name first, then a
    unique prefix, then a unique substring. Returns the one subject, or the candidates (none: unknown)."""
    names: list[tuple[str, Subject]] = []
    for trigger in policy.triggers:
        subject = Subject(trigger=trigger)
        names += [(_normal(trigger.key), subject), (_normal(trigger.label), subject)]
    names += [(_normal(category), Subject(category=category)) for category in all_categories(policy)]
    wanted = _normal(text)
    if not wanted:
        return ()
    for matches in (lambda name: name == wanted, lambda name: name.startswith(wanted), lambda name: wanted in name):
        found = tuple(dict.fromkeys(subject for name, subject in names if matches(name)))
        if len(found) == 1:
            return found[0]
        if found:
            return found
    return ()


def preview_words(policy: Policy, words: list[str] | tuple[str, ...], *, now: datetime, tz: ZoneInfo,
                  affected_users: int | None = None) -> Preview | Refusal:
    """`<severity> <category or trigger>` as typed, previewed for a ticket filed `now` (or why not)."""
    request = read_preview(policy, words)
    if isinstance(request, Refusal):
        return request
    return dry_run(policy, severity=request.severity, category=request.subject.category, trigger=request.subject.trigger,
                   affected_users=affected_users, now=now, tz=tz)
