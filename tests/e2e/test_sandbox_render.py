"""What the real bot puts in fake Slack renders in the sandbox: every message, modal and Home tab."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fakeslack import FakeSlack, SlackSender
from fakeslack.sender import fill_state
from sandbox import render
from tests.e2e.harness import PEOPLE, RunningBot, file_ticket, latest_view, press, settle
from tests.unit.test_sandbox_render import no_live_html, submitted, tags


def test_every_message_modal_and_home_tab_the_bot_sends_renders(bot: RunningBot, slack: SlackSender, fake: FakeSlack) -> None:
    ctx = dict(users=PEOPLE, channels={}, tz=ZoneInfo("Europe/Berlin"))
    card = file_ticket(slack, fake, bot, severity="critical", title="Payroll <script>alert(1)</script>")
    press(slack, fake, bot, "U0L2ENG", "ticket_post_update", 1)
    update = latest_view(fake, "post_update")
    slack.event({"type": "app_home_opened", "user": "U0AGENT", "tab": "home", "channel": "D0AGENT"})
    fake.wait_until(lambda: fake.home_views.get("U0AGENT"), message="home published")
    settle(bot, fake)

    html = str(render.message(card, **ctx))
    no_live_html(html)
    assert "ESC-1" in html and "&lt;script&gt;" in html
    assert tags(html, "button", **{"data-action-id": "ticket_acknowledge", "data-value": "1", "data-ts": card["ts"]})
    for message in fake.all_messages():
        no_live_html(str(render.message(message, **ctx)))
    for view in fake.views.values():
        form = str(render.modal(view, errors={}, **ctx))
        no_live_html(form)
    values = render.form_values(update, submitted(str(render.modal(update, errors={}, **ctx)), status=["On it"]), tz=ctx["tz"])
    assert fill_state(update, values)["status"]["value"]["value"] == "On it"
    home = str(render.home(fake.home_views["U0AGENT"], **ctx))
    no_live_html(home)
    assert "ESC-1" in home
