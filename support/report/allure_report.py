"""Builds the HTML report from the Allure results with the pinned Allure 3 command line (npm ``allure``).

python -m support.report.allure_report [--results reports/allure-results] [--report reports/allure-report]
                                [--single-file reports/allure-report.html]

One build writes the same report twice:

- ``reports/allure-report/``: a folder to serve (``python -m http.server``, a CI pages site);
- ``reports/allure-report.html``: one file that opens with a double click, with no server, for whoever
  downloads the reports from CI.

Both group the scenarios by epic, feature and story, file failures under the suite's categories, show the
run's environment and executor, and carry the trend across runs: the runs so far are kept in
``reports/allure-report/history/history.jsonl`` (the last 20), and each build adds one. How the report is
made is in ``allurerc.mjs``. The command line runs on Node.js alone (20 or newer); without it, or without
the command line, it says so in one line and leaves the results and JUnit XML as they are: a missing
report tool never fails the run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from support.report.allure_results import ROOT, finish_results

ALLURE_CLI = ROOT / "node_modules" / ".bin" / "allure"
CONFIG = ROOT / "allurerc.mjs"
HISTORY = Path("history") / "history.jsonl"
# The plugins allurerc.mjs configures: each writes its copy of the report into a folder of its name.
SERVED, SINGLE_FILE = "awesome", "single-file"
NODE_NEEDED = 20
ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")
BUILD_FAILED = 3


def single_file_beside(report: Path) -> Path:
    """Where the single-file report goes: next to the report folder, named after it."""
    return report.parent / f"{report.name}.html"


def withdraw(report: Path, single_file: Path | None = None) -> None:
    """Take the last run's report away, keeping only its history (for the trend): called before a run, so
    a run that builds no report (nothing ran, no Node.js, a failed build) never leaves another run's report
    where this one's would be."""
    if report.is_dir():
        for entry in report.iterdir():
            if entry.name != HISTORY.parent.name:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (single_file or single_file_beside(report)).unlink(missing_ok=True)


def missing_tool(cli: Path = ALLURE_CLI) -> str | None:
    """Why the report cannot be built on this machine, or None if it can."""
    node = shutil.which("node")
    if node is None:
        return "Node.js is not installed"
    if not cli.exists():
        return "the Allure command line is not installed (bin/setup installs it with npm)"
    found = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    major = re.match(r"v(\d+)\.", found)
    if major is None or int(major.group(1)) < NODE_NEEDED:
        found = found or "of an unknown version"
        return f"Node.js {found} is too old for the Allure command line (it needs {NODE_NEEDED} or newer)"
    return None


def build(results: Path, report: Path, single_file: Path | None = None, cli: Path = ALLURE_CLI) -> int:
    """Build the served report folder and the single-file report; 0 when built or skipped."""
    if not results.is_dir():
        print(f"report: no Allure results in {results}, so no HTML report was built")
        return BUILD_FAILED
    finish_results(results)
    reason = missing_tool(cli)
    if reason is not None:
        print(f"report: {reason}, so no HTML report was built; the results are in {results}")
        return 0
    single_file = single_file or single_file_beside(report)
    report.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and moved in when done, so a failed build leaves the history as it was.
    with tempfile.TemporaryDirectory(prefix=f".{report.name}-", dir=report.parent) as scratch:
        built, history = Path(scratch) / "report", Path(scratch) / HISTORY.name
        if (report / HISTORY).is_file():
            shutil.copy2(report / HISTORY, history)
        failure = _generate(cli, results, built, history)
        if failure is not None:
            print(f"report: the Allure command line failed: {failure}")
            return BUILD_FAILED
        (built / SERVED / HISTORY).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(history, built / SERVED / HISTORY)
        shutil.rmtree(report, ignore_errors=True)
        shutil.move(built / SERVED, report)
        single_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(built / SINGLE_FILE / "index.html", single_file)
    return 0


def _generate(cli: Path, results: Path, output: Path, history: Path) -> str | None:
    """Run the command line; what went wrong, or None when both copies of the report were written."""
    command = [str(cli), "generate", "--config", str(CONFIG), "--output", str(output), str(results)]
    where = {"REPORT_RESULTS_DIR": str(results.resolve()), "REPORT_HISTORY_FILE": str(history.resolve())}
    finished = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **where}, capture_output=True, text=True, check=False
    )
    written = all((output / name / "index.html").is_file() for name in (SERVED, SINGLE_FILE))
    if finished.returncode == 0 and written and history.is_file():
        return None
    # Its last words, without colours or the stack trace under them.
    said = [ANSI_COLOURS.sub("", line).strip() for line in (finished.stderr + finished.stdout).splitlines()]
    said = [line for line in said if line and not line.startswith("at ")]
    return said[-1] if said else f"exit {finished.returncode}, no report written"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("reports/allure-results"))
    parser.add_argument("--report", type=Path, default=Path("reports/allure-report"))
    parser.add_argument("--single-file", type=Path, help="default: the report folder's name plus .html")
    arguments = parser.parse_args(argv)
    return build(arguments.results, arguments.report, arguments.single_file)


if __name__ == "__main__":
    sys.exit(main())
