"""The files the suite adds to Allure's results, and how a run's results become its exit code."""

from __future__ import annotations

import configparser
import json
import platform
from pathlib import Path

import pytest

from support.harness.problems import EnvironmentProblem
from support.harness.settings import Settings, read_ini_defaults
from support.report.allure_results import (
    ALLURE_FORMATTER,
    CATEGORIES,
    ENVIRONMENT_PROBLEMS,
    PRODUCT_DEFECTS,
    SUITE_DEFECTS,
    allure_id,
    allure_results_dir,
    category_of,
    clean_results,
    executor,
    finish_results,
    mend_results,
    plain_message,
    run_facts,
    write_environment,
    write_run_files,
)
from support.report.run_record import Problem, RunRecord, ScenarioRecord

ROOT = Path(__file__).resolve().parent.parent


def settings_report() -> dict[str, str]:
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "42"}).as_report()


def write_result(
    directory: Path, name: str, status: str, message: str | None = None, **extra: object
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {"uuid": name, "historyId": name, "name": name, "status": status, **extra}
    if message is not None:
        result["statusDetails"] = {"message": message, "trace": "Traceback ..."}
    path = directory / f"{name}-result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


# -- categories -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("failed", "Waited 5 s for the client to be ready, but it did not happen.", PRODUCT_DEFECTS),
        (
            "broken",
            "Environment problem: the mock services could not start: OSError: busy",
            ENVIRONMENT_PROBLEMS,
        ),
        ("broken", "The test suite itself hit an error (KeyError): 'channel'", SUITE_DEFECTS),
        ("broken", "multi\nline", SUITE_DEFECTS),
        ("passed", "", None),
        ("skipped", "", None),
    ],
)
def test_each_failure_falls_into_exactly_the_category_a_reader_expects(
    status: str, message: str, expected: object
) -> None:
    assert category_of(status, message) is expected


def test_categories_json_says_the_same_as_the_python_rules(tmp_path: Path) -> None:
    write_run_files(tmp_path, {"seed": "1"}, {})
    written = json.loads((tmp_path / "categories.json").read_text(encoding="utf-8"))
    assert [entry["name"] for entry in written] == [category.name for category in CATEGORIES]
    environment = written[0]
    assert environment["matchedStatuses"] == ["broken"]
    # Java's (?s) flag lets the pattern match messages that span lines, as Python's DOTALL does.
    assert environment["messageRegex"].startswith("(?s)Environment problem")
    assert all(entry["description"] for entry in written)


# -- plain-English messages -------------------------------------------------------------------------


def test_an_assertion_failure_is_shown_as_the_suite_worded_it() -> None:
    raw = "AssertionError: Waited 0.5 s for messages 1–25, but message 21 never arrived.\n"
    assert plain_message("failed", raw) == "Waited 0.5 s for messages 1–25, but message 21 never arrived."


def test_an_environment_problem_keeps_its_own_words_and_its_category() -> None:
    problem = EnvironmentProblem("the mock services could not start (gateway)", OSError(98, "Address in use"))
    raw = f"support.harness.problems.EnvironmentProblem: {problem}\n"
    message = plain_message("broken", raw)
    assert message.startswith("Environment problem: the mock services could not start (gateway): OSError")
    assert category_of("broken", message) is ENVIRONMENT_PROBLEMS


def test_a_suite_error_says_the_suite_failed_and_keeps_the_error_for_developers() -> None:
    message = plain_message("broken", "KeyError: 'channel'\n")
    assert message == "The test suite itself hit an error (KeyError): 'channel'"
    assert category_of("broken", message) is SUITE_DEFECTS


def test_rewriting_a_message_twice_changes_nothing_more() -> None:
    once = plain_message("broken", "ValueError: bad")
    assert plain_message("broken", once) == once
    assert plain_message("failed", plain_message("failed", "AssertionError: x: y")) == "x: y"


def test_a_bare_assertion_says_that_no_reason_was_given() -> None:
    assert plain_message("failed", "AssertionError\n") == "A check failed without saying why."


def test_finishing_the_results_rewrites_messages_and_humanises_tag_labels(tmp_path: Path) -> None:
    path = write_result(
        tmp_path,
        "a",
        "failed",
        "AssertionError: message 57 never arrived\n",
        labels=[
            {"name": "epic", "value": "Core_journeys"},
            {"name": "story", "value": "Lose_the_network"},
            {"name": "tag", "value": "journey.lose_network"},
        ],
    )
    result = json.loads(path.read_text(encoding="utf-8"))
    result["steps"] = [
        {"name": "Given ok", "status": "passed"},
        {"name": "Then late", "status": "failed", "statusDetails": {"message": "AssertionError: late\n"}},
    ]
    path.write_text(json.dumps(result), encoding="utf-8")
    finish_results(tmp_path)
    finish_results(tmp_path)
    result = json.loads(path.read_text(encoding="utf-8"))
    assert result["statusDetails"]["message"] == "message 57 never arrived"
    assert result["steps"][1]["statusDetails"]["message"] == "late"
    assert result["statusDetails"]["trace"] == "Traceback ..."
    labels = {label["name"]: label["value"] for label in result["labels"]}
    assert labels == {"epic": "Core journeys", "story": "Lose the network", "tag": "journey.lose_network"}


def test_finishing_skips_a_result_cut_short_by_an_interrupt(tmp_path: Path) -> None:
    (tmp_path / "cut-result.json").write_text('{"name": "half', encoding="utf-8")
    good = write_result(tmp_path, "b", "failed", "AssertionError: late")
    finish_results(tmp_path)
    assert (tmp_path / "cut-result.json").read_text(encoding="utf-8") == '{"name": "half'
    assert json.loads(good.read_text(encoding="utf-8"))["statusDetails"]["message"] == "late"


# -- run-level files --------------------------------------------------------------------------------


def test_the_environment_names_the_target_versions_time_scale_and_seed(tmp_path: Path) -> None:
    facts = run_facts(settings_report(), "reference client 0.1.0 (embedded, Python)")
    write_environment(tmp_path, facts)
    written = (tmp_path / "environment.properties").read_text(encoding="utf-8").splitlines()
    assert written[0] == "target=reference client 0.1.0 (embedded, Python)"
    assert "seed=42" in written
    assert any(line.startswith("services=embedded mock services 0.1.0") for line in written)
    assert any(line.startswith("time\\ scale=heartbeat every 100 ms") for line in written)
    assert any(line.startswith("library.websockets=") for line in written)
    assert "setting.retry_limit=20" in written


def test_environment_properties_escape_what_a_properties_reader_would_misread(tmp_path: Path) -> None:
    write_environment(
        tmp_path,
        {"#comment": "x", "key with space": " leading", "a=b": "two\nlines\r", "path": "C:\\suite"},
    )
    assert (tmp_path / "environment.properties").read_text(encoding="utf-8").splitlines() == [
        "\\#comment=x",
        "key\\ with\\ space=\\ leading",
        "a\\=b=two\\nlines\\r",
        "path=C:\\\\suite",
    ]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, {"name": "local", "type": "local", "buildName": "local run"}),
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_RUN_NUMBER": "17",
                "GITHUB_RUN_ID": "999",
                "GITHUB_REPOSITORY": "team/suite",
                "GITHUB_SERVER_URL": "https://github.com",
            },
            {
                "name": "GitHub Actions",
                "type": "github",
                "buildName": "GitHub Actions build 17",
                "buildOrder": 17,
                "buildUrl": "https://github.com/team/suite/actions/runs/999",
            },
        ),
        (
            {"GITLAB_CI": "true", "CI_PIPELINE_IID": "5", "CI_PIPELINE_URL": "https://gitlab.example/p/5"},
            {
                "name": "GitLab CI",
                "type": "gitlab",
                "buildName": "GitLab CI build 5",
                "buildOrder": 5,
                "buildUrl": "https://gitlab.example/p/5",
            },
        ),
        ({"CI": "true"}, {"name": "CI", "type": "ci", "buildName": "CI build ?"}),
    ],
)
def test_the_executor_names_the_ci_build_or_says_local(
    environ: dict[str, str], expected: dict[str, object]
) -> None:
    assert executor(environ) == expected


def test_mending_adds_a_result_for_each_problem_outside_any_scenario_and_each_unseen_scenario(
    tmp_path: Path,
) -> None:
    record = RunRecord(
        stage="finished", problems=[Problem("after_all", "Environment problem: no ports left")]
    )
    seen = ScenarioRecord("features/a.feature :: Seen", "A", "Seen", "features/a.feature:3", "passed")
    unseen = ScenarioRecord(
        "features/a.feature :: Unseen", "A", "Unseen", "features/a.feature:7", "skipped", "Not run: stopped"
    )
    record.scenarios = [seen, unseen]
    write_result(tmp_path, "Seen", "passed", historyId=allure_id(seen.identity))
    mend_results(tmp_path, record)
    results = {r["name"]: r for r in (json.loads(p.read_text()) for p in tmp_path.glob("*-result.json"))}
    assert sorted(results) == ["Seen", "The run itself: after_all", "Unseen"]
    problem = results["The run itself: after_all"]
    assert problem["status"] == "broken"
    assert category_of("broken", problem["statusDetails"]["message"]) is ENVIRONMENT_PROBLEMS
    assert (results["Unseen"]["status"], results["Unseen"]["statusDetails"]["message"]) == (
        "skipped",
        "Not run: stopped",
    )


# -- where results go, and the environment file ----------------------------------------------------


def test_allure_results_dir_is_the_outfile_configured_in_behave_ini() -> None:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "behave.ini")
    formats = parser.get("behave", "format").split()
    outfiles = parser.get("behave", "outfiles").split()
    assert allure_results_dir(formats, outfiles) == Path("reports/allure-results")


def test_allure_results_dir_follows_the_formatters_position() -> None:
    assert allure_results_dir([ALLURE_FORMATTER, "pretty"], ["out/allure", "-"]) == Path("out/allure")
    assert allure_results_dir(["pretty", "progress", ALLURE_FORMATTER], ["-", "-", "a"]) == Path("a")


def test_allure_results_dir_is_none_without_the_formatter_or_its_outfile() -> None:
    assert allure_results_dir(["pretty"], ["-"]) is None
    assert allure_results_dir([], []) is None
    assert allure_results_dir(["pretty", ALLURE_FORMATTER], ["-"]) is None


def test_clean_results_empties_the_directory(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "old-result.json").write_text("{}", encoding="utf-8")
    clean_results(results)
    assert results.is_dir() and not any(results.iterdir())
    fresh = tmp_path / "new" / "results"
    clean_results(fresh)
    assert fresh.is_dir()


def test_write_environment_escapes_and_writes_properties(tmp_path: Path) -> None:
    results = tmp_path / "allure-results"
    write_environment(
        results,
        {
            "python": "3.11.9",
            "setting.seed": "42",
            "url": "ws://127.0.0.1:8080/a=b",
            "path": "C:\\suite",
            "note": "two\nlines",
        },
    )
    written = (results / "environment.properties").read_text(encoding="utf-8")
    assert written.splitlines() == [
        "python=3.11.9",
        "setting.seed=42",
        "url=ws://127.0.0.1:8080/a=b",
        "path=C:\\\\suite",
        "note=two\\nlines",
    ]
    assert written.endswith("\n")


def test_write_environment_output_reads_back_as_java_properties(tmp_path: Path) -> None:
    facts = {"key:with=odd": "value\\with:odd=chars\nand a break", "#key with spaces": " leading"}
    write_environment(tmp_path, facts)
    lines = (tmp_path / "environment.properties").read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert len(lines) == len(facts)
    read_back = dict(_split_property(line) for line in lines)
    assert {_unescape(key): _unescape(value) for key, value in read_back.items()} == facts


def test_run_facts_lists_the_target_python_and_every_setting() -> None:
    facts = run_facts(settings_report(), "the target")
    assert list(facts)[:3] == ["target", "services", "seed"]
    assert facts["target"] == "the target"
    assert facts["python"] == platform.python_version()
    assert facts["setting.client"] == "reference"
    assert len([name for name in facts if name.startswith("setting.")]) == len(Settings.names())


def _split_property(line: str) -> tuple[str, str]:
    escaped = False
    for index, character in enumerate(line):
        if escaped:
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == "=":
            return line[:index], line[index + 1 :]
    raise AssertionError(f"no separator in {line!r}")


def _unescape(text: str) -> str:
    out, escaped = [], False
    for character in text:
        if escaped:
            out.append("\n" if character == "n" else character)
            escaped = False
        elif character == "\\":
            escaped = True
        else:
            out.append(character)
    return "".join(out)
