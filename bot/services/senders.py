"""Which sender relays each outbox kind, and the payload type its rows are read as. The senders live
with their use cases; this table imports them all (none imports the relay), so bot/services/outbox.py
finds every kind here without an import cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.services import delivery, home, queries, sla_digest, storm, systemic
from bot.services.context import ServiceContext
from bot.services.ports import DeliveryFailed, Once
from bot.services.queue import NoPayload, NoticePayload, OutboxKind, Payload

# What a sender returns: None (sent), a reason it was not sent (logged, on the timeline), or storm.Fold
# (held back for the recipient's digest). DeliveryFailed / MailFailed: failed, retried or dead.
Outcome = str | storm.Fold | None
# What a kind does, in the transaction that gives its row up (a dead letter): tell whoever is waiting for it.
GaveUp = Callable[[Session, Any, int | None, str, datetime], None]


@dataclass(frozen=True)
class Sender:
    """A kind's payload type and sender. A sender about a ticket is called with its id (an `int`, never
    a stand-in); any other (a digest, a report, an e-mail, a Home) without one. `gave_up`, when the kind
    has one, runs as its row becomes a dead letter."""

    payload: type[Payload]
    send: Callable[..., Outcome]
    about_a_ticket: bool = True
    gave_up: GaveUp | None = None

    def __call__(self, ctx: ServiceContext, payload: Payload, ticket_id: int | None, once: Once) -> Outcome:
        if not self.about_a_ticket:
            return self.send(ctx, payload, once)
        if ticket_id is None:  # no code queues one so; a row written by hand is refused, not sent about ticket 0
            raise DeliveryFailed("queued_without_its_ticket", permanent=True)
        return self.send(ctx, payload, ticket_id, once)


SENDERS: dict[OutboxKind, Sender] = {
    OutboxKind.EMAIL: Sender(delivery.EmailPayload, delivery.send_email, about_a_ticket=False),
    OutboxKind.NOTICE: Sender(NoticePayload, delivery.send_notice),
    OutboxKind.CARD_POST: Sender(delivery.CardPostPayload, delivery.send_card_post),
    OutboxKind.CARD_UPDATE: Sender(NoPayload, delivery.send_card_update),
    OutboxKind.CARD_MOVED: Sender(delivery.CardMovedPayload, delivery.send_card_moved),
    OutboxKind.POSTMORTEM_DRAFT: Sender(delivery.PostmortemDraftPayload, delivery.send_postmortem_draft),
    OutboxKind.EXPAND_GROUP: Sender(delivery.ExpandGroupPayload, delivery.send_expand_group),
    OutboxKind.DIGEST: Sender(storm.DigestPayload, storm.send_digest, about_a_ticket=False),
    OutboxKind.SYSTEMIC_CHECK: Sender(NoPayload, systemic.send_systemic_check),
    OutboxKind.SYSTEMIC_NOTICE: Sender(systemic.SystemicNoticePayload, systemic.send_systemic_notice, about_a_ticket=False),
    OutboxKind.TIMELINE_EXPORT: Sender(queries.ExportPayload, queries.send_timeline_export,
                                       gave_up=queries.export_undelivered),
    OutboxKind.HOME_FANOUT: Sender(home.HomeFanoutPayload, home.send_home_fanout),
    OutboxKind.HOME_REFRESH: Sender(home.HomeRefreshPayload, home.send_home_refresh, about_a_ticket=False),
    OutboxKind.REPORT_POST: Sender(sla_digest.ReportPayload, sla_digest.send_report_post, about_a_ticket=False),
    OutboxKind.REPORT_CHART: Sender(sla_digest.ReportPayload, sla_digest.send_report_chart, about_a_ticket=False),
}
assert set(SENDERS) == set(OutboxKind), "every outbox kind has a sender"
