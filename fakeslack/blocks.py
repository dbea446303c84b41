"""Block Kit validation as Slack's API applies it to messages, modals and Home tabs.

``validate_blocks`` and ``validate_view`` return the error strings Slack would put in
``response_metadata.messages`` (``"[ERROR] <what> [json-pointer:<where>]"``); an empty list means
Slack would accept the payload. The rules are Slack's documented limits (block and element
reference on docs.slack.dev): known types only, no unknown properties, text object types, lengths,
item counts, id uniqueness, option consistency. ``assign_ids`` adds the block_id / action_id that
Slack generates for blocks and interactive elements that lack one.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Iterable
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}

# Allowed properties of each block type ("type" and "block_id" are allowed everywhere).
BLOCK_FIELDS: dict[str, frozenset[str]] = {
    "section": frozenset({"text", "fields", "accessory", "expand"}),
    "divider": frozenset(),
    "image": frozenset({"image_url", "slack_file", "alt_text", "title"}),
    "actions": frozenset({"elements"}),
    "context": frozenset({"elements"}),
    "input": frozenset({"label", "element", "dispatch_action", "hint", "optional"}),
    "header": frozenset({"text"}),
    "rich_text": frozenset({"elements"}),
    "file": frozenset({"external_id", "source"}),
    "video": frozenset(
        {
            "alt_text", "author_name", "description", "provider_icon_url", "provider_name",
            "title", "title_url", "thumbnail_url", "video_url",
        }
    ),
    # The `markdown` block (2025, messages only) renders standard Markdown; listed because Slack
    # accepts it and apps may send it.
    "markdown": frozenset({"text"}),
    # The `table` block (2025, messages only): rows of raw_text or rich_text cells, at most one per message.
    "table": frozenset({"rows", "column_settings"}),
}

# Surfaces each block type may appear on (all three unless listed).
BLOCK_SURFACES: dict[str, frozenset[str]] = {
    "file": frozenset({"message"}),
    "markdown": frozenset({"message"}),
    "table": frozenset({"message"}),
}

_SELECT_COMMON = frozenset({"action_id", "confirm", "focus_on_load", "placeholder"})
_INPUT_COMMON = frozenset(
    {"action_id", "initial_value", "dispatch_action_config", "focus_on_load", "placeholder"}
)

# Allowed properties of each element type ("type" is allowed everywhere).
ELEMENT_FIELDS: dict[str, frozenset[str]] = {
    "button": frozenset({"text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}),
    "static_select": _SELECT_COMMON | {"options", "option_groups", "initial_option"},
    "multi_static_select": _SELECT_COMMON
    | {"options", "option_groups", "initial_options", "max_selected_items"},
    "external_select": _SELECT_COMMON | {"initial_option", "min_query_length"},
    "multi_external_select": _SELECT_COMMON
    | {"initial_options", "min_query_length", "max_selected_items"},
    "users_select": _SELECT_COMMON | {"initial_user"},
    "multi_users_select": _SELECT_COMMON | {"initial_users", "max_selected_items"},
    "conversations_select": _SELECT_COMMON
    | {"initial_conversation", "default_to_current_conversation", "response_url_enabled", "filter"},
    "multi_conversations_select": _SELECT_COMMON
    | {"initial_conversations", "default_to_current_conversation", "max_selected_items", "filter"},
    "channels_select": _SELECT_COMMON | {"initial_channel", "response_url_enabled"},
    "multi_channels_select": _SELECT_COMMON | {"initial_channels", "max_selected_items"},
    "overflow": frozenset({"action_id", "options", "confirm"}),
    "checkboxes": frozenset({"action_id", "options", "initial_options", "confirm", "focus_on_load"}),
    "radio_buttons": frozenset({"action_id", "options", "initial_option", "confirm", "focus_on_load"}),
    "datepicker": _SELECT_COMMON | {"initial_date"},
    "timepicker": _SELECT_COMMON | {"initial_time", "timezone"},
    "datetimepicker": frozenset({"action_id", "initial_date_time", "confirm", "focus_on_load"}),
    "plain_text_input": _INPUT_COMMON | {"multiline", "min_length", "max_length"},
    "number_input": _INPUT_COMMON | {"is_decimal_allowed", "min_value", "max_value"},
    "url_text_input": _INPUT_COMMON,
    "email_text_input": _INPUT_COMMON,
    "rich_text_input": _INPUT_COMMON,
    "file_input": frozenset({"action_id", "filetypes", "max_files"}),
    "image": frozenset({"image_url", "slack_file", "alt_text"}),
    "workflow_button": frozenset({"text", "workflow", "style", "accessibility_label", "action_id"}),
}

INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input", "number_input", "static_select", "multi_static_select", "checkboxes",
        "radio_buttons", "datepicker", "timepicker", "datetimepicker", "url_text_input",
        "email_text_input", "users_select", "multi_users_select", "conversations_select",
        "multi_conversations_select", "channels_select", "multi_channels_select",
        "external_select", "multi_external_select", "file_input", "rich_text_input",
    }
)
ACTIONS_ELEMENTS = frozenset(
    {
        "button", "checkboxes", "datepicker", "datetimepicker", "overflow", "radio_buttons",
        "static_select", "multi_static_select", "external_select", "multi_external_select",
        "users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
        "channels_select", "multi_channels_select", "timepicker", "workflow_button",
    }
)
ACCESSORY_ELEMENTS = (ACTIONS_ELEMENTS - {"datetimepicker"}) | {"image"}
INTERACTIVE_ELEMENTS = frozenset(ELEMENT_FIELDS) - {"image"}

VIEW_FIELDS: dict[str, frozenset[str]] = {
    "modal": frozenset(
        {
            "type", "title", "blocks", "close", "submit", "private_metadata", "callback_id",
            "clear_on_close", "notify_on_close", "external_id", "submit_disabled",
        }
    ),
    "home": frozenset({"type", "blocks", "private_metadata", "callback_id", "external_id"}),
}

TABLE_ROWS = 100
TABLE_CELLS = 20
TABLE_ALIGN = ("left", "center", "right")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _fmt(message: str, pointer: str) -> str:
    """One error line in Slack's format."""
    return f"[ERROR] {message} [json-pointer:{pointer}]"


class _Checker:
    """Collects Slack-style errors while walking a block tree."""

    def __init__(self, surface: Surface) -> None:
        self.surface = surface
        self.errors: list[str] = []

    def error(self, message: str, pointer: str) -> None:
        """Record one error at `pointer`."""
        self.errors.append(_fmt(message, pointer))

    # -- primitives ---------------------------------------------------------------------------

    def fields(self, obj: dict[str, Any], allowed: Iterable[str], pointer: str) -> None:
        """Reject properties outside `allowed`."""
        allowed_set = set(allowed)
        for key in obj:
            if key not in allowed_set:
                self.error(f"invalid additional property: {key}", pointer)

    def string(
        self, value: Any, pointer: str, *, max_len: int | None = None, min_len: int = 0
    ) -> bool:
        """Check that `value` is a string within the length bounds."""
        if not isinstance(value, str):
            self.error("must be a string", pointer)
            return False
        if len(value) < min_len:
            self.error(f"must be more than {min_len - 1} characters", pointer)
        if max_len is not None and len(value) > max_len:
            self.error(f"must be less than {max_len + 1} characters", pointer)
        return True

    def array(
        self, value: Any, pointer: str, *, max_items: int | None = None, min_items: int = 0
    ) -> bool:
        """Check that `value` is a list within the item-count bounds."""
        if not isinstance(value, list):
            self.error("must be an array", pointer)
            return False
        if len(value) < min_items:
            self.error(f"must provide at least {min_items} items", pointer)
        if max_items is not None and len(value) > max_items:
            self.error(f"no more than {max_items} items allowed", pointer)
        return True

    def obj(self, value: Any, pointer: str) -> bool:
        """Check that `value` is a JSON object."""
        if not isinstance(value, dict):
            self.error("must be an object", pointer)
            return False
        return True

    def boolean(self, value: Any, pointer: str) -> None:
        """Check that `value` is a JSON boolean."""
        if not isinstance(value, bool):
            self.error("must be a boolean", pointer)

    def integer(self, value: Any, pointer: str, *, low: int, high: int) -> None:
        """Check that `value` is an integer in [low, high]."""
        if not isinstance(value, int) or isinstance(value, bool):
            self.error("must be an integer", pointer)
        elif value < low:
            self.error(f"must be at least {low}", pointer)
        elif value > high:
            self.error(f"must be at most {high}", pointer)

    def require(self, obj: dict[str, Any], names: Iterable[str], pointer: str) -> None:
        """Report each of `names` missing from `obj`."""
        for name in names:
            if name not in obj:
                self.error(f"missing required field: {name}", pointer)

    def text(
        self, value: Any, pointer: str, *, max_len: int, plain_only: bool = False
    ) -> None:
        """Check a text object: {type: plain_text|mrkdwn, text, emoji|verbatim}."""
        if not self.obj(value, pointer):
            return
        kind = value.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.error('must be one of "plain_text", "mrkdwn"', f"{pointer}/type")
            return
        if plain_only and kind != "plain_text":
            self.error('must be "plain_text"', f"{pointer}/type")
        extra = "emoji" if kind == "plain_text" else "verbatim"
        self.fields(value, ("type", "text", extra), pointer)
        if "text" not in value:
            self.error("missing required field: text", pointer)
        else:
            self.string(value["text"], f"{pointer}/text", max_len=max_len, min_len=1)

    def plain(self, value: Any, pointer: str, *, max_len: int) -> None:
        """Check a plain_text text object."""
        self.text(value, pointer, max_len=max_len, plain_only=True)

    def action_id(self, element: dict[str, Any], pointer: str, seen: set[str]) -> None:
        """Check an element's action_id: length, and uniqueness within its block."""
        if "action_id" not in element:
            return
        value = element["action_id"]
        if self.string(value, f"{pointer}/action_id", max_len=255, min_len=1):
            if value in seen:
                self.error(f"action_id must be unique within the block: {value}", f"{pointer}/action_id")
            seen.add(value)

    # -- composition objects ------------------------------------------------------------------

    def confirm(self, value: Any, pointer: str) -> None:
        """Check a confirmation dialog object."""
        if not self.obj(value, pointer):
            return
        self.fields(value, ("title", "text", "confirm", "deny", "style"), pointer)
        self.require(value, ("title", "text", "confirm", "deny"), pointer)
        if "title" in value:
            self.plain(value["title"], f"{pointer}/title", max_len=100)
        if "text" in value:
            self.text(value["text"], f"{pointer}/text", max_len=300)
        for key in ("confirm", "deny"):
            if key in value:
                self.plain(value[key], f"{pointer}/{key}", max_len=30)
        if "style" in value and value["style"] not in ("primary", "danger"):
            self.error('must be one of "primary", "danger"', f"{pointer}/style")

    def option(self, value: Any, pointer: str, *, plain_only: bool, url_allowed: bool = False) -> None:
        """Check an option object."""
        if not self.obj(value, pointer):
            return
        allowed = ("text", "value", "description") + (("url",) if url_allowed else ())
        self.fields(value, allowed, pointer)
        self.require(value, ("text", "value"), pointer)
        if "text" in value:
            self.text(value["text"], f"{pointer}/text", max_len=75, plain_only=plain_only)
        if "value" in value:
            self.string(value["value"], f"{pointer}/value", max_len=150, min_len=1)
        if "description" in value:
            self.text(value["description"], f"{pointer}/description", max_len=75, plain_only=plain_only)
        if "url" in value:
            self.string(value["url"], f"{pointer}/url", max_len=3000)

    def options(
        self, element: dict[str, Any], pointer: str, *, max_items: int, plain_only: bool,
        groups_allowed: bool = False, url_allowed: bool = False,
    ) -> list[dict[str, Any]]:
        """Check options / option_groups of an element; return all valid option dicts."""
        found: list[dict[str, Any]] = []
        has_options, has_groups = "options" in element, groups_allowed and "option_groups" in element
        if has_options and has_groups:
            self.error("must provide either options or option_groups, not both", pointer)
        if not has_options and not has_groups:
            self.error("missing required field: options", pointer)
        options_ptr, groups_ptr = f"{pointer}/options", f"{pointer}/option_groups"
        if has_options and self.array(element["options"], options_ptr, max_items=max_items, min_items=1):
            for i, opt in enumerate(element["options"]):
                self.option(opt, f"{pointer}/options/{i}", plain_only=plain_only, url_allowed=url_allowed)
                if isinstance(opt, dict):
                    found.append(opt)
        if has_groups and self.array(element["option_groups"], groups_ptr, max_items=100, min_items=1):
            for g, group in enumerate(element["option_groups"]):
                gp = f"{pointer}/option_groups/{g}"
                if not self.obj(group, gp):
                    continue
                self.fields(group, ("label", "options"), gp)
                self.require(group, ("label", "options"), gp)
                if "label" in group:
                    self.plain(group["label"], f"{gp}/label", max_len=75)
                group_options = group.get("options")
                if group_options is not None and self.array(
                    group_options, f"{gp}/options", max_items=100, min_items=1
                ):
                    for i, opt in enumerate(group["options"]):
                        self.option(opt, f"{gp}/options/{i}", plain_only=True)
                        if isinstance(opt, dict):
                            found.append(opt)
        return found

    def initial_options(
        self, element: dict[str, Any], pointer: str, options: list[dict[str, Any]], *, many: bool
    ) -> None:
        """Check that initial_option(s) are among the element's options."""
        key = "initial_options" if many else "initial_option"
        if key not in element:
            return
        chosen = element[key]
        if many:
            if not self.array(chosen, f"{pointer}/{key}"):
                return
        else:
            chosen = [chosen]
        known = {_option_key(o) for o in options}
        for i, opt in enumerate(chosen):
            ptr = f"{pointer}/{key}/{i}" if many else f"{pointer}/{key}"
            if not isinstance(opt, dict) or _option_key(opt) not in known:
                self.error(f"{key} must match one of the provided options", ptr)

    # -- elements -----------------------------------------------------------------------------

    def element(self, element: Any, pointer: str, allowed: frozenset[str], seen: set[str]) -> None:
        """Check one block element whose type must be in `allowed`."""
        if not self.obj(element, pointer):
            return
        kind = element.get("type")
        if kind not in allowed:
            self.error(f"unsupported type: {kind}", f"{pointer}/type")
            return
        self.fields(element, ELEMENT_FIELDS[kind] | {"type"}, pointer)
        self.action_id(element, pointer, seen)
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if "placeholder" in element:
            self.plain(element["placeholder"], f"{pointer}/placeholder", max_len=150)
        if "focus_on_load" in element:
            self.boolean(element["focus_on_load"], f"{pointer}/focus_on_load")
        if "max_selected_items" in element:
            self.integer(element["max_selected_items"], f"{pointer}/max_selected_items", low=1, high=100)
        check = getattr(self, f"el_{kind}", None)
        if check is not None:
            check(element, pointer)

    def el_button(self, el: dict[str, Any], p: str) -> None:
        """Button: text, value, url, style."""
        self.require(el, ("text",), p)
        if "text" in el:
            self.plain(el["text"], f"{p}/text", max_len=75)
        if "value" in el:
            self.string(el["value"], f"{p}/value", max_len=2000)
        if "url" in el:
            self.string(el["url"], f"{p}/url", max_len=3000, min_len=1)
        if "style" in el and el["style"] not in ("primary", "danger"):
            self.error('must be one of "primary", "danger"', f"{p}/style")
        if "accessibility_label" in el:
            self.string(el["accessibility_label"], f"{p}/accessibility_label", max_len=75)

    def el_workflow_button(self, el: dict[str, Any], p: str) -> None:
        """Workflow button: text and workflow trigger."""
        self.require(el, ("text", "workflow"), p)
        if "text" in el:
            self.plain(el["text"], f"{p}/text", max_len=75)
        if "style" in el and el["style"] not in ("primary", "danger"):
            self.error('must be one of "primary", "danger"', f"{p}/style")

    def el_static_select(self, el: dict[str, Any], p: str) -> None:
        """Static select: options or option_groups, initial_option among them."""
        opts = self.options(el, p, max_items=100, plain_only=True, groups_allowed=True)
        self.initial_options(el, p, opts, many=False)

    def el_multi_static_select(self, el: dict[str, Any], p: str) -> None:
        """Multi static select: like static_select with initial_options."""
        opts = self.options(el, p, max_items=100, plain_only=True, groups_allowed=True)
        self.initial_options(el, p, opts, many=True)

    def el_overflow(self, el: dict[str, Any], p: str) -> None:
        """Overflow menu: 1..5 options (which may carry a url)."""
        self.options(el, p, max_items=5, plain_only=True, url_allowed=True)

    def el_checkboxes(self, el: dict[str, Any], p: str) -> None:
        """Checkboxes: up to 10 options, mrkdwn allowed."""
        opts = self.options(el, p, max_items=10, plain_only=False)
        self.initial_options(el, p, opts, many=True)

    def el_radio_buttons(self, el: dict[str, Any], p: str) -> None:
        """Radio buttons: up to 10 options, mrkdwn allowed."""
        opts = self.options(el, p, max_items=10, plain_only=False)
        self.initial_options(el, p, opts, many=False)

    def el_plain_text_input(self, el: dict[str, Any], p: str) -> None:
        """Plain-text input: length bounds, initial value."""
        if "max_length" in el:
            self.integer(el["max_length"], f"{p}/max_length", low=1, high=3000)
        if "min_length" in el:
            self.integer(el["min_length"], f"{p}/min_length", low=0, high=3000)
        if "initial_value" in el:
            self.string(el["initial_value"], f"{p}/initial_value")
        if "multiline" in el:
            self.boolean(el["multiline"], f"{p}/multiline")

    def el_number_input(self, el: dict[str, Any], p: str) -> None:
        """Number input: is_decimal_allowed is required."""
        self.require(el, ("is_decimal_allowed",), p)
        if "is_decimal_allowed" in el:
            self.boolean(el["is_decimal_allowed"], f"{p}/is_decimal_allowed")
        for key in ("initial_value", "min_value", "max_value"):
            if key in el:
                self.string(el[key], f"{p}/{key}")

    def el_url_text_input(self, el: dict[str, Any], p: str) -> None:
        """URL input: initial value is a string."""
        if "initial_value" in el:
            self.string(el["initial_value"], f"{p}/initial_value")

    el_email_text_input = el_url_text_input

    def el_file_input(self, el: dict[str, Any], p: str) -> None:
        """File input: max_files 1..10, filetypes list."""
        if "max_files" in el:
            self.integer(el["max_files"], f"{p}/max_files", low=1, high=10)
        if "filetypes" in el:
            self.array(el["filetypes"], f"{p}/filetypes")

    def el_datepicker(self, el: dict[str, Any], p: str) -> None:
        """Date picker: initial_date is YYYY-MM-DD."""
        value = el.get("initial_date")
        if value is not None and not (isinstance(value, str) and _DATE.match(value)):
            self.error("must be a date in the format YYYY-MM-DD", f"{p}/initial_date")

    def el_timepicker(self, el: dict[str, Any], p: str) -> None:
        """Time picker: initial_time is HH:mm."""
        value = el.get("initial_time")
        if value is not None and not (isinstance(value, str) and _TIME.match(value)):
            self.error("must be a time in the format HH:mm", f"{p}/initial_time")

    def el_datetimepicker(self, el: dict[str, Any], p: str) -> None:
        """Date-time picker: initial_date_time is a UNIX timestamp."""
        if "initial_date_time" in el:
            self.integer(el["initial_date_time"], f"{p}/initial_date_time", low=0, high=2**40)

    def el_image(self, el: dict[str, Any], p: str) -> None:
        """Image element: alt_text and image_url or slack_file."""
        self.require(el, ("alt_text",), p)
        if "image_url" not in el and "slack_file" not in el:
            self.error("must provide either image_url or slack_file", p)
        if "alt_text" in el:
            self.string(el["alt_text"], f"{p}/alt_text", max_len=2000)
        if "image_url" in el:
            self.string(el["image_url"], f"{p}/image_url", max_len=3000, min_len=1)

    # -- blocks -------------------------------------------------------------------------------

    def blocks(self, blocks: Any, pointer: str) -> None:
        """Check a whole blocks array."""
        if not self.array(blocks, pointer, max_items=MAX_BLOCKS[self.surface]):
            return
        block_ids: set[str] = set()
        tables = 0
        for i, block in enumerate(blocks):
            bp = f"{pointer}/{i}"
            if not self.obj(block, bp):
                continue
            kind = block.get("type")
            if kind not in BLOCK_FIELDS:
                self.error(f"unsupported type: {kind}", f"{bp}/type")
                continue
            if self.surface not in BLOCK_SURFACES.get(kind, MAX_BLOCKS.keys()):
                self.error(f"unsupported type: {kind}", f"{bp}/type")
                continue
            self.fields(block, BLOCK_FIELDS[kind] | {"type", "block_id"}, bp)
            if "block_id" in block:
                bid = block["block_id"]
                if self.string(bid, f"{bp}/block_id", max_len=255, min_len=1):
                    if bid in block_ids:
                        self.error(f"block_id must be unique: {bid}", f"{bp}/block_id")
                    block_ids.add(bid)
            if kind == "table":
                tables += 1
                if tables > 1:  # Slack: invalid_attachments, "only_one_table_allowed"
                    self.error("only_one_table_allowed", f"{bp}/type")
            getattr(self, f"bl_{kind}")(block, bp)

    def bl_section(self, b: dict[str, Any], p: str) -> None:
        """Section: text and/or fields, optional accessory."""
        if "text" not in b and "fields" not in b:
            self.error("must define either `text` or `fields`", f"{p}/type")
        if "text" in b:
            self.text(b["text"], f"{p}/text", max_len=3000)
        if "fields" in b and self.array(b["fields"], f"{p}/fields", max_items=10, min_items=1):
            for i, field in enumerate(b["fields"]):
                self.text(field, f"{p}/fields/{i}", max_len=2000)
        if "accessory" in b:
            self.element(b["accessory"], f"{p}/accessory", ACCESSORY_ELEMENTS, set())
        if "expand" in b:
            self.boolean(b["expand"], f"{p}/expand")

    def bl_divider(self, b: dict[str, Any], p: str) -> None:
        """Divider: nothing to check."""

    def bl_image(self, b: dict[str, Any], p: str) -> None:
        """Image block: alt_text, image_url or slack_file, optional plain title."""
        self.el_image(b, p)
        if "title" in b:
            self.plain(b["title"], f"{p}/title", max_len=2000)

    def bl_actions(self, b: dict[str, Any], p: str) -> None:
        """Actions: 1..25 interactive elements with unique action_ids."""
        self.require(b, ("elements",), p)
        if "elements" in b and self.array(b["elements"], f"{p}/elements", max_items=25, min_items=1):
            seen: set[str] = set()
            for i, el in enumerate(b["elements"]):
                self.element(el, f"{p}/elements/{i}", ACTIONS_ELEMENTS, seen)

    def bl_context(self, b: dict[str, Any], p: str) -> None:
        """Context: 1..10 image elements or text objects."""
        self.require(b, ("elements",), p)
        if "elements" in b and self.array(b["elements"], f"{p}/elements", max_items=10, min_items=1):
            for i, el in enumerate(b["elements"]):
                ep = f"{p}/elements/{i}"
                if isinstance(el, dict) and el.get("type") in ("plain_text", "mrkdwn"):
                    self.text(el, ep, max_len=3000)
                else:
                    self.element(el, ep, frozenset({"image"}), set())

    def bl_input(self, b: dict[str, Any], p: str) -> None:
        """Input: plain label, one input element, optional plain hint."""
        self.require(b, ("label", "element"), p)
        if "label" in b:
            self.plain(b["label"], f"{p}/label", max_len=2000)
        if "hint" in b:
            self.plain(b["hint"], f"{p}/hint", max_len=2000)
        if "element" in b:
            self.element(b["element"], f"{p}/element", INPUT_ELEMENTS, set())
        for key in ("optional", "dispatch_action"):
            if key in b:
                self.boolean(b[key], f"{p}/{key}")

    def bl_header(self, b: dict[str, Any], p: str) -> None:
        """Header: plain text up to 150 characters."""
        self.require(b, ("text",), p)
        if "text" in b:
            self.plain(b["text"], f"{p}/text", max_len=150)

    def bl_rich_text(self, b: dict[str, Any], p: str) -> None:
        """Rich text: an array of rich text sections, lists, quotes or preformatted blocks."""
        self.require(b, ("elements",), p)
        if "elements" in b and self.array(b["elements"], f"{p}/elements"):
            for i, el in enumerate(b["elements"]):
                ep = f"{p}/elements/{i}"
                if self.obj(el, ep) and el.get("type") not in (
                    "rich_text_section", "rich_text_list", "rich_text_preformatted", "rich_text_quote",
                ):
                    self.error(f"unsupported type: {el.get('type')}", f"{ep}/type")

    def bl_file(self, b: dict[str, Any], p: str) -> None:
        """File block: external_id and source "remote"."""
        self.require(b, ("external_id", "source"), p)
        if b.get("source", "remote") != "remote":
            self.error('must be "remote"', f"{p}/source")

    def bl_video(self, b: dict[str, Any], p: str) -> None:
        """Video block: alt_text, plain title, thumbnail and video URLs."""
        self.require(b, ("alt_text", "title", "thumbnail_url", "video_url"), p)
        if "title" in b:
            self.plain(b["title"], f"{p}/title", max_len=200)
        if "description" in b:
            self.plain(b["description"], f"{p}/description", max_len=200)
        if "author_name" in b:
            self.string(b["author_name"], f"{p}/author_name", max_len=50)

    def bl_markdown(self, b: dict[str, Any], p: str) -> None:
        """Markdown block: a plain string of up to 12000 characters."""
        self.require(b, ("text",), p)
        if "text" in b:
            self.string(b["text"], f"{p}/text", max_len=12000, min_len=1)

    def bl_table(self, b: dict[str, Any], p: str) -> None:
        """Table: 1..100 rows of 1..20 cells, each raw_text (non-empty text) or rich_text; column_settings of
        at most 20 items, each null or {align: left|center|right, is_wrapped: bool} (docs.slack.dev, table block)."""
        self.require(b, ("rows",), p)
        if "rows" in b and self.array(b["rows"], f"{p}/rows", max_items=TABLE_ROWS, min_items=1):
            for r, row in enumerate(b["rows"]):
                rp = f"{p}/rows/{r}"
                if not self.array(row, rp, max_items=TABLE_CELLS, min_items=1):
                    continue
                for c, cell in enumerate(row):
                    cp = f"{rp}/{c}"
                    if not self.obj(cell, cp):
                        continue
                    if cell.get("type") == "raw_text":
                        self.fields(cell, {"type", "text"}, cp)
                        self.require(cell, ("text",), cp)
                        if "text" in cell:
                            self.string(cell["text"], f"{cp}/text", min_len=1)
                    elif cell.get("type") == "rich_text":
                        self.bl_rich_text(cell, cp)
                    else:
                        self.error(f"unsupported type: {cell.get('type')}", f"{cp}/type")
        if "column_settings" in b and self.array(b["column_settings"], f"{p}/column_settings", max_items=TABLE_CELLS):
            for c, setting in enumerate(b["column_settings"]):
                sp = f"{p}/column_settings/{c}"
                if setting is None or not self.obj(setting, sp):
                    continue
                self.fields(setting, {"align", "is_wrapped"}, sp)
                if "align" in setting and setting["align"] not in TABLE_ALIGN:
                    self.error('must be one of "left", "center", "right"', f"{sp}/align")
                if "is_wrapped" in setting:
                    self.boolean(setting["is_wrapped"], f"{sp}/is_wrapped")


def _option_key(option: dict[str, Any]) -> tuple[Any, Any]:
    """Identity of an option for initial_option matching: its value and its text."""
    text = option.get("text")
    return option.get("value"), text.get("text") if isinstance(text, dict) else text


def validate_blocks(blocks: Any, *, surface: Surface = "message", pointer: str = "/blocks") -> list[str]:
    """Slack's error strings for a blocks array on `surface` (empty when valid)."""
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface: {surface!r}")
    checker = _Checker(surface)
    checker.blocks(blocks, pointer)
    return checker.errors


def validate_view(view: Any, *, pointer: str = "/view") -> list[str]:
    """Slack's error strings for a modal or Home tab view, blocks included (empty when valid)."""
    checker = _Checker("modal")
    if not checker.obj(view, pointer):
        return checker.errors
    kind = view.get("type")
    if kind not in VIEW_FIELDS:
        checker.error('must be one of "modal", "home"', f"{pointer}/type")
        return checker.errors
    checker.surface = kind
    checker.fields(view, VIEW_FIELDS[kind], pointer)
    checker.require(view, ("blocks",) if kind == "home" else ("title", "blocks"), pointer)
    if kind == "modal":
        if "title" in view:
            checker.plain(view["title"], f"{pointer}/title", max_len=24)
        for key in ("submit", "close"):
            if key in view:
                checker.plain(view[key], f"{pointer}/{key}", max_len=24)
        for key in ("clear_on_close", "notify_on_close", "submit_disabled"):
            if key in view:
                checker.boolean(view[key], f"{pointer}/{key}")
        blocks = view.get("blocks")
        if isinstance(blocks, list) and "submit" not in view and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        ):
            checker.error("submit is required when the view has input blocks", f"{pointer}/submit")
    if "callback_id" in view:
        checker.string(view["callback_id"], f"{pointer}/callback_id", max_len=255)
    if "private_metadata" in view:
        checker.string(view["private_metadata"], f"{pointer}/private_metadata", max_len=3000)
    if "external_id" in view:
        checker.string(view["external_id"], f"{pointer}/external_id", max_len=255)
    if "blocks" in view:
        checker.blocks(view["blocks"], f"{pointer}/blocks")
    return checker.errors


def _random_id(length: int = 5) -> str:
    """A random id shaped like the ones Slack generates for blocks and actions."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def assign_ids(blocks: list[Any]) -> list[Any]:
    """A deep copy of `blocks` with Slack-generated block_id / action_id where missing."""
    result = copy.deepcopy(blocks)
    for block in result:
        if not isinstance(block, dict):
            continue
        block.setdefault("block_id", _random_id())
        elements: list[Any] = []
        if block.get("type") == "actions":
            elements = list(block.get("elements") or [])
        elif block.get("type") == "input":
            elements = [block.get("element")]
        elif block.get("type") == "section":
            elements = [block.get("accessory")]
        for element in elements:
            if isinstance(element, dict) and element.get("type") in INTERACTIVE_ELEMENTS:
                element.setdefault("action_id", _random_id())
    return result
