"""The one error boundary: domain errors become a friendly ephemeral; the unexpected is logged with a ref."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import App, BoltResponse

from bot.domain.tickets import DomainError, NotAResponder
from handlers.deps import Deps

log = logging.getLogger("bot.errors")


def register(app: App, deps: Deps) -> None:
    def on_error(error: Exception, body: dict[str, Any], respond: Any = None) -> BoltResponse | None:
        if isinstance(error, NotAResponder):
            text = deps.reply("not_allowed", message=str(error), responders=list(error.level.responders))
        elif isinstance(error, DomainError):
            text = deps.reply("domain_error", message=str(error))
        else:
            ref = uuid.uuid4().hex[:8]
            log.error("unhandled error ref=%s type=%s", ref, body.get("type") or body.get("command"), exc_info=error)
            text = deps.reply("unexpected", ref=ref)
        try:
            deps.tell(body, respond, text)
        except Exception:  # noqa: BLE001 - the boundary must never raise; the original error is logged
            log.exception("could not report an error to the user")
        return None

    app.error(on_error)
