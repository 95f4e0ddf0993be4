"""Configuration in the suite's words: values as scenarios write them, an update from a table of plain
words and what each part should report of it, and the gap between heartbeats the gateway heard."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.areas.configuration import (
    Reconfiguration,
    expected_reports,
    heartbeat_gaps,
    update_from_rows,
    value_of,
)
from support.harness.settings import Settings, read_ini_defaults

ROOT_INI = Path(__file__).resolve().parent.parent / "behave.ini"


def suite_settings() -> Settings:
    return Settings.load(read_ini_defaults(ROOT_INI), {}, {"seed": "1"})


def test_values_are_read_as_scenarios_write_them() -> None:
    settings = suite_settings()
    assert (
        value_of("3 times the usual", "heartbeat_interval_ms", settings) == 3 * settings.heartbeat_interval_ms
    )
    assert (
        value_of("-1 times the usual", "heartbeat_interval_ms", settings) == -settings.heartbeat_interval_ms
    )
    assert value_of("50 percent", "token_refresh_fraction", settings) == 0.5
    assert value_of("5", "retry_limit", settings) == 5
    assert value_of('"5"', "retry_limit", settings) == "5"
    assert value_of("debug", "level", settings) == "debug"
    with pytest.raises(ValueError, match="no usual value"):
        value_of("2 times the usual", "level", settings)


def test_an_update_is_built_from_a_table_of_plain_words() -> None:
    rows = [
        {"part": "session", "setting": "heartbeat interval", "to": "2 times the usual"},
        {"part": "session", "setting": "retry limit", "to": "5"},
        {"part": "logging", "setting": "level", "to": "debug"},
        {"part": "video", "setting": "frame rate", "to": "30"},
    ]
    settings = suite_settings()
    update = update_from_rows(rows, settings)
    assert update == {
        "session": {"heartbeat_interval_ms": 2 * settings.heartbeat_interval_ms, "retry_limit": 5},
        "logging": {"level": "debug"},
        "video": {"frame rate": 30},
    }
    before = {"session": {"heartbeat_interval_ms": 100, "retry_limit": 20}, "logger": {"level": "INFO"}}
    expected = expected_reports(Reconfiguration(update={"logging": {"level": "debug"}}, before=before))
    assert expected == {"logger": ({"level": "INFO"}, {"level": "DEBUG"})}


def test_heartbeat_gaps_leave_out_what_came_before_the_moment_and_the_first_after_it() -> None:
    assert heartbeat_gaps([0.0, 0.1, 0.2, 0.5, 0.8, 1.1], since=0.15) == pytest.approx([0.3, 0.3])
