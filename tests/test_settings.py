"""Settings: the three sources, their precedence, and the one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.harness.settings import FOREIGN_PREFIXES, Settings, SettingsError, read_ini_defaults

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = read_ini_defaults(ROOT / "behave.ini")


def load(
    defaults: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    command_line: dict[str, str] | None = None,
) -> Settings:
    return Settings.load({**DEFAULTS, "seed": "7", **(defaults or {})}, environ or {}, command_line or {})


def load_error(
    defaults: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    command_line: dict[str, str] | None = None,
) -> str:
    with pytest.raises(SettingsError) as caught:
        load(defaults, environ, command_line)
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    return message


def test_behave_ini_lists_every_setting_and_its_defaults_are_valid() -> None:
    assert {name for name in DEFAULTS if not name.startswith(FOREIGN_PREFIXES)} == set(Settings.names())
    settings = Settings.load(DEFAULTS, {}, {})
    assert settings.client == "reference"
    assert settings.heartbeat_interval_ms == 100
    assert isinstance(settings.heartbeat_interval_ms, int)
    assert settings.backoff_multiplier == 2.0
    assert isinstance(settings.backoff_multiplier, float)
    assert settings.token_refresh_fraction == pytest.approx(0.9)
    assert settings.wait_timeout_s == pytest.approx(5.0)
    assert (settings.auth_failure_limit, settings.auth_failure_window_ms) == (5, 1000)
    assert settings.rush_clients == 200
    assert settings.as_report()["client"] == "reference"
    assert set(settings.as_report()) == set(Settings.names())


def test_environment_overrides_behave_ini_and_command_line_overrides_both() -> None:
    assert load().retry_limit == 20
    assert load(environ={"RTAS_RETRY_LIMIT": "5"}).retry_limit == 5
    both = load(environ={"RTAS_RETRY_LIMIT": "5"}, command_line={"retry_limit": "3"})
    assert both.retry_limit == 3
    assert load(command_line={"retry_limit": "4"}).retry_limit == 4


def test_environment_variables_without_the_prefix_are_ignored() -> None:
    settings = load(environ={"PATH": "/usr/bin", "RETRY_LIMIT": "1", "HOME": "/root"})
    assert settings.retry_limit == 20


def test_values_are_trimmed() -> None:
    assert load(command_line={"retry_limit": "  6 "}).retry_limit == 6


def test_seed_random_draws_a_whole_number() -> None:
    drawn = {Settings.load({**DEFAULTS, "seed": "random"}, {}, {}).seed for _ in range(5)}
    assert all(isinstance(seed, int) and 0 <= seed < 2**31 for seed in drawn)
    assert len(drawn) > 1
    assert isinstance(load(command_line={"seed": "RANDOM"}).seed, int)


def test_a_numeric_seed_is_kept_as_is() -> None:
    assert load().seed == 7
    assert load(environ={"RTAS_SEED": "12345"}).seed == 12345
    assert load(environ={"RTAS_SEED": "12345"}, command_line={"seed": "0"}).seed == 0


@pytest.mark.parametrize("raw", ["abc", "-1", "1.5", ""])
def test_a_bad_seed_is_refused(raw: str) -> None:
    message = load_error(command_line={"seed": raw})
    assert "'seed'" in message and "the command line" in message
    assert "whole number or 'random'" in message


@pytest.mark.parametrize(
    ("source", "kwargs", "spelled"),
    [
        ("behave.ini", {"defaults": {"colour": "blue"}}, "'colour'"),
        ("the environment", {"environ": {"RTAS_COLOUR": "blue"}}, "'RTAS_COLOUR'"),
        ("the command line", {"command_line": {"colour": "blue"}}, "'colour'"),
    ],
)
def test_an_unknown_setting_is_named_with_its_source(
    source: str, kwargs: dict[str, dict[str, str]], spelled: str
) -> None:
    message = load_error(**kwargs)
    assert message.startswith(f"Unknown setting {spelled} in {source}.")
    assert "retry_limit" in message  # the known settings are listed


def test_a_missing_setting_is_reported() -> None:
    defaults = {name: value for name, value in DEFAULTS.items() if name not in ("retry_limit", "client")}
    with pytest.raises(SettingsError) as caught:
        Settings.load(defaults, {}, {})
    message = str(caught.value)
    assert "\n" not in message
    assert "client" in message and "retry_limit" in message
    assert "behave.ini" in message


def test_a_setting_given_only_on_the_command_line_is_not_missing() -> None:
    defaults = {name: value for name, value in DEFAULTS.items() if name != "retry_limit"}
    assert Settings.load(defaults, {}, {"retry_limit": "2", "seed": "1"}).retry_limit == 2


@pytest.mark.parametrize(
    ("kwargs", "name", "source", "words"),
    [
        ({"command_line": {"retry_limit": "many"}}, "retry_limit", "the command line", "a whole number"),
        ({"command_line": {"retry_limit": "2.5"}}, "retry_limit", "the command line", "a whole number"),
        ({"environ": {"RTAS_BACKOFF_JITTER": "lots"}}, "backoff_jitter", "the environment", "a number"),
        ({"defaults": {"heartbeat_interval_ms": "0"}}, "heartbeat_interval_ms", "behave.ini", "at least 1"),
        ({"command_line": {"retry_limit": "-1"}}, "retry_limit", "the command line", "at least 0"),
        ({"command_line": {"backoff_jitter": "1.5"}}, "backoff_jitter", "the command line", "at most 1"),
        (
            {"command_line": {"token_refresh_fraction": "1"}},
            "token_refresh_fraction",
            "the command line",
            "at most 0.99",
        ),
        (
            {"environ": {"RTAS_STREAM_RATE_PER_S": "0.01"}},
            "stream_rate_per_s",
            "the environment",
            "at least 0.1",
        ),
        ({"command_line": {"client": "browser"}}, "client", "the command line", "one of reference"),
        (
            {"command_line": {"auth_failure_limit": "0"}},
            "auth_failure_limit",
            "the command line",
            "at least 1",
        ),
        (
            {"environ": {"RTAS_AUTH_FAILURE_WINDOW_MS": "soon"}},
            "auth_failure_window_ms",
            "the environment",
            "a whole number",
        ),
        ({"command_line": {"rush_clients": "5000"}}, "rush_clients", "the command line", "at most 2000"),
        ({"command_line": {"rush_clients": "0"}}, "rush_clients", "the command line", "at least 1"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_setting(
    kwargs: dict[str, dict[str, str]], name: str, source: str, words: str
) -> None:
    message = load_error(**kwargs)
    assert f"Setting '{name}' from {source}" in message
    assert words in message
    raw = next(iter(next(iter(kwargs.values())).values()))
    assert f"got {raw!r}" in message


def test_a_value_with_a_line_break_still_gives_one_line() -> None:
    load_error(command_line={"retry_limit": "1\n2"})


@pytest.mark.parametrize("name", ["backoff_jitter", "backoff_multiplier", "stream_rate_per_s"])
@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_a_number_that_is_not_finite_is_refused(name: str, raw: str) -> None:
    message = load_error(command_line={name: raw})
    assert f"Setting '{name}' from the command line must be a finite number" in message


def test_boundary_values_are_accepted() -> None:
    settings = load(
        command_line={"backoff_jitter": "0", "retry_limit": "0", "token_refresh_fraction": "0.99"}
    )
    assert settings.backoff_jitter == 0
    assert settings.retry_limit == 0
    assert settings.token_refresh_fraction == pytest.approx(0.99)


def test_backoff_max_below_backoff_initial_is_refused() -> None:
    message = load_error(command_line={"backoff_initial_ms": "500", "backoff_max_ms": "400"})
    assert "backoff_max_ms" in message and "backoff_initial_ms" in message
    assert "500" in message and "400" in message
    assert load(command_line={"backoff_initial_ms": "400", "backoff_max_ms": "400"}).backoff_max_ms == 400


def test_detection_bounds_follow_the_values() -> None:
    settings = load(
        command_line={
            "heartbeat_interval_ms": "200",
            "heartbeat_timeout_ms": "300",
            "detection_grace_ms": "150",
        }
    )
    assert settings.drop_detection_bound_s == pytest.approx(0.15)
    assert settings.heartbeat_detection_bound_s == pytest.approx(0.65)
    defaults = load()
    assert defaults.drop_detection_bound_s == pytest.approx(0.5)
    assert defaults.heartbeat_detection_bound_s == pytest.approx(0.85)


def test_read_ini_defaults_refuses_a_missing_file_or_section(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="Cannot read"):
        read_ini_defaults(tmp_path / "absent.ini")
    ini = tmp_path / "behave.ini"
    ini.write_text("[behave]\npaths = features\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"no \[behave\.userdata\] section"):
        read_ini_defaults(ini)


def test_allure_formatter_userdata_is_left_to_allure_but_a_near_miss_is_still_refused() -> None:
    settings = load(command_line={"AllureFormatter.issue_pattern": "https://tracker/{}"})
    assert settings.seed == 7
    with pytest.raises(SettingsError, match=r"Unknown setting 'Allure\.issue_pattern' in the command line"):
        load(command_line={"Allure.issue_pattern": "https://tracker/{}"})


def test_tls_is_off_by_default_and_reported_as_on_or_off() -> None:
    settings = Settings.load(DEFAULTS, {}, {})
    assert settings.tls is False
    assert settings.as_report()["tls"] == "off"
    assert load(command_line={"tls": "on"}).as_report()["tls"] == "on"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("on", True), ("ON", True), ("true", True), ("yes", True), ("1", True)],
        *[("off", False), ("Off", False), ("false", False), ("no", False), ("0", False)],
    ],
)
def test_a_yes_no_setting_reads_the_usual_words(raw: str, expected: bool) -> None:
    assert load(command_line={"tls": raw}).tls is expected


def test_tls_can_come_from_the_environment() -> None:
    assert load(environ={"RTAS_TLS": "on"}).tls is True
    assert load(environ={"RTAS_TLS": "on"}, command_line={"tls": "off"}).tls is False


@pytest.mark.parametrize("raw", ["maybe", "", "2", "enabled"])
def test_a_yes_no_setting_refuses_other_words_in_one_line(raw: str) -> None:
    message = load_error(command_line={"tls": raw})
    assert "Setting 'tls' from the command line must be on or off" in message
    assert f"got {raw!r}" in message
