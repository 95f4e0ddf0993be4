"""Configuration (features/configuration.feature) in the words scenarios use: an update written as a table
of plain words or one setting in a sentence, what each part of the client should report of it, and the
gateway's view of the client's heartbeat pace.

Plain functions over plain data, so they can be tested without a client.
"""

from __future__ import annotations

import itertools
import re
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from support.drivers.base import ClientDriver, ConfigurationRefused, ObservedEvent
from support.drivers.events import (
    ConfigUpdated,
)
from support.harness.queries import Events
from support.harness.settings import Settings

# A configuration section called otherwise than the part of the client it is for (events name the part).
PART_OF_SECTION = {"logging": "logger"}

# The settings scenarios name, by part: the words → the name a configuration update uses. A setting not
# listed is passed on as written, so the client can be shown one it does not have.
SETTING_WORDS: dict[tuple[str, str], str] = {
    ("auth", "refresh threshold"): "token_refresh_fraction",
    ("session", "heartbeat interval"): "heartbeat_interval_ms",
    ("session", "heartbeat timeout"): "heartbeat_timeout_ms",
    ("session", "retry limit"): "retry_limit",
    ("logging", "level"): "level",
    ("audio", "sample rate"): "sample_rate",
    ("audio", "buffer size"): "buffer_size",
}

# The same settings named one at a time in a sentence ("the application sets the client's retry limit to 2":
# the ``ClientSetting`` parameter type), as (part, setting name); words not clear alone carry their part.
SETTINGS_IN_A_SENTENCE: dict[str, tuple[str, str]] = {
    (words if part in ("auth", "session") else f"{part} {words}"): (part, name)
    for (part, words), name in SETTING_WORDS.items()
}

# The suite's own setting each client setting starts from, for values given as "N times the usual".
USUAL_SETTING = {
    "token_refresh_fraction": "token_refresh_fraction",
    "heartbeat_interval_ms": "heartbeat_interval_ms",
    "heartbeat_timeout_ms": "heartbeat_timeout_ms",
    "retry_limit": "retry_limit",
}


_TIMES_THE_USUAL = re.compile(r"^(-?\d+(?:\.\d+)?) times the usual$")
_PERCENT = re.compile(r"^(-?\d+(?:\.\d+)?) percent$")
_WHOLE = re.compile(r"^-?\d+$")
_QUOTED = re.compile(r'^"(.*)"$')


Change = tuple[dict[str, Any], dict[str, Any]]  # the settings a part had before, and has after


@dataclass
class Reconfiguration:
    """One configuration update a scenario asked for, and how the client took it."""

    update: dict[str, dict[str, Any]]
    before: dict[str, dict[str, Any]]  # the client's settings just before, by part
    at: float = field(default_factory=time.monotonic)
    refusal: str | None = None  # the client's reason, when it refused the update


def setting_name(part: str, words: str) -> str:
    return SETTING_WORDS.get((part, words), words)


def value_of(words: str, setting: str, settings: Settings) -> Any:
    """A value as a scenario writes it: "3 times the usual", "50 percent", a whole number, a quoted text (kept
    as text, even if it looks like a number), or any other words, kept as they are."""
    if match := _TIMES_THE_USUAL.match(words):
        usual_setting = USUAL_SETTING.get(setting)
        if usual_setting is None:
            raise ValueError(f"There is no usual value for {setting!r} to multiply; give the value itself")
        usual = getattr(settings, usual_setting)
        return type(usual)(float(match.group(1)) * usual)
    if match := _PERCENT.match(words):
        return float(match.group(1)) / 100
    if _WHOLE.match(words):
        return int(words)
    if match := _QUOTED.match(words):
        return match.group(1)
    return words


def update_from_rows(rows: Iterable[Mapping[str, str]], settings: Settings) -> dict[str, dict[str, Any]]:
    """A configuration update from a table with the columns part, setting and to."""
    update: dict[str, dict[str, Any]] = {}
    for row in rows:
        part = row["part"].strip()
        name = setting_name(part, row["setting"].strip())
        update.setdefault(part, {})[name] = value_of(row["to"].strip(), name, settings)
    return update


def reconfigure(client: ClientDriver, update: dict[str, dict[str, Any]]) -> Reconfiguration:
    """Ask the client to take ``update``, noting its settings before and, if it refuses, why."""
    reconfiguration = Reconfiguration(update=update, before=client.configuration())
    try:
        client.update_configuration(update)
    except ConfigurationRefused as refused:
        reconfiguration.refusal = str(refused)
    return reconfiguration


def expected_reports(reconfiguration: Reconfiguration) -> dict[str, Change]:
    """What each part named in an accepted update should report (``config:updated``): its settings before
    and after, for the settings the update named. Level names are reported as logging spells them."""
    expected: dict[str, Change] = {}
    for section, changes in reconfiguration.update.items():
        part = PART_OF_SECTION.get(section, section)
        before = reconfiguration.before.get(part, {})
        new = {
            name: value.upper() if name == "level" and isinstance(value, str) else value
            for name, value in changes.items()
        }
        expected[part] = ({name: before.get(name) for name in changes}, new)
    return expected


def reported_updates(
    events: Sequence[ObservedEvent],
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """Every ``config:updated`` the client reported, by part: (previous, new) each time."""
    reports: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for update in Events(events).of(ConfigUpdated):
        reports.setdefault(update.component, []).append((dict(update.previous), dict(update.new)))
    return reports


def heartbeat_gaps(arrivals: Sequence[float], since: float) -> list[float]:
    """The seconds between heartbeats the gateway heard after ``since``, leaving out the first of them (it may
    have been on its way before the moment)."""
    heard = [at for at in arrivals if at >= since][1:]
    return [later - earlier for earlier, later in itertools.pairwise(heard)]


def typical_gap(gaps: Sequence[float]) -> float:
    """The median gap: one heartbeat delayed on a busy machine moves it little."""
    return statistics.median(gaps)
