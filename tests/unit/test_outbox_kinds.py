"""Outbox kinds are typed, each with one sender and one payload type; the stored names never change."""

from __future__ import annotations

from pathlib import Path

from bot.services.messages import Notice
from bot.services.queue import NoticePayload, OutboxKind
from bot.services.senders import SENDERS
from bot.services.systemic import SystemicNoticePayload

STORED = {"email", "notice", "card_post", "card_update", "card_moved", "postmortem_draft", "expand_group", "digest",
          "systemic_check", "systemic_notice", "timeline_export", "home_fanout", "home_refresh", "report_post",
          "report_chart"}


def test_every_kind_keeps_the_name_existing_rows_store_and_has_a_sender() -> None:
    assert {kind.value for kind in OutboxKind} == STORED
    assert set(SENDERS) == set(OutboxKind)


def test_every_notice_has_its_template_and_a_name_in_the_digest() -> None:
    templates = Path(__file__).parents[2] / "templates" / "notices"
    digest = (templates / "digest.md.j2").read_text()
    for notice in Notice:
        assert (templates / f"{notice.value}.md.j2").is_file(), notice
        assert f'"{notice.value}":' in digest, notice


def test_a_notice_payload_reads_back_what_rows_written_before_the_types_hold() -> None:
    stored = {"notice": "breach", "user": None, "channel": "C0L1", "thread": False, "extra": {}}
    payload = NoticePayload.from_json(stored)
    assert payload == NoticePayload(Notice.BREACH, channel="C0L1")
    assert payload.recipient == "C0L1" and payload.where() == "C0L1" and payload.what(OutboxKind.NOTICE) == "breach"
    assert payload.to_json() == stored  # written as before: no reader_check key unless set
    checked = NoticePayload(Notice.BREACH, user="U1", thread=True, reader_check=True)
    assert NoticePayload.from_json(checked.to_json()) == checked and checked.recipient == "U1"
    assert NoticePayload(Notice.PREBREACH, channel="C0L1", thread=True).recipient is None  # a thread reply is never folded


def test_a_systemic_notice_payload_reads_back_a_row_without_its_channel() -> None:
    assert SENDERS[OutboxKind.SYSTEMIC_NOTICE].payload.from_json({"alert": 3, "post": True}) == \
        SystemicNoticePayload(alert=3, post=True)
