"""End to end: /escalate -> modal -> routed ticket card -> Acknowledge, over signed HTTP, against fake Slack."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.domain.tickets import TicketStatus
from fakeslack import FakeSlack, SlackSender
from models import Ticket
from tests.e2e.harness import (
    GOOD_FORM, RunningBot, dms_to, file_ticket, mrkdwn_texts, open_modal, settle, tickets, timeline_kinds,
)


def test_the_bot_checks_its_token_with_auth_test_at_start_up(bot: RunningBot, fake: FakeSlack) -> None:
    assert fake.calls_to("auth.test")


def test_escalate_opens_the_new_escalation_modal(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    view = open_modal(slack, fake)
    assert view["callback_id"] == "new_escalation" and view["title"]["text"] == "New escalation"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    for field in ("title", "category", "severity", "description", "error_messages", "attachments", "log_links",
                  "troubleshooting", "business_impact", "affected_users", "triggers", "flags"):
        assert field in blocks
    assert blocks["attachments"]["element"]["type"] == "file_input"
    assert blocks["affected_users"]["element"]["type"] == "number_input"


def test_submitting_files_a_ticket_posts_the_card_in_the_levels_channel_and_confirms_by_dm(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    posted = file_ticket(slack, fake, bot)
    (ticket,) = tickets(bot)
    assert (ticket.level_key, ticket.status, ticket.reporter_id) == ("L2", TicketStatus.OPEN, "U0AGENT")
    card = fake.messages("#support-l2")[-1]
    assert card["ts"] == posted["ts"] == ticket.card_ts
    assert card["blocks"][0]["text"]["text"] == ":large_orange_circle: ESC-1 · Payroll returns 502 for everyone"
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    assert [e["text"]["text"] for e in actions["elements"]] == ["Acknowledge", "Escalate", "Post update", "Resolve", "Subscribe"]
    context = next(b for b in card["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert context.startswith("ESC-1 · L2 Technical Support")
    assert "<!date^" in json.dumps(card["blocks"], ensure_ascii=False)
    fake.wait_until(lambda: dms_to(fake, "U0AGENT"), message="reporter confirmation DM")
    confirmation = json.dumps(dms_to(fake, "U0AGENT")[-1]["blocks"], ensure_ascii=False)
    assert "ESC-1" in confirmation and "https://fake.slack.com/archives/" in confirmation
    fake.wait_until(lambda: "notified" in timeline_kinds(bot, ticket.id))
    assert timeline_kinds(bot, ticket.id)[:3] == ["created", "routed", "card_posted"]


def test_invalid_input_gets_inline_errors_keeps_the_modal_open_and_saves_nothing(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    view = open_modal(slack, fake)
    reply = slack.view_submission("U0AGENT", view, {**GOOD_FORM, "business_impact": "bad", "affected_users": "-4", "description": "too short"})
    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"business_impact", "affected_users", "description"}
    assert tickets(bot) == []
    assert not fake.calls_to("chat.postMessage")


def test_a_security_incident_goes_to_l3_as_critical_pages_responders_and_names_the_hotlines(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot, category="Password resets and account lockouts", severity="low", triggers=["security_incident"])
    (ticket,) = tickets(bot)
    assert (ticket.level_key, ticket.severity) == ("L3", "critical")
    card = json.dumps(fake.message(ticket.card_channel, ticket.card_ts)["blocks"], ensure_ascii=False)
    assert "1-800-ENG-HELP" in card and "1-800-SEC-HELP" in card and "https://meet.example.com/eng" in card
    for responder in ("U0L3ENG", "U0ONCALL1", "U0ONCALL2"):
        fake.wait_until(lambda r=responder: dms_to(fake, r), message=f"page to {responder}")
        page = json.dumps(dms_to(fake, responder)[-1]["blocks"], ensure_ascii=False)
        assert "1-800-ENG-HELP" in page and "https://meet.example.com/eng" in page and "ticket_acknowledge" in page
    fake.wait_until(lambda: fake.thread("#support-l3", ticket.card_ts), message="security contact note in the thread")
    assert "1-800-SEC-HELP" in fake.thread("#support-l3", ticket.card_ts)[-1]["text"]


def test_more_than_a_quarter_of_users_affected_is_a_system_wide_outage(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot, category="Email and calendar problems", severity="medium", affected_users="251")
    (ticket,) = tickets(bot)
    assert (ticket.level_key, ticket.severity, ticket.triggers) == ("L3", "critical", ["widespread_outage"])


def test_a_responder_acknowledges_and_the_card_and_thread_say_who_and_how_fast(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    posted = file_ticket(slack, fake, bot)
    clock.advance(timedelta(minutes=12))
    reply = slack.block_action("U0L2ENG", action_id="ticket_acknowledge", value="1", channel_id=posted["channel"], message_ts=posted["ts"])
    assert reply.status == 200
    update = fake.wait_for("chat.update")[-1]
    assert update.params["ts"] == posted["ts"]
    text = json.dumps(update.params["blocks"], ensure_ascii=False)
    assert "Acknowledged by <@U0L2ENG> after 12m — within the 8h SLA" in text
    assert "ticket_acknowledge" not in text
    fake.wait_until(lambda: fake.thread(posted["channel"], posted["ts"]), message="thread reply")
    assert "acknowledged by <@U0L2ENG> after 12m" in fake.thread(posted["channel"], posted["ts"])[-1]["text"]
    (ticket,) = tickets(bot)
    assert (ticket.status, ticket.acknowledged_by, ticket.acknowledged_at) == (TicketStatus.ACKNOWLEDGED, "U0L2ENG", clock.now())
    assert "acknowledged" in timeline_kinds(bot, ticket.id)


def test_someone_who_is_not_a_responder_is_refused_and_nothing_changes(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    posted = file_ticket(slack, fake, bot)
    for stranger in ("U0STRANGER", "U0L3ENG"):
        slack.block_action(stranger, action_id="ticket_acknowledge", value="1", channel_id=posted["channel"], message_ts=posted["ts"])
    fake.wait_until(lambda: len(fake.responses) >= 2, message="two ephemeral refusals")
    texts = {r["body"]["text"] for r in fake.responses}
    assert all(r["body"]["response_type"] == "ephemeral" for r in fake.responses)
    # Another level's responder may read the ticket, so he is told who can; a stranger is told nothing about it.
    assert any("Only L2 Technical Support's responders, the assignee or a manager can acknowledge ESC-1" in t
               and "<@U0L2ENG>" in t for t in texts), texts
    assert any(t.startswith(":no_entry: You can't acknowledge ESC-1") and "<@" not in t for t in texts), texts
    (ticket,) = tickets(bot)
    assert ticket.acknowledged_at is None and ticket.status is TicketStatus.OPEN
    assert not fake.calls_to("chat.update")


def test_a_second_acknowledge_is_harmless(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    posted = file_ticket(slack, fake, bot)
    stale = fake.message(posted["channel"], posted["ts"])  # a double click: both from the card as first shown
    for _ in range(2):
        slack.block_action("U0L2ENG", action_id="ticket_acknowledge", value="1", channel_id=posted["channel"],
                           message_ts=posted["ts"], message=stale)
    fake.wait_until(lambda: fake.responses, message="the second click's ephemeral")
    assert "already acknowledged by <@U0L2ENG>" in fake.responses[-1]["body"]["text"]
    fake.wait_for("chat.update")
    settle(bot, fake)
    assert len(fake.calls_to("chat.update")) == 1
    assert timeline_kinds(bot, 1).count("acknowledged") == 1


def test_a_page_dm_carries_an_acknowledge_button_that_works(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot, triggers=["data_loss"])
    fake.wait_until(lambda: dms_to(fake, "U0ONCALL1"), message="page")
    page = dms_to(fake, "U0ONCALL1")[-1]
    slack.block_action("U0ONCALL1", action_id="ticket_acknowledge", value="1", channel_id=page["channel"], message_ts=page["ts"])
    fake.wait_for("chat.update")
    assert tickets(bot)[0].acknowledged_by == "U0ONCALL1"


def test_hostile_text_renders_inert_in_every_message(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    hostile = ("<!channel> <!here> <@U0MANAGER> & <https://evil.example|login> " * 50)[:3000]  # Slack caps inputs at 3,000
    file_ticket(slack, fake, bot, title="<!channel> fire <@U0MANAGER>", description=hostile, business_impact=hostile,
                troubleshooting=hostile, error_messages=hostile, triggers=["security_incident"])
    fake.wait_until(lambda: dms_to(fake, "U0L3ENG") and dms_to(fake, "U0AGENT"), message="DMs")
    for call in fake.calls_to("chat.postMessage") + fake.calls_to("chat.update"):
        sent = "\n".join([call.params.get("text") or "", *mrkdwn_texts(call.params.get("blocks") or [])])
        for forbidden in ("<!channel>", "<!here>", "<@U0MANAGER>", "<https://evil.example"):
            assert forbidden not in sent, (call.method, forbidden)
    (ticket,) = tickets(bot)
    assert ticket.description == hostile  # stored exactly as typed; only rendering escapes


def test_the_same_submission_arriving_twice_files_one_ticket(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    view = open_modal(slack, fake)
    for _ in range(2):
        assert slack.view_submission("U0AGENT", view, GOOD_FORM).status == 200
    fake.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "#support-l2")
    assert len(tickets(bot)) == 1
    fake.wait_until(lambda: dms_to(fake, "U0AGENT"))
    assert len(fake.messages("#support-l2")) == 1


def test_help_and_unknown_subcommands_answer_with_usage(bot: RunningBot, slack: SlackSender) -> None:
    help_reply = slack.slash_command("U0AGENT", "help")
    assert help_reply.status == 200 and "/escalate status ESC-42" in help_reply.json()["text"]
    unknown = slack.slash_command("U0AGENT", "please <!channel>")
    text = unknown.json()["text"]
    assert "didn't understand" in text and "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_a_bad_signature_or_a_stale_timestamp_gets_401_and_changes_nothing(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    body = "command=%2Fescalate&text=&user_id=U0AGENT&trigger_id=x"
    assert slack.post(body, signature="v0=" + "0" * 64).status == 401
    import time

    assert slack.post(body, timestamp=int(time.time()) - 6 * 60).status == 401
    assert not fake.calls_to("views.open")
    with bot.runtime.deps.services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_an_expired_trigger_tells_the_user_to_try_again(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    fake.trigger_ttl = -1.0  # every trigger is already too old when views.open arrives
    slack.slash_command("U0AGENT", "")
    fake.wait_until(lambda: fake.responses, message="ephemeral retry hint")
    assert "took too long" in fake.responses[-1]["body"]["text"]
    assert fake.calls_to("views.open")[-1].response["error"] == "expired_trigger_id"


def test_a_database_failure_keeps_the_modal_open_with_a_message_and_posts_nothing(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    view = open_modal(slack, fake)
    with bot.runtime.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE timeline_events RENAME TO timeline_events_gone")
    reply = slack.view_submission("U0AGENT", view, GOOD_FORM)
    answer = reply.json()
    assert reply.status == 200 and answer["response_action"] == "errors"
    assert "Something went wrong on our side; nothing was half-saved" in answer["errors"]["title"]
    assert "Traceback" not in reply.body
    with bot.runtime.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE timeline_events_gone RENAME TO timeline_events")
    assert tickets(bot) == []  # the ticket insert was rolled back with the failed timeline insert
    assert not fake.calls_to("chat.postMessage")


def test_the_home_tab_lists_my_tickets_and_a_retried_event_changes_nothing(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    event = {"type": "app_home_opened", "user": "U0L2ENG", "channel": "D0L2ENG", "tab": "home", "event_ts": "1.0"}
    assert slack.event(event, event_id="Ev1").status == 200
    fake.wait_for("views.publish")
    home = "\n".join(mrkdwn_texts(fake.home_views["U0L2ENG"]["blocks"]))
    assert "*L2 Technical Support*: 1 open" in home and "ESC-1" in home
    retry = slack.event(event, event_id="Ev1", retry_num=1, retry_reason="http_timeout")
    assert retry.status == 200
    assert len(fake.calls_to("views.publish")) == 1


def test_the_command_name_is_a_setting(fake: FakeSlack, database_url: str, tmp_path, clock) -> None:  # noqa: ANN001
    from tests.e2e.harness import sender_for, settings_for, start_bot, write_policy

    renamed = start_bot(settings_for(fake, database_url, write_policy(tmp_path), slash_command="/page-support"), clock)
    try:
        slack = sender_for(renamed, fake)
        assert slack.slash_command("U0AGENT", "help", command="/page-support").json()["text"].startswith("*/page-support*")
        assert slack.slash_command("U0AGENT", "", command="/page-support").status == 200
        fake.wait_for("views.open")
    finally:
        renamed.stop()
