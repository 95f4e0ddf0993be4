"""What the suite writes for people: the run's environment in the Allure results, and per scenario a
readable story of what the client, the services and the network did.

Every text passes through ``redact`` with the scenario's secrets before it is written.
"""

from __future__ import annotations

import platform
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.drivers.base import ObservedEvent
from support.journal import JournalEntry, describe_facts

ALLURE_FORMATTER = "allure_behave.formatter:AllureFormatter"
REDACTED = "[REDACTED]"


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


def write_environment(directory: Path, facts: Mapping[str, str]) -> None:
    """Allure's environment.properties: shown on the report's overview page."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{_escape(key)}={_escape(value)}" for key, value in facts.items()]
    (directory / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_facts(settings: Mapping[str, str]) -> dict[str, str]:
    return {"python": platform.python_version(), **{f"setting.{k}": v for k, v in settings.items()}}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=").replace(":", "\\:")


def redact(text: str, secrets: Iterable[str]) -> str:
    # One pass, longest first: a secret that contains another is hidden whole, not just in part.
    wanted = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if not wanted:
        return text
    return re.sub("|".join(re.escape(secret) for secret in wanted), REDACTED, text)


@dataclass(frozen=True)
class StoryLine:
    at: float
    who: str
    what: str


def story(
    events: Mapping[str, Sequence[ObservedEvent]], journal: Sequence[JournalEntry], start: float
) -> str:
    """One time-ordered account of a scenario: each client's events and the services' journals."""
    lines = [StoryLine(entry.at, entry.source, describe_facts(entry.kind, entry.detail)) for entry in journal]
    for client, observed in events.items():
        lines += [StoryLine(event.at, client, _describe_event(event)) for event in observed]
    lines.sort(key=lambda line: line.at)
    width = max((len(line.who) for line in lines), default=6)
    return "\n".join(
        f"{(line.at - start) * 1000:>8.0f} ms  {line.who:<{width}}  {line.what}" for line in lines
    )


def _describe_event(event: ObservedEvent) -> str:
    if event.name == "state:changed":
        return f"is now {event.data.get('state')} — {event.data.get('reason')}"
    return describe_facts(event.name, event.data)
