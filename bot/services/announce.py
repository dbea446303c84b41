"""Deciding who hears what, inside the transaction of the change: every Slack message is queued in the
outbox with a key made of the timeline event that caused it, then relayed after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.delivery import CardPostPayload, ExpandGroupPayload, PostmortemDraftPayload, enqueue_notice, enqueue_ticket_change
from bot.services.messages import Notice
from bot.services.ports import Directory
from bot.services.readmodel import MessageRef
from bot.services.queue import NoPayload, OutboxKind, enqueue
from bot.services.tickets import subscribers_without_role, watchers
from models import Ticket, TimelineEvent



def queue_card(session: Session, ticket: Ticket, event: TimelineEvent, now: datetime, *, previous: MessageRef | None = None) -> None:
    """Post the ticket's card (the handoff summary) in its level's channel; the old card will link to it."""
    enqueue_ticket_change(session, key=f"{OutboxKind.CARD_POST}:{ticket.id}:{event.id}", kind=OutboxKind.CARD_POST,
                          ticket_id=ticket.id, now=now,
                          payload=CardPostPayload(previous=[previous.channel, previous.ts] if previous else None))


def queue_card_update(session: Session, ticket_id: int, event: TimelineEvent, now: datetime) -> None:
    """Refresh the card in place (it is rendered from the ticket as it is when sent)."""
    enqueue_ticket_change(session, key=f"{OutboxKind.CARD_UPDATE}:{ticket_id}:{event.id}", kind=OutboxKind.CARD_UPDATE,
                          ticket_id=ticket_id, now=now, payload=NoPayload())


def queue_notice(session: Session, ticket_id: int, event: TimelineEvent, notice: Notice, now: datetime, *,
                 user: str | None = None, channel: str | None = None, thread: bool = False,
                 extra: dict[str, str] | None = None, reader_check: bool = False) -> None:
    target = user or channel or ("thread" if thread else "none")
    enqueue_notice(session, key=f"{notice.value}:{ticket_id}:{event.id}:{target}", ticket_id=ticket_id, notice=notice,
                   now=now, user=user, channel=channel, thread=thread, extra=extra, reader_check=reader_check)


def queue_people(session: Session, ticket_id: int, event: TimelineEvent, notice: Notice, people: tuple[str, ...],
                 now: datetime, *, directory: Directory, extra: dict[str, str] | None = None) -> None:
    """A DM to each person; a user group (the directory knows one) is expanded to its members when relayed, not now."""
    for person in people:
        if directory.is_group(person):
            enqueue(session, key=f"{OutboxKind.EXPAND_GROUP}:{notice.value}:{ticket_id}:{event.id}:{person}",
                    kind=OutboxKind.EXPAND_GROUP, ticket_id=ticket_id, now=now,
                    payload=ExpandGroupPayload(group=person, notice=notice, event=event.id, extra=extra or {}))
        else:
            queue_notice(session, ticket_id, event, notice, now, user=person, extra=extra)


def queue_change(session: Session, ticket: Ticket, event: TimelineEvent, notice: Notice, now: datetime, *, actor_id: str,
                 extra: dict[str, str] | None = None, card_changed: bool = True, thread: bool = True) -> None:
    """After a change: refresh the card, say it in the thread, and DM everyone on the ticket but the actor."""
    if card_changed:
        queue_card_update(session, ticket.id, event, now)
    details = {"actor": actor_id, **(extra or {})}
    if thread:
        queue_notice(session, ticket.id, event, notice, now, thread=True, extra=details)
    subscribers_only = set(subscribers_without_role(session, ticket))
    for user in watchers(session, ticket, except_for=actor_id):
        # A subscription grants no reading of its own: such a DM is sent only if they may still view it then.
        queue_notice(session, ticket.id, event, notice, now, user=user, extra=details, reader_check=user in subscribers_only)


def queue_postmortem_draft(session: Session, ticket_id: int, event: TimelineEvent, owner: str, now: datetime) -> None:
    enqueue(session, key=f"{OutboxKind.POSTMORTEM_DRAFT}:{ticket_id}:{event.id}", kind=OutboxKind.POSTMORTEM_DRAFT,
            ticket_id=ticket_id, now=now, payload=PostmortemDraftPayload(owner))


