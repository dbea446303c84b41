"""What listeners are given: settings, the service context, the gateway, the renderer and the modal cache."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.config import Settings
from bot.rendering import Renderer
from bot.services.context import ServiceContext
from bot.slack.blocks import ModalCache
from bot.slack.gate import response_url_allowed
from bot.slack.gateway import SlackError, SlackGateway, TriggerExpired
from bot.slack.payloads import PayloadInvalid, read_requester


@dataclass(frozen=True)
class Deps:
    settings: Settings
    services: ServiceContext
    gateway: SlackGateway
    renderer: Renderer
    modal_cache: ModalCache = field(default_factory=ModalCache)

    @property
    def own_hosts(self) -> tuple[str, ...]:
        """Hosts we trust besides Slack's own: the configured Web API's (the fake Slack, a proxy)."""
        host = urllib.parse.urlsplit(self.settings.slack_api_url).hostname
        return (host.lower(),) if host and host != "slack.com" else ()

    def reply(self, template_block: str, **context: Any) -> str:
        return self.renderer.render_block("replies.md.j2", template_block, **context)

    def tell(self, body: dict[str, Any], respond: Callable[..., Any] | None, text: str) -> None:
        """An ephemeral answer to whoever triggered `body`: via its response_url when that is Slack's (the
        gate refuses others; this keeps ticket text off any other host), else chat.postEphemeral."""
        asker = read_requester(body)
        url, user, channel = asker.response_url, asker.user_id, asker.channel_id
        if respond is not None and url is not None and response_url_allowed(url, self.settings.slack_api_url):
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        try:
            if user and channel:
                self.gateway.ephemeral(channel, user, text=text)
            elif user:  # a modal submission after its ack: no channel to be ephemeral in, so a DM
                self.gateway.dm(user, text=text)
        except SlackError:
            self.services.log.warning("could not tell %s: %s", user, text)

    def open_modal(self, body: dict[str, Any], respond: Callable[..., Any] | None, view: dict[str, Any]) -> None:
        """views.open with the request's trigger; an expired trigger gets a "try again" instead of silence."""
        trigger = body.get("trigger_id")
        if not isinstance(trigger, str) or not trigger:
            raise PayloadInvalid("trigger_id is missing")  # Slack sends one with every command and click
        try:
            self.gateway.open_view(trigger, view)
        except TriggerExpired:  # expired, already used, or never minted by Slack
            self.tell(body, respond, self.reply("trigger_expired", command=self.settings.slash_command))
