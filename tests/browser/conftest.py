"""Real browser tests: Debian's Chromium (/usr/bin/chromium) driven by Playwright, headless and offline.

`browser` is one Chromium for all of tests/browser (started on first use, closed when they are done);
`page` is a fresh context (own cookies and storage) and tab per test. Without Chromium every test here
skips with the reason from `support.skip_reason()`. A failing test leaves `failure.png` and
`console.log` (console messages and uncaught page errors) in tests/browser/artifacts/<test>/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, artifact_dir, screenshot, skip_reason

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)  # the `page` fixture reads report_call at teardown
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        yield chromium
        chromium.close()


@pytest.fixture
def browser_log() -> list[str]:
    """What the test's page wrote to its console (`console.<type>: text`) and threw (`pageerror: ...`)."""
    return []


@pytest.fixture
def page(browser: Browser, browser_log: list[str], request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new tab in a new context; its `browser_log` is saved beside a screenshot if the test fails."""
    shutil.rmtree(artifact_dir(request.node.nodeid), ignore_errors=True)  # no stale shots from an earlier run
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.on("console", lambda message: browser_log.append(f"console.{message.type}: {message.text}"))
    tab.on("pageerror", lambda error: browser_log.append(f"pageerror: {error}"))
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            shot = screenshot(tab, "failure")
            (shot.parent / "console.log").write_text("\n".join(browser_log) + "\n", encoding="utf-8")
        except Exception as error:  # a dead page must not hide the test's own failure
            print(f"browser: no failure screenshot ({error})")
    context.close()
