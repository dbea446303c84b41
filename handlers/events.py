"""Events API listeners."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps


def register(app: App, deps: Deps) -> None:
    def app_home_opened() -> None:
        """The Home tab arrives with the reports issue; acknowledge the event so Slack stops retrying."""

    app.event("app_home_opened")(app_home_opened)
