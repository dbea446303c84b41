"""The browser setup itself: real Chromium loads a page from a loopback server, runs its JavaScript,
is clicked and typed into, submits, and the server and the DOM both see it. No sandbox needed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser.support import screenshot, skip_reason

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>Browser setup</title>
<style>body{font:15px sans-serif;margin:2em} .tag{background:#e8f0fe;margin-right:.4em;padding:.1em .4em}</style>
</head><body>
<h1>New escalation</h1>
<form id="intake">
  <label>Summary <input name="summary" id="summary" required></label>
  <button type="button" id="urgent">Mark urgent</button>
  <span id="tags"></span>
  <button type="submit" id="file">File it</button>
</form>
<p id="result" role="status">not filed</p>
<script>
  const tags = [];
  document.getElementById("urgent").addEventListener("click", () => {
    tags.push("urgent");
    document.getElementById("tags").innerHTML = tags.map(t => `<span class="tag">${t}</span>`).join("");
  });
  document.getElementById("intake").addEventListener("submit", async (event) => {
    event.preventDefault();
    const summary = document.getElementById("summary").value;
    const response = await fetch("/tickets", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({summary, tags})});
    const body = await response.json();
    document.getElementById("result").textContent = `Filed #${body.ticket}: ${body.summary}`;
  });
</script>
</body></html>"""


class Site:
    """A tiny loopback web server: GET / serves PAGE, POST /tickets records its JSON and answers a number."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if self.path != "/":
                    self.send_error(404)
                    return
                self._send(200, "text/html; charset=utf-8", PAGE)

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                site.received.append({"path": self.path, "content_type": self.headers["Content-Type"], **body})
                self._send(201, "application/json", json.dumps({"ticket": 42, "summary": body["summary"]}).encode())

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, name="browser-site", daemon=True)


@pytest.fixture
def site() -> Iterator[Site]:
    running = Site()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_click_type_submit_reaches_the_server_and_updates_the_dom(page, site: Site, browser_log: list[str]) -> None:
    from playwright.sync_api import expect

    page.goto(site.url)
    expect(page).to_have_title("Browser setup")
    expect(page.locator("#result")).to_have_text("not filed")

    page.get_by_role("button", name="Mark urgent").click()
    expect(page.locator("#tags .tag")).to_have_text(["urgent"])
    page.get_by_label("Summary").fill("VPN down for the whole floor")
    before = screenshot(page, "filled")
    page.get_by_role("button", name="File it").click()

    expect(page.get_by_role("status")).to_have_text("Filed #42: VPN down for the whole floor")
    assert site.received == [{"path": "/tickets", "content_type": "application/json",
                              "summary": "VPN down for the whole floor", "tags": ["urgent"]}]
    after = screenshot(page, "filed")
    for shot in (before, after):
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    assert not [line for line in browser_log if line.startswith("pageerror")], browser_log


def test_pages_cannot_reach_beyond_loopback(page) -> None:
    """Chromium resolves no outside host (--host-resolver-rules), so a test can't depend on the network."""
    from playwright.sync_api import Error

    with pytest.raises(Error, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("http://example.com/", timeout=5_000)


def test_skip_reason_names_the_missing_binary_and_the_packages(tmp_path: Path) -> None:
    assert skip_reason(tmp_path / "chromium") == (
        f"Chromium not installed at {tmp_path / 'chromium'}: apt-get install chromium chromium-driver"
    )
