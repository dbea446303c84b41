"""Events API listeners."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps
from handlers.errors import guarded


def register(app: App, deps: Deps) -> None:
    def app_home_opened() -> None:
        """The Home tab arrives with the reports issue; acknowledge the event so Slack stops retrying."""

    app.event("app_home_opened")(guarded(deps, app_home_opened))
