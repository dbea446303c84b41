"""A recording Notifier for service tests: remembers every send, can be told to fail. It is their
Directory too (`groups`: the user groups it knows, by ID)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.services.readmodel import Home
from bot.services.messages import Delivery, Digest, SystemicNotice
from bot.services.ports import DeliveryFailed, Once
from bot.services.readmodel import MessageRef, TicketView


@dataclass
class RecordingNotifier:
    cards: list[TicketView] = field(default_factory=list)
    updates: list[TicketView] = field(default_factory=list)
    deliveries: list[tuple[Delivery, TicketView]] = field(default_factory=list)
    groups: dict[str, frozenset[str]] = field(default_factory=dict)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    systemic: list[tuple[SystemicNotice, MessageRef | None]] = field(default_factory=list)
    digests: list[Digest] = field(default_factory=list)
    homes: list[tuple[str, "Home"]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # "card", "update", "deliver", "upload", "upload_refused"
    _ts: "count[int]" = field(default_factory=lambda: count(1))

    def post_card(self, card: TicketView, *, once: Once | None = None) -> MessageRef:
        if "card" in self.failing:
            raise DeliveryFailed("channel_not_found")
        self.cards.append(card)
        return MessageRef("C0LEVEL", f"100.{next(self._ts):06d}")

    def update_card(self, card: TicketView) -> None:
        if "update" in self.failing:
            raise DeliveryFailed("message_not_found")
        self.updates.append(card)

    def permalink(self, ref: MessageRef) -> str | None:
        return f"https://slack.example/archives/{ref.channel}/p{ref.ts.replace('.', '')}"

    def deliver(self, delivery: Delivery, card: TicketView, *, once: Once | None = None) -> MessageRef | None:
        if "deliver" in self.failing:
            raise DeliveryFailed("ratelimited")
        self.deliveries.append((delivery, card))
        return MessageRef(delivery.user or "C0LEVEL", f"200.{next(self._ts):06d}")

    def is_group(self, member_id: str) -> bool:
        return member_id.startswith("S")  # Slack's shape, as the gateway knows it (bot/slack/ids.py)

    def members_of(self, group_id: str) -> frozenset[str]:
        return self.groups.get(group_id, frozenset())

    def upload(self, user_id: str, *, filename: str, content: bytes, title: str, comment: str, once: Once | None = None) -> None:
        if "upload" in self.failing:
            raise DeliveryFailed("upload_failed")
        if "upload_refused" in self.failing:  # for good: Slack will never take it
            raise DeliveryFailed("invalid_channel", permanent=True)
        self.uploads.append((user_id, filename, content))

    def deliver_digest(self, digest: Digest, *, once: Once | None = None) -> MessageRef:
        self.digests.append(digest)
        return MessageRef(digest.user or digest.channel or "", f"400.{next(self._ts):06d}")

    def post_systemic_notice(self, notice: SystemicNotice, existing: MessageRef | None, *, once: Once | None = None) -> MessageRef:
        self.systemic.append((notice, existing))
        return existing or MessageRef("C0LAST", f"300.{next(self._ts):06d}")

    def publish_home(self, user_id: str, home: "Home") -> None:
        if "home" in self.failing:
            raise DeliveryFailed("ratelimited")
        self.homes.append((user_id, home))

    def notices(self) -> list[tuple[str, str | None]]:
        return [(d.notice.value, d.user or (d.thread.channel if d.thread else None)) for d, _ in self.deliveries]


@dataclass
class Groups:
    """A Directory with no notifier attached: IDs shaped like Slack's groups are groups (bot/slack/ids.py),
    `groups` their members (none for any other), and `asked` who asked about which."""

    groups: dict[str, frozenset[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def is_group(self, member_id: str) -> bool:
        return member_id.startswith("S")

    def members_of(self, group_id: str) -> frozenset[str]:
        self.asked.append(group_id)
        return self.groups.get(group_id, frozenset())
