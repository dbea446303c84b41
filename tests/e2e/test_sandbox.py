"""The sandbox end to end over its own HTTP page API (the browser test drives the same page in Chromium):
a security incident filed through the modal, paged, acknowledged, breached, told to the manager, resolved."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from sandbox.workspace import AGENT, L3, MANAGER, SECURITY

ROOT = Path(__file__).resolve().parents[2]
FORM = {
    "title": "Suspicious logins on the VPN from abroad",
    "category": "Security incidents and breaches",
    "severity": "high",
    "description": "Dozens of successful VPN logins for finance accounts from an unknown network since 02:10.",
    "error_messages": "none shown",
    "troubleshooting": "Disabled two affected accounts; exported the VPN log.",
    "business_impact": "Possible breach of finance data; auditors must be told within 24 hours.",
    "affected_users": "12",
    "triggers": "security_incident",
}


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(workdir=tmp_path).start()
    yield running
    running.stop()


def call(box: Sandbox, path: str, *, as_: str, method: str = "POST", **fields: Any) -> tuple[int, dict[str, Any]]:
    data = urllib.parse.urlencode({"as": as_, **fields}, doseq=True).encode()
    url = box.url.rstrip("/") + path
    request = urllib.request.Request(url if method == "POST" else f"{url}?{data.decode()}",
                                     data=data if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def panel(box: Sandbox, user: str, channel: str = "") -> dict[str, Any]:
    return call(box, "/panel", as_=user, method="GET", c=channel)[1]


def wait(box: Sandbox, predicate: Any, message: str) -> Any:
    return box.fake.wait_until(predicate, timeout=10, message=message)


def test_a_security_incident_is_filed_paged_acknowledged_breached_and_resolved_through_the_page(box: Sandbox) -> None:
    general, level3 = box.fake.channel("#general")["id"], box.fake.channel("#support-l3")["id"]
    assert call(box, "/command", as_=AGENT, text="/escalate", channel=general)[0] == 200
    view = wait(box, lambda: box.fake.open_view(AGENT), "the New escalation modal opened")
    assert 'name="title"' in panel(box, AGENT)["modal"]
    assert call(box, "/submit", as_=AGENT, view_id=view["id"], **{**FORM, "log_links": "ftp://logs"})[0] == 200
    assert "Links must start with http" in panel(box, AGENT)["modal"]  # the bot's inline error, under its field
    assert call(box, "/submit", as_=AGENT, view_id=view["id"], **FORM)[0] == 200
    card = wait(box, lambda: next((m for m in box.fake.messages(level3) if "ESC-1" in str(m.get("blocks"))), None),
                "the card in the L3 channel")
    assert box.fake.open_view(AGENT) is None
    assert "ESC-1" in panel(box, L3, level3)["messages"]
    wait(box, lambda: box.fake.messages(SECURITY), "the security responder paged")
    status, answer = call(box, "/action", as_=L3, action_id="ticket_acknowledge", value="1", channel=level3, ts=card["ts"])
    assert status == 200, answer
    wait(box, lambda: "Acknowledged" in str(box.fake.message(level3, card["ts"])["blocks"]), "acknowledged on the card")
    before = len(box.fake.messages(MANAGER))
    assert call(box, "/clock", as_=L3, by="2 hours")[0] == 200
    assert call(box, "/clock", as_=L3, by="2 hours")[0] == 200
    dm = wait(box, lambda: box.fake.messages(MANAGER)[before:], "the manager's 4-hour DM")
    assert "ESC-1" in str(dm)
    assert "ESC-1" in panel(box, MANAGER, box.fake.channel(MANAGER)["id"])["messages"]
    call(box, "/action", as_=L3, action_id="ticket_resolve", value="1", channel=level3, ts=card["ts"])
    resolve = wait(box, lambda: box.fake.open_view(L3), "the resolve modal")
    call(box, "/submit", as_=L3, view_id=resolve["id"], resolution="Blocked the network; reset the accounts.",
         root_cause="A phished password reused on the VPN.", lessons="Enforce MFA on the VPN for finance.",
         postmortem_owner=SECURITY)
    draft = wait(box, lambda: [f for f in box.fake.files.values() if "post-mortem" in f["title"]], "the post-mortem draft")
    assert draft[0]["channels"] == [box.fake.channel(SECURITY)["id"]]


def test_the_home_tab_and_a_thread_render_for_the_person_viewing(box: Sandbox) -> None:
    general = box.fake.channel("#general")["id"]
    call(box, "/command", as_=AGENT, text="/escalate", channel=general)
    view = wait(box, lambda: box.fake.open_view(AGENT), "modal")
    call(box, "/submit", as_=AGENT, view_id=view["id"], **FORM)
    wait(box, lambda: box.fake.messages(box.fake.channel("#support-l3")["id"]), "the card")
    assert call(box, "/home", as_=AGENT)[0] == 200
    wait(box, lambda: box.fake.home_view(AGENT), "the Home tab published")
    assert "ESC-1" in panel(box, AGENT, "home")["messages"]


def test_a_bad_request_from_the_page_is_a_clear_400_and_changes_nothing(box: Sandbox) -> None:
    assert call(box, "/command", as_=AGENT, text="/deploy prod", channel="C0SBGENERAL") == (
        400, {"error": "Only /escalate is a command here; type it with what follows it."})
    assert call(box, "/submit", as_=AGENT, view_id="V404")[0] == 400
    assert call(box, "/command", as_="U0NOBODY", text="/escalate")[0] == 400
    assert not box.fake.calls_to("views.open")


def test_make_sandbox_listens_on_loopback_prints_its_url_and_ignores_the_dot_env(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-real-token\nSLACK_API_URL=https://slack.com/api/\n"
                                   "DATABASE_URL=sqlite:///real.db\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--sandbox", "--port", "0"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line + process.stderr.read()
        with urllib.request.urlopen(url.group(0), timeout=10) as page:
            assert "Escalation bot sandbox" in page.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert not (tmp_path / "real.db").exists()  # it never touched the database .env names


def test_each_person_reads_times_in_their_own_zone(box: Sandbox) -> None:
    from sandbox.workspace import L2

    general, level3 = box.fake.channel("#general")["id"], box.fake.channel("#support-l3")["id"]
    call(box, "/command", as_=AGENT, text="/escalate", channel=general)
    view = wait(box, lambda: box.fake.open_view(AGENT), "modal")
    call(box, "/submit", as_=AGENT, view_id=view["id"], **FORM)
    wait(box, lambda: box.fake.messages(level3), "the card")
    new_york, berlin = panel(box, L3, level3), panel(box, L2, level3)  # Sam is in New York, Kim in Berlin
    assert new_york["now"].endswith(("EST", "EDT")) and berlin["now"].endswith(("CET", "CEST"))
    from zoneinfo import ZoneInfo

    from models import Ticket

    with box.runtime.deps.services.sessions() as session:
        due = session.get_one(Ticket, 1).response_due_at
    due = due if due.tzinfo else due.replace(tzinfo=ZoneInfo("UTC"))
    for shown, zone in ((new_york, "America/New_York"), (berlin, "Europe/Berlin")):
        local = due.astimezone(ZoneInfo(zone)).strftime("%H:%M")
        assert local in shown["messages"], zone  # the card's <!date^…> response-due token, in the reader's zone


def test_a_file_chosen_in_the_modal_is_uploaded_and_listed_on_the_card(box: Sandbox) -> None:
    general, level3 = box.fake.channel("#general")["id"], box.fake.channel("#support-l3")["id"]
    request = urllib.request.Request(box.url + "upload?" + urllib.parse.urlencode({"as": AGENT, "name": "vpn.log", "type": "text/plain"}),
                                     data=b"02:10 login from 203.0.113.7", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        uploaded = json.loads(answer.read())
    call(box, "/command", as_=AGENT, text="/escalate", channel=general)
    view = wait(box, lambda: box.fake.open_view(AGENT), "modal")
    assert call(box, "/submit", as_=AGENT, view_id=view["id"], attachments=uploaded["id"], **FORM)[0] == 200
    card = wait(box, lambda: box.fake.messages(level3), "the card")[0]
    assert "vpn.log" in str(card["blocks"]) and box.fake.files[uploaded["id"]]["permalink"] in str(card["blocks"])
    for query, status in (({"as": "U0NOBODY", "name": "x"}, 400), ({"as": AGENT, "name": "big"}, 413)):
        body = b"x" if status == 400 else b"x" * (5 * 1024 * 1024 + 1)
        refused = urllib.request.Request(box.url + "upload?" + urllib.parse.urlencode(query), data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(refused, timeout=10)
        assert caught.value.code == status
