"""The dashboard in headless Chromium (Debian's, driven by Playwright): a live uvicorn over a socket, the
real database, a real Celery worker process, and the OpenAI peers as the models.

Screenshots of every main page go to `screenshots/` (gitignored; `TURNOUT_SCREENSHOTS` moves them).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.web.app import create_app
from tests.jobs.workers import worker_process
from tests.peers.serving import ThreadedServer
from tests.peers.watch import CASES
from tests.service.web.xss import XSS_CASES, jsonl

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("TURNOUT_SCREENSHOTS", Path(__file__).resolve().parents[3] / "screenshots"))

pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="scripts/browser.sh installs chromium")]


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """The dashboard served by uvicorn on a free port; its base URL."""
    served = ThreadedServer(create_app(), name="dashboard")
    port = served.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        served.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


class Console:
    """Console errors and uncaught exceptions of the dashboard's own pages (framed reports aside)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: Any) -> None:
        url = (message.location or {}).get("url", "")
        if message.type != "error" or "/report" in url:
            return
        if url.endswith(("/golden-sets/upload", "/edit")) and "status of 422" in message.text:
            return  # the answer to a refused upload or declaration, on purpose: 422 with the problems at their lines
        self.errors.append(f"{message.text} at {message.location}")


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _wait_finished(page: Any, cycle_url: str, *, timeout: float = 900) -> None:
    # Generous: the second cycle builds an Evidently report, whose text-drift test takes minutes on a busy machine.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(cycle_url)
        state = page.locator("p .state").first.inner_text()
        if state in ("finished", "failed", "cancelled"):
            assert state == "finished", page.content()[:2000]
            return
        time.sleep(1)
    raise AssertionError(f"{cycle_url} did not finish in {timeout} s")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_lead_works_through_the_dashboard(database_url: str, applied: Path, secrets: dict[str, str],
                                            server: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    console = Console(page)
    page.goto(f"{server}/watches/qa-watch")
    assert page.url.startswith(f"{server}/login?next=/watches/qa-watch")
    _shot(page, "login")
    page.get_by_label("API token").fill(secrets["editor"])
    page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{server}/watches/qa-watch"

    # Upload a new version of the golden set with a case missing its input on line 3: refused at that line.
    bad = jsonl(CASES[:2]) + '{"id": "three", "expected": "x"}\n' + jsonl([*CASES[2:], *XSS_CASES])
    upload = tmp_path / "qa.jsonl"
    upload.write_text(bad)
    page.goto(f"{server}/golden-sets/qa")
    page.get_by_role("link", name="Upload a new version").click()
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Check and save").click()
    problem = page.locator("#line-3 .line-error")
    assert "line 3" in problem.inner_text() and "input" in problem.inner_text()
    _shot(page, "upload-error")
    # Fix it in the browser: the text area holds the uploaded file.
    text = page.get_by_label("Cases").input_value()
    assert text == bad
    page.get_by_label("Cases").fill(text.replace('{"id": "three", "expected": "x"}\n', ""))
    page.get_by_role("button", name="Check and save").click()
    assert "/golden-sets/qa?saved=updated" in page.url
    assert f"with {len(CASES) + len(XSS_CASES)} cases" in page.locator(".notice").inner_text()
    _shot(page, "golden-set")

    # Edit the watch's declaration: a bad schedule is refused at its line; fixed, it is saved.
    page.goto(f"{server}/watches/qa-watch")
    page.get_by_role("link", name="Edit declaration").click()
    declaration = page.get_by_label("Declaration").input_value()
    page.get_by_label("Declaration").fill(declaration.replace("0 6 * * *", "every morning"))
    page.get_by_role("button", name="Check and save").click()
    line = next(n for n, text in enumerate(declaration.splitlines(), 1) if text.startswith("schedule:"))
    assert "schedule" in page.locator(f"#line-{line} .line-error").inner_text()
    _shot(page, "watch-declaration-error")
    page.get_by_label("Declaration").fill(declaration.replace("0 6 * * *", "0 7 * * *"))
    page.get_by_role("button", name="Check and save").click()
    assert page.url == f"{server}/watches/qa-watch?saved=updated"

    with worker_process(database_url, log=tmp_path / "worker.log"):
        for _ in range(2):  # the second cycle has a reference: drift is compared and reported
            page.goto(f"{server}/watches/qa-watch")
            page.get_by_role("button", name="Run a cycle now").click()
            assert re.search(r"/cycles/\d+$", page.url), page.url
            _wait_finished(page, page.url)
    _shot(page, "cycle")

    run_links = page.locator("table.grid tbody a[href^='/runs/']")
    candidate = run_links.nth(1).get_attribute("href")
    page.goto(f"{server}{candidate}")
    rows = page.locator("table.sbs tbody tr")
    assert rows.count() == len(CASES) + len(XSS_CASES)
    rome = page.locator("table.sbs tbody tr", has_text="rome")
    assert "Rome" in rome.locator("td").nth(0).inner_text() and "Milan" in rome.locator("td").nth(1).inner_text()
    script_row = page.locator("table.sbs tbody tr", has_text="xss-script")
    assert "<script>window.__xss = 1</script>" in script_row.locator("td").nth(0).inner_text()
    assert "{{ 7 * 7 }}{% raw %}" in page.locator("table.sbs tbody tr", has_text="xss-template").inner_text()
    assert page.evaluate("window.__xss") is None
    _shot(page, "run")
    page.get_by_label("failed only").check()
    page.get_by_role("button", name="Filter").click()
    assert "rome" in page.locator("table.sbs tbody").inner_text()
    assert "paris" not in page.locator("table.sbs tbody").inner_text()

    # Compare the candidate with production of its cycle (preselected), then rescore it from its page.
    page.goto(f"{server}{candidate}")
    page.get_by_role("button", name="Compare", exact=True).click()
    assert re.search(r"/runs/\d+/compare\?against=\d+&scorer=contains$", page.url), page.url  # the primary
    segments = page.locator("table.grid tbody th[scope='row']").all_inner_texts()
    assert segments[0] == "all" and "lang:fr" in segments
    _shot(page, "compare")
    page.goto(f"{server}{candidate}")
    page.get_by_role("button", name="Rescore").click()
    assert re.search(r"\?rescored=\d+$", page.url) and "scores written" in page.locator(".notice").inner_text()

    page.goto(f"{server}/watches/qa-watch")
    quality = page.locator("#chart-quality .chart-canvas[data-rendered='true']")
    quality.wait_for()
    assert int(quality.get_attribute("data-points") or 0) >= 4  # two cycles, two models
    assert page.locator("#chart-quality canvas").count() == 1
    _shot(page, "watch")

    page.goto(f"{server}/")
    assert page.locator("svg.spark polyline").count() == 1
    _shot(page, "overview")

    # The frame's report imports Evidently in the server on first use: seconds, minutes on a busy machine.
    page.goto(f"{server}/watches/qa-watch/drift", wait_until="domcontentloaded")
    frame = page.frame_locator("iframe.report")
    frame.locator("body *").first.wait_for(timeout=600_000)
    assert page.locator("iframe.report").get_attribute("sandbox") == "allow-scripts"
    report = page.request.get(server + (page.locator("iframe.report").get_attribute("src") or ""), timeout=600_000)
    assert report.ok and "sandbox allow-scripts" in report.headers["content-security-policy"]
    _shot(page, "drift")

    page.goto(f"{server}/alerts")
    _shot(page, "alerts")
    assert page.evaluate("window.__xss") is None
    assert console.errors == []
