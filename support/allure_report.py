"""Builds the HTML report from the Allure results with the pinned Allure command line (from npm).

python -m support.allure_report [--results reports/allure-results] [--report reports/allure-report]

The previous report's history is carried into the new one, so the trend charts show pass rates across
runs. Without Node.js (or the Java runtime the Allure 2 command line needs) it says so in one line and
leaves the results and JUnit XML as they are: a missing report tool never fails the run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from support.allure_results import ROOT, finish_results

ALLURE_CLI = ROOT / "node_modules" / ".bin" / "allure"
BUILD_FAILED = 3


def carry_history(results: Path, report: Path) -> bool:
    """Copy the last report's history into the results, where Allure looks for it."""
    previous = report / "history"
    if not previous.is_dir():
        return False
    shutil.copytree(previous, results / "history", dirs_exist_ok=True)
    return True


def missing_tool(cli: Path = ALLURE_CLI) -> str | None:
    """Why the report cannot be built on this machine, or None if it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not cli.exists():
        return "the Allure command line is not installed (bin/setup installs it with npm)"
    if shutil.which("java") is None:
        return "Java is not installed (the Allure 2 command line runs on it)"
    return None


def build(results: Path, report: Path, cli: Path = ALLURE_CLI) -> int:
    if not results.is_dir():
        print(f"report: no Allure results in {results}, so no HTML report was built")
        return BUILD_FAILED
    finish_results(results)
    reason = missing_tool(cli)
    if reason is not None:
        print(f"report: {reason}, so no HTML report was built; the results are in {results}")
        return 0
    carry_history(results, report)
    command = [str(cli), "generate", "--clean", str(results), "-o", str(report)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0 or not (report / "index.html").exists():
        said = (finished.stderr or finished.stdout).strip().splitlines()
        print(
            f"report: the Allure command line failed: {said[-1] if said else f'exit {finished.returncode}'}"
        )
        return BUILD_FAILED
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("reports/allure-results"))
    parser.add_argument("--report", type=Path, default=Path("reports/allure-report"))
    arguments = parser.parse_args(argv)
    return build(arguments.results, arguments.report)


if __name__ == "__main__":
    sys.exit(main())
