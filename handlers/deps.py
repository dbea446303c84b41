"""What listeners are given: settings, the service context, the gateway and the renderer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from bot.config import Settings
from bot.rendering import Renderer
from bot.services.context import ServiceContext
from bot.slack.gateway import SlackError, SlackGateway


@dataclass(frozen=True)
class Deps:
    settings: Settings
    services: ServiceContext
    gateway: SlackGateway
    renderer: Renderer

    def reply(self, template_block: str, **context: Any) -> str:
        return self.renderer.render_block("replies.md.j2", template_block, **context)

    def tell(self, body: dict[str, Any], respond: Callable[..., Any] | None, text: str) -> None:
        """An ephemeral answer to whoever triggered `body`: via response_url, else chat.postEphemeral."""
        if respond is not None and body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        channel = (body.get("channel") or {}).get("id") or body.get("channel_id") or (body.get("container") or {}).get("channel_id")
        if user and channel:
            try:
                self.gateway.ephemeral(channel, user, text=text)
            except SlackError:
                self.services.log.warning("could not tell %s: %s", user, text)
