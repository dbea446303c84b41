"""The sandbox in real Chromium: a security incident filed through the modal (an inline error first),
paged, acknowledged, breached after the clock moves on, told to the manager, resolved, and its
post-mortem draft sent to its owner. Screenshots of the channel, the modal and the App Home are kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from sandbox.workspace import AGENT, L3, MANAGER, SECURITY
from tests.browser.support import screenshot
from tests.e2e.test_sandbox import FORM

pytestmark = pytest.mark.slow


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(workdir=tmp_path).start()
    yield running
    running.stop()


def be(page: Any, person: str) -> None:
    page.select_option("#me", person)


def open_channel(page: Any, name: str) -> None:
    page.locator("#sidebar a", has_text=name).first.click()


def fill(page: Any, values: dict[str, str]) -> None:
    """Fill the open modal's fields as a person would (selects, radios, checkboxes, text)."""
    form = page.locator("form.sk-modal")
    for name, value in values.items():
        field = form.locator(f'[name="{name}"]').first
        tag = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            field.select_option(value)
        elif tag in ("input:radio", "input:checkbox"):
            form.locator(f'[name="{name}"][value="{value}"]').check()
        else:
            field.fill(value)


def test_a_security_incident_from_intake_to_post_mortem_in_the_browser(page: Any, box: Sandbox, browser_log: list[str]) -> None:
    page.goto(box.url)
    be(page, AGENT)
    open_channel(page, "general")
    page.fill("#text", "/escalate")
    page.press("#text", "Enter")
    page.wait_for_selector("form.sk-modal")
    fill(page, {**FORM, "log_links": "ftp://logs.example/vpn"})
    page.locator('form.sk-modal input[type="file"]').set_input_files(
        files=[{"name": "vpn.log", "mimeType": "text/plain", "buffer": b"02:10 login from 203.0.113.7"}])
    page.wait_for_selector(".sb-file-chip:text('vpn.log')")  # uploaded to (fake) Slack as soon as chosen
    screenshot(page, "modal")
    page.locator("form.sk-modal [type=submit]").click()
    page.wait_for_selector('.sk-error[data-error-for="log_links"]')  # the bot's inline error, under its field
    screenshot(page, "modal-error")
    page.locator('form.sk-modal [name="log_links"]').fill("https://logs.example/vpn")
    page.locator("form.sk-modal [type=submit]").click()
    page.wait_for_selector("form.sk-modal", state="detached")

    be(page, L3)
    open_channel(page, "support-l3")
    page.wait_for_selector("#messages :text('ESC-1')")
    page.wait_for_selector("#messages :text('vpn.log')")  # the attachment, listed on the card
    screenshot(page, "channel")
    page.locator('#messages .sk-action[data-action-id="ticket_acknowledge"]').first.click()
    page.wait_for_selector("#messages :text('Acknowledged')")
    assert box.fake.messages(SECURITY)  # the security responder was paged

    page.locator("button.advance", has_text="2 hours").click()
    page.locator("button.advance", has_text="2 hours").click()
    be(page, MANAGER)
    page.locator("#sidebar a", has_text="Max Manager").click()
    page.wait_for_selector("#messages :text('ESC-1')")  # the 4-hour manager notice

    be(page, L3)
    open_channel(page, "support-l3")
    page.locator('#messages .sk-action[data-action-id="ticket_resolve"]').first.click()
    page.wait_for_selector("form.sk-modal")
    fill(page, {"resolution": "Blocked the network; reset the accounts.", "root_cause": "A phished password reused on the VPN.",
                "lessons": "Enforce MFA on the VPN for finance.", "postmortem_owner": SECURITY})
    page.locator("form.sk-modal [type=submit]").click()
    page.wait_for_selector("form.sk-modal", state="detached")
    be(page, SECURITY)
    page.locator("#sidebar a", has_text="Rio Security").click()
    page.wait_for_selector("#messages :text('post-mortem')")

    open_channel(page, "App Home")
    page.wait_for_selector(".sk-home")
    screenshot(page, "app-home")
    assert not [line for line in browser_log if "error" in line.lower()], browser_log


def test_what_the_bot_posts_appears_without_a_reload(page: Any, box: Sandbox) -> None:
    from tests.e2e.test_sandbox import call, wait

    page.goto(box.url)
    be(page, L3)
    open_channel(page, "support-l3")
    page.wait_for_selector("#messages :text('Nothing here yet')")
    page.evaluate("window.__sameDocument = true")
    call(box, "/command", as_=AGENT, text="/escalate", channel=box.fake.channel("#general")["id"])  # someone else, elsewhere
    view = wait(box, lambda: box.fake.open_view(AGENT), "modal")
    call(box, "/submit", as_=AGENT, view_id=view["id"], **FORM)
    page.wait_for_selector("#messages :text('ESC-1')")  # pushed by the long poll
    assert page.evaluate("window.__sameDocument") is True  # the same page: no reload happened
