"""The one error boundary: domain errors become a friendly ephemeral; the unexpected is logged with a ref.

Listeners are wrapped with `guarded` at registration. Bolt's own `@app.error` hook is registered
too, but cannot be relied on for listeners that fail after `ack()`: Bolt's thread runner then
resets the ack and the request hangs for 3 seconds. So the boundary sits around each listener.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any, Callable, TypeVar

from slack_bolt import App

from bot.domain.tickets import DomainError, NotAllowed
from bot.slack.blocks import form_errors
from bot.slack.payloads import PayloadInvalid, input_block_ids
from handlers.deps import Deps

log = logging.getLogger("bot.errors")
F = TypeVar("F", bound=Callable[..., Any])


def describe(deps: Deps, error: Exception, body: dict[str, Any]) -> str:
    """What to tell the person (never a stack trace); the unexpected is logged with a ref."""
    if isinstance(error, PayloadInvalid):
        log.warning("refused a request Slack could not have sent (%s): %s", body.get("type") or body.get("command"), error)
        text = deps.reply("unreadable", message=str(error))
    elif isinstance(error, NotAllowed):
        text = deps.reply("not_allowed", message=str(error), responders=list(error.who))
    elif isinstance(error, DomainError):
        text = deps.reply("domain_error", message=str(error))
    else:
        ref = uuid.uuid4().hex[:8]
        log.error("unhandled error ref=%s request=%s", ref, body.get("type") or body.get("command"), exc_info=error)
        text = deps.reply("unexpected", ref=ref)
    return text


def report(deps: Deps, error: Exception, body: dict[str, Any], respond: Any = None) -> None:
    try:
        deps.tell(body, respond, describe(deps, error, body))
    except Exception:  # noqa: BLE001 - the boundary must never raise; the original error is logged
        log.exception("could not report an error to the user")


def guarded(deps: Deps, listener: F) -> F:
    """Run a listener inside the boundary; if it failed before acking, ack so Slack isn't left waiting."""

    @functools.wraps(listener)
    def run(**kwargs: Any) -> Any:
        try:
            return listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - this is the boundary
            body = kwargs.get("body") or {}
            ack = kwargs.get("ack")
            if ack is not None and getattr(ack, "response", None) is None and _answer_on_ack(ack, body, describe(deps, error, body)):
                return None
            report(deps, error, body, kwargs.get("respond"))
            return None

    return run  # type: ignore[return-value]


def _answer_on_ack(ack: Any, body: dict[str, Any], text: str) -> bool:
    """Not acked yet: a modal keeps what was typed and shows the problem inline, a command answers in
    its ack; True when the answer went out that way. Anything else is simply acked."""
    view = body.get("view")
    if body.get("type") == "view_submission" and input_block_ids(view):
        ack(response_action="errors", errors=form_errors({"": text}, view))
        return True
    if body.get("command"):
        ack(text=text, response_type="ephemeral")
        return True
    ack()
    return False


def register(app: App, deps: Deps) -> None:
    def on_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
        report(deps, error, body, respond)

    app.error(on_error)
