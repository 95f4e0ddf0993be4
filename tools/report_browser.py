"""Opens a generated Allure report in headless Chromium and reads what a person would see: the run's
environment and executor on the overview, every scenario listed under its epic, feature and story, the
failures under their categories and, for one scenario, its failure message, its attachments and whether
its timeline picture actually rendered.

python -m tools.report_browser reports/allure-report --scenario "<name>" \
    --screenshot docs/images/report-scenario.png
python -m tools.report_browser reports/allure-report.html --scenario "<name>"

A report folder is served over local HTTP, as people serve it; a single-file report is opened from
file://, as a double click opens it. Either way the page may load nothing but the report itself: any
other request (the internet included) is refused, so a report that needs more does not pass.

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

from playwright.sync_api import ElementHandle, Locator, Page, Route, sync_playwright

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
LOAD_TIMEOUT_MS = 45_000  # a deadline, not a pause: a busy 2-core machine can take long to draw it
MAX_GROUPS = 500
# A group (an epic, feature or story; a category or a message) shows its contents right after its header;
# a closed one has nothing after it.
CLOSED_GROUPS = "xpath=//*[(@data-testid='tree-section' or @data-tree-header) and not(following-sibling::*)]"
# The titles of the groups a scenario is listed in, outermost first.
GROUPS_OF_LEAF = """leaf => {
    const titles = [];
    for (let node = leaf.parentElement; node; node = node.parentElement) {
        const header = node.dataset.testid === "tree-content" ? node.previousElementSibling : null;
        if (header && header.dataset.testid === "tree-section") {
            titles.unshift(header.querySelector('[data-testid="tree-section-title"]').textContent.trim());
        }
    }
    return titles;
}"""

# What an opened picture attachment came to: "picture" once drawn, "broken" if it could not be.
PICTURE_SHOWN = """attachment => {
    const image = attachment.querySelector('[data-testid="image-attachment-content"] img');
    if (image) {
        return image.complete && (image.naturalWidth > 0 ? "picture" : "broken");
    }
    return /something went wrong/i.test(attachment.textContent) && "broken";
}"""
ATTACHMENT_NAME = "header => header.querySelector('button').lastElementChild.textContent"


class BrowserMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class ReportView:
    scenarios: list[str]  # every scenario listed under Results, each group opened
    groups: dict[str, list[str]]  # scenario name -> the groups it is listed in (epic, feature, story)
    categories: dict[str, list[str]]  # category -> the scenarios listed under it on the Categories tab
    metadata: dict[str, str]  # the overview's metadata: the executor and the run's environment
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


@contextlib.contextmanager
def opened(report: Path) -> Iterator[str]:
    """The address a reader opens: a report folder served over HTTP, a single-file report as a file."""
    if report.is_dir() and (report / "index.html").exists():
        with serve(report) as url:
            yield url
    elif report.is_file() and report.suffix == ".html":
        yield report.resolve().as_uri()
    else:
        raise FileNotFoundError(
            f"No HTML report at {report}: build it with python -m support.report.allure_report"
        )


def inspect_report(report: Path, scenario: str, screenshot: Path | None = None) -> ReportView:
    """What a reader sees in the report: the overview and the lists, then one scenario opened."""
    with opened(report) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(LOAD_TIMEOUT_MS)
            page.route("**/*", functools.partial(_only_the_report, url))
            page.goto(url)
            metadata = _metadata(page)
            scenarios, groups = _listed_scenarios(page)
            categories = _categories(page)
            page.get_by_test_id("nav-tab-results").click()
            _open_every_group(page)
            page.get_by_test_id("tree-leaf").filter(has=page.get_by_text(scenario, exact=True)).first.click()
            page.get_by_test_id("test-result-info-title").wait_for()
            status_message = _status_message(page)
            attachments = _attachment_names(page)
            view = ReportView(
                scenarios=scenarios,
                groups=groups,
                categories=categories,
                metadata=metadata,
                attachments=attachments,
                timeline_rendered=_open_timeline(page),
                status_message=status_message,
            )
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
            return view
        finally:
            browser.close()


def _only_the_report(url: str, route: Route) -> None:
    # The report's own file or server, and what the page makes from it in memory; nothing else.
    if route.request.url.startswith((url, "data:", "blob:")):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _metadata(page: Page) -> dict[str, str]:
    page.get_by_test_id("metadata-item").first.wait_for()
    more = page.get_by_role("button", name="Show more")
    if more.count():
        more.first.click()
    items = page.get_by_test_id("metadata-item")
    keys = items.get_by_test_id("metadata-item-key").all_inner_texts()
    values = items.get_by_test_id("metadata-item-value").all_inner_texts()
    return {key.strip(): value.strip() for key, value in zip(keys, values, strict=True)}


def _open_every_group(page: Page) -> None:
    """Open every closed group on the current tab, one at a time, each before the next is looked for."""
    closed = page.locator(CLOSED_GROUPS)
    for _ in range(MAX_GROUPS):
        if closed.count() == 0:
            return
        header = closed.first.element_handle()
        arrow = header.query_selector("button")
        if arrow is None:
            raise AssertionError(f"a group without a button to open it: {header.inner_text()[:80]!r}")
        arrow.click()
        page.wait_for_function("header => header.nextElementSibling !== null", arg=header)
    raise AssertionError(f"more than {MAX_GROUPS} groups to open")


def _listed_scenarios(page: Page) -> tuple[list[str], dict[str, list[str]]]:
    # Groups open by themselves only when they hold a failure: wait for the list, whatever its first row.
    page.get_by_test_id("tree-leaf").or_(page.get_by_test_id("tree-section")).first.wait_for()
    _open_every_group(page)
    leaves = page.get_by_test_id("tree-leaf").element_handles()
    names = [_title(leaf.query_selector("[data-testid=tree-leaf-title]")) for leaf in leaves]
    return names, {name: leaf.evaluate(GROUPS_OF_LEAF) for name, leaf in zip(names, leaves, strict=True)}


def _categories(page: Page) -> dict[str, list[str]]:
    tab = page.get_by_test_id("nav-tab-categories")
    if tab.count() == 0:
        return {}
    tab.click()
    categories = page.locator("[id^='cat:']")
    if tab.get_by_test_id("counter").inner_text().strip() != "0":
        categories.first.wait_for()
    _open_every_group(page)
    return {
        _name(category.get_by_test_id("tree-section-title").first): [
            title.strip() for title in category.get_by_test_id("tree-leaf-title").all_inner_texts()
        ]
        for category in categories.all()
    }


def _attachment_names(page: Page) -> list[str]:
    page.get_by_test_id("test-result-tab-attachments").click()
    headers = page.get_by_test_id("test-result-attachment-header")
    headers.first.wait_for()
    # Each header's button reads: its number, then its name.
    names = [header.evaluate(ATTACHMENT_NAME) for header in headers.all()]
    page.get_by_test_id("test-result-tab-overview").click()
    return [name.strip() for name in names]


def _open_timeline(page: Page) -> bool:
    attachment = page.get_by_test_id("test-result-attachment").filter(has_text=TIMELINE).first
    if attachment.count() == 0:
        return False
    attachment.get_by_test_id("test-result-attachment-header").locator("button").first.click()
    shown = page.wait_for_function(PICTURE_SHOWN, arg=attachment.element_handle()).json_value()
    if shown == "picture":
        attachment.get_by_test_id("image-attachment-content").scroll_into_view_if_needed()
    return bool(shown == "picture")


def _status_message(page: Page) -> str:
    message = page.get_by_test_id("test-result-error-message")
    return message.first.inner_text().strip() if message.count() else ""


def _title(element: ElementHandle | None) -> str:
    return element.inner_text().strip() if element is not None else ""


def _name(title: Locator) -> str:
    # A category's title also holds a button; its name is the first text in it.
    return title.locator("span").first.inner_text().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a report folder, or a single-file report (.html)")
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
