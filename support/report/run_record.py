"""The run record: how one behave run ended, scenario by scenario, as behave itself saw it.

behave runs the suite with :class:`RecordingRunner` (``runner =`` in behave.ini). It writes
``reports/run.json`` when the run starts and again when it ends, with:

- ``stage``: ``started`` (behave read its arguments and began), ``finished``, or ``refused`` (a feature
  file could not be parsed, a path names no feature file, or another reason behave gave up before running
  anything);
- ``problems``: errors outside any scenario: the ``before_all``/``after_all`` hooks, a ``before_feature``
  or ``after_feature`` hook, a feature file that could not be read; each ``{"where", "message", "kind"}``;
- ``interrupted``: the run was stopped by Ctrl-C (or another abort);
- ``scenarios``: every scenario selected to run, in run order, with its
  :class:`support.report.verdict.Verdict`
  and a stable identity (feature file, rule, scenario, example row);
- ``deselected``: how many scenarios ``--tags`` or ``--name`` left out.

The closing lines and the exit code (``support.report.run_summary``) are
read from this record, and the JUnit and
Allure views are mended from the same verdicts, so every view tells the same story. The runner also
puts behave's JUnit reporter aside for the suite's own (:mod:`support.report.junit_reporter`), which does not
count a scenario that never ran as a pass.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from behave.exception import InvalidFilenameError
from behave.model import ScenarioOutline
from behave.model_type import Status
from behave.parser import ParserError
from behave.reporter.junit import JUnitReporter as BehaveJUnitReporter
from behave.runner import Runner

from support.harness.written_wrong import WRITTEN_WRONG
from support.report.allure_results import (
    WRITTEN_WRONG_SCENARIOS,
    allure_results_dir,
    category_of,
    mend_results,
    plain_message,
)
from support.report.verdict import (
    PASSED,
    Verdict,
    deselected,
    not_run_reason,
    scenario_identities,
    verdict,
)

RUN_RECORD = Path("reports") / "run.json"
RERUN = Path("reports") / "rerun.txt"
RUN_HOOKS = ("before_all", "after_all")
FEATURE_HOOKS = ("before_feature", "after_feature")


@dataclass(frozen=True)
class Problem:
    """An error outside any scenario. ``where``: ``before_all``, ``after_all``, ``before_feature`` …,
    ``parsing`` (a feature file is not Gherkin) or ``feature files`` (a path names none); ``message``: plain
    words; ``kind``: the exception's class name."""

    where: str
    message: str
    kind: str = ""


@dataclass(frozen=True)
class ScenarioRecord:
    """One scenario's end. ``identity``: feature file, rule, name and example row, unique in the run."""

    identity: str
    feature: str
    name: str
    location: str
    status: str
    message: str = ""


@dataclass
class RunRecord:
    stage: str = "started"
    problems: list[Problem] = field(default_factory=list)
    interrupted: bool = False
    scenarios: list[ScenarioRecord] = field(default_factory=list)
    deselected: int = 0
    seed: str | None = None

    def write(self, path: Path = RUN_RECORD) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(partial, path)  # a reader never sees half a record, even after an interrupt

    @classmethod
    def read(cls, path: Path = RUN_RECORD) -> RunRecord | None:
        """The record at ``path``, or None when behave never got as far as writing one."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(
            stage=raw.get("stage", "started"),
            problems=[Problem(**problem) for problem in raw.get("problems", [])],
            interrupted=bool(raw.get("interrupted")),
            scenarios=[ScenarioRecord(**scenario) for scenario in raw.get("scenarios", [])],
            deselected=int(raw.get("deselected", 0)),
            seed=raw.get("seed"),
        )


def _untested_outline_is_untested() -> None:
    """Mend behave 1.3.3, whose ScenarioOutline counts as passed when none of its rows ran (its
    ``compute_status`` treats "untested" rows, and rows not yet built, as passes), so a feature that never
    ran was summed up as passed, or as failed when a plain scenario followed the Outline. An Outline none of
    whose rows ran is untested here, as its rows are."""
    original = ScenarioOutline.compute_status

    def compute_status(outline: ScenarioOutline) -> Status:
        rows = [row.status for row in outline._scenarios]  # built only when the Outline runs
        if all(status == Status.untested for status in rows):
            return Status.untested
        return original(outline)

    ScenarioOutline.compute_status = compute_status  # type: ignore[method-assign]


_untested_outline_is_untested()


class RecordingRunner(Runner):
    """behave's runner, writing the run record and recording every hook error with its message."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.record = RunRecord()
        from support.report.junit_reporter import (
            JUnitReporter,  # a reporter of the suite's own, see its docstring
        )

        config.reporters = [
            JUnitReporter(config, self.record) if isinstance(reporter, BehaveJUnitReporter) else reporter
            for reporter in config.reporters
            if not (config.dry_run and isinstance(reporter, BehaveJUnitReporter))  # a dry run writes no JUnit
        ]
        for reporter in config.reporters:
            if isinstance(reporter, JUnitReporter):
                reporter.why_not_run = self.why_not_run

    # -- hooks -----------------------------------------------------------------------------------------

    def load_hooks(self, filename: str | None = None) -> None:
        super().load_hooks(filename)
        for name, hook in list(self.hooks.items()):
            if name in RUN_HOOKS or name in FEATURE_HOOKS:
                self.hooks[name] = self._recorded(name, hook)

    def _recorded(self, name: str, hook: Callable[..., Any]) -> Callable[..., Any]:
        def run(context: Any, *args: Any) -> Any:
            try:
                return hook(context, *args)
            except Exception as error:
                where = name if not args else f"{name} of {getattr(args[0], 'filename', args[0])}"
                self.record.problems.append(Problem(where, _plain(error), type(error).__name__))
                raise

        run.__name__ = name
        return run

    # -- the run ---------------------------------------------------------------------------------------

    @property
    def writes_outputs(self) -> bool:
        """False for a dry run (``--dry-run``), which only checks that every step is defined: it leaves the
        last run's record, rerun file, Allure results and JUnit as they were."""
        return not self.config.dry_run

    def run_with_paths(self) -> bool:
        self.record.seed = _seed_from(self.config)
        self._write_record()
        try:
            return bool(super().run_with_paths())
        except ParserError as error:
            self._refuse("parsing", f"a feature file could not be read: {error}")
            raise

    def feature_locations(self) -> list[Any]:
        """behave's feature files to run; a path naming no file or folder of features is a refusal."""
        try:
            return list(super().feature_locations())
        except FileNotFoundError as error:
            self._refuse("feature files", f"a feature cannot be read: {error} does not exist", error)
            raise
        except InvalidFilenameError as error:
            said = f"a feature cannot be read: {error} is neither a .feature file nor a folder"
            self._refuse("feature files", said, error)
            raise

    def _refuse(self, where: str, message: str, error: BaseException | None = None) -> None:
        self.record.stage = "refused"
        self.record.problems.append(Problem(where, message, type(error).__name__ if error else ""))
        self._write_record()

    def _write_record(self) -> None:
        if self.writes_outputs:
            self.record.write()

    def run_model(self, features: Any = None) -> bool:
        failed = True
        try:
            failed = bool(super().run_model(features))
        finally:
            self._finish(features if features is not None else self.features)
        return failed

    def _finish(self, features: list[Any]) -> None:
        record = self.record
        record.interrupted = bool(self.aborted) and not self._set_up_failed()
        record.scenarios, record.deselected = [], 0
        for feature in features:
            identities = scenario_identities(feature)
            for scenario in feature.walk_scenarios():
                if deselected(scenario, self.config):
                    record.deselected += 1
                    continue
                ruling = verdict(scenario, self.why_not_run(scenario))
                record.scenarios.append(_scenario_record(scenario, identities[id(scenario)][0], ruling))
        record.stage = "finished"
        record.seed = _seed_from(self.config)  # before_all puts the seed it chose in userdata
        if not self.writes_outputs:
            say_written_wrong(record)
            return
        record.write()
        write_rerun(record)
        results = allure_results_dir(self.config.format or [], self.config.outfiles or [])
        if results is not None:
            mend_results(results, record)

    def _set_up_failed(self) -> bool:
        return any(problem.where == "before_all" for problem in self.record.problems)

    def why_not_run(self, scenario: Any) -> str:
        """Why a selected scenario never ran, in a few words after "Not run: "."""
        if self._set_up_failed():
            said = next(p.message for p in self.record.problems if p.where == "before_all")
            return f"the run's set-up failed: {said}"
        return not_run_reason(
            scenario,
            interrupted=bool(self.aborted),
            stopped_at_failure=bool(self.config.stop),
            dry_run=bool(self.config.dry_run),
        )


def say_written_wrong(record: RunRecord) -> None:
    """Print each scenario written wrong (an undefined step, with the nearest known phrasings) and why: a
    dry run writes no record or report, so its console is where that is said."""
    wrong = [s for s in record.scenarios if category_of(s.status, s.message) is WRITTEN_WRONG_SCENARIOS]
    if wrong:
        print(f"\n{WRITTEN_WRONG_SCENARIOS.name}:")
    for scenario in wrong:
        said = scenario.message.removeprefix(WRITTEN_WRONG)  # the heading says it
        print(f"  {scenario.location} {scenario.name.strip()} — {said}")


def write_rerun(record: RunRecord, path: Path = RERUN) -> None:
    """The scenarios to run again (failed, broken or not run), as behave's rerun file: one location a
    line, ``behave @reports/rerun.txt`` runs them. No file when there are none."""
    again = [scenario.location for scenario in record.scenarios if scenario.status != PASSED]
    if not again:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# -- RERUN: {len(again)} scenario(s) that did not pass.\n"
    path.write_text(header + "\n".join(again) + "\n", encoding="utf-8")


def _scenario_record(scenario: Any, identity: str, ruling: Verdict) -> ScenarioRecord:
    status = str(ruling.status)
    return ScenarioRecord(
        identity=identity,
        feature=str(scenario.feature.name),
        name=str(scenario.name),
        location=f"{Path(scenario.filename).as_posix()}:{scenario.line}",
        status=status,
        message=plain_message(status, ruling.message or ""),
    )


def _plain(error: BaseException) -> str:
    text = str(error).strip()
    return text or type(error).__name__


def _seed_from(config: Any) -> str | None:
    userdata = getattr(config, "userdata", None) or {}
    seed = userdata.get("seed") if hasattr(userdata, "get") else None
    return str(seed) if seed is not None and str(seed).isdigit() else None  # "random" is not a seed yet
