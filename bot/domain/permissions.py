"""Who may do what to a ticket: roles, and the one table that maps each act to the roles allowed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.policy import Level
from bot.domain.tickets import Move, NotAllowed


class Role(StrEnum):
    RESPONDER = "responder"  # a responder of the ticket's current level (user groups expanded)
    ASSIGNEE = "assignee"  # whoever acknowledged at the current level
    MANAGER = "manager"
    REPORTER = "reporter"
    POSTMORTEM_OWNER = "postmortem_owner"
    ESCALATOR = "escalator"  # escalated the ticket once, and stays on it ("remain available")
    ANY_RESPONDER = "any_responder"  # a responder of any level


class Act(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    ESCALATE = "escalate"
    POST_UPDATE = "post updates on"
    RESOLVE = "resolve"
    COMPLETE_POSTMORTEM = "close the post-mortem of"
    REOPEN = "reopen"
    REASSIGN = "reassign"
    VIEW = "view the timeline of"
    SUBSCRIBE = "subscribe to"
    ESCALATE_SYSTEMIC = "escalate all of"


WHO_MAY: dict[Act, frozenset[Role]] = {
    Act.ACKNOWLEDGE: frozenset({Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER}),
    Act.ESCALATE: frozenset({Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER, Role.REPORTER}),
    Act.POST_UPDATE: frozenset({Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER, Role.REPORTER}),
    Act.RESOLVE: frozenset({Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER}),
    Act.COMPLETE_POSTMORTEM: frozenset({Role.POSTMORTEM_OWNER, Role.RESPONDER, Role.MANAGER}),
    Act.REOPEN: frozenset({Role.RESPONDER, Role.MANAGER, Role.REPORTER}),
    Act.REASSIGN: frozenset({Role.RESPONDER, Role.MANAGER}),
    Act.VIEW: frozenset({Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER, Role.REPORTER, Role.POSTMORTEM_OWNER,
                         Role.ESCALATOR, Role.ANY_RESPONDER}),
    # Subscribing is reading by DM: only those who may view may subscribe, and a subscription is no
    # role of its own, so it never widens who may view (unsubscribing is always allowed).
    Act.SUBSCRIBE: frozenset({Role.RESPONDER, Role.ASSIGNEE, Role.MANAGER, Role.REPORTER, Role.POSTMORTEM_OWNER,
                              Role.ESCALATOR, Role.ANY_RESPONDER}),
    # Every ticket of a systemic alert to the last level at once: that level's responders, or a manager.
    Act.ESCALATE_SYSTEMIC: frozenset({Role.RESPONDER, Role.MANAGER}),
}

# The act each lifecycle move asks permission for.
ACT_OF: dict[Move, Act] = {
    Move.ACKNOWLEDGE: Act.ACKNOWLEDGE, Move.ESCALATE: Act.ESCALATE, Move.POST_UPDATE: Act.POST_UPDATE,
    Move.RESOLVE: Act.RESOLVE, Move.COMPLETE_POSTMORTEM: Act.COMPLETE_POSTMORTEM, Move.REOPEN: Act.REOPEN,
    Move.REASSIGN: Act.REASSIGN,
}

_ROLE_NAMES = {
    Role.RESPONDER: "{level}'s responders",
    Role.ASSIGNEE: "the assignee",
    Role.MANAGER: "a manager",
    Role.REPORTER: "the reporter",
    Role.POSTMORTEM_OWNER: "the post-mortem owner",
    Role.ESCALATOR: "whoever escalated it",
    Role.ANY_RESPONDER: "support responders",
}


@dataclass(frozen=True)
class TicketPeople:
    """The facts about a ticket that decide who may act on it."""

    level: Level
    reporter_id: str
    assignee_id: str | None
    managers: tuple[str, ...]
    postmortem_owner: str | None = None
    escalators: frozenset[str] = frozenset()


def roles_of(actor_id: str, people: TicketPeople, *, responder: bool, any_responder: bool) -> frozenset[Role]:
    """The actor's roles on this ticket; `responder` says whether they answer for its current level."""
    roles = set()
    if responder:
        roles.add(Role.RESPONDER)
    if any_responder or responder:
        roles.add(Role.ANY_RESPONDER)
    if people.assignee_id == actor_id:
        roles.add(Role.ASSIGNEE)
    if actor_id in people.managers:
        roles.add(Role.MANAGER)
    if people.reporter_id == actor_id:
        roles.add(Role.REPORTER)
    if people.postmortem_owner == actor_id:
        roles.add(Role.POSTMORTEM_OWNER)
    if actor_id in people.escalators:
        roles.add(Role.ESCALATOR)
    return frozenset(roles)


def outsider_refusal(act: Act, ref: str) -> str:
    """What someone who may not read a ticket is told: nothing about it (not its level, its people, nor
    whether it exists), so a refusal can't be used to read what the permission table keeps from him."""
    return f"You can't {act.value} {ref}: only support responders, managers and the people on a ticket can."


def require(act: Act, roles: frozenset[Role], people: TicketPeople, *, ref: str) -> None:
    """Raise NotAllowed naming who may, unless one of the actor's roles may do `act`."""
    allowed = WHO_MAY[act]
    if roles & allowed:
        return
    if not roles & WHO_MAY[Act.VIEW]:
        raise NotAllowed(outsider_refusal(act, ref))
    names = [_ROLE_NAMES[r].format(level=people.level.title) for r in sorted(allowed, key=list(Role).index)
             if r not in (Role.ESCALATOR, Role.ANY_RESPONDER)]
    who: list[str] = []
    if Role.RESPONDER in allowed:
        who += list(people.level.responders)
    if Role.ASSIGNEE in allowed and people.assignee_id:
        who.append(people.assignee_id)
    if Role.MANAGER in allowed:
        who += list(people.managers)
    if Role.POSTMORTEM_OWNER in allowed and people.postmortem_owner:
        who.append(people.postmortem_owner)
    sentence = ", ".join(names[:-1]) + (" or " if len(names) > 1 else "") + names[-1]
    raise NotAllowed(f"Only {sentence} can {act.value} {ref}.", who=tuple(dict.fromkeys(who)))
