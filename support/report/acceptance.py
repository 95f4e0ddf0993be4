"""The acceptance command: one run of the suite, its outputs, its report and its closing lines.

    python -m support.report.acceptance [behave arguments…]      (bin/acceptance runs this after setting up)

1. Clears this run's outputs before anything can fail: Allure results, JUnit XML, the rerun file, the
   run record and the last HTML report (its history for the trend charts is kept).
2. Runs behave in a process of its own and shows its console as it goes.
3. Builds the HTML report, unless the run was refused (nothing ran: there is nothing to report).
4. Prints where everything is and the closing lines, read from the run record, and exits with the run's
   code (see ``support.report.run_summary``).

Ctrl-C is passed on to behave once, which stops within seconds and closes what it started; the results
written so far stay valid and the closing lines say the run was interrupted. A second Ctrl-C is passed on
again; a third stops behave outright.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from behave.configuration import Configuration

from support.report import allure_report
from support.report.allure_results import allure_results_dir, clean_results
from support.report.run_record import RERUN, RUN_RECORD, RunRecord
from support.report.run_summary import INTERRUPTED, REFUSED, Closing, summarize

BEHAVE = [sys.executable, "-m", "behave"]
REPORT = Path("reports/allure-report")
# behave 1.3 prints this before every run; it tells a reader nothing.
NOISE = re.compile(r"^USING RUNNER: ")
# How behave says it refused to start: argparse's "prog: error: …", its own config and parse errors.
REFUSAL = re.compile(r"^(?:\S+: error: )?(?P<said>(?:\w*Error: |BAD_|CONFIG-ERROR).*|(?<=error: ).*)$")
# After a failed before_all, behave also says "ABORTED: By user.", which no user did.
FALSE_ABORT = "ABORTED: By user."
KILL_AFTER_INTERRUPTS = 3
INTERRUPTED_EARLY = "acceptance: interrupted (Ctrl-C) before behave started; no scenario ran."
INTERRUPTED_REPORT = "acceptance: the report was INTERRUPTED (Ctrl-C); the results and JUnit above are whole."


def outputs() -> tuple[Path, Path]:
    """Where behave.ini sends the Allure results and the JUnit XML, as behave itself reads it."""
    config = Configuration(command_args=[])
    results = allure_results_dir(config.format or [], config.outfiles or [])
    return results or Path("reports/allure-results"), Path(config.junit_directory)


def clear_outputs(results: Path, junit: Path) -> None:
    """This run's outputs start empty, so nothing in them can come from another run; the HTML report
    keeps only its history for the trend."""
    clean_results(results)
    clean_results(junit)
    allure_report.withdraw(REPORT)
    for path in (RERUN, RUN_RECORD):
        path.unlink(missing_ok=True)


class Interrupts:
    """Ctrl-C while behave runs: passed on to behave (in a process group of its own) rather than obeyed."""

    def __init__(self) -> None:
        self.count = 0
        self.process: subprocess.Popen[str] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.process is None or self.process.poll() is not None:
            raise KeyboardInterrupt  # behave is not running: the command itself stops where it is
        if self.count >= KILL_AFTER_INTERRUPTS:
            self.process.kill()
        else:
            self.process.send_signal(signal.SIGINT)


def run_behave(arguments: Sequence[str], interrupts: Interrupts) -> tuple[int, str]:
    """Run behave, echoing its console; its exit status and the last thing it said about refusing."""
    process = subprocess.Popen(
        [*BEHAVE, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # Ctrl-C reaches behave through Interrupts, once
    )
    interrupts.process = process
    refusals: deque[str] = deque(maxlen=1)
    set_up_failed = False
    assert process.stdout is not None
    for line in process.stdout:
        if NOISE.match(line) or (set_up_failed and line.strip() == FALSE_ABORT):
            continue
        set_up_failed = set_up_failed or line.startswith("ABORTED: HOOK-ERROR in hook=before_all")
        refused = REFUSAL.match(line.strip())
        if refused:
            refusals.append(refused["said"])
        sys.stdout.write(line)
        sys.stdout.flush()
    return process.wait(), (refusals[-1] if refusals else "")


def build_report(results: Path) -> int:
    """Build the HTML report (support.report.allure_report); its status when the build itself failed."""
    return allure_report.build(results, REPORT)


def expand_scenario_files(arguments: Sequence[str]) -> list[str]:
    """``@reports/rerun.txt`` (behave's file of scenarios to run) as the locations it lists, read before the
    run clears its outputs, the rerun file among them. A missing file is a ``ValueError`` naming it."""
    expanded: list[str] = []
    for argument in arguments:
        if not argument.startswith("@"):
            expanded.append(argument)
            continue
        path = Path(argument[1:])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            raise ValueError(f"the file of scenarios to run, {path}, cannot be read") from None
        locations = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not locations:
            raise ValueError(f"the file of scenarios to run, {path}, lists none")
        expanded += locations
    return expanded


def main(argv: Sequence[str] | None = None) -> int:
    interrupts = Interrupts()
    previous = signal.signal(signal.SIGINT, interrupts)
    try:
        return _run(list(sys.argv[1:] if argv is None else argv), interrupts)
    finally:
        signal.signal(signal.SIGINT, previous)


def _run(arguments: list[str], interrupts: Interrupts) -> int:
    try:
        arguments = expand_scenario_files(arguments)
    except ValueError as error:
        print(f"acceptance: no scenario ran — {error}")
        return REFUSED
    try:
        results, junit = outputs()
        clear_outputs(results, junit)
    except KeyboardInterrupt:
        print(INTERRUPTED_EARLY)
        return INTERRUPTED
    behave_status, behave_said = run_behave(arguments, interrupts)
    record = RunRecord.read()
    closing = summarize(record, behave_status, behave_said, interrupted=interrupts.count > 0)
    print()
    report_status = 0
    if record is not None and record.stage == "finished" and closing.status != REFUSED:
        try:
            report_status = build_report(results)
        except KeyboardInterrupt:
            print("report: interrupted (Ctrl-C) while it was being built, so there is no HTML report")
            closing = Closing([*closing.lines, INTERRUPTED_REPORT], INTERRUPTED)
        print(f"Allure results: {results}")
        if Path("reports/allure-report/index.html").exists():
            print("HTML report:    reports/allure-report/index.html")
        if Path("reports/allure-report.html").exists():
            print("One-file copy:  reports/allure-report.html (opens with a double click)")
        print(f"JUnit XML:      {junit}")
    else:
        print("No report: no scenario ran, so there is nothing to report.")
    print("\n".join(closing.lines))
    if closing.status == 0 and report_status != 0:
        return report_status
    return closing.status


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # before main() could take Ctrl-C over
        print(INTERRUPTED_EARLY)
        sys.exit(INTERRUPTED)
