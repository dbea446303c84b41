"""End to end: escalate and hand off, post updates, resolve with post-mortem, reopen, timeline, systemic issues."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain.tickets import TicketStatus
from fakeslack import FakeSlack, SlackSender
from models import OutboxMessage
from tests.e2e.harness import (
    RunningBot, dms_to, file_ticket, latest_view, mrkdwn_texts, press, ticket, tickets, timeline_kinds,
)
from tests.smtp import SmtpServer

ESCALATION = {"reason": "complexity", "business_impact": "Finance cannot run the monthly payroll due today at noon; 40 people idle.",
              "troubleshooting": "Restarted the app pool; checked the load balancer; rolled back yesterday's deploy.",
              "notes": "Looks like the DB connection pool; I'm around all day."}
RESOLUTION = {"resolution": "Raised the connection pool limit and restarted.", "root_cause": "Pool exhausted by a leaking report job.",
              "lessons": "Alert on pool saturation; cap the report job."}


def escalate(slack: SlackSender, fake: FakeSlack, bot: RunningBot, user: str, ticket_id: int, **values: Any) -> None:
    before = len([c for c in fake.calls_to("views.open") if c.ok and c.response["view"]["callback_id"] == "escalate_ticket"])
    press(slack, fake, bot, user, "ticket_escalate", ticket_id)
    view = latest_view(fake, "escalate_ticket", after=before)
    reply = slack.view_submission(user, view, {**ESCALATION, **values})
    assert reply.status == 200 and not reply.body, reply.body


def text_of(message: dict[str, Any]) -> str:
    return "\n".join([message.get("text") or "", *mrkdwn_texts(message.get("blocks") or [])])


def wait_button(fake: FakeSlack, bot: RunningBot, ticket_id: int, action: str) -> None:
    def shown() -> bool:
        row = ticket(bot, ticket_id)
        card = fake.message(row.card_channel, row.card_ts)
        return action in json.dumps(card["blocks"])

    fake.wait_until(shown, message=f"{action} on the card")


def wait_kind(fake: FakeSlack, bot: RunningBot, ticket_id: int, kind: str, count: int = 1) -> None:
    fake.wait_until(lambda: timeline_kinds(bot, ticket_id).count(kind) >= count, message=f"{kind} on the timeline")


def test_the_escalate_modal_is_prefilled_and_defaults_to_the_next_level(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    press(slack, fake, bot, "U0L2ENG", "ticket_escalate", 1)
    view = latest_view(fake, "escalate_ticket")
    blocks = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert [o["value"] for o in blocks["reason"]["element"]["options"]] == [
        "sla_unresolved", "complexity", "systemic", "customer_executive", "regulatory"]
    assert [o["value"] for o in blocks["target_level"]["element"]["options"]] == ["L3"]
    assert blocks["target_level"]["element"]["initial_option"]["value"] == "L3"
    assert blocks["business_impact"]["element"]["initial_value"] == "Finance cannot run the monthly payroll due today at noon."
    assert blocks["troubleshooting"]["element"]["initial_value"].startswith("Restarted the app pool")
    assert blocks["notes"]["optional"] is True


def test_escalating_moves_the_ticket_with_a_new_sla_and_clears_the_acknowledgement(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot)
    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)
    wait_kind(fake, bot, 1, "acknowledged")
    clock.advance(timedelta(hours=1))
    escalate(slack, fake, bot, "U0L2ENG", 1)
    wait_kind(fake, bot, 1, "escalated")
    row = ticket(bot, 1)
    assert (row.level_key, row.status, row.acknowledged_by, row.assignee_id) == ("L3", TicketStatus.OPEN, None, None)
    assert row.response_due_at == clock.now() + timedelta(minutes=15) and row.response_sla_seconds == 900
    assert row.business_impact == ESCALATION["business_impact"] and row.handoffs == 1


def test_the_handoff_card_goes_to_the_next_level_and_the_old_card_links_to_it(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    old = file_ticket(slack, fake, bot)
    escalate(slack, fake, bot, "U0L2ENG", 1)
    fake.wait_until(lambda: ticket(bot, 1).card_channel == fake.channel("#support-l3")["id"], message="new card")
    new = fake.message(ticket(bot, 1).card_channel, ticket(bot, 1).card_ts)
    handoff = text_of(new)
    assert "Handoff #1 from L2" in handoff and "<@U0L2ENG>, who stays available for questions" in handoff
    assert "Technical complexity beyond current level" in handoff
    assert "Changed since the last handoff:* business impact reassessed; more troubleshooting done" in handoff
    assert "DB connection pool" in handoff and "Latest on the timeline" in handoff
    fake.wait_until(lambda: "Escalated to L3 Engineering" in text_of(fake.message(old["channel"], old["ts"])), message="old card")
    old_now = fake.message(old["channel"], old["ts"])
    assert "https://fake.slack.com/archives/" in text_of(old_now)
    assert not [b for b in old_now["blocks"] if b["type"] == "actions"]  # history: no buttons


def test_a_standard_escalation_e_mails_the_handoff_with_text_and_html_parts(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, smtp: SmtpServer
) -> None:
    file_ticket(slack, fake, bot)
    escalate(slack, fake, bot, "U0L2ENG", 1)
    (mail,) = smtp.sink.wait(1)
    assert mail.rcpt_tos == ["eng-oncall@company.com"] and mail.mail_from == "escalations@example.com"
    assert mail.message["Subject"] == "[ESC-1] Escalated to L3 Engineering: Payroll returns 502 for everyone"
    text, html = mail.part("plain"), mail.part("html")
    for part in (text, html):
        assert "Finance cannot run the monthly payroll" in part and "DB connection pool" in part
        assert "Technical complexity beyond current level" in part and "@U0L2ENG" in part
    assert "<h3>Business impact</h3>" in html
    wait_kind(fake, bot, 1, "email_sent")


def test_a_critical_escalation_pages_the_next_levels_responders_instead_of_e_mailing(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, smtp: SmtpServer
) -> None:
    file_ticket(slack, fake, bot, severity="critical", category="Email and calendar problems")
    assert ticket(bot, 1).level_key == "L1"
    escalate(slack, fake, bot, "U0L1ENG", 1, target_level="L3")
    for responder in ("U0L3ENG", "U0ONCALL1", "U0ONCALL2"):
        fake.wait_until(lambda r=responder: dms_to(fake, r), message=f"page to {responder}")
        assert "1-800-ENG-HELP" in text_of(dms_to(fake, responder)[-1])
    wait_kind(fake, bot, 1, "escalated")
    assert smtp.sink.received == []


def test_escalating_from_the_command_opens_the_same_modal(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    reply = slack.slash_command("U0AGENT", "ESC-1")
    assert reply.status == 200
    view = latest_view(fake, "escalate_ticket")
    assert view["title"]["text"] == "Escalate ESC-1"


def test_escalating_past_the_last_level_gets_a_clear_answer(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot, triggers=["data_loss"])
    reply = slack.slash_command("U0L3ENG", "ESC-1")
    assert reply.status == 200
    fake.wait_until(lambda: fake.responses, message="ephemeral answer")
    assert "already at L3 Engineering, the last level" in fake.responses[-1]["body"]["text"]


def test_smtp_down_still_escalates_records_the_failure_and_delivers_on_retry(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, smtp: SmtpServer, clock: ManualClock
) -> None:
    from bot.services.outbox import relay_due

    file_ticket(slack, fake, bot)
    smtp.stop()
    escalate(slack, fake, bot, "U0L2ENG", 1)
    wait_kind(fake, bot, 1, "delivery_failed")
    assert ticket(bot, 1).level_key == "L3"

    def only_the_email_waits() -> bool:
        with bot.runtime.deps.services.sessions() as session:
            return [m.kind for m in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))] == ["email"]

    fake.wait_until(only_the_email_waits, message="the escalation's Slack messages relayed")
    smtp.start()
    assert relay_due(bot.runtime.deps.services) == 0  # not due yet: backoff
    clock.advance(timedelta(minutes=2))
    assert relay_due(bot.runtime.deps.services) == 1
    assert smtp.sink.wait(1)[0].message["Subject"].startswith("[ESC-1]")
    assert "email_sent" in timeline_kinds(bot, 1)


def test_a_refused_recipient_is_a_dead_letter_on_the_timeline(bot: RunningBot, slack: SlackSender, fake: FakeSlack, smtp: SmtpServer) -> None:
    smtp.sink.refuse_with = "550 5.1.1 mailbox unavailable"
    file_ticket(slack, fake, bot)
    escalate(slack, fake, bot, "U0L2ENG", 1)
    wait_kind(fake, bot, 1, "delivery_failed")
    with bot.runtime.deps.services.sessions() as session:
        (message,) = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email")).all()
    assert message.status == "dead" and "refused" in (message.last_error or "")


def test_an_update_goes_to_the_thread_and_to_the_reporter_escalators_and_subscribers(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack
) -> None:
    file_ticket(slack, fake, bot)
    press(slack, fake, bot, "U0MANAGER", "ticket_subscribe", 1)
    fake.wait_until(lambda: fake.responses, message="subscribed")
    assert "You'll get a DM for every change to ESC-1" in fake.responses[-1]["body"]["text"]
    escalate(slack, fake, bot, "U0L2ENG", 1)
    wait_kind(fake, bot, 1, "escalated")
    press(slack, fake, bot, "U0L3ENG", "ticket_post_update", 1)
    view = latest_view(fake, "post_update")
    reply = slack.view_submission("U0L3ENG", view, {"status": "Pool limit raised; watching error rates.", "next_steps": "Confirm with Finance at 11:00."})
    assert reply.status == 200 and not reply.body
    wait_kind(fake, bot, 1, "update_posted")
    row = ticket(bot, 1)
    fake.wait_until(lambda: any("Pool limit raised" in text_of(m) for m in fake.thread(row.card_channel, row.card_ts)), message="thread")
    for watcher in ("U0AGENT", "U0L2ENG", "U0MANAGER"):
        fake.wait_until(lambda w=watcher: any("Pool limit raised" in text_of(m) for m in dms_to(fake, w)), message=f"DM to {watcher}")
    assert not any("Pool limit raised" in text_of(m) for m in dms_to(fake, "U0L3ENG"))  # not to the author
    asked = [(c.params["channel"], c.params["message_ts"]) for c in fake.calls_to("chat.getPermalink")]
    notices = sum(1 for c in fake.calls_to("chat.postMessage") if c.params.get("channel") in ("U0AGENT", "U0L2ENG", "U0MANAGER"))
    # One card, many notices (DMs and thread posts each carry its link): Slack is asked once, or twice
    # when two relays miss the cache at the same moment, not once per notice.
    assert notices >= 4 and asked.count((row.card_channel, row.card_ts)) <= 2


def test_subscribing_twice_unsubscribes(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    for clicks in (1, 2):  # one click after the other (two at once may be answered in either order)
        press(slack, fake, bot, "U0L1ENG", "ticket_subscribe", 1)
        fake.wait_until(lambda n=clicks: len(fake.responses) >= n)
    assert "won't get DMs about ESC-1" in fake.responses[-1]["body"]["text"]
    assert timeline_kinds(bot, 1)[-2:] == ["subscribed", "unsubscribed"]


def resolve(slack: SlackSender, fake: FakeSlack, bot: RunningBot, user: str, ticket_id: int, **values: Any) -> Any:
    press(slack, fake, bot, user, "ticket_resolve", ticket_id)
    view = latest_view(fake, "resolve_ticket")
    return slack.view_submission(user, view, {**RESOLUTION, **values})


def test_resolving_needs_resolution_root_cause_and_lessons(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    reply = resolve(slack, fake, bot, "U0L2ENG", 1, root_cause="tbd", lessons="none")
    assert set(reply.json()["errors"]) == {"root_cause", "lessons"}
    assert ticket(bot, 1).status is TicketStatus.OPEN


def test_a_standard_ticket_closes_when_resolved(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    reply = resolve(slack, fake, bot, "U0L2ENG", 1)
    assert reply.status == 200 and not reply.body
    wait_kind(fake, bot, 1, "closed")
    row = ticket(bot, 1)
    assert (row.status, row.resolution, row.postmortem_owner) == (TicketStatus.CLOSED, RESOLUTION["resolution"], None)
    card = fake.message(row.card_channel, row.card_ts)
    fake.wait_until(lambda: "Closed" in text_of(fake.message(row.card_channel, row.card_ts)), message="card shows closed")
    card = fake.message(row.card_channel, row.card_ts)
    assert [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]] == ["ticket_reopen"]
    fake.wait_until(lambda: any("was resolved" in text_of(m) for m in dms_to(fake, "U0AGENT")), message="reporter told")


def test_a_critical_ticket_waits_for_its_post_mortem_whose_owner_gets_a_draft(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot, triggers=["security_incident"])
    clock.advance(timedelta(hours=3))
    reply = resolve(slack, fake, bot, "U0L3ENG", 1, postmortem_owner="U0ONCALL1")
    assert reply.status == 200 and not reply.body
    wait_kind(fake, bot, 1, "postmortem_requested")
    row = ticket(bot, 1)
    assert (row.status, row.postmortem_owner) == (TicketStatus.POSTMORTEM_DUE, "U0ONCALL1")
    assert row.postmortem_due_at == clock.now() + timedelta(days=5)
    fake.wait_until(lambda: fake.files, message="draft uploaded")
    (draft,) = fake.files.values()
    content = draft["content"].decode()
    assert content.startswith("# Post-mortem: ESC-1") and "## Timeline (UTC)" in content and "filed the ticket" in content
    assert "Pool exhausted by a leaking report job." in content
    assert fake.calls_to("files.getUploadURLExternal") and fake.calls_to("files.completeUploadExternal")
    request = next(m for m in dms_to(fake, "U0ONCALL1") if "own the post-mortem" in text_of(m))
    assert "ticket_postmortem_done" in json.dumps(request["blocks"])


def test_marking_the_post_mortem_done_with_a_link_closes_the_ticket(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot, triggers=["security_incident"])
    resolve(slack, fake, bot, "U0L3ENG", 1, postmortem_owner="U0ONCALL1")
    wait_kind(fake, bot, 1, "postmortem_requested")
    request = fake.wait_until(lambda: next((m for m in dms_to(fake, "U0ONCALL1") if "own the post-mortem" in text_of(m)), None))
    slack.block_action("U0ONCALL1", action_id="ticket_postmortem_done", value="1", channel_id=request["channel"], message_ts=request["ts"])
    view = latest_view(fake, "postmortem_done")
    bad = slack.view_submission("U0ONCALL1", view, {"postmortem_url": "ftp://wiki/pm"})
    assert "postmortem_url" in bad.json()["errors"]
    good = slack.view_submission("U0ONCALL1", view, {"postmortem_url": "https://wiki.example.com/pm/esc-1"})
    assert good.status == 200 and not good.body
    wait_kind(fake, bot, 1, "closed")
    row = ticket(bot, 1)
    assert (row.status, row.postmortem_url) == (TicketStatus.CLOSED, "https://wiki.example.com/pm/esc-1")


def test_a_closed_ticket_can_be_reopened_and_that_is_logged(bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock) -> None:
    file_ticket(slack, fake, bot)
    resolve(slack, fake, bot, "U0L2ENG", 1)
    wait_button(fake, bot, 1, "ticket_reopen")
    clock.advance(timedelta(days=1))
    press(slack, fake, bot, "U0AGENT", "ticket_reopen", 1)
    wait_kind(fake, bot, 1, "reopened")
    row = ticket(bot, 1)
    assert (row.status, row.closed_at, row.response_due_at) == (TicketStatus.OPEN, None, clock.now() + timedelta(hours=8))


def test_status_shows_the_card_and_the_chronological_log(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    press(slack, fake, bot, "U0L2ENG", "ticket_acknowledge", 1)
    wait_kind(fake, bot, 1, "acknowledged")
    slack.slash_command("U0AGENT", "status ESC-1")
    fake.wait_until(lambda: fake.responses, message="status")
    body = fake.responses[-1]["body"]
    assert body["response_type"] == "ephemeral"
    text = "\n".join(mrkdwn_texts(body["blocks"]))
    lines = [line for line in text.splitlines() if line.startswith("• <!date^")]
    assert "filed the ticket" in lines[0] and "routed to L2" in lines[1] and "acknowledged for L2" in lines[-1]


def exported_event(bot: RunningBot) -> int:
    with bot.runtime.deps.services.sessions() as session:
        from models import TimelineEvent

        return session.scalars(select(TimelineEvent.id).where(TimelineEvent.kind == "timeline_exported")).one()


def test_the_timeline_exports_as_csv_and_json_by_dm(bot: RunningBot, slack: SlackSender, fake: FakeSlack,
                                                    clock: ManualClock) -> None:
    file_ticket(slack, fake, bot)
    slack.slash_command("U0AGENT", "export ESC-1")
    fake.wait_until(lambda: len(fake.files) >= 2, message="two files uploaded")
    assert "on its way to your DMs" in fake.responses[-1]["body"]["text"]  # not "sent": the outbox sends it
    files = {f["title"].rsplit(".", 1)[1]: f for f in fake.files.values()}
    requested = clock.now().strftime("%Y%m%d-%H%M%S")
    assert {f["title"] for f in files.values()} == {f"ESC-1-timeline-{requested}-{exported_event(bot)}.{ext}" for ext in ("csv", "json")}
    rows = list(csv.DictReader(io.StringIO(files["csv"]["content"].decode())))
    assert [r["event"] for r in rows][:3] == ["created", "routed", "card_posted"]
    assert set(rows[0]) == {"ticket", "at_utc", "actor", "event", "source", "details"} and rows[0]["actor"] == "U0AGENT"
    assert "timeline_exported" not in [r["event"] for r in rows]  # the timeline as it was when asked
    exported = json.loads(files["json"]["content"])
    assert exported["ticket"] == "ESC-1" and exported["events"][0]["source"] == "modal"
    dm = fake.channel("U0AGENT")
    assert all(f["channel_id"] == dm["id"] for f in files.values())
    fake.wait_until(lambda: "timeline_exported" in timeline_kinds(bot, 1))


def test_strangers_cannot_read_or_export_a_tickets_timeline(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    slack.slash_command("U0STRANGER", "export ESC-1")
    fake.wait_until(lambda: fake.responses)
    assert fake.responses[-1]["body"]["text"].startswith(":no_entry: You can't view the timeline of ESC-1")
    assert not fake.files


def test_contacts_lists_the_critical_issue_directory(bot: RunningBot, slack: SlackSender) -> None:
    text = slack.slash_command("U0AGENT", "contacts").json()["text"]
    for entry in ("1-800-ENG-HELP", "1-800-SEC-HELP", "infra-oncall@company.com", "dba-oncall@company.com", "ext 7777", "ext 8888"):
        assert entry in text


def test_list_shows_my_tickets_and_my_levels_queues(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    file_ticket(slack, fake, bot, reporter="U0STRANGER", category="Email and calendar problems", title="Calendar sync broken")
    slack.slash_command("U0L2ENG", "list")
    fake.wait_until(lambda: fake.responses)
    text = "\n".join(mrkdwn_texts(fake.responses[-1]["body"]["blocks"]))
    assert "*Queue of L2 Technical Support*" in text and "ESC-1" in text and "ESC-2" not in text
    slack.slash_command("U0AGENT", "list")
    fake.wait_until(lambda: len(fake.responses) >= 2)
    mine = "\n".join(mrkdwn_texts(fake.responses[-1]["body"]["blocks"]))
    assert "ESC-1" in mine and "Queue of" not in mine


def test_three_tickets_in_one_category_within_the_window_raise_one_systemic_notice(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    for minute in (0, 20, 40, 50):
        clock.advance(timedelta(minutes=minute and 10))
        file_ticket(slack, fake, bot, category="VPN connection troubleshooting", title=f"VPN drops ({minute})")
    fake.wait_until(lambda: fake.messages("#support-l3"), message="systemic notice")
    notices = [m for m in fake.messages("#support-l3") if "systemic" in text_of(m)]
    assert len(notices) == 1
    fake.wait_until(lambda: "ESC-4" in text_of(fake.message(notices[0]["channel"], notices[0]["ts"])), message="4th joins")
    notice = fake.message(notices[0]["channel"], notices[0]["ts"])
    assert "ESC-1" in text_of(notice) and "ESC-3" in text_of(notice)
    slack.block_action("U0L3ENG", action_id="systemic_escalate", value="1", channel_id=notice["channel"], message_ts=notice["ts"])
    fake.wait_until(lambda: all(t.level_key == "L3" for t in tickets(bot)), message="all escalated", timeout=15)
    assert all("escalated" in timeline_kinds(bot, t.id) for t in tickets(bot))
    refreshed = fake.wait_until(lambda: (m := fake.message(notice["channel"], notice["ts"])) and "by <@U0L3ENG>" in text_of(m) and m,
                                message="the notice says who escalated")
    assert "systemic_escalate" not in json.dumps(refreshed["blocks"])  # the button is gone
    assert len([m for m in fake.messages("#support-l3") if "Possible systemic issue" in text_of(m)]) == 1
    with bot.runtime.deps.services.sessions() as session:
        from models import TimelineEvent

        reasons = session.scalars(select(TimelineEvent.details).where(TimelineEvent.kind == "escalated")).all()
    assert {r["reason"] for r in reasons} == {"systemic"}


def test_the_escalator_hears_of_every_later_change(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    escalate(slack, fake, bot, "U0L2ENG", 1)
    wait_kind(fake, bot, 1, "escalated")
    press(slack, fake, bot, "U0L3ENG", "ticket_acknowledge", 1)
    fake.wait_until(lambda: any("acknowledged by <@U0L3ENG>" in text_of(m) for m in dms_to(fake, "U0L2ENG")), message="escalator told")
    resolve(slack, fake, bot, "U0L3ENG", 1)
    fake.wait_until(lambda: any("was resolved" in text_of(m) for m in dms_to(fake, "U0L2ENG")), message="escalator told of resolve")
