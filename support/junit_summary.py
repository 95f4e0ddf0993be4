"""Prints one closing line for a run from its JUnit XML: ``acceptance: N passed, N failed[, N skipped]``.

python -m support.junit_summary reports/junit
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path


def summarize(directory: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) over every test suite in the directory; errors count as failures."""
    passed = failed = skipped = 0
    for path in sorted(directory.glob("*.xml")):
        for suite in ElementTree.parse(path).getroot().iter("testsuite"):
            tests = int(suite.get("tests", 0))
            broken = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            untested = int(suite.get("skipped", 0))
            failed += broken
            skipped += untested
            passed += tests - broken - untested
    return passed, failed, skipped


def main(argv: list[str]) -> int:
    directory = Path(argv[1] if len(argv) > 1 else "reports/junit")
    if not directory.is_dir():
        print(f"acceptance: no JUnit results in {directory}")
        return 1
    passed, failed, skipped = summarize(directory)
    print(f"acceptance: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
