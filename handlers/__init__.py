"""The Slack edge: thin Bolt listeners, one module per surface, registered explicitly."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, errors, events, views
from handlers.deps import Deps


def register_handlers(app: App, deps: Deps) -> None:
    for module in (commands, views, actions, events, errors):
        module.register(app, deps)
