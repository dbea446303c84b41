"""The Notifier port implemented on Slack: renders the words (Jinja), builds blocks, sends via the gateway."""

from __future__ import annotations

from bot.rendering import Renderer
from bot.services.ports import Delivery, DeliveryFailed, MessageRef, Notice, TicketCard
from bot.slack.blocks import fallback_text, notice_blocks, ticket_card_blocks
from bot.slack.gateway import SlackError, SlackGateway
from bot.domain.policy import Policy
from bot.domain.tickets import TicketStatus


class SlackNotifier:
    def __init__(self, gateway: SlackGateway, renderer: Renderer, policy: Policy):
        self.gateway, self.renderer, self.policy = gateway, renderer, policy

    def card_message(self, card: TicketCard) -> tuple[str, list[dict]]:
        parts = self.renderer.render_blocks("card.md.j2", t=card)
        blocks = ticket_card_blocks(
            parts,
            header=f"{card.severity.emoji} {card.ref} · {card.title}",
            ticket_id=card.id,
            acknowledged=card.acknowledged_by is not None,
            closed=card.status is TicketStatus.CLOSED,
        )
        return fallback_text(parts["fallback"]), blocks

    def post_card(self, card: TicketCard) -> MessageRef:
        text, blocks = self.card_message(card)
        try:
            posted = self.gateway.post(card.level.channel, text=text, blocks=blocks)
        except SlackError as exc:
            raise DeliveryFailed(exc.code) from None
        return MessageRef(posted.channel, posted.ts)

    def update_card(self, card: TicketCard) -> None:
        if card.card is None:
            raise DeliveryFailed("card_not_posted")
        text, blocks = self.card_message(card)
        try:
            self.gateway.update(card.card.channel, card.card.ts, text=text, blocks=blocks)
        except SlackError as exc:
            raise DeliveryFailed(exc.code) from None

    def permalink(self, ref: MessageRef) -> str | None:
        try:
            return self.gateway.permalink(ref.channel, ref.ts)
        except SlackError as exc:
            raise DeliveryFailed(exc.code) from None

    def deliver(self, delivery: Delivery, card: TicketCard) -> MessageRef | None:
        extra: dict[str, str | None] = dict(delivery.extra)
        if "contact" in extra:
            contact = self.policy.contact(str(extra["contact"]))
            extra.update(contact_name=contact.name, contact_phone=contact.phone, contact_email=contact.email)
        text = self.renderer.render(f"notices/{delivery.notice.value}.md.j2", t=card, **extra)
        blocks = notice_blocks(
            text,
            ticket_id=card.id,
            acknowledge=delivery.notice is Notice.PAGE and card.acknowledged_by is None,
            link=card.card_link if delivery.user else None,
        )
        try:
            if delivery.user:
                posted = self.gateway.dm(delivery.user, text=fallback_text(text), blocks=blocks)
            elif delivery.thread:
                posted = self.gateway.post(delivery.thread.channel, text=fallback_text(text), blocks=blocks, thread_ts=delivery.thread.ts)
            else:
                return None
        except SlackError as exc:
            raise DeliveryFailed(exc.code) from None
        return MessageRef(posted.channel, posted.ts)

    def members_of(self, group_id: str) -> frozenset[str]:
        try:
            return self.gateway.group_members(group_id)
        except SlackError as exc:
            raise DeliveryFailed(exc.code) from None
