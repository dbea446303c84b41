"""Slack Web API method catalogue for the fake, read from Slack's published OpenAPI 2.0 spec.

The spec (``spec/slack_web_openapi_v2.json``, see ``spec/README.md``) names every method of the
public Web API with its parameters, which of them are required and its OAuth scopes. It dates from
October 2020, so the methods and parameters Slack added since are listed here by hand in
``EXTRA_METHODS`` and ``EXTRA_PARAMS``; every entry says why it is there. HTTP verbs and the
``in`` field of parameters are ignored: slack_sdk POSTs every method, form-encoded or as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

SPEC_PATH = Path(__file__).resolve().parent / "spec" / "slack_web_openapi_v2.json"


@dataclass(frozen=True)
class MethodSpec:
    """One Web API method: its parameter names, required parameters and OAuth scopes."""

    name: str
    params: frozenset[str]
    required: frozenset[str]
    scopes: tuple[str, ...]


# Methods Slack added after the spec was frozen (Oct 2020). Parameter lists follow the method
# pages on docs.slack.dev and what slack_sdk 3.x sends.
EXTRA_METHODS: Mapping[str, MethodSpec] = MappingProxyType(
    {
        # Step 1 of the 2024 upload flow that replaced files.upload (slack_sdk files_upload_v2).
        "files.getUploadURLExternal": MethodSpec(
            name="files.getUploadURLExternal",
            params=frozenset({"token", "filename", "length", "alt_txt", "snippet_type"}),
            required=frozenset({"filename", "length"}),
            scopes=("files:write",),
        ),
        # Step 3 of that flow: shares the uploaded files. `channels` (comma-separated channel ids)
        # is the documented multi-channel alternative to `channel_id`; slack_sdk sends it when
        # files_upload_v2(channels=[...]) is used.
        "files.completeUploadExternal": MethodSpec(
            name="files.completeUploadExternal",
            params=frozenset(
                {"token", "files", "channel_id", "channels", "thread_ts", "initial_comment", "blocks"}
            ),
            required=frozenset({"files"}),
            scopes=("files:write",),
        ),
        # Socket Mode (2021): issues a WebSocket URL for the app to connect to. Takes no arguments
        # and only an app-level token (xapp-...), which slack_sdk's apps_connections_open(app_token=)
        # sends as `token` (header and body); bot tokens get not_allowed_token_type.
        "apps.connections.open": MethodSpec(
            name="apps.connections.open",
            params=frozenset({"token"}),
            required=frozenset(),
            scopes=("connections:write",),
        ),
    }
)

# Parameters Slack added to methods that the spec already has.
EXTRA_PARAMS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # Message metadata (2022) and `markdown_text` (2025, standard Markdown instead of mrkdwn).
        "chat.postMessage": frozenset({"metadata", "markdown_text"}),
        "chat.update": frozenset({"metadata", "markdown_text"}),
        "chat.postEphemeral": frozenset({"metadata", "markdown_text"}),
        # Message metadata is returned by the history methods only when asked for (2022).
        "conversations.history": frozenset({"include_all_metadata"}),
        "conversations.replies": frozenset({"include_all_metadata"}),
        # `interactivity_pointer` is the newer alias of `trigger_id`; slack_sdk's views_open/push
        # accept either one.
        "views.open": frozenset({"interactivity_pointer"}),
        "views.push": frozenset({"interactivity_pointer"}),
        # Needed by org-wide (Enterprise Grid) installs; slack_sdk sends it when given.
        "usergroups.users.list": frozenset({"team_id"}),
    }
)

# Scopes of granular bot tokens the spec does not list (it names the classic user scope only).
EXTRA_SCOPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # docs.slack.dev/reference/methods/conversations.join: bot tokens need channels:join.
        "conversations.join": ("channels:join",),
    }
)

# Parameters the spec marks required that Slack no longer requires on their own.
RELAXED_REQUIRED: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # Either `trigger_id` or `interactivity_pointer` must be given; the fake's handler checks
        # the pair, so neither one is required by itself.
        "views.open": frozenset({"trigger_id"}),
        "views.push": frozenset({"trigger_id"}),
    }
)


def _load(path: Path) -> dict[str, MethodSpec]:
    """Parse the OpenAPI document at `path` into MethodSpecs, extras merged in."""
    document = json.loads(path.read_text(encoding="utf-8"))
    catalogue: dict[str, MethodSpec] = {}
    for route, operations in document["paths"].items():
        name = route.lstrip("/")
        (operation,) = operations.values()
        parameters = operation.get("parameters", [])
        params = {p["name"] for p in parameters} | EXTRA_PARAMS.get(name, frozenset())
        required = {p["name"] for p in parameters if p.get("required")}
        required -= RELAXED_REQUIRED.get(name, frozenset())
        security = operation.get("security") or [{}]
        scopes = tuple(security[0].get("slackAuth", ())) + EXTRA_SCOPES.get(name, ())
        catalogue[name] = MethodSpec(name, frozenset(params), frozenset(required), scopes)
    for name, extra in EXTRA_METHODS.items():
        catalogue.setdefault(name, extra)
    return catalogue


@cache
def methods() -> Mapping[str, MethodSpec]:
    """Every known Web API method by name (spec plus EXTRA_METHODS), loaded once."""
    return MappingProxyType(_load(SPEC_PATH))


def method(name: str) -> MethodSpec | None:
    """The MethodSpec for `name`, or None when Slack has no such method."""
    return methods().get(name)
