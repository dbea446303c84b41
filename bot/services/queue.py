"""Queueing outbox rows inside the caller's transaction: the kinds, their payloads' common shape, and
the two ways to write them — at once (`enqueue(session, …)`) or collected by a `Batch` the caller
opens and flushes (one multi-row INSERT for hundreds of rows). The relay that sends them is
bot/services/outbox.py; each kind's payload and sender live with its use case (bot/services/senders.py
lists them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from bot.services.messages import Notice
from bot.services.tickets import upsert_insert
from models import HomeViewer, OutboxMessage, OutboxStatus, TimelineEvent
from models.timeline import Source


class OutboxKind(StrEnum):
    """What an outbox row does when relayed; the value is what `outbox.kind` stores."""

    EMAIL = "email"
    NOTICE = "notice"
    CARD_POST = "card_post"
    CARD_UPDATE = "card_update"
    CARD_MOVED = "card_moved"
    POSTMORTEM_DRAFT = "postmortem_draft"
    EXPAND_GROUP = "expand_group"
    DIGEST = "digest"
    SYSTEMIC_CHECK = "systemic_check"
    SYSTEMIC_NOTICE = "systemic_notice"
    TIMELINE_EXPORT = "timeline_export"
    HOME_FANOUT = "home_fanout"
    HOME_REFRESH = "home_refresh"
    REPORT_POST = "report_post"  # bot.services.sla_digest: the weekly digest's figures
    REPORT_CHART = "report_chart"  # …and a chart, to the reports channel or by DM


@dataclass(frozen=True)
class Payload:
    """A row's payload: built by the use case that queues it, read by its sender (stored as JSON)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        return cls(**raw)

    def what(self, kind: OutboxKind) -> str:
        """How the timeline and the logs name what was sent."""
        return kind.value

    def where(self) -> str:
        """…and where it went."""
        return "card"


@dataclass(frozen=True)
class NoPayload(Payload):
    """A kind whose row needs nothing but its ticket."""


@dataclass(frozen=True)
class NoticePayload(Payload):
    """A notice about a ticket to a DM (`user`), a channel, or the ticket card's thread; rendered when
    sent. With `reader_check`, the DM goes out only if `user` may view the ticket then. Here, not with
    its sender (bot/services/delivery.py), because storm control reads it too."""

    notice: Notice
    user: str | None = None
    channel: str | None = None
    thread: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    reader_check: bool = False

    @property
    def recipient(self) -> str | None:
        """Whom storm control counts it against: a thread reply buries nobody, so it is never folded."""
        return self.user or (None if self.thread else self.channel)

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"notice": self.notice.value, "user": self.user, "channel": self.channel,
                               "thread": self.thread, "extra": dict(self.extra)}
        if self.reader_check:
            raw["reader_check"] = True
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Self:
        return cls(notice=Notice(raw["notice"]), user=raw.get("user"), channel=raw.get("channel"),
                   thread=bool(raw.get("thread")), extra=dict(raw.get("extra") or {}),
                   reader_check=bool(raw.get("reader_check")))

    def what(self, kind: OutboxKind) -> str:
        return self.notice.value

    def where(self) -> str:
        return self.user or self.channel or "thread"


def _row(*, key: str, kind: OutboxKind, ticket_id: int | None, payload: Payload, now: datetime, recipient: str | None,
         due: datetime | None) -> dict[str, Any]:
    return {"dedupe_key": key, "kind": kind.value, "ticket_id": ticket_id, "payload": payload.to_json(),
            "recipient": recipient, "status": OutboxStatus.PENDING.value, "attempts": 0, "next_attempt_at": due or now,
            "created_at": now}


def enqueue(session: Session, *, key: str, kind: OutboxKind, ticket_id: int | None, payload: Payload, now: datetime,
            recipient: str | None = None, due: datetime | None = None) -> None:
    """Queue once per key, written now in the caller's transaction (INSERT … ON CONFLICT (dedupe_key) DO NOTHING).
    `recipient` is whom storm control counts (a DM's user, a channel); None: never folded."""
    _insert_rows(session, [_row(key=key, kind=kind, ticket_id=ticket_id, payload=payload, now=now, recipient=recipient,
                                due=due)])


class Batch:
    """Rows and timeline notes collected for one bulk INSERT each, written by `flush()` (or at the end of
    `with Batch(session) as batch:`): the sweep fires hundreds of timers at once, and one statement per
    row would make that slow. What is collected is not in the session until then."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._rows: list[dict[str, Any]] = []
        self._notes: list[dict[str, Any]] = []

    def enqueue(self, *, key: str, kind: OutboxKind, ticket_id: int | None, payload: Payload, now: datetime,
                recipient: str | None = None, due: datetime | None = None) -> None:
        """`enqueue`, deferred to the flush."""
        self._rows.append(_row(key=key, kind=kind, ticket_id=ticket_id, payload=payload, now=now, recipient=recipient,
                               due=due))

    def note(self, ticket_id: int, kind: str, *, actor: str, source: Source, at: datetime, **details: Any) -> None:
        """A timeline event whose id nobody needs, deferred to the flush (`tickets.record` writes one at once
        and returns it, for the notifications its id keys)."""
        self._notes.append({"ticket_id": ticket_id, "at": at, "actor_id": actor, "kind": kind, "source": source.value,
                            "details": details})

    def flush(self) -> None:
        rows, notes, self._rows, self._notes = self._rows, self._notes, [], []
        _insert_rows(self.session, rows)
        if notes:
            self.session.execute(insert(TimelineEvent), notes)

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.flush()


Rows = Session | Batch  # where a helper queues: written now (a session) or deferred (a batch), the caller's choice


def queue_row(into: Rows, **row: Any) -> None:
    """`enqueue` into a session or a batch, as the caller passed."""
    if isinstance(into, Batch):
        into.enqueue(**row)
    else:
        enqueue(into, **row)


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    rows = list({row["dedupe_key"]: row for row in reversed(rows)}.values())[::-1]  # first of each key, in order
    fanout = OutboxKind.HOME_FANOUT.value
    if any(row["kind"] == fanout for row in rows) and not session.scalar(select(exists().select_from(HomeViewer))):
        rows = [row for row in rows if row["kind"] != fanout]  # nobody has opened the Home: nothing to refresh
    if rows:
        session.execute(upsert_insert(session)(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"]))
