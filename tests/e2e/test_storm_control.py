"""Storm control: a burst of tickets sends each recipient at most NOTICE_BURST_LIMIT notices per
NOTICE_BURST_WINDOW; the rest go out as one digest that names every ticket. Nothing is dropped."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.services.sweep import sweep
from fakeslack import FakeSlack, SlackSender
from models import OutboxMessage, TimelineEvent
from tests.e2e.harness import RunningBot, file_ticket, mrkdwn_texts

CATEGORIES = ["Database corruption and recovery", "Server and application troubleshooting", "Custom application support"]


def texts(messages: list[dict]) -> list[str]:
    return ["\n".join(mrkdwn_texts(m.get("blocks") or [])) or m["text"] for m in messages]


def refs(text: str) -> list[str]:
    return re.findall(r"ESC-\d+", text)


def test_a_burst_sends_the_manager_the_limit_and_then_one_digest_naming_every_other_ticket(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    for n in range(12):  # twelve critical tickets in one minute
        file_ticket(slack, fake, bot, triggers=["data_loss"], category=CATEGORIES[n % 3], title=f"Orders table corrupted ({n})")
    ctx = bot.runtime.deps.services
    before = len(fake.messages("U0MANAGER"))
    clock.advance(timedelta(minutes=16))  # every one breaches its 15-minute SLA at once
    sweep(ctx, worker="e2e")
    breaches = [t for t in texts(fake.messages("U0MANAGER")[before:]) if "SLA breach on" in t]
    assert len(breaches) == 5  # the limit, and not one more
    clock.advance(timedelta(minutes=1, seconds=5))  # the window ends: its digest goes out
    sweep(ctx, worker="e2e")
    new = texts(fake.messages("U0MANAGER")[before:])
    digests = [t for t in new if "more ticket notifications" in t]
    assert len(new) == 6 and len(digests) == 1, new
    named = set(refs(digests[0])) | {r for t in breaches for r in refs(t)[:1]}
    assert named == {f"ESC-{i}" for i in range(1, 13)}  # every ticket named, nothing dropped
    with ctx.sessions() as session:
        rows = [r for r in session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "U0MANAGER"))
                if r.payload.get("notice") == "breach_manager"]
        assert len(rows) == 12 and {r.status for r in rows} == {"sent"}
        assert sum(1 for r in rows if r.digest_key) == 7
        notified = session.scalars(select(TimelineEvent).where(TimelineEvent.kind == "notified")).all()
    told = Counter(e.ticket_id for e in notified if e.details.get("notice") == "breach_manager")
    assert told == {i: 1 for i in range(1, 13)}  # each ticket's timeline says its manager was told, once
    channel = [t for t in texts(fake.messages("#support-l3")) if "SLA breached" in t or "more ticket notifications" in t]
    in_channel = [t for t in channel if "more ticket notifications" not in t]
    (channel_digest,) = [t for t in channel if "more ticket notifications" in t]  # the level channel: capped too
    assert len(in_channel) == 5 and len(refs(channel_digest)) == 7


def test_pages_to_on_call_in_a_burst_are_capped_per_person_and_folded_with_links_to_the_cards(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    for n in range(8):
        file_ticket(slack, fake, bot, triggers=["data_loss"], category=CATEGORIES[n % 3], title=f"Replica lag ({n})")
    ctx = bot.runtime.deps.services
    pages = [t for t in texts(fake.messages("U0ONCALL1")) if "more ticket notifications" not in t]
    assert len(pages) == 5
    clock.advance(timedelta(minutes=1, seconds=5))
    sweep(ctx, worker="e2e")
    (digest,) = [m for m in fake.messages("U0ONCALL1") if "more ticket notifications" in m["text"]]
    assert refs(digest["text"]) == ["ESC-6", "ESC-7", "ESC-8"]
    assert "https://" in str(digest["blocks"])  # each named ticket links to its card
    with ctx.sessions() as session:
        assert not session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "folded")))).all()
