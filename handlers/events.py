"""Events API listeners, and the rule that a retried event is acknowledged but not processed again."""

from __future__ import annotations

from typing import Any, Callable

from slack_bolt import App, BoltRequest, BoltResponse

from bot.services.home import open_home
from bot.slack.payloads import read_home_opened
from handlers.deps import Deps
from handlers.errors import guarded


def skip_slack_retries(request: BoltRequest, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 - Bolt's name
    """Slack retries an event it thinks we missed (X-Slack-Retry-Num); the first delivery was already
    acknowledged and is being handled, so a retry gets 200 and causes nothing."""
    values = request.headers.get("x-slack-retry-num") or ["0"]
    raw = values[0] if isinstance(values, (list, tuple)) else values
    if str(raw).isdigit() and int(raw) > 0:  # Socket Mode sends 0 for a first delivery
        return BoltResponse(status=200, body="")
    return next()


def register(app: App, deps: Deps) -> None:
    app.middleware(skip_slack_retries)

    def app_home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        """The Home tab as a queue (bot/services/home.py); from now on it is refreshed when a ticket of theirs changes."""
        user = read_home_opened(event)
        if user is not None:
            open_home(deps.services, actor_id=user)

    app.event("app_home_opened")(guarded(deps, app_home_opened))
