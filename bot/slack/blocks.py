"""Block Kit, built in one place from slack_sdk's models (which enforce Slack's limits).

Builders take plain data and already-rendered text; they never see a session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DateTimePickerElement,
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
    TableBlock,
    UrlInputElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.block_elements import InputInteractiveElement
from slack_sdk.models.views import View

from bot.domain.durations import format_duration
from bot.domain.intake import MIN_BUSINESS_IMPACT, MIN_DESCRIPTION
from bot.domain.lifecycle import default_target, moves_offered
from bot.domain.reports import LevelFigures, Report
from bot.domain.policy import OTHER_CATEGORY, Policy
from bot.domain.preview import Preview, Refusal
from bot.domain.severity import Severity
from bot.domain.tickets import Move, TicketStatus, takes_updates
from bot.rendering import Renderer, clip, clip_mrkdwn, escape_mrkdwn
from bot.slack.ids import (
    FLAG_CUSTOMER_EXECUTIVE, FLAG_REGULATORY, INPUT_ACTION, Action, Callback, EscalateBlock, IntakeBlock, PostmortemBlock,
    ReassignBlock, ResolveBlock, UpdateBlock,
)
from bot.slack.payloads import input_block_ids

if TYPE_CHECKING:
    from bot.services.readmodel import Entry, TicketView

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MESSAGE_TEXT_LIMIT = 3000  # notification fallback text; Slack allows more but nobody reads it
MESSAGE_BLOCKS = 50  # blocks in one message, at most
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
        private_metadata=_origin_metadata(origin_channel),
        blocks=blocks,
    )
    return view.to_dict()


def _origin_metadata(origin_channel: str | None) -> str:
    """The New escalation modal's private_metadata: the channel the command came from."""
    return json.dumps({"channel": origin_channel})


class ModalCache:
    """The New escalation modal built once per policy, since only its private_metadata differs per command
    (building it from slack_sdk's models costs more than the rest of the command's path in the bot).

    A different Policy object (another policy file, a reload) builds it afresh. The views handed out are
    copies of the top level that share their blocks with the cached one: they are for sending, not changing."""

    def __init__(self) -> None:
        self._new_escalation: tuple[Policy, dict[str, Any]] | None = None

    def new_escalation(self, policy: Policy, *, origin_channel: str | None) -> dict[str, Any]:
        """What `new_escalation_modal(policy, origin_channel=...)` returns, without rebuilding it."""
        built = self._new_escalation
        if built is None or built[0] is not policy:
            built = self._new_escalation = (policy, new_escalation_modal(policy, origin_channel=None))
        return {**built[1], "private_metadata": _origin_metadata(origin_channel)}


CARD_SECTIONS = ("summary", "moved", "handoff", "triggers", "impact", "description", "errors", "troubleshooting",
                 "evidence", "hotline", "resolution", "status")
BUTTON_LABELS = {
    Action.ACKNOWLEDGE: "Acknowledge",
    Action.ESCALATE: "Escalate",
    Action.POST_UPDATE: "Post update",
    Action.RESOLVE: "Resolve",
    Action.SUBSCRIBE: "Subscribe",
    Action.POSTMORTEM_DONE: "Post-mortem done",
    Action.REOPEN: "Reopen",
    Action.REASSIGN: "Reassign",
    Action.STATUS: "Status",
}


# The lifecycle move behind each button that makes one (wherever it shows: card, notice, Home).
BUTTON_MOVES: dict[Action, Move] = {
    Action.ACKNOWLEDGE: Move.ACKNOWLEDGE, Action.POSTMORTEM_DONE: Move.COMPLETE_POSTMORTEM,
    Action.ESCALATE: Move.ESCALATE, Action.POST_UPDATE: Move.POST_UPDATE, Action.RESOLVE: Move.RESOLVE,
    Action.REOPEN: Move.REOPEN, Action.REASSIGN: Move.REASSIGN,
}
# A card's move buttons, in the order they show.
CARD_BUTTONS = (Action.ACKNOWLEDGE, Action.POSTMORTEM_DONE, Action.ESCALATE, Action.POST_UPDATE, Action.RESOLVE,
                Action.REOPEN)


def buttons_offered(buttons: Sequence[Action], *, status: TicketStatus, last_level: bool) -> tuple[Action, ...]:
    """Of these buttons, those whose move the ticket offers now (bot.domain.lifecycle.moves_offered: its
    state's moves, no escalation from the last level), and any that makes no move (Status, Subscribe)."""
    offered = moves_offered(status, at_last_level=last_level)
    return tuple(a for a in buttons if a not in BUTTON_MOVES or BUTTON_MOVES[a] in offered)


def card_buttons(*, status: TicketStatus, last_level: bool, moved: bool) -> list[Action]:
    """Which buttons a card shows: the moves the ticket offers, Subscribe while it takes updates; a card
    the ticket left shows none."""
    if moved:
        return []
    return [*buttons_offered(CARD_BUTTONS, status=status, last_level=last_level),
            *([Action.SUBSCRIBE] if takes_updates(status) else [])]


def _button(action: Action, value: str) -> ButtonElement:
    style = "primary" if action in (Action.ACKNOWLEDGE, Action.POSTMORTEM_DONE) else None
    return ButtonElement(text=_plain(BUTTON_LABELS[action], 75), action_id=action.value, value=value, style=style)


def ticket_card_blocks(parts: dict[str, str], *, header: str, ticket_id: int, buttons: list[Action]) -> list[dict[str, Any]]:
    """The ticket card: header, rendered sections, the buttons its state allows, and a context line."""
    blocks: list[Block] = [HeaderBlock(text=_plain(header, HEADER_LIMIT))]
    for name in CARD_SECTIONS:
        text = parts.get(name, "").strip()
        if text:
            blocks.append(mrkdwn_section(text, block_id=f"card_{name}"))
    if buttons:
        blocks.append(ActionsBlock(block_id="card_actions", elements=[_button(a, str(ticket_id)) for a in buttons]))
    blocks.append(ContextBlock(block_id="card_context", elements=[MarkdownTextObject(text=clip_mrkdwn(parts["context"], 3000))]))
    return [block.to_dict() for block in blocks]


def systemic_blocks(text: str, *, alert_id: int, escalate_label: str | None) -> list[dict[str, Any]]:
    blocks: list[Block] = [mrkdwn_section(text, block_id="systemic_text")]
    if escalate_label:
        blocks.append(ActionsBlock(block_id="systemic_actions", elements=[ButtonElement(
            text=_plain(escalate_label, 75), action_id=Action.SYSTEMIC_ESCALATE.value, value=str(alert_id), style="danger",
            confirm=ConfirmObject(title=_plain("Escalate all?", 100), text=_plain("Every open ticket listed goes to the last level as a systemic issue.", 300),
                                  confirm=_plain("Escalate", 30), deny=_plain("Cancel", 30)))]))
    return [block.to_dict() for block in blocks]


def text_blocks(*texts: str) -> list[dict[str, Any]]:
    """Long read-only text (status, timeline, lists) split into sections within Slack's limits."""
    blocks: list[Block] = []
    for text in texts:
        for chunk in _chunks(text, SECTION_LIMIT - 100):
            if chunk.strip():
                blocks.append(mrkdwn_section(chunk))
    if len(blocks) > 49:
        blocks = blocks[:48] + [mrkdwn_section("_…more than fits in one message; use the export for everything._")]
    return [block.to_dict() for block in blocks]


def preview_blocks(*, title: str, steps: str, footer: str) -> list[dict[str, Any]]:
    """The policy dry-run: a header, the timeline (split within Slack's limits) and what it assumes."""
    blocks = [HeaderBlock(text=_plain(title, HEADER_LIMIT)).to_dict(), *text_blocks(steps)[:MESSAGE_BLOCKS - 2]]
    return [*blocks, ContextBlock(elements=[MarkdownTextObject(text=clip_mrkdwn(footer, SECTION_LIMIT))]).to_dict()]


def preview_reply(renderer: Renderer, answer: Preview | Refusal, policy: Policy, *, command: str) -> dict[str, Any]:
    """`/escalate preview`: the dry run as blocks with a text fallback, or why the words can't be previewed."""
    if isinstance(answer, Refusal):
        return {"text": renderer.render_block("preview.md.j2", "refused", r=answer, command=command)}
    parts = {b: renderer.render_block("preview.md.j2", b, p=answer, policy=policy) for b in ("title", "steps", "footer")}
    header = renderer.render_text_block("preview.md.j2", "title", p=answer, policy=policy)  # plain_text
    return {"text": parts["title"], "blocks": preview_blocks(title=header, steps=parts["steps"], footer=parts["footer"])}


VIEW_BLOCKS = 100  # blocks in a Home tab or a modal, at most


@dataclass(frozen=True)
class HomeHeading:
    text: str


@dataclass(frozen=True)
class HomeText:
    text: str  # rendered mrkdwn
    context: bool = False  # small print (a context block) rather than a section


@dataclass(frozen=True)
class HomeRow:
    """A ticket on the Home: its line, and the buttons to act on it there (the card's own action ids)."""

    text: str
    ticket_id: int
    buttons: tuple[Action, ...]
    key: str  # unique in the view: the section and the ticket (a ticket can be in two sections)


@dataclass(frozen=True)
class HomeMore:
    """"…and N more" with a button that opens the section at length."""

    text: str
    label: str
    section: str


HomePart = Union[HomeHeading, HomeText, HomeRow, HomeMore, None]  # None: a divider


def home_view(parts: Sequence[HomePart]) -> dict[str, Any]:
    """The App Home tab from its parts, in order; within Slack's 100 blocks (the tail gives way, saying so)."""
    blocks: list[Block] = []
    for part in parts:
        if part is None:
            blocks.append(DividerBlock())
        elif isinstance(part, HomeHeading):
            blocks.append(HeaderBlock(text=_plain(part.text, HEADER_LIMIT)))
        elif isinstance(part, HomeText) and part.context:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip_mrkdwn(part.text, SECTION_LIMIT))]))
        elif isinstance(part, HomeText):
            blocks.append(mrkdwn_section(part.text))
        elif isinstance(part, HomeRow) and len(part.buttons) == 1:
            blocks.append(mrkdwn_section(part.text, block_id=f"home_{part.key}",
                                         accessory=_button(part.buttons[0], str(part.ticket_id))))
        elif isinstance(part, HomeRow):
            blocks.append(mrkdwn_section(part.text, block_id=f"home_{part.key}"))
            if part.buttons:
                blocks.append(ActionsBlock(block_id=f"home_{part.key}_actions",
                                           elements=[_button(a, str(part.ticket_id)) for a in part.buttons]))
        else:
            blocks.append(mrkdwn_section(part.text, block_id=f"home_more_{part.section}", accessory=ButtonElement(
                text=_plain(part.label, 75), action_id=Action.HOME_MORE.value, value=part.section)))
    if len(blocks) > VIEW_BLOCKS:
        blocks = blocks[:VIEW_BLOCKS - 1] + [mrkdwn_section("_…more than the Home can show; `/escalate list` lists your tickets._")]
    return View(type="home", blocks=blocks).to_dict()


def status_texts(renderer: Renderer, card: "TicketView", entries: Sequence["Entry"]) -> tuple[str, str]:
    """A ticket's status as `/escalate status` and the Status button show it: the summary, and the timeline."""
    parts = renderer.render_blocks("card.md.j2", t=card)
    summary = "\n".join(parts[name] for name in ("summary", "status", "context") if parts[name])
    return f"*{card.ref}* · {summary}", renderer.render_block("replies.md.j2", "timeline", t=card, entries=entries)


def status_reply(renderer: Renderer, card: "TicketView", entries: Sequence["Entry"]) -> dict[str, Any]:
    """`/escalate status`: the status as blocks, with a plain fallback."""
    return {"text": f"{card.ref}: {escape_mrkdwn(card.title)}", "blocks": text_blocks(*status_texts(renderer, card, entries))}


def status_modal(renderer: Renderer, card: "TicketView", entries: Sequence["Entry"]) -> dict[str, Any]:
    """The Status button: the same status, in a modal."""
    return list_modal(card.ref, "\n".join(status_texts(renderer, card, entries)))


def list_modal(title: str, text: str) -> dict[str, Any]:
    """A read-only modal (a Home section at length, a ticket's status): the text in sections, within 100 blocks."""
    blocks = [mrkdwn_section(chunk) for chunk in _chunks(text, SECTION_LIMIT - 100) if chunk.strip()]
    if len(blocks) > VIEW_BLOCKS:
        blocks = blocks[:VIEW_BLOCKS - 1] + [mrkdwn_section("_…more than fits here; use the export for everything._")]
    return View(type="modal", title=_plain(title, 24), close=_plain("Close", 24), blocks=blocks or [mrkdwn_section("_Nothing._")]).to_dict()


def _chunks(text: str, size: int) -> list[str]:
    """Split on line boundaries into pieces of at most `size` characters."""
    chunks, current = [], ""
    for line in text.splitlines():
        line = clip_mrkdwn(line, size)
        if len(current) + len(line) + 1 > size:
            chunks.append(current)
            current = ""
        current += line + "\n"
    return chunks + [current]


def _modal(callback: Callback, title: str, submit: str, metadata: dict[str, Any], blocks: list[Block]) -> dict[str, Any]:
    return View(type="modal", callback_id=callback.value, title=_plain(title, 24), submit=_plain(submit, 24),
                close=_plain("Cancel", 24), private_metadata=json.dumps(metadata), blocks=blocks).to_dict()


def _free_text(block: str, label: str, *, placeholder: str, initial: str | None = None, optional: bool = False,
               hint: str | None = None, multiline: bool = True) -> InputBlock:
    return InputBlock(
        block_id=block, label=_plain(label, 2000), optional=optional, hint=_plain(hint, 2000) if hint else None,
        element=PlainTextInputElement(action_id=INPUT_ACTION, multiline=multiline, placeholder=_plain(placeholder, 150),
                                      initial_value=clip(initial, TEXT_INPUT_LIMIT) if initial else None,
                                      max_length=TEXT_INPUT_LIMIT),
    )


def escalate_modal(policy: Policy, *, ticket_id: int, ref: str, current_level: str, default_target: str,
                   business_impact: str, troubleshooting: str) -> dict[str, Any]:
    """The Escalate modal: reason, target level, impact and what was tried (pre-filled), handoff notes."""
    reasons = [_option(r.label, r.key) for r in policy.reasons]
    keys = [lv.key for lv in policy.levels]
    targets = [_option(lv.title, lv.key) for lv in policy.levels[keys.index(current_level) + 1:]]
    initial = next(o for o in targets if o.value == default_target)
    blocks: list[Block] = [
        InputBlock(block_id=EscalateBlock.REASON.value, label=_plain("Reason", 2000),
                   element=StaticSelectElement(action_id=INPUT_ACTION, placeholder=_plain("Why escalate?", 150), options=reasons)),
        InputBlock(block_id=EscalateBlock.TARGET_LEVEL.value, label=_plain("Escalate to", 2000),
                   element=StaticSelectElement(action_id=INPUT_ACTION, options=targets, initial_option=initial)),
        _free_text(EscalateBlock.BUSINESS_IMPACT.value, "Business impact", initial=business_impact,
                   placeholder="Who can't work, what is at risk", hint="All escalations must include a business impact assessment."),
        _free_text(EscalateBlock.TROUBLESHOOTING.value, "Troubleshooting so far", initial=troubleshooting,
                   placeholder="Everything tried, at every level"),
        _free_text(EscalateBlock.NOTES.value, "Handoff notes", optional=True,
                   placeholder="What the next level should know first; you stay available for questions"),
    ]
    return _modal(Callback.ESCALATE, f"Escalate {ref}", "Escalate", {"ticket": ticket_id}, blocks)


def update_modal(*, ticket_id: int, ref: str) -> dict[str, Any]:
    blocks: list[Block] = [
        _free_text(UpdateBlock.STATUS.value, "Status", placeholder="Where things stand now"),
        _free_text(UpdateBlock.NEXT_STEPS.value, "Next steps", optional=True, placeholder="What happens next, and who does it"),
        InputBlock(block_id=UpdateBlock.NEXT_UPDATE_BY.value, label=_plain("Next update by", 2000), optional=True,
                   hint=_plain("Promise the next update; the reminder waits until then.", 2000),
                   element=DateTimePickerElement(action_id=INPUT_ACTION)),
    ]
    return _modal(Callback.POST_UPDATE, f"Update {ref}", "Post update", {"ticket": ticket_id}, blocks)


def resolve_modal(*, ticket_id: int, ref: str, postmortem: bool, owner: str) -> dict[str, Any]:
    blocks: list[Block] = [
        _free_text(ResolveBlock.RESOLUTION.value, "Resolution summary", placeholder="What fixed it"),
        _free_text(ResolveBlock.ROOT_CAUSE.value, "Root cause", placeholder="Why it happened"),
        _free_text(ResolveBlock.LESSONS.value, "Lessons learned", placeholder="What we change so it doesn't happen again"),
    ]
    if postmortem:
        blocks.append(InputBlock(block_id=ResolveBlock.POSTMORTEM_OWNER.value, label=_plain("Post-mortem owner", 2000),
                                 hint=_plain("Critical incidents need a post-mortem; the owner gets a draft by DM.", 2000),
                                 element=UserSelectElement(action_id=INPUT_ACTION, initial_user=owner)))
    return _modal(Callback.RESOLVE, f"Resolve {ref}", "Resolve", {"ticket": ticket_id}, blocks)


def reassign_modal(*, ticket_id: int, ref: str, current: str | None) -> dict[str, Any]:
    blocks: list[Block] = [InputBlock(block_id=ReassignBlock.ASSIGNEE.value, label=_plain("New assignee", 2000),
                                      element=UserSelectElement(action_id=INPUT_ACTION, initial_user=current))]
    return _modal(Callback.REASSIGN, f"Reassign {ref}", "Reassign", {"ticket": ticket_id}, blocks)


def postmortem_modal(*, ticket_id: int, ref: str) -> dict[str, Any]:
    blocks: list[Block] = [InputBlock(block_id=PostmortemBlock.URL.value, label=_plain("Link to the post-mortem", 2000),
                                      element=UrlInputElement(action_id=INPUT_ACTION))]
    return _modal(Callback.POSTMORTEM_DONE, f"Post-mortem {ref}", "Close ticket", {"ticket": ticket_id}, blocks)


MoveModal = Callable[[Policy, "TicketView", str], dict[str, Any]]

# The modal each lifecycle move opens, built from the ticket as the move's check saw it and who opens it.
MOVE_MODALS: dict[Move, MoveModal] = {
    Move.ESCALATE: lambda policy, t, actor: escalate_modal(
        policy, ticket_id=t.id, ref=t.ref, current_level=t.level.key, default_target=default_target(policy, t.level.key),
        business_impact=t.business_impact, troubleshooting=t.troubleshooting),
    Move.POST_UPDATE: lambda policy, t, actor: update_modal(ticket_id=t.id, ref=t.ref),
    Move.RESOLVE: lambda policy, t, actor: resolve_modal(
        ticket_id=t.id, ref=t.ref, postmortem=policy.postmortem.required(t.severity), owner=actor),
    Move.REASSIGN: lambda policy, t, actor: reassign_modal(ticket_id=t.id, ref=t.ref, current=t.assignee_id),
    Move.COMPLETE_POSTMORTEM: lambda policy, t, actor: postmortem_modal(ticket_id=t.id, ref=t.ref),
}


def notice_blocks(text: str, *, ticket_id: int | None = None, buttons: tuple[Action, ...] = (),
                  link: str | None = None) -> list[dict[str, Any]]:
    """A notification: its text, the buttons to act on it right there (those the ticket offers: see
    `buttons_offered`), and a link to the card."""
    blocks: list[Block] = [mrkdwn_section(text)]
    shown = buttons if ticket_id is not None else ()
    buttons_: list[ButtonElement] = [_button(a, str(ticket_id)) for a in shown]
    if link:
        buttons_.append(ButtonElement(text=_plain("Open ticket card", 75), action_id=Action.OPEN_CARD.value, url=link))
    if buttons_:
        blocks.append(ActionsBlock(elements=buttons_))
    return [block.to_dict() for block in blocks]


def digest_blocks(text: str) -> list[dict[str, Any]]:
    """A digest: its lines in as many sections as they need (each under Slack's 3000 characters), so
    every ticket is named however long the burst was."""
    sections, current = [], ""
    for line in text.splitlines():
        if current and len(current) + len(line) + 1 > SECTION_LIMIT:
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    sections.append(current)
    return [mrkdwn_section(part).to_dict() for part in sections[:MESSAGE_BLOCKS]]


NONE = "–"  # a figure with nothing to count (no acknowledgement yet, no stint with an SLA verdict)


def _span(mean: Any, median: Any) -> str:
    return NONE if mean is None else f"{format_duration(mean)} / {format_duration(median)}"


def figure_cells(f: LevelFigures) -> list[str]:
    """One table row: the level, then its figures in the order of the report's column labels."""
    attainment = NONE if f.attainment is None else f"{round(f.attainment * 100)}% ({f.sla_met}/{f.sla_counted})"
    return [f.title, str(f.opened), str(f.acknowledged), _span(f.mtta, f.mtta_median), str(f.resolved),
            _span(f.mttr, f.mttr_median), attainment, str(f.breaches), str(sum(n for _, n in f.escalations)),
            str(f.manager_notices), f"{f.postmortems_done} / {f.postmortems_overdue}"]


def report_blocks(report: Report, *, title: str, context: str, columns: Sequence[str], details: str) -> list[dict[str, Any]]:
    """An SLA report: a header, what it covers, one table (a row per level and one for all levels; Slack
    allows one table per message, in messages only) and the per-level details as text."""
    rows = [list(columns), *(figure_cells(f) for f in (*report.levels, report.total))]
    table = TableBlock(rows=[[{"type": "raw_text", "text": clip(cell, 200) or NONE} for cell in row] for row in rows],
                       column_settings=[{"is_wrapped": True}] + [{"align": "right"}] * (len(columns) - 1))
    blocks: list[dict[str, Any]] = [
        HeaderBlock(text=_plain(title, HEADER_LIMIT)).to_dict(),
        ContextBlock(elements=[MarkdownTextObject(text=clip_mrkdwn(context, SECTION_LIMIT))]).to_dict(),
        table.to_dict(),
    ]
    return blocks + text_blocks(details)[:MESSAGE_BLOCKS - len(blocks)]


def fallback_text(text: str) -> str:
    """The `text` that accompanies blocks (notifications, screen readers)."""
    return clip_mrkdwn(text, MESSAGE_TEXT_LIMIT)


def form_errors(errors: dict[str, str], view: dict[str, Any]) -> dict[str, str]:
    """Domain field errors -> Slack's `response_action: errors` map, keyed by the view's input block ids.

    Field names equal block ids; an error for a field the view doesn't show lands on its first input.
    """
    inputs = input_block_ids(view)
    fallback = inputs[0] if inputs else "title"
    result: dict[str, str] = {}
    for field, message in errors.items():
        key = field if field in inputs else fallback
        result[key] = clip((result[key] + " " if key in result else "") + message, 150)
    return result

