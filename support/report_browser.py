"""Opens a generated Allure report in headless Chromium, served over local HTTP, and reads what a person
would see: the scenarios listed and, for one scenario, its attachments and whether its timeline picture
actually rendered.

python -m support.report_browser reports/allure-report --scenario "<name>" --screenshot docs/images/report.png

Used by the self-test that proves the report works in a real browser, and to refresh the screenshot in
the docs. Chromium comes from Debian's packages (``bin/setup --browser``); Playwright only drives it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

# Chromium as root in a sandbox, with nothing reaching for the internet (this machine has none).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TIMELINE = "Connection timeline"
LOAD_TIMEOUT_MS = 20_000
MAX_GROUPS = 200


class BrowserMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class ReportView:
    scenarios: list[str]  # test names listed on the report's Behaviors page
    attachments: list[str]  # attachment names shown for the chosen scenario
    timeline_rendered: bool  # the timeline attachment opened as a picture with a real size
    status_message: str  # the failure message shown for the chosen scenario ("" if it passed)


def chromium() -> str:
    wanted = os.environ.get("CHROMIUM", "chromium")
    found = shutil.which(wanted)
    if found is None:
        raise BrowserMissing(
            f"Chromium ({wanted}) is not installed: run bin/setup --browser or set CHROMIUM=/path/to/it"
        )
    return found


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 at an ephemeral port for as long as the block runs."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="report http server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def inspect_report(report: Path, scenario: str, screenshot: Path | None = None) -> ReportView:
    """What a reader sees in the report: the listed scenarios, then one scenario opened."""
    if not (report / "index.html").exists():
        raise FileNotFoundError(f"No HTML report in {report}: build it with python -m support.allure_report")
    with serve(report) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(LOAD_TIMEOUT_MS)
            page.goto(url + "#behaviors")
            scenarios = _listed_scenarios(page)
            page.locator(".node__leaf", has=page.get_by_text(scenario, exact=True)).first.click()
            page.locator(".attachment-row").first.wait_for()
            view = ReportView(
                scenarios=scenarios,
                attachments=page.locator(".attachment-row__name").all_inner_texts(),
                timeline_rendered=_open_timeline(page),
                status_message=_status_message(page),
            )
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
            return view
        finally:
            browser.close()


def _listed_scenarios(page: Page) -> list[str]:
    # Behaviors groups by epic, feature and story; open every group so each scenario is listed.
    page.locator(".tree__content").first.wait_for()
    closed = page.locator(".node:not(.node__expanded) > .node__title:has(.node__arrow)")
    for _ in range(MAX_GROUPS):
        if closed.count() == 0:
            break
        closed.first.click()
    return [name.strip() for name in page.locator(".node__leaf .node__name").all_inner_texts()]


def _open_timeline(page: Page) -> bool:
    row = page.locator(".attachment-row", has_text=TIMELINE).first
    if row.count() == 0:
        return False
    row.click()
    picture = page.locator(".attachment-row__content img").first
    picture.wait_for()
    return bool(picture.evaluate("image => image.complete && image.naturalWidth > 0"))


def _status_message(page: Page) -> str:
    message = page.locator(".status-details__message")
    return message.first.inner_text().strip() if message.count() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--scenario", required=True, help="the scenario to open")
    parser.add_argument("--screenshot", type=Path, help="where to save a picture of the opened scenario")
    arguments = parser.parse_args(argv)
    try:
        view = inspect_report(arguments.report, arguments.scenario, arguments.screenshot)
    except (BrowserMissing, FileNotFoundError) as problem:
        print(f"report_browser: {problem}", file=sys.stderr)
        return 2
    print(
        f"{len(view.scenarios)} scenarios listed; {arguments.scenario!r} shows: {', '.join(view.attachments)}"
    )
    print(f"timeline picture rendered: {'yes' if view.timeline_rendered else 'NO'}")
    return 0 if view.timeline_rendered else 1


if __name__ == "__main__":
    sys.exit(main())
