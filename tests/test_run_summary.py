"""The closing lines and exit code, read from the run record: one line of counts, then what went wrong."""

from __future__ import annotations

import re
from pathlib import Path

from support.report.run_record import Problem, RunRecord, ScenarioRecord
from support.report.run_summary import (
    ENVIRONMENT_FAILED,
    FAILED_SOME,
    INTERRUPTED,
    PASSED_ALL,
    REFUSED,
    summarize,
)


def scenario(name: str, status: str = "passed", message: str = "") -> ScenarioRecord:
    return ScenarioRecord(f"features/a.feature :: {name}", "A", name, "features/a.feature:3", status, message)


def finished(*scenarios: ScenarioRecord, **facts: object) -> RunRecord:
    return RunRecord(stage="finished", scenarios=list(scenarios), seed="42", **facts)  # type: ignore[arg-type]


def test_all_passed_exits_0_with_the_counts_and_what_was_deselected() -> None:
    closing = summarize(finished(scenario("a"), scenario("b"), deselected=3), 0)
    assert (closing.lines, closing.status) == (["acceptance: 2 passed, 0 failed (3 deselected)"], PASSED_ALL)


def test_a_product_defect_exits_1_names_it_and_says_how_to_run_it_again() -> None:
    closing = summarize(finished(scenario("ok"), scenario("late", "failed", "message 57 never arrived")), 1)
    assert closing.status == FAILED_SOME
    assert closing.lines == [
        "acceptance: 1 passed, 1 failed",
        "  Product defects: late — message 57 never arrived",
        "Run just the scenarios that did not pass again, the same way: "
        "bin/acceptance @reports/rerun.txt -D seed=42",
    ]


def test_a_step_written_wrong_has_its_own_category_and_says_so_once() -> None:
    said = 'The scenario is written wrong: no step reads "When the moon turns blue".'
    closing = summarize(finished(scenario("moon", "broken", said)), 1)
    assert closing.lines[1] == '  Scenarios written wrong: moon — no step reads "When the moon turns blue".'


def test_an_unnamed_examples_rows_name_has_one_space_before_the_dash() -> None:
    said = 'The scenario is written wrong: no step reads "Given the moon turns 1".'
    closing = summarize(finished(scenario("Row 1 -- @1.1 ", "broken", said)), 1)
    assert closing.lines[1] == (
        '  Scenarios written wrong: Row 1 -- @1.1 — no step reads "Given the moon turns 1".'
    )


def test_a_long_written_wrong_line_is_cut_at_a_word() -> None:
    said = 'The scenario is written wrong: no step reads "When the network suffers a blip". The nearest: ' + (
        "; ".join(f'"When the network suffers fault number {n}"' for n in range(20))
    )
    line = summarize(finished(scenario("A fault worded wrong", "broken", said)), 1).lines[1]
    assert line.startswith('  Scenarios written wrong: A fault worded wrong — no step reads "When')
    assert line.endswith(" …") and len(line) <= 300 + len(" …"), line
    assert said.split("The scenario is written wrong: ")[1].startswith(line.split(" — ", 1)[1][:-2])


def test_a_scenario_the_environment_broke_exits_3() -> None:
    closing = summarize(finished(scenario("a", "broken", "Environment problem: no ports left")), 1)
    assert closing.status == ENVIRONMENT_FAILED
    assert "the ENVIRONMENT failed, not the product" in closing.lines[-1]


def test_an_error_after_every_scenario_passed_still_fails_the_run() -> None:
    closing = summarize(finished(scenario("a"), problems=[Problem("after_all", "left a thread running")]), 1)
    assert closing.status == FAILED_SOME
    assert closing.lines == [
        "acceptance: 1 passed, 0 failed",
        "  The run itself: after_all — left a thread running",
    ]


def test_an_interrupted_run_exits_130_and_counts_what_did_not_run() -> None:
    record = finished(scenario("a"), scenario("b", "skipped", "Not run: the run was interrupted (Ctrl-C)"))
    record.interrupted = True
    closing = summarize(record, 1)
    assert closing.status == INTERRUPTED
    assert closing.lines[0] == "acceptance: 1 passed, 0 failed, 1 not run"
    assert "  Not run: the run was interrupted (Ctrl-C)" in closing.lines
    assert "INTERRUPTED" in closing.lines[-1]


def test_a_bad_setting_is_a_refusal_in_one_line() -> None:
    problem = Problem(
        "before_all", "Setting 'retry_limit' must be a whole number, got 'lots'", "SettingsError"
    )
    closing = summarize(finished(scenario("a", "skipped", "Not run: …"), problems=[problem]), 1)
    assert closing.status == REFUSED
    assert closing.lines == [f"acceptance: no scenario ran — a setting is wrong: {problem.message}"]


def test_no_record_means_behave_refused_its_arguments_and_says_why() -> None:
    closing = summarize(None, 2, "unrecognized arguments: --no-such-option")
    assert closing.status == REFUSED
    assert closing.lines == [
        "acceptance: no scenario ran — behave refused to start: unrecognized arguments: --no-such-option"
    ]


def test_nothing_selected_is_not_a_pass() -> None:
    closing = summarize(finished(deselected=4), 0)
    assert closing.status == REFUSED
    assert closing.lines == ["acceptance: no scenario ran — none matched the selection (4 deselected)"]


def test_a_run_that_never_finished_is_not_a_pass() -> None:
    closing = summarize(RunRecord(stage="started"), -9)
    assert closing.status != PASSED_ALL
    assert closing.lines[0].startswith("acceptance: the run did not finish")


def test_ctrl_c_before_behave_ran_any_scenario_is_an_interruption_not_a_crash() -> None:
    closing = summarize(RunRecord(stage="started"), -2, interrupted=True)
    assert closing.status == INTERRUPTED
    assert closing.lines == ["acceptance: INTERRUPTED (Ctrl-C) while behave was starting; no scenario ran."]


def test_a_long_message_is_cut_at_a_word_and_says_so() -> None:
    long = "The scenario is written wrong: unknown fault. Known: " + "; ".join(
        f'"fault {n}"' for n in range(80)
    )
    line = summarize(finished(scenario("a", "broken", long)), 1).lines[1]
    assert line.endswith(" …") and len(line) < 360
    assert line.removesuffix(" …").endswith('"') or line.removesuffix(" …")[-1].isalnum()


def test_the_ci_guides_exit_code_table_lists_every_code_the_summary_gives() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "ci.md").read_text(encoding="utf-8")
    table = guide.split("## Exit codes", 1)[1].split("\n\n")[1]
    row = re.compile(r"^\| (?P<code>\w+) \|(?P<rest>.*)$", re.MULTILINE)
    rows = {found["code"]: found["rest"] for found in row.finditer(table)}
    codes = {PASSED_ALL, FAILED_SOME, REFUSED, ENVIRONMENT_FAILED, INTERRUPTED}
    assert set(rows) - {"Code", "other"} == {str(code) for code in codes}
    assert "Scenarios written wrong" in rows[str(FAILED_SOME)]
    assert "acceptance: no scenario ran — " in rows[str(REFUSED)]
