"""The App Home through signed HTTP: published on app_home_opened, its buttons work as the card's do,
and it is re-published (once for a burst) when a ticket changes, only for people who opened it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_sdk.models.views import View

from bot.clock import ManualClock
from bot.domain.lifecycle import validate_escalation
from bot.services.escalate import escalate_ticket
from bot.services.sweep import sweep
from fakeslack import FakeSlack, SlackSender, validate_view
from tests.seeding import seed_open_tickets
from tests.e2e.harness import RunningBot, dms_to, file_ticket, latest_view, mrkdwn_texts, settle, ticket, tickets


def open_home(slack: SlackSender, fake: FakeSlack, user: str) -> dict[str, Any]:
    before = len([c for c in fake.calls_to("views.publish") if c.params.get("user_id") == user])
    event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:], "tab": "home", "event_ts": "1.0"}
    assert slack.event(event).status == 200
    fake.wait_until(lambda: len(publishes(fake, user)) > before, message=f"Home published for {user}")
    return valid(fake.home_view(user))


def publishes(fake: FakeSlack, user: str) -> list[Any]:
    return [c for c in fake.calls_to("views.publish") if c.ok and c.params.get("user_id") == user]


def valid(view: dict[str, Any] | None) -> dict[str, Any]:
    assert view is not None
    View(**{k: v for k, v in view.items() if k in ("type", "blocks", "callback_id", "private_metadata", "external_id")}).validate_json()
    assert validate_view({k: view[k] for k in ("type", "blocks")}) == []
    return view


def text(view: dict[str, Any]) -> str:
    return "\n".join(mrkdwn_texts(view["blocks"]))


def test_opening_the_home_publishes_a_valid_queue_with_slack_dates(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    home = open_home(slack, fake, "U0L2ENG")
    shown = text(home)
    assert "*Waiting for your acknowledgement* (1)" in shown and "*ESC-1*" in shown
    assert "respond by <!date^" in shown and "{date_short_pretty} {time}|" in shown
    buttons = [e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["ticket_acknowledge", "ticket_post_update", "ticket_status"]
    assert "ESC-1" not in text(open_home(slack, fake, "U0STRANGER"))  # he may not view it: not even counted


def test_acknowledge_on_the_home_acknowledges_and_a_non_responder_is_refused(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot, category="Password resets and account lockouts")  # an L1 ticket
    stale = open_home(slack, fake, "U0L1ENG")
    ctx = bot.runtime.deps.services
    form = validate_escalation(ctx.policy, "L1", reason=ctx.policy.reasons[0].key, target_level="L2",
                               business_impact="Finance cannot run payroll today.", troubleshooting="Reset twice.", notes="")
    escalate_ticket(ctx, 1, actor_id="U0L1ENG", form=form)  # now at L2; his Home is not refreshed yet
    refused = slack.block_action("U0L1ENG", action_id="ticket_acknowledge", value="1", view=stale)
    assert refused.status == 200
    fake.wait_until(lambda: any("can acknowledge ESC-1" in m.get("text", "") for m in dms_to(fake, "U0L1ENG")),
                    message="the refusal, by DM")
    assert ticket(bot, 1).acknowledged_by is None
    home = open_home(slack, fake, "U0L2ENG")
    assert slack.block_action("U0L2ENG", action_id="ticket_acknowledge", value="1", view=home).status == 200
    fake.wait_until(lambda: ticket(bot, 1).acknowledged_by == "U0L2ENG", message="acknowledged from the Home")


def test_the_status_and_see_all_buttons_open_modals(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    file_ticket(slack, fake, bot)
    home = open_home(slack, fake, "U0L2ENG")
    opened = len(fake.calls_to("views.open"))
    assert slack.block_action("U0L2ENG", action_id="ticket_status", value="1", view=home).status == 200
    fake.wait_until(lambda: len(fake.calls_to("views.open")) > opened, message="status modal")
    status = fake.views[fake.calls_to("views.open")[-1].response["view"]["id"]]
    assert status["title"]["text"] == "ESC-1" and "Timeline of ESC-1" in text(status)
    opened = len(fake.calls_to("views.open"))
    mine = open_home(slack, fake, "U0AGENT")  # the reporter: Status on his own ticket, under Mine
    assert "ticket_acknowledge" not in str(mine["blocks"])
    assert slack.block_action("U0AGENT", action_id="ticket_status", value="1", view=mine).status == 200
    fake.wait_until(lambda: len(fake.calls_to("views.open")) > opened, message="the reporter's status modal")
    ctx = bot.runtime.deps.services
    with ctx.sessions.begin() as session:
        seed_open_tickets(session, 12, level="L2", now=ctx.clock.now())
    home = open_home(slack, fake, "U0L2ENG")
    assert "…and 5 more." in text(home)
    opened = len(fake.calls_to("views.open"))
    assert slack.block_action("U0L2ENG", action_id="home_more", value="awaiting_ack", view=home).status == 200
    fake.wait_until(lambda: len(fake.calls_to("views.open")) > opened, message="see-all modal")
    listed = fake.views[fake.calls_to("views.open")[-1].response["view"]["id"]]
    assert "*ESC-1*" in text(listed) and text(listed).count("• ") == 13


def test_a_burst_of_changes_republishes_the_home_once_and_only_for_those_who_opened_it(
    bot: RunningBot, slack: SlackSender, fake: FakeSlack, clock: ManualClock
) -> None:
    file_ticket(slack, fake, bot)
    open_home(slack, fake, "U0L2ENG")
    ctx = bot.runtime.deps.services
    clock.advance(timedelta(seconds=6))
    sweep(ctx, worker="e2e")  # the filing's own refresh window ends
    settle(bot, fake)
    before = len(publishes(fake, "U0L2ENG"))
    for n in range(3):  # a burst: three more tickets within seconds
        file_ticket(slack, fake, bot, title=f"Printer queue stuck ({n})")
    assert len(publishes(fake, "U0L2ENG")) == before  # coalesced: not yet
    clock.advance(timedelta(seconds=6))
    sweep(ctx, worker="e2e")
    fake.wait_until(lambda: len(publishes(fake, "U0L2ENG")) > before, message="Home re-published")
    settle(bot, fake)
    assert len(publishes(fake, "U0L2ENG")) == before + 1
    assert "*Waiting for your acknowledgement* (4)" in text(valid(fake.home_view("U0L2ENG")))
    assert publishes(fake, "U0L1ENG") == [] and publishes(fake, "U0MANAGER") == []  # never opened it: nothing
    assert len(tickets(bot)) == 4
