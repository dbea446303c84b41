"""The e-mail outbox against a real SMTP server, and migrations that match the models."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from bot.clock import ManualClock
from bot.db import make_sessions
from bot.mail import SmtpMailer
from tests.policies import open_seed_policy
from bot.services.context import ServiceContext
from bot.services.delivery import enqueue_email
from bot.services.outbox import relay_due
from bot.services.messages import Email
from bot.services.queue import NoPayload, OutboxKind, enqueue
from models import Base, OutboxMessage
from tests.integration.recording import Groups, RecordingNotifier
from tests.smtp import SmtpServer

EMAIL = Email(to=("eng@example.com",), subject="[ESC-1] Escalated to L3: <b>x</b>\r\nBcc: evil@example.com",
              text="plain & simple", html="<p>rich</p>")


@pytest.fixture
def smtp() -> SmtpServer:
    server = SmtpServer().start()
    yield server
    server.stop()


def context(engine: Engine, clock: ManualClock, smtp: SmtpServer) -> ServiceContext:
    return ServiceContext(sessions=make_sessions(engine), policy=open_seed_policy(), clock=clock,
                          notifier=RecordingNotifier(), directory=Groups(),
                          mailer=SmtpMailer("127.0.0.1", smtp.port, sender="bot@example.com", starttls=False, timeout=2))


def queue(ctx: ServiceContext, key: str = "k1") -> None:
    with ctx.sessions.begin() as session:
        enqueue_email(session, key=key, ticket_id=None, email=EMAIL, now=ctx.clock.now())


def test_an_e_mail_is_queued_once_per_key_and_sent_with_both_parts(engine: Engine, clock: ManualClock, smtp: SmtpServer) -> None:
    ctx = context(engine, clock, smtp)
    queue(ctx)
    queue(ctx)
    assert relay_due(ctx) == 1 and relay_due(ctx) == 0
    (mail,) = smtp.sink.wait(1)
    assert mail.part("plain").strip() == "plain & simple" and "<p>rich</p>" in mail.part("html")
    assert mail.rcpt_tos == ["eng@example.com"]  # the CR/LF in the subject could not add a Bcc
    assert mail.message["Subject"] == "[ESC-1] Escalated to L3: <b>x</b> Bcc: evil@example.com"


def test_a_resent_e_mail_keeps_the_message_id_its_key_gives_so_receivers_show_it_once(
    engine: Engine, clock: ManualClock, smtp: SmtpServer
) -> None:
    ctx = context(engine, clock, smtp)
    queue(ctx, key="handoff:1:2")
    queue(ctx, key="handoff:1:3")
    assert relay_due(ctx) == 2
    first, second = (m.message["Message-ID"] for m in smtp.sink.wait(2))
    assert first != second and first.endswith(".escalation@example.com>")
    mailer = ctx.mailer
    assert mailer.build(replace(EMAIL, message_key="handoff:1:2"))["Message-ID"] in (first, second)  # sent again: the same id
    assert mailer.build(EMAIL)["Message-ID"] != mailer.build(EMAIL)["Message-ID"]  # no key: a fresh id each time


def test_a_down_server_is_retried_within_seconds_and_the_wait_doubles_up_to_a_cap(engine: Engine, clock: ManualClock, smtp: SmtpServer) -> None:
    ctx = replace(context(engine, clock, smtp), jitter=lambda: 1.0)  # the longest wait of each step
    smtp.stop()
    queue(ctx)
    waits = []
    for _ in range(10):
        assert relay_due(ctx) == 0
        with ctx.sessions() as session:
            message = session.scalars(select(OutboxMessage)).one()
        assert message.status == "pending" and "unavailable" in (message.last_error or "")
        waits.append((message.next_attempt_at - clock.now()).total_seconds())
        clock.advance(message.next_attempt_at - clock.now())
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    smtp.start()
    assert relay_due(ctx) == 1 and len(smtp.sink.wait(1)) == 1


def test_a_message_is_a_dead_letter_only_after_a_day_of_trying(engine: Engine, clock: ManualClock, smtp: SmtpServer) -> None:
    ctx = context(engine, clock, smtp)
    smtp.stop()
    queue(ctx)
    started = clock.now()
    while True:
        relay_due(ctx)
        with ctx.sessions() as session:
            message = session.scalars(select(OutboxMessage)).one()
        if message.status != "pending":
            break
        clock.advance(message.next_attempt_at - clock.now())
    assert message.status == "dead" and timedelta(days=1) <= clock.now() - started < timedelta(days=1, minutes=6)
    assert message.attempts > 280  # one try every 2.5-5 minutes, all day


def test_without_smtp_the_e_mail_is_dead_at_once_and_says_why(engine: Engine, clock: ManualClock, smtp: SmtpServer) -> None:
    ctx = ServiceContext(sessions=make_sessions(engine), policy=open_seed_policy(), clock=clock, notifier=RecordingNotifier(), directory=Groups())
    queue(ctx)
    relay_due(ctx)
    with ctx.sessions() as session:
        message = session.scalars(select(OutboxMessage)).one()
    assert message.status == "dead" and "SMTP_HOST is not set" in message.last_error


def test_a_row_about_a_ticket_queued_without_one_is_a_dead_letter_and_sends_nothing(
    engine: Engine, clock: ManualClock, smtp: SmtpServer
) -> None:
    """Every sender about a ticket is given its id; a row missing it (only a hand-written one could be) is
    refused and named, never sent about a stand-in ticket. An e-mail needs no ticket and goes."""
    ctx = context(engine, clock, smtp)
    with ctx.sessions.begin() as session:
        enqueue(session, key="card_update:none", kind=OutboxKind.CARD_UPDATE, ticket_id=None, payload=NoPayload(),
                now=clock.now())
    queue(ctx, key="mail")
    assert relay_due(ctx) == 1
    with ctx.sessions() as session:
        rows = {m.dedupe_key: (m.status, m.last_error) for m in session.scalars(select(OutboxMessage))}
    assert rows == {"card_update:none": ("dead", "queued_without_its_ticket"), "mail": ("sent", None)}
    assert ctx.notifier.updates == [] and len(smtp.sink.wait(1)) == 1


def test_the_migrations_produce_exactly_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
