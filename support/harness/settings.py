"""The suite's one settings object.

Values come from three places, later ones winning:

1. ``behave.ini`` ``[behave.userdata]`` — the suite's defaults, with every setting listed;
2. environment variables ``RTAS_<NAME>`` (e.g. ``RTAS_SEED=42``);
3. the command line, ``behave -D name=value``.

Everything is checked before any service starts: an unknown name or a bad value stops the run with one
line that says which setting, where it came from, and what would be accepted.

Userdata names starting ``AllureFormatter.`` belong to allure-behave (link patterns) and are left to it.
"""

from __future__ import annotations

import configparser
import dataclasses
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "RTAS_"
USERDATA_SECTION = "behave.userdata"
# Userdata read by other tools, not by the suite (compared in lower case: configparser lowers keys).
FOREIGN_PREFIXES = ("allureformatter.",)
# How a yes/no setting may be spelled (compared in lower case); "on" and "off" are what the docs use.
TRUE_WORDS = ("on", "true", "yes", "1")
FALSE_WORDS = ("off", "false", "no", "0")


class SettingsError(ValueError):
    """A setting is unknown, missing or has a bad value. The message is one line."""


def _spec(minimum: float | None = None, maximum: float | None = None, choices: tuple[str, ...] = ()) -> Any:
    return field(metadata={"minimum": minimum, "maximum": maximum, "choices": choices})


@dataclass(frozen=True)
class Settings:
    seed: int  # "random" in a source means: draw one now (it is printed, so the run can be replayed)
    client: str = _spec(choices=("reference",))
    heartbeat_interval_ms: int = _spec(minimum=1)
    heartbeat_timeout_ms: int = _spec(minimum=1)
    connect_timeout_ms: int = _spec(minimum=1)
    auth_timeout_ms: int = _spec(minimum=1)
    backoff_initial_ms: int = _spec(minimum=1)
    backoff_max_ms: int = _spec(minimum=1)
    backoff_multiplier: float = _spec(minimum=1)
    backoff_jitter: float = _spec(minimum=0, maximum=1)
    retry_limit: int = _spec(minimum=0)
    stable_connection_ms: int = _spec(minimum=0)
    token_lifetime_ms: int = _spec(minimum=1)
    refresh_token_lifetime_ms: int = _spec(minimum=1)
    token_refresh_fraction: float = _spec(minimum=0.01, maximum=0.99)
    resume_window_ms: int = _spec(minimum=1)
    shutdown_flush_ms: int = _spec(minimum=1)
    stream_rate_per_s: float = _spec(minimum=0.1)
    wait_timeout_ms: int = _spec(minimum=1)
    detection_grace_ms: int = _spec(minimum=0)
    tls: bool = _spec()  # the services over https:// and wss://, with a test certificate authority
    auth_failure_limit: int = _spec(minimum=1)
    auth_failure_window_ms: int = _spec(minimum=1)
    rush_clients: int = _spec(minimum=1, maximum=2000)
    server_fault_clients: int = _spec(minimum=1, maximum=500)
    gateway_restart_ms: int = _spec(minimum=0)
    production_second_ms: int = _spec(minimum=1)
    avatar_timeout_ms: int = _spec(minimum=1)
    avatar_slowness_ms: int = _spec(minimum=1)
    flapping_connection_ms: int = _spec(minimum=1)  # how long each connection lives on a flapping link
    retry_timing_grace_ms: int = _spec(minimum=0)  # how late a retry may begin after its pause
    long_pause_ms: int = _spec(minimum=1)  # the pause between retries where a scenario needs a long one
    jitter_crowd_clients: int = _spec(minimum=10, maximum=500)  # clients dropped at once to see them spread
    jitter_crowd_pause_ms: int = _spec(minimum=1)  # their first pause between retries
    max_message_bytes: int = _spec(minimum=1024)  # the biggest message a client accepts
    gateway_max_message_bytes: int = _spec(minimum=1024)  # the biggest message the gateway accepts

    def __post_init__(self) -> None:
        if self.backoff_max_ms < self.backoff_initial_ms:
            raise SettingsError(
                f"backoff_max_ms ({self.backoff_max_ms}) must not be below backoff_initial_ms "
                f"({self.backoff_initial_ms})"
            )
        if self.flapping_connection_ms >= self.stable_connection_ms:
            raise SettingsError(
                f"flapping_connection_ms ({self.flapping_connection_ms}) must be below stable_connection_ms "
                f"({self.stable_connection_ms}): a flapping connection drops before it counts as stable"
            )

    @property
    def wait_timeout_s(self) -> float:
        return self.wait_timeout_ms / 1000

    @property
    def drop_detection_bound_s(self) -> float:
        """How soon a client must notice a link that was reset or closed."""
        return self.detection_grace_ms / 1000

    @property
    def heartbeat_detection_bound_s(self) -> float:
        """How soon a client must notice a half-open link: one heartbeat interval plus its timeout."""
        return (self.heartbeat_interval_ms + self.heartbeat_timeout_ms + self.detection_grace_ms) / 1000

    def suite_seconds(self, production_seconds: float) -> float:
        """A duration stated in production terms (the seed's "downtime under 10 s"), in the suite's time."""
        return production_seconds * self.production_second_ms / 1000

    def as_report(self) -> dict[str, str]:
        return {name: _shown(value) for name, value in dataclasses.asdict(self).items()}

    @classmethod
    def names(cls) -> list[str]:
        return [item.name for item in dataclasses.fields(cls)]

    @classmethod
    def load(
        cls,
        defaults: Mapping[str, str],
        environ: Mapping[str, str],
        command_line: Mapping[str, str],
    ) -> Settings:
        """Merge the three sources (see the module docstring) and check every value."""
        known = set(cls.names())
        layers = [
            ("behave.ini", dict(defaults)),
            (
                "the environment",
                {
                    name[len(ENV_PREFIX) :].lower(): value
                    for name, value in environ.items()
                    if name.startswith(ENV_PREFIX)
                },
            ),
            ("the command line", dict(command_line)),
        ]
        merged: dict[str, tuple[str, str]] = {}
        for source, values in layers:
            for name, raw in values.items():
                if name.lower().startswith(FOREIGN_PREFIXES):
                    continue
                if name not in known:
                    spelled = f"{ENV_PREFIX}{name.upper()}" if source == "the environment" else name
                    raise SettingsError(
                        f"Unknown setting {spelled!r} in {source}. Known settings: {', '.join(sorted(known))}"
                    )
                merged[name] = (source, str(raw).strip())
        missing = sorted(known - set(merged))
        if missing:
            raise SettingsError(f"No value for the setting(s) {', '.join(missing)}: add them to behave.ini")
        values = {item.name: _convert(item, *merged[item.name]) for item in dataclasses.fields(cls)}
        return cls(**values)


def _convert(item: dataclasses.Field[Any], source: str, raw: str) -> Any:
    where = f"Setting {item.name!r} from {source}"
    if item.name == "seed":
        if raw.lower() == "random":
            return secrets.randbelow(2**31)
        if not raw.isdigit():
            raise SettingsError(f"{where} must be a whole number or 'random', got {raw!r}")
        return int(raw)
    kind = (
        item.type
        if isinstance(item.type, type)
        else {"int": int, "float": float, "str": str, "bool": bool}[str(item.type)]
    )
    if kind is bool:
        # bool("off") is True, so yes/no settings are read from words rather than converted.
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise SettingsError(f"{where} must be on or off (true/false, yes/no, 1/0 work too), got {raw!r}")
    choices = item.metadata.get("choices") or ()
    if choices and raw not in choices:
        raise SettingsError(f"{where} must be one of {', '.join(choices)}, got {raw!r}")
    try:
        value = kind(raw)
    except ValueError:
        noun = {int: "a whole number", float: "a number"}.get(kind, "a value")
        raise SettingsError(f"{where} must be {noun}, got {raw!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        # NaN passes every bound check, so it is refused outright (and so is infinity).
        raise SettingsError(f"{where} must be a finite number, got {raw!r}")
    minimum, maximum = item.metadata.get("minimum"), item.metadata.get("maximum")
    if minimum is not None and value < minimum:
        raise SettingsError(f"{where} must be at least {minimum:g}, got {raw!r}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{where} must be at most {maximum:g}, got {raw!r}")
    return value


def _shown(value: Any) -> str:
    # Yes/no settings are shown the way they are written: on or off.
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def read_ini_defaults(path: Path) -> dict[str, str]:
    """The ``[behave.userdata]`` section of a behave.ini, as behave itself would read it."""
    parser = configparser.ConfigParser()
    if not parser.read(path):
        raise SettingsError(f"Cannot read {path}")
    if not parser.has_section(USERDATA_SECTION):
        raise SettingsError(f"{path} has no [{USERDATA_SECTION}] section")
    return dict(parser.items(USERDATA_SECTION))
