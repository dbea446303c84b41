"""Every action, callback and block id, spelled once; builders and handlers share these."""

from __future__ import annotations

import re
from enum import StrEnum

# ---- What Slack's IDs look like, known here only (payload readers, the gateway, the policy's checks,
# the mention filter and the directory all ask this module).
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")  # in a payload: a user (W… on Enterprise Grid)
CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,30}$")  # a channel, a DM, a private channel
VIEW_ID = re.compile(r"^V[A-Z0-9]{2,62}$")
FILE_ID = re.compile(r"^F[A-Z0-9]{2,30}$")
MENTIONABLE_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")  # an ID the policy names, or a mention may show
GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")  # a user group
USER_OR_GROUP = re.compile(r"^[UWS][A-Z0-9]{2,}$")
CHANNEL_REF = re.compile(r"^(C[A-Z0-9]{2,}|G[A-Z0-9]{2,}|#[a-z0-9][a-z0-9_\-]{0,79})$")  # a channel ID or a #name
POSTABLE_ID = re.compile(r"[CGDUW][A-Z0-9]{2,}")  # what chat.postMessage takes as is (else a #name to look up)


def is_group(member_id: str) -> bool:
    """A user group's ID (S…) rather than a person's: the policy has checked the IDs' shapes already."""
    return member_id.startswith("S")


def is_user(member_id: str) -> bool:
    """A person's ID (U…, W…): their DM is opened to read its history."""
    return member_id[:1] in "UW" and bool(POSTABLE_ID.fullmatch(member_id))


class Action(StrEnum):
    ACKNOWLEDGE = "ticket_acknowledge"
    ESCALATE = "ticket_escalate"
    POST_UPDATE = "ticket_post_update"
    RESOLVE = "ticket_resolve"
    SUBSCRIBE = "ticket_subscribe"
    REOPEN = "ticket_reopen"
    POSTMORTEM_DONE = "ticket_postmortem_done"
    OPEN_CARD = "ticket_open_card"
    SYSTEMIC_ESCALATE = "systemic_escalate"
    REASSIGN = "ticket_reassign"
    STATUS = "ticket_status"  # the ticket's status and timeline, in a modal (the App Home's Status button)
    HOME_MORE = "home_more"  # an App Home section at length, in a modal; the value names the section


class Callback(StrEnum):
    NEW_ESCALATION = "new_escalation"
    ESCALATE = "escalate_ticket"
    POST_UPDATE = "post_update"
    RESOLVE = "resolve_ticket"
    POSTMORTEM_DONE = "postmortem_done"
    REASSIGN = "reassign_ticket"


class IntakeBlock(StrEnum):
    """Block ids of the New escalation modal; each equals the IntakeDraft field it fills."""

    TITLE = "title"
    CATEGORY = "category"
    SEVERITY = "severity"
    DESCRIPTION = "description"
    ERROR_MESSAGES = "error_messages"
    ATTACHMENTS = "attachments"
    LOG_LINKS = "log_links"
    TROUBLESHOOTING = "troubleshooting"
    BUSINESS_IMPACT = "business_impact"
    AFFECTED_USERS = "affected_users"
    TRIGGERS = "triggers"
    FLAGS = "flags"


class EscalateBlock(StrEnum):
    REASON = "reason"
    TARGET_LEVEL = "target_level"
    BUSINESS_IMPACT = "business_impact"
    TROUBLESHOOTING = "troubleshooting"
    NOTES = "notes"


class UpdateBlock(StrEnum):
    STATUS = "status"
    NEXT_STEPS = "next_steps"
    NEXT_UPDATE_BY = "next_update_by"


class ResolveBlock(StrEnum):
    RESOLUTION = "resolution"
    ROOT_CAUSE = "root_cause"
    LESSONS = "lessons"
    POSTMORTEM_OWNER = "postmortem_owner"


class ReassignBlock(StrEnum):
    ASSIGNEE = "assignee"


class PostmortemBlock(StrEnum):
    URL = "postmortem_url"


INPUT_ACTION = "value"  # the action_id of the single element inside each input block
FLAG_CUSTOMER_EXECUTIVE = "customer_executive"
FLAG_REGULATORY = "regulatory"
