"""The acceptance run's closing lines and exit code, read from its Allure results.

python -m support.run_summary --behave-status N [--results reports/allure-results] [--rerun reports/rerun.txt]

Exit codes (the CI acceptance stage relies on them):

- 0: every scenario that ran passed;
- 1: a scenario failed — a product defect or a defect in the suite itself;
- 3: the environment failed, not the product (services could not start, set-up timed out);
- otherwise behave's own status, when it stopped without any failed scenario to show for it
  (a bad setting or argument, for example: behave has already said why).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from support.allure_results import ENVIRONMENT_PROBLEMS, Outcome, outcomes

FAILED, ENVIRONMENT_FAILED = 1, 3
SHOWN_FAILURES = 10


def summarize(
    results: list[Outcome], behave_status: int, seed: str | None, rerun: Path
) -> tuple[list[str], int]:
    """The lines to print and the exit code."""
    statuses = Counter(outcome.status for outcome in results)
    failures = [outcome for outcome in results if outcome.status in ("failed", "broken")]
    counts = f"acceptance: {statuses['passed']} passed, {len(failures)} failed"
    if statuses["skipped"]:
        counts += f", {statuses['skipped']} skipped"
    lines = [counts]
    for outcome in failures[:SHOWN_FAILURES]:
        category = outcome.category.name if outcome.category else "Unsorted"
        lines.append(f"  {category}: {outcome.scenario} — {outcome.message.splitlines()[0][:300]}")
    if len(failures) > SHOWN_FAILURES:
        lines.append(f"  … and {len(failures) - SHOWN_FAILURES} more: see the report")
    if failures and rerun.exists():
        again = f"bin/acceptance @{rerun}" + (f" -D seed={seed}" if seed else "")
        lines.append(f"Run just the failed scenarios again, the same way: {again}")
    if any(outcome.category is ENVIRONMENT_PROBLEMS for outcome in failures):
        lines.append(
            "acceptance: the ENVIRONMENT failed, not the product: the scenarios above could not be tried. "
            "Fix the machine or run again."
        )
        return lines, ENVIRONMENT_FAILED
    if failures:
        return lines, FAILED
    if behave_status != 0:
        lines.append(f"acceptance: behave stopped with status {behave_status} (its output above says why)")
        return lines, behave_status
    return lines, 0


def recorded_seed(results: Path) -> str | None:
    """The run's seed, from the environment.properties the suite wrote."""
    properties = results / "environment.properties"
    if not properties.exists():
        return None
    for line in properties.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key == "seed":
            return value
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--behave-status", type=int, required=True)
    parser.add_argument("--results", type=Path, default=Path("reports/allure-results"))
    parser.add_argument("--rerun", type=Path, default=Path("reports/rerun.txt"))
    arguments = parser.parse_args(argv)
    lines, status = summarize(
        outcomes(arguments.results),
        arguments.behave_status,
        recorded_seed(arguments.results),
        arguments.rerun,
    )
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
