"""Every action, callback and block id, spelled once; builders and handlers share these."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    ACKNOWLEDGE = "ticket_acknowledge"
    ESCALATE = "ticket_escalate"
    POST_UPDATE = "ticket_post_update"
    RESOLVE = "ticket_resolve"
    OPEN_CARD = "ticket_open_card"


class Callback(StrEnum):
    NEW_ESCALATION = "new_escalation"


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


INPUT_ACTION = "value"  # the action_id of the single element inside each input block
FLAG_CUSTOMER_EXECUTIVE = "customer_executive"
FLAG_REGULATORY = "regulatory"
