"""What the suite adds to Allure's results directory, which allure-behave does not write itself.

- ``environment.properties``: the target, versions, time scale and seed, on the report's overview;
- ``executor.json``: which CI build (or "local") produced the results;
- ``categories.json``: failures sorted into product defects, suite defects and environment problems;
- after the run, results made readable: plain-English failure messages instead of Python exception
  text, and tag values such as ``Core_journeys`` shown as "Core journeys".

The category rules live here once: they are written for the report and used by ``run_summary`` to
decide the run's exit code, so the report and the exit code never disagree.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import time
import tomllib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from support.harness.problems import ENVIRONMENT_PROBLEM, EnvironmentProblem
from support.harness.written_wrong import WRITTEN_WRONG, ScenarioWrittenWrong

if TYPE_CHECKING:
    from support.report.run_record import RunRecord

ALLURE_FORMATTER = "support.report.allure_formatter:AllureFormatter"
ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("behave", "allure-behave", "websockets", "httpx", "aiohttp", "PyJWT")
HUMANISED_LABELS = ("epic", "story")
_HOOK_ERROR = re.compile(r"HOOK-ERROR in (?P<hook>\w+)(?:\(tag=(?P<tag>[^)]*)\))?: (?P<said>.*)", re.DOTALL)
_EXCEPTION_PREFIX = re.compile(r"(?P<kind>[A-Za-z_][\w.]*): (?P<message>.*)", re.DOTALL)


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    statuses: tuple[str, ...]
    message_pattern: str = ".*"

    def matches(self, status: str, message: str) -> bool:
        # The report matches the whole message (allurerc.mjs anchors each pattern); the Python check too.
        return status in self.statuses and re.fullmatch(self.message_pattern, message, re.DOTALL) is not None

    def as_allure(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "matchedStatuses": list(self.statuses),
            "messageRegex": f"(?s){self.message_pattern}",
        }


ENVIRONMENT_PROBLEMS = Category(
    "Environment problems",
    "The machine or the services could not be set up (ports, services that would not start, set-up that "
    "timed out). Neither the product nor the scenario was tested; run again or fix the machine.",
    ("broken",),
    ENVIRONMENT_PROBLEM + ".*",  # plain words and a colon: the same pattern in JavaScript and Python
)
WRITTEN_WRONG_SCENARIOS = Category(
    "Scenarios written wrong",
    "The Gherkin asks for something the suite has no words for: a step no definition reads, an unknown "
    "phrase or a bad value. Neither the product nor the suite is at fault; the message names the nearest "
    "phrasings the suite knows (docs/steps.md lists them all).",
    ("broken",),
    WRITTEN_WRONG + ".*",
)
INTERRUPTED_SCENARIOS = Category(
    "Interrupted",
    "The run was stopped (Ctrl-C) while the scenario ran, so it did not finish. Nothing is known about it.",
    ("broken",),
    "(The run was interrupted|A hook was interrupted).*",
)
SUITE_DEFECTS = Category(
    "Suite or harness defects",
    "An error in the test suite itself (a step or its support code), not a wrong answer from the product.",
    ("broken",),
)
PRODUCT_DEFECTS = Category(
    "Product defects",
    "The client or the services did not do what the scenario expects.",
    ("failed",),
)
# Order matters: Allure puts a result in the first category that matches.
CATEGORIES: tuple[Category, ...] = (
    ENVIRONMENT_PROBLEMS,
    WRITTEN_WRONG_SCENARIOS,
    INTERRUPTED_SCENARIOS,
    SUITE_DEFECTS,
    PRODUCT_DEFECTS,
)


def category_of(status: str, message: str) -> Category | None:
    return next((category for category in CATEGORIES if category.matches(status, message)), None)


# -- where the results go --------------------------------------------------------------------------


def allure_results_dir(formats: Sequence[str], outfiles: Sequence[str]) -> Path | None:
    """Where behave's Allure formatter writes, as configured (behave.ini or -f/-o), if it is in use."""
    for position, name in enumerate(formats):
        if name == ALLURE_FORMATTER and position < len(outfiles):
            return Path(outfiles[position])
    return None


def clean_results(directory: Path) -> None:
    """Start each run with an empty results directory, so the report shows this run only."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


# -- files written at the start of a run -----------------------------------------------------------


def write_run_files(directory: Path, facts: Mapping[str, str], environ: Mapping[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_environment(directory, facts)
    _write_json(directory / "executor.json", executor(environ))
    _write_json(directory / "categories.json", [category.as_allure() for category in CATEGORIES])


def run_facts(settings: Mapping[str, str], target: str) -> dict[str, str]:
    """What a reader needs to know to trust or reproduce the run, most important first."""
    return {
        "target": target,
        "services": f"embedded mock services {project_version()} (auth service, gateway, fault proxy)",
        "seed": settings["seed"],
        "time scale": (
            f"heartbeat every {settings['heartbeat_interval_ms']} ms, "
            f"backoff {settings['backoff_initial_ms']}–{settings['backoff_max_ms']} ms, "
            f"tokens live {settings['token_lifetime_ms']} ms"
        ),
        "python": platform.python_version(),
        **{f"library.{name}": version(name) for name in LIBRARIES},
        **{f"setting.{name}": value for name, value in settings.items()},
    }


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as pyproject:
        return str(tomllib.load(pyproject)["project"]["version"])


def write_environment(directory: Path, facts: Mapping[str, str]) -> None:
    """Allure's environment.properties: shown on the report's overview page."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{_escape_key(key)}={_escape_value(value)}" for key, value in facts.items()]
    (directory / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _escape_value(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    # A leading space would be dropped by a properties reader; an escaped one is kept.
    return "\\ " + escaped[1:] if escaped.startswith(" ") else escaped


def _escape_key(text: str) -> str:
    escaped = _escape_value(text).replace("=", "\\=").replace(":", "\\:").replace(" ", "\\ ")
    # In a key's first position, # and ! would turn the line into a comment.
    return "\\" + escaped if escaped[:1] in ("#", "!") else escaped


def executor(environ: Mapping[str, str]) -> dict[str, Any]:
    """Who ran the suite: the CI system, build number and link when there is one, else "local"."""
    if environ.get("GITHUB_ACTIONS") == "true":
        run_url = (
            f"{environ.get('GITHUB_SERVER_URL', 'https://github.com')}/"
            f"{environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{environ.get('GITHUB_RUN_ID', '')}"
        )
        return _ci("GitHub Actions", "github", environ.get("GITHUB_RUN_NUMBER"), run_url)
    if environ.get("GITLAB_CI") == "true":
        return _ci("GitLab CI", "gitlab", environ.get("CI_PIPELINE_IID"), environ.get("CI_PIPELINE_URL"))
    if environ.get("JENKINS_URL"):
        return _ci("Jenkins", "jenkins", environ.get("BUILD_NUMBER"), environ.get("BUILD_URL"))
    if environ.get("CI"):
        return _ci("CI", "ci", environ.get("BUILD_NUMBER"), environ.get("BUILD_URL"))
    return {"name": "local", "type": "local", "buildName": "local run"}


def _ci(name: str, kind: str, number: str | None, url: str | None) -> dict[str, Any]:
    facts: dict[str, Any] = {"name": name, "type": kind, "buildName": f"{name} build {number or '?'}"}
    if number and number.isdigit():
        facts["buildOrder"] = int(number)
    if url:
        facts["buildUrl"] = url
    return facts


def _write_json(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- what the formatter could not write ----------------------------------------------------------------


def allure_id(identity: str) -> str:
    """Allure's historyId (or testCaseId) for a scenario's identity (see ``support.report.verdict``)."""
    return hashlib.md5(identity.encode("utf-8")).hexdigest()  # an id, not a secret


def mend_results(directory: Path, record: RunRecord) -> None:
    """Results for what the Allure formatter never saw: each problem outside any scenario (a broken result
    of its own, so the report shows why the run went wrong) and each selected scenario of a feature the run
    never reached (skipped, with the reason). Afterwards the results hold every scenario of the record."""
    present = {str(result.get("historyId")) for _, result in _results(directory)}
    for problem in record.problems:
        _write_result(
            directory, f"The run itself: {problem.where}", "broken", problem.message, "The run itself"
        )
    for scenario in record.scenarios:
        if allure_id(scenario.identity) not in present:
            _write_result(
                directory,
                scenario.name,
                scenario.status,
                scenario.message,
                scenario.feature,
                scenario.identity,
            )


def _write_result(
    directory: Path, name: str, status: str, message: str, feature: str, identity: str | None = None
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    result = {
        "uuid": str(uuid.uuid4()),
        "historyId": allure_id(identity or name),
        "testCaseId": allure_id(identity or name),
        "name": name,
        "fullName": f"{feature}: {name}",
        "status": status,
        "statusDetails": {"message": message},
        "stage": "finished",
        "start": now,
        "stop": now,
        "labels": [
            {"name": "feature", "value": feature},
            {"name": "severity", "value": "blocker" if status == "broken" else "normal"},
            {"name": "framework", "value": "behave"},
        ],
    }
    _write_json(directory / f"{result['uuid']}-result.json", result)


# -- readable results at the end of a run ----------------------------------------------------------


def finish_results(directory: Path) -> None:
    """Rewrite each scenario's result for people. Safe to run more than once."""
    for path, result in _results(directory):
        if _make_readable(result):
            _write_json(path, result)


def _results(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(directory.glob("*-result.json")):
        try:
            yield path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a result cut short by an interrupt is left for Allure to skip


def _make_readable(result: dict[str, Any]) -> bool:
    before = json.dumps(result, sort_keys=True)
    for label in result.get("labels", []):
        if label.get("name") in HUMANISED_LABELS and isinstance(label.get("value"), str):
            label["value"] = label["value"].replace("_", " ")
    _make_messages_plain(result)
    return json.dumps(result, sort_keys=True) != before


def _make_messages_plain(item: dict[str, Any]) -> None:
    """The scenario's message and each step's, since the report shows both."""
    details = item.get("statusDetails") or {}
    if isinstance(details.get("message"), str):
        details["message"] = plain_message(item.get("status", ""), details["message"])
    for step in item.get("steps") or []:
        _make_messages_plain(step)


def plain_message(status: str, message: str) -> str:
    """The failure as a person would say it: no exception class names in front of the suite's words, and
    behave's "HOOK-ERROR in after_scenario: …" told as "… (in the after_scenario hook)"."""
    text = message.strip()
    hook = _HOOK_ERROR.match(text)
    if hook is not None:
        where = hook["hook"] + (f" @{hook['tag']}" if hook["tag"] else "")
        return f"{plain_message(status, hook['said'])} (in the {where} hook)"
    found = _EXCEPTION_PREFIX.fullmatch(text)
    if found is None:
        return "A check failed without saying why." if text == "AssertionError" else text
    kind, said = found["kind"], found["message"].strip()
    if kind == "AssertionError":
        return said
    if kind.rsplit(".", 1)[-1] in (EnvironmentProblem.__name__, ScenarioWrittenWrong.__name__):
        return said
    if status == "broken":
        return f"The test suite itself hit an error ({kind}): {said}"
    return text
