"""The Notifier port implemented on Slack: renders the words (Jinja), builds blocks, sends via the gateway."""

from __future__ import annotations

import logging
from collections.abc import Sequence
import re
from datetime import timedelta

from bot.domain.policy import Policy, Reason
from bot.domain.reports import Report
from bot.rendering import Renderer
from bot.charts import sla_chart
from bot.services.messages import Delivery, Digest, Notice, ReportMessage, SystemicNotice
from bot.services.ports import DeliveryFailed, Once
from bot.services.readmodel import Home, Listing, MessageRef, Section, TicketView
from bot.slack.blocks import (
    HomeHeading, HomeMore, HomePart, HomeRow, HomeText, buttons_offered, card_buttons, digest_blocks, fallback_text,
    home_view, list_modal, notice_blocks, report_blocks, systemic_blocks, ticket_card_blocks,
)
from bot.slack.gateway import SlackError, SlackGateway, SlackRejected, failed
from bot.slack.ids import Action
from bot.slack.pacing import Pacer

log = logging.getLogger("bot.slack")

# An in-doubt post is looked for from this long before its first attempt (clocks of this host and Slack's differ).
LOOKBACK = timedelta(minutes=2)


# Buttons a notice carries, so the person can act from where they read it.
NOTICE_BUTTONS: dict[Notice, tuple[Action, ...]] = {
    Notice.PAGE: (Action.ACKNOWLEDGE,),
    Notice.POSTMORTEM_REQUESTED: (Action.POSTMORTEM_DONE,),
    Notice.POSTMORTEM_REMINDER: (Action.POSTMORTEM_DONE,),
    Notice.BREACH: (Action.ACKNOWLEDGE, Action.ESCALATE),
    Notice.BREACH_MANAGER: (Action.ESCALATE, Action.REASSIGN),
    Notice.PREBREACH: (Action.ACKNOWLEDGE,),
    Notice.SLA_UNRESOLVED: (Action.ESCALATE,),
    Notice.FOLLOWUP: (Action.POST_UPDATE,),
}


def report_message(renderer: Renderer, report: Report, *, period: str, reasons: Sequence[Reason]) -> tuple[str, list[dict]]:
    """An SLA report as a text fallback and blocks (its table), the words from templates/report.md.j2:
    the `/escalate report` reply and the weekly digest read the same."""
    parts = renderer.render_blocks("report.md.j2", report=report, period=period, reasons={r.key: r.label for r in reasons})
    blocks = report_blocks(report, title=parts["title"], context=parts["context"], columns=parts["columns"].splitlines(),
                           details=parts["details"])
    return fallback_text(parts["fallback"]), blocks


# Buttons a ticket shows on the App Home, by section: the card's own actions (same handlers, same checks).
HOME_BUTTONS: dict[Section, tuple[Action, ...]] = {
    Section.AWAITING_ACK: (Action.ACKNOWLEDGE, Action.POST_UPDATE, Action.STATUS),
    Section.FOLLOWUPS: (Action.POST_UPDATE, Action.STATUS),
    Section.POSTMORTEMS: (Action.POSTMORTEM_DONE, Action.STATUS),
    Section.MINE: (Action.STATUS,),
    Section.OPEN_LONG: (Action.STATUS,),
}


def home_parts(renderer: Renderer, home: Home, *, command: str) -> list[HomePart]:
    """The Home's words (templates/home.md.j2) in the order the tab shows them."""
    def say(block: str, **context: object) -> str:
        return renderer.render_block("home.md.j2", block, h=home, command=command, **context)

    def listed(listing: Listing, *, title: str = "section_title", line: str = "ticket") -> list[HomePart]:
        parts: list[HomePart] = [HomeText(say(title, l=listing))]
        parts += [HomeRow(say(line, t=t), t.id, HOME_BUTTONS[listing.section], f"{listing.section.value}_{t.id}")
                  for t in listing.items]
        if listing.more:
            parts.append(HomeMore(say("more", l=listing), say("more_button", l=listing), listing.section.value))
        return parts

    parts: list[HomePart] = [HomeHeading(say("header")), HomeText(say("as_of"), context=True), None,
                             HomeHeading(say("needs_me"))]
    needs = [listing for listing in (home.awaiting_ack, home.followups, home.postmortems) if listing.total]
    for listing in needs:
        parts += listed(listing)
    if not needs:
        parts.append(HomeText(say("nothing_needs_me")))
    parts += [None, HomeHeading(say("mine_heading"))]
    parts += listed(home.mine) if home.mine.total else [HomeText(say("mine_empty"))]
    if home.queues:
        parts += [None, HomeHeading(say("queues_heading")), HomeText(say("queues"))]
    if home.managers is not None:
        parts += [None, HomeHeading(say("managers_heading")), HomeText(say("figures"))]
        if home.managers.open_long.total:
            parts += listed(home.managers.open_long, title="open_long_title", line="open_long_ticket")
        else:
            parts.append(HomeText(say("open_long_empty")))
    return parts


def home_more_modal(renderer: Renderer, listing: Listing, *, command: str) -> dict:
    """A Home section at length (its "See all" button)."""
    return list_modal(renderer.render_block("home.md.j2", "modal_title", l=listing),
                      renderer.render_block("home.md.j2", "modal_list", l=listing, command=command))


class SlackNotifier:
    def __init__(self, gateway: SlackGateway, renderer: Renderer, policy: Policy, *, command: str = "/escalate",
                 pacer: Pacer | None = None):
        """`pacer`: the relay's notifier paces its cards, notices and digests per channel (Slack: ~1/s)."""
        self.gateway, self.renderer, self.policy, self.command = gateway, renderer, policy, command
        self.pacer = pacer
        self._permalinks: dict[MessageRef, str] = {}

    def _at_last_level(self, card: TicketView) -> bool:
        return card.level.key == self.policy.last_level.key

    def card_message(self, card: TicketView) -> tuple[str, list[dict]]:
        parts = self.renderer.render_blocks("card.md.j2", t=card)
        buttons = card_buttons(status=card.status, last_level=self._at_last_level(card),
                               moved=card.moved_to is not None)
        blocks = ticket_card_blocks(parts, header=f"{card.severity.emoji} {card.ref} · {card.title}",
                                    ticket_id=card.id, buttons=buttons)
        return fallback_text(parts["fallback"]), blocks

    def _post(self, channel: str, *, text: str, blocks: list[dict], thread_ts: str | None = None,
              once: Once | None = None) -> MessageRef:
        """Post once: with the outbox key as metadata, and, when an earlier attempt may have landed,
        only after looking for it (then that message is the answer). A lookup Slack refuses (a private
        channel the bot can't read, a missing history scope) is logged and the post is sent: a possible
        second copy is better than a lost page."""
        if once is not None and once.in_doubt_since is not None:
            since = (once.in_doubt_since - LOOKBACK).timestamp()
            try:
                found = self.gateway.find_posted(channel, once.key, since=since, thread_ts=thread_ts)
            except SlackRejected as exc:
                log.warning("could not look for in-doubt post %s in %s (%s); sending it", once.key, channel, exc.code)
                found = None
            if found is not None:
                log.info("in-doubt post %s was already in Slack (%s %s); not sent again", once.key, found.channel, found.ts)
                return found
        return self.gateway.post(channel, text=text, blocks=blocks, thread_ts=thread_ts,
                                 key=once.key if once is not None else None)

    def _pace(self, channel: str) -> None:
        if self.pacer is not None:
            self.pacer.wait(channel)

    def post_card(self, card: TicketView, *, once: Once | None = None) -> MessageRef:
        text, blocks = self.card_message(card)
        self._pace(card.level.channel)
        try:
            posted = self._post(card.level.channel, text=text, blocks=blocks, once=once)
        except SlackError as exc:
            raise failed(exc) from None
        return posted

    def update_card(self, card: TicketView) -> None:
        if card.posted is None:
            raise DeliveryFailed("card_not_posted")
        text, blocks = self.card_message(card)
        try:
            self.gateway.update(card.posted.channel, card.posted.ts, text=text, blocks=blocks)
        except SlackError as exc:
            raise failed(exc) from None

    def permalink(self, ref: MessageRef) -> str | None:
        """A message's permalink never changes: asked of Slack once, then remembered (every notice links the card)."""
        if ref not in self._permalinks:
            if len(self._permalinks) > 10_000:
                self._permalinks.clear()  # a bound, not an eviction policy: they are cheap to ask again
            try:
                self._permalinks[ref] = self.gateway.permalink(ref.channel, ref.ts)
            except SlackError as exc:
                raise failed(exc) from None
        return self._permalinks[ref]

    def deliver(self, delivery: Delivery, card: TicketView, *, once: Once | None = None) -> MessageRef | None:
        extra: dict[str, str | None] = dict(delivery.extra)
        if "contact" in extra:
            contact = self.policy.contact(str(extra["contact"]))
            extra.update(contact_name=contact.name, contact_phone=contact.phone, contact_email=contact.email)
        text = self.renderer.render(f"notices/{delivery.notice.value}.md.j2", t=card, **extra)
        blocks = notice_blocks(
            text,
            ticket_id=card.id,
            buttons=buttons_offered(NOTICE_BUTTONS.get(delivery.notice, ()), status=card.status,
                                    last_level=self._at_last_level(card)),
            link=card.card_link if delivery.user else None,
        )
        self._pace(delivery.user or (delivery.thread.channel if delivery.thread else delivery.channel) or "")
        try:
            if delivery.user:  # a user ID: the bot's DM with that person
                posted = self._post(delivery.user, text=fallback_text(text), blocks=blocks, once=once)
            elif delivery.thread:
                posted = self._post(delivery.thread.channel, text=fallback_text(text), blocks=blocks,
                                    thread_ts=delivery.thread.ts, once=once)
            elif delivery.channel:
                posted = self._post(delivery.channel, text=fallback_text(text), blocks=blocks, once=once)
            else:
                return None
        except SlackError as exc:
            raise failed(exc) from None
        return posted

    def upload(self, to: str, *, filename: str, content: bytes, title: str, comment: str,
               once: Once | None = None) -> None:
        """A file to a person's DM (a user ID) or a channel; in doubt, first looked for by its title
        (uploads carry no metadata)."""
        try:
            if once is not None and once.in_doubt_since is not None and self.gateway.find_upload(
                    to, title, since=(once.in_doubt_since - LOOKBACK).timestamp()):
                log.info("in-doubt upload %s was already in Slack; not sent again", once.key)
                return
            self.gateway.upload(to, filename=filename, content=content, title=title, comment=comment)
        except SlackError as exc:
            raise failed(exc) from None

    def post_systemic_notice(self, notice: SystemicNotice, existing: MessageRef | None, *,
                             once: Once | None = None) -> MessageRef:
        text = self.renderer.render("notices/systemic.md.j2", n=notice, last_level=self.policy.last_level)
        label = None if notice.escalated_by else f"Escalate all to {self.policy.last_level.key} as systemic"
        blocks = systemic_blocks(text, alert_id=notice.alert_id, escalate_label=label)
        try:
            if existing is not None:
                self.gateway.update(existing.channel, existing.ts, text=fallback_text(text), blocks=blocks)
                return existing
            posted = self._post(notice.channel, text=fallback_text(text), blocks=blocks, once=once)
        except SlackError as exc:
            raise failed(exc) from None
        return posted

    def deliver_digest(self, digest: Digest, *, once: Once | None = None) -> MessageRef:
        text = self.renderer.render("notices/digest.md.j2", d=digest)
        self._pace(digest.user or digest.channel or "")
        try:
            posted = self._post(digest.user or digest.channel or "", text=fallback_text(text), blocks=digest_blocks(text), once=once)
        except SlackError as exc:
            raise failed(exc) from None
        return posted

    def publish_home(self, user_id: str, home: Home) -> None:
        try:
            self.gateway.publish_home(user_id, home_view(home_parts(self.renderer, home, command=self.command)))
        except SlackError as exc:
            raise failed(exc) from None

    def post_report(self, message: ReportMessage, *, once: Once | None = None) -> MessageRef:
        """The figures (a table per level) to the reports channel or a person's DM."""
        assert message.report is not None, "a report post carries its figures"
        text, blocks = report_message(self.renderer, message.report, period=message.period, reasons=self.policy.reasons)
        try:
            posted = self._post(message.destination, text=text, blocks=blocks, once=once)
        except SlackError as exc:
            raise failed(exc) from None
        return posted

    def upload_chart(self, message: ReportMessage, *, once: Once | None = None) -> None:
        """The chart as a PNG through Slack's external upload flow (titled uniquely per report)."""
        png = sla_chart(message.weeks, message.week_labels, title=message.title)
        filename = re.sub(r"[^a-z0-9]+", "-", message.title.lower()).strip("-") + ".png"
        comment = fallback_text(self.renderer.render("report_chart.md.j2", m=message))
        self.upload(message.destination, filename=filename, content=png, title=message.title, comment=comment, once=once)
