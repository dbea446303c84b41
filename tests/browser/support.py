"""Browser-test helpers: where Chromium is, the flags it runs with here, and screenshots as artifacts."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or Path(__file__).with_name("artifacts"))

# Headless Chromium on a machine whose only network is loopback: nothing phones home (sync, component
# updates, background fetches, QUIC), and every host but loopback resolves to NOTFOUND inside Chromium,
# so a page can never reach out and no DNS query leaves the machine. Playwright adds a fresh
# --user-data-dir (a new empty profile under $TMPDIR, removed on close) and --headless itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]


def skip_reason(chromium: Path = CHROMIUM) -> str | None:
    """Why browser tests can't run here, or None when they can."""
    if not (chromium.is_file() and os.access(chromium, os.X_OK)):
        return f"Chromium not installed at {chromium}: apt-get install chromium chromium-driver"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python package playwright is not installed: pip install -e '.[test]'"
    return None


def artifact_dir(nodeid: str) -> Path:
    """tests/browser/artifacts/<test>/ for one test's screenshots and logs."""
    name = nodeid.split("::", 1)[-1] if "::" in nodeid else nodeid
    return ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "test")


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page PNG of `page` as <artifacts>/<current test>/<name>.png and returns its path."""
    nodeid = os.environ.get("PYTEST_CURRENT_TEST", "adhoc").rsplit(" (", 1)[0]
    folder = artifact_dir(nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
