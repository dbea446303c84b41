"""What the services need from the outside world, in domain words (Slack is one implementation): the
Notifier and Mailer that send the messages of bot/services/messages.py, the Directory of user groups,
and the failures they report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.services.messages import Delivery, Digest, Email, ReportMessage, SystemicNotice
from bot.services.readmodel import Home, MessageRef, TicketView


class DeliveryFailed(Exception):
    """Raised by a Notifier when Slack (or e-mail) refused or could not be reached.

    `permanent`: retrying can't help (channel_not_found, invalid_auth…); `retry_after`: Slack asked
    us to wait that many seconds (HTTP 429), which is not a failure of the message; `maybe_done`: the
    request may have taken effect (a timeout, a dropped connection, a 5xx), so look before sending again;
    `gone`: the message to change is no longer there (someone deleted it).
    """

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None,
                 maybe_done: bool = False, gone: bool = False):
        super().__init__(reason)
        self.reason, self.permanent, self.retry_after, self.maybe_done = reason, permanent, retry_after, maybe_done
        self.gone = gone


@dataclass(frozen=True)
class Once:
    """What makes a post exactly-once: the outbox key it carries (as Slack message metadata), and,
    when an earlier send's outcome is unknown, since when — the notifier then looks for it first."""

    key: str
    in_doubt_since: datetime | None = None


class Notifier(Protocol):
    """How services tell people things. Called only after the transaction commits.

    Posting methods take `once`: the post carries its key, and is looked up before it is sent again
    when an earlier attempt's outcome is unknown (then the earlier message is returned, not a copy)."""

    def post_card(self, card: TicketView, *, once: Once | None = None) -> MessageRef: ...

    def update_card(self, card: TicketView) -> None: ...

    def permalink(self, ref: MessageRef) -> str | None: ...

    def deliver(self, delivery: Delivery, card: TicketView, *, once: Once | None = None) -> MessageRef | None: ...

    def upload(self, to: str, *, filename: str, content: bytes, title: str, comment: str,
               once: Once | None = None) -> None: ...

    def post_systemic_notice(self, notice: SystemicNotice, existing: MessageRef | None, *,
                             once: Once | None = None) -> MessageRef: ...

    def deliver_digest(self, digest: Digest, *, once: Once | None = None) -> MessageRef: ...

    def publish_home(self, user_id: str, home: Home) -> None: ...

    def post_report(self, message: ReportMessage, *, once: Once | None = None) -> MessageRef: ...

    def upload_chart(self, message: ReportMessage, *, once: Once | None = None) -> None: ...


class Directory(Protocol):
    """Who is in a user group (responders, people to DM may name one): asked of the workspace (Slack's
    user groups), which alone knows what a group's ID looks like."""

    def is_group(self, member_id: str) -> bool: ...

    def members_of(self, group_id: str) -> frozenset[str]:
        """The group's members; raises DeliveryFailed when the workspace can't say."""
        ...


class NoGroups:
    """A directory with no user groups (the offline command line, tests that need none)."""

    def is_group(self, member_id: str) -> bool:
        return False

    def members_of(self, group_id: str) -> frozenset[str]:
        return frozenset()


class MailFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...
