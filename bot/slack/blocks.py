"""Block Kit, built in one place from slack_sdk's models (which enforce Slack's limits).

Builders take plain data and already-rendered text; they never see a session.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    OptionGroup,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.block_elements import InputInteractiveElement
from slack_sdk.models.views import View

from bot.domain.intake import MIN_BUSINESS_IMPACT, MIN_DESCRIPTION
from bot.domain.policy import OTHER_CATEGORY, Policy
from bot.domain.severity import Severity
from bot.rendering import clip, clip_mrkdwn
from bot.slack.ids import FLAG_CUSTOMER_EXECUTIVE, FLAG_REGULATORY, INPUT_ACTION, Action, Callback, IntakeBlock

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MESSAGE_TEXT_LIMIT = 3000  # notification fallback text; Slack allows more but nobody reads it
TEXT_INPUT_LIMIT = 3000


class FileInputElement(InputInteractiveElement):
    """Slack's `file_input` (not modelled by slack_sdk yet): files attached in a modal."""

    type = "file_input"

    @property
    def attributes(self) -> set[str]:  # type: ignore[override]
        return super().attributes.union({"filetypes", "max_files"})

    def __init__(self, *, action_id: str, max_files: int = 10, filetypes: Sequence[str] | None = None, **others: Any):
        super().__init__(type=self.type, action_id=action_id)
        self.max_files = max_files
        self.filetypes = list(filetypes) if filetypes else None


def mrkdwn_section(text: str, *, block_id: str | None = None, accessory: Any = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip_mrkdwn(text, SECTION_LIMIT)), block_id=block_id, accessory=accessory)


def _plain(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def _option(text: str, value: str, description: str | None = None) -> Option:
    return Option(text=_plain(text, 75), value=value, description=_plain(description, 75) if description else None)


def _text_input(block: IntakeBlock, label: str, *, placeholder: str, hint: str | None = None, multiline: bool = True,
                optional: bool = False, min_length: int | None = None, max_length: int = TEXT_INPUT_LIMIT) -> InputBlock:
    return InputBlock(
        block_id=block.value,
        label=_plain(label, 2000),
        hint=_plain(hint, 2000) if hint else None,
        optional=optional,
        element=PlainTextInputElement(
            action_id=INPUT_ACTION,
            multiline=multiline,
            placeholder=_plain(placeholder, 150),
            min_length=min_length,
            max_length=max_length,
        ),
    )


SEVERITY_HELP = {
    Severity.CRITICAL: "Service down, security or data at risk",
    Severity.HIGH: "Major feature broken, no workaround",
    Severity.MEDIUM: "Degraded, a workaround exists",
    Severity.LOW: "Minor issue or question",
}


def new_escalation_modal(policy: Policy, *, origin_channel: str | None) -> dict[str, Any]:
    """The New escalation modal: the seed's "Document Issue" rules as form fields."""
    groups = [
        OptionGroup(label=_plain(level.title, 75), options=[_option(item, item) for item in level.scope])
        for level in policy.levels
        if level.scope
    ]
    groups.append(OptionGroup(label=_plain("Something else", 75), options=[_option(OTHER_CATEGORY, OTHER_CATEGORY, "Help Desk will route it")]))
    severities = [_option(f"{s.emoji} {s.label}", s.value, SEVERITY_HELP[s]) for s in Severity]
    triggers = [_option(t.label, t.key) for t in policy.triggers]
    last = policy.last_level
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=(
            "Document the issue so the next level can act without asking again. "
            f"Any automatic-escalation box below sends the ticket straight to *{last.title}* as *critical*."
        ))),
        _text_input(IntakeBlock.TITLE, "Title", placeholder="e.g. Payroll app returns 502 for everyone", multiline=False, max_length=150),
        InputBlock(block_id=IntakeBlock.CATEGORY.value, label=_plain("Category", 2000),
                   element=StaticSelectElement(action_id=INPUT_ACTION, placeholder=_plain("Pick the closest match", 150), option_groups=groups)),
        InputBlock(block_id=IntakeBlock.SEVERITY.value, label=_plain("Severity", 2000),
                   element=StaticSelectElement(action_id=INPUT_ACTION, options=severities, initial_option=severities[2])),
        _text_input(IntakeBlock.DESCRIPTION, "Problem description", placeholder="What happens, where, since when, how often",
                    hint=f"At least {MIN_DESCRIPTION} characters."),
        _text_input(IntakeBlock.ERROR_MESSAGES, "Error messages", placeholder="Paste the exact error text, or write “none shown”"),
        InputBlock(block_id=IntakeBlock.ATTACHMENTS.value, label=_plain("Screenshots and logs (files)", 2000), optional=True,
                   element=FileInputElement(action_id=INPUT_ACTION, max_files=10)),
        _text_input(IntakeBlock.LOG_LINKS, "Links to logs, dashboards or screenshots", placeholder="One link per line",
                    optional=True),
        _text_input(IntakeBlock.TROUBLESHOOTING, "Troubleshooting already tried", placeholder="Restarted the service, cleared cache, checked status page…"),
        _text_input(IntakeBlock.BUSINESS_IMPACT, "Business impact", placeholder="Who can't work, revenue or customers at risk, deadlines",
                    hint=f"Required for every escalation; at least {MIN_BUSINESS_IMPACT} characters."),
        InputBlock(block_id=IntakeBlock.AFFECTED_USERS.value, label=_plain("Affected users (number)", 2000),
                   hint=_plain(f"Out of {policy.total_users:,}; more than {policy.outage_threshold_percent:g}% counts as a system-wide outage.", 2000),
                   element=NumberInputElement(action_id=INPUT_ACTION, is_decimal_allowed=False, min_value="0")),
        InputBlock(block_id=IntakeBlock.TRIGGERS.value, label=_plain("Automatic escalation (any one: straight to " + last.key + ")", 2000),
                   optional=True, element=CheckboxesElement(action_id=INPUT_ACTION, options=triggers)),
        InputBlock(block_id=IntakeBlock.FLAGS.value, label=_plain("Also", 2000), optional=True,
                   element=CheckboxesElement(action_id=INPUT_ACTION, options=[
                       _option("Customer executive escalation", FLAG_CUSTOMER_EXECUTIVE),
                       _option("Regulatory or compliance implications", FLAG_REGULATORY),
                   ])),
    ]
    view = View(
        type="modal",
        callback_id=Callback.NEW_ESCALATION.value,
        title=_plain("New escalation", 24),
        submit=_plain("File ticket", 24),
        close=_plain("Cancel", 24),
        private_metadata=json.dumps({"channel": origin_channel}),
        blocks=blocks,
    )
    return view.to_dict()


def ticket_card_blocks(parts: dict[str, str], *, header: str, ticket_id: int, acknowledged: bool, closed: bool) -> list[dict[str, Any]]:
    """The ticket card: header, rendered sections, the four buttons, and a context line."""
    blocks: list[Block] = [HeaderBlock(text=_plain(header, HEADER_LIMIT))]
    for name in ("summary", "triggers", "impact", "description", "errors", "troubleshooting", "evidence", "hotline", "status"):
        text = parts.get(name, "").strip()
        if text:
            blocks.append(mrkdwn_section(text, block_id=f"card_{name}"))
    if not closed:
        value = str(ticket_id)
        buttons = [] if acknowledged else [ButtonElement(text=_plain("Acknowledge", 75), action_id=Action.ACKNOWLEDGE.value, value=value, style="primary")]
        buttons += [
            ButtonElement(text=_plain("Escalate", 75), action_id=Action.ESCALATE.value, value=value),
            ButtonElement(text=_plain("Post update", 75), action_id=Action.POST_UPDATE.value, value=value),
            ButtonElement(text=_plain("Resolve", 75), action_id=Action.RESOLVE.value, value=value),
        ]
        blocks.append(ActionsBlock(block_id="card_actions", elements=buttons))
    blocks.append(ContextBlock(block_id="card_context", elements=[MarkdownTextObject(text=clip_mrkdwn(parts["context"], 3000))]))
    return [block.to_dict() for block in blocks]


def notice_blocks(text: str, *, ticket_id: int | None = None, acknowledge: bool = False, link: str | None = None) -> list[dict[str, Any]]:
    """A notification: its text, and on a page the Acknowledge button and a link to the card."""
    blocks: list[Block] = [mrkdwn_section(text)]
    buttons: list[ButtonElement] = []
    if acknowledge and ticket_id is not None:
        buttons.append(ButtonElement(text=_plain("Acknowledge", 75), action_id=Action.ACKNOWLEDGE.value, value=str(ticket_id), style="primary"))
    if link:
        buttons.append(ButtonElement(text=_plain("Open ticket card", 75), action_id=Action.OPEN_CARD.value, url=link))
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return [block.to_dict() for block in blocks]


def fallback_text(text: str) -> str:
    """The `text` that accompanies blocks (notifications, screen readers)."""
    return clip_mrkdwn(text, MESSAGE_TEXT_LIMIT)


def intake_errors(errors: dict[str, str]) -> dict[str, str]:
    """Domain field errors -> Slack's `response_action: errors` map keyed by block id."""
    known = {b.value for b in IntakeBlock}
    return {field if field in known else IntakeBlock.TITLE.value: clip(message, 150) for field, message in errors.items()}

