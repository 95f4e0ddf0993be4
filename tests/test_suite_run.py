"""The suite as people run it: behave in a separate process, on a scratch copy of the project so the
real reports/ folder is never touched."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.scratch import BEHAVE, run_behave


def attachments(project: Path) -> Iterator[str]:
    for path in sorted((project / "reports" / "allure-results").glob("*-attachment.txt")):
        yield path.read_text(encoding="utf-8")


def test_an_unknown_setting_stops_the_run_with_one_line_before_anything_starts(project: Path) -> None:
    result = run_behave(project, "-D", "heartbeat_ms=5")
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if "SettingsError" in line]
    assert len(errors) == 1
    assert "Unknown setting 'heartbeat_ms' in the command line" in errors[0]
    assert "passed" not in result.stdout.split("HOOK-ERROR")[0]
    # No scenario ran: the results say so, one for the set-up that failed and one "not run" per scenario.
    results = [json.loads(p.read_text()) for p in (project / "reports").glob("allure-results/*-result.json")]
    assert {r["status"] for r in results if r["name"] != "The run itself: before_all"} == {"skipped"}
    assert [r["status"] for r in results if r["name"] == "The run itself: before_all"] == ["broken"]


def test_a_bad_value_from_the_environment_names_the_setting_and_its_source(project: Path) -> None:
    result = subprocess.run(
        [*BEHAVE],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "RTAS_RETRY_LIMIT": "lots"},
    )
    assert result.returncode != 0
    assert "Setting 'retry_limit' from the environment must be a whole number, got 'lots'" in result.stdout


def test_a_run_is_replayable_from_its_seed(project: Path) -> None:
    runs = []
    for _ in range(2):
        result = run_behave(project, "--tags=@smoke", "-D", "seed=4242")
        assert result.returncode == 0, result.stdout[-2000:]
        assert "Seed 4242 — replay this run with: bin/acceptance -D seed=4242" in result.stdout
        properties = (project / "reports" / "allure-results" / "environment.properties").read_text()
        assert "setting.seed=4242" in properties
        stories = "\n".join(attachments(project))
        # Names from Faker, session ids from the gateway and message ids from the client all come from
        # the seed; timings do not.
        runs.append(
            (
                sorted(set(re.findall(r"subject=([\w.]+)", stories))),
                sorted(set(re.findall(r"session=(s-\w+)", stories))),
                sorted(set(re.findall(r"Scenario seed (\d+)", stories))),
            )
        )
    assert runs[0] == runs[1]
    assert all(runs[0]), "the stories should name people, sessions and seeds"


def test_junit_and_allure_results_are_written(project: Path) -> None:
    result = run_behave(project, "--tags=@smoke", "-D", "seed=1")
    assert result.returncode == 0, result.stdout[-2000:]
    junit = list((project / "reports" / "junit").glob("*.xml"))
    assert junit and all("<testsuite" in path.read_text() for path in junit)
    results = [
        json.loads(p.read_text()) for p in (project / "reports" / "allure-results").glob("*-result.json")
    ]
    assert {r["status"] for r in results} == {"passed"}
    assert any(label["name"] == "epic" for r in results for label in r["labels"])
    assert any(
        label["name"] == "severity" and label["value"] == "critical" for r in results for label in r["labels"]
    )


def test_a_dry_run_leaves_the_last_runs_outputs_as_they_were(project: Path) -> None:
    """A dry run checks that every step is defined and writes nothing under reports/: no Allure results,
    no run record, no rerun file and no JUnit (behave.ini asks for JUnit; the dry run must not write it)."""
    result = run_behave(project, "--tags=@smoke", "-D", "seed=1", "--no-junit", "--format=null")
    assert result.returncode == 0, result.stdout[-2000:]
    reports = project / "reports"
    before = {path: path.read_bytes() for path in reports.rglob("*") if path.is_file()}
    assert reports / "run.json" in before
    result = run_behave(project, "--dry-run", "--format=null")
    assert result.returncode == 0, result.stdout[-2000:]
    after = {path: path.read_bytes() for path in reports.rglob("*") if path.is_file()}
    assert sorted(set(after) - set(before)) == [], "the dry run wrote these"
    assert [path for path in before if after.get(path) != before[path]] == [], "the dry run changed these"
    # bin/test's stage: a step nobody wrote still fails the dry run and is named.
    (project / "features" / "moon.feature").write_text(
        "Feature: Moon\n\n  Scenario: Blue\n    Given the moon turns blue\n", encoding="utf-8"
    )
    result = run_behave(project, "--dry-run", "--no-junit")
    assert result.returncode != 0 and "undefined" in result.stdout.lower(), result.stdout[-2000:]
    assert not (reports / "rerun.txt").exists()


def test_ctrl_c_ends_the_run_within_seconds_and_keeps_what_was_written(project: Path) -> None:
    process = subprocess.Popen(
        [*BEHAVE, "-D", "seed=99"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Unbuffered, so the progress seen here is where the run really is, not where it was at a flush.
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 60
        # Interrupt once the run is well under way: a scenario of the second feature has started.
        while not any("Feature: Connect" in line for line in output):
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "the run never reached its second feature"
            time.sleep(0.01)
        interrupted_at = time.monotonic()
        assert process.poll() is None, "the run finished before it could be interrupted"
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired as still_running:
            reader.join(timeout=1)
            raise AssertionError(
                "The run did not end within 10 s of Ctrl-C; it was at:\n" + "".join(output[-40:])
            ) from still_running
        took = time.monotonic() - interrupted_at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    text = "".join(output)
    tail = "".join(output[-40:])  # where the run was, for a failure message
    assert process.returncode != 0, tail
    assert "ABORTED" in text, tail
    assert took < 10, tail
    assert "The run left work behind" not in text
    for path in (project / "reports" / "allure-results").glob("*.json"):
        json.loads(path.read_text())  # every result written so far is whole


JOURNEYS = ("authenticate", "connect", "lose_network", "reconnect", "shutdown")


def story_lines(story: str, who: str, what: str) -> int:
    """How many lines of a "What happened" story say that ``who`` did ``what``."""
    return len(re.findall(rf"^\s*-?\d+ ms  {re.escape(who)}\s+{re.escape(what)}\b", story, re.MULTILINE))


def test_the_core_journeys_pass_over_tls(project: Path) -> None:
    features = [f"features/{name}.feature" for name in JOURNEYS]
    result = run_behave(project, *features, "-D", "tls=on", "-D", "seed=7", "--format=progress", timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{len(JOURNEYS)} features passed, 0 failed, 0 skipped" in result.stdout
    properties = (project / "reports" / "allure-results" / "environment.properties").read_text()
    assert "setting.tls=on" in properties
    # Proof the journeys really were encrypted: in every scenario, each connection the gateway opened had a
    # TLS handshake of its own, and every sign-in went to an auth service that spoke TLS.
    stories = [story for story in attachments(project) if story.startswith("Scenario seed")]
    assert len(stories) >= 15
    connected = 0
    for story in stories:
        opened = story_lines(story, "gateway", "connection opened")
        assert story_lines(story, "gateway", "tls handshake") >= opened, story
        if story_lines(story, "auth service", "token requested"):
            assert story_lines(story, "auth service", "tls handshake") >= 1, story
        connected += opened > 0
    assert connected >= 15
