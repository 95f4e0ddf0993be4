"""The step parameters that take a closed set of words, registered with behave as parameter types.

A step writes ``{fault:NetworkFault}`` where it takes a network fault: behave's matcher then matches the step
only when the words there are one of the type's phrases, and hands the step the value they stand for (a
plan, a close code, a function of the settings…) instead of the words. A phrase the suite does not know
leaves the step undefined, so ``behave --dry-run`` finds it, and the message names the nearest phrasings
(support/harness/written_wrong.py). The step catalogue (``tools/step_catalogue.py``) lists every phrase a
parameter accepts from ``TYPES``.

The phrases are defined once, where they belong: in the area module that reads them (``support/areas/``), in
the shared vocabulary's words (``support/harness/vocabulary.py``: the auth service's troubles, kinds of
token, traits of a client) or in the service stack (the services' names). This module only turns each set
into a type, built with parse_type's ``TypeBuilder``, and registers them. It holds only the grammar no area
owns: how often (``Times``), how many messages, which channel, and the yes-or-no pairs ("usable" or
"unusable").

Step files call :func:`register` after their imports and before their first step, since behave compiles a
step's pattern when its decorator runs and ``tools.step_catalogue`` loads the step files without
``environment.py``. Registering twice is harmless; behave clears its types when a run starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from behave import register_type
from behave.matchers import ParseMatcher
from parse_type import TypeBuilder

from realtime_protocol.structured_log import ENVIRONMENT_LEVELS
from support.areas import (
    avatar,
    configuration,
    coordination,
    error_classification,
    network_faults,
    protocol_failures,
    server_faults,
    structured_logging,
)
from support.harness import vocabulary
from support.harness.test_data import account_profiles
from support.services.avatar.sessions import QUALITIES
from support.services.gateway.nodes import GATEWAY_NODES
from support.services.stack import SERVICE_NAMES

T = TypeVar("T")
Converter = Callable[[str], Any]
_NUMBER = r"\d+(?:\.\d+)?"
_WHOLE = r"\d+"
_QUOTED = r'"[^"]+"'
_STATUS = r"none|[1-5]\d\d"  # an HTTP status, or none when no answer came


@dataclass(frozen=True)
class Worded(Generic[T]):
    """A phrase and the value it stands for, for a step that says the words again in what it reports:
    ``str(restart)`` is the words, ``restart.value`` the value."""

    words: str
    value: T

    def __str__(self) -> str:
        return self.words


@dataclass(frozen=True)
class ParameterType:
    """One registered type: its ``name`` in step patterns (``{fault:NetworkFault}``), what a parameter of it
    names (``about``), every ``phrase`` it accepts (``{n}``-style holes stand for numbers or names), its
    ``converter`` (with the regular expression behave matches in its ``pattern``) and, when numbers in it
    are durations in production time, how they are brought to the suite's time (``suite_time``)."""

    name: str
    about: str
    phrases: tuple[str, ...]
    converter: Converter
    suite_time: str = ""


def _alternatives(phrases: Iterable[str]) -> str:
    # Longest first, so that a phrase that begins another never cuts it short.
    return "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))


def _enum(mapping: Mapping[str, Any]) -> Converter:
    """A converter from each phrase of ``mapping`` to its value, matching those phrases exactly."""
    converter = TypeBuilder.make_enum(dict(mapping))
    converter.pattern = _alternatives(mapping)
    return converter


def _choice(phrases: Iterable[str]) -> Converter:
    """A converter that accepts the phrases and returns the phrase itself."""
    phrases = tuple(phrases)
    converter = TypeBuilder.make_choice(list(phrases))
    converter.pattern = _alternatives(phrases)
    return converter


def _worded(mapping: Mapping[str, T]) -> Converter:
    """A converter from each phrase to ``Worded(phrase, value)``."""
    return _enum({words: Worded(words, value) for words, value in mapping.items()})


def _matching(pattern: str, convert: Converter) -> Converter:
    """A converter of anything ``pattern`` (a regular expression without groups) matches."""

    def converter(text: str) -> Any:
        return convert(text)

    converter.pattern = pattern  # type: ignore[attr-defined]
    return converter


def _number_before(suffix: str, convert: Callable[[str], T], number: str = _WHOLE) -> Converter:
    """A converter of "<number><suffix>" ("3 times", "95%") to ``convert(number)``."""
    return _matching(rf"{number}{re.escape(suffix)}", lambda text: convert(text.removesuffix(suffix)))


def _count(one: Mapping[str, int], many: str) -> Converter:
    """Counts said as words (``one``: "once" → 1) or as "<n><many>" ("3 times")."""
    return TypeBuilder.make_variant([_enum(one), _number_before(many, int)])


def _channels(text: str) -> str | None:
    return None if text == "each channel" else text[1:-1]


def _failures(text: str) -> list[str]:
    return coordination.parts_named(text.removeprefix("a failure of ").removeprefix("failures of "))


_SCALED = (
    "Its durations (`{duration}`, `{period}`, `{latency}`, `{jitter}`, `{timeout}`, `{delay}`, `{gap}`, "
    "each a number and `s` or `ms`) are production time, scaled to suite time by the "
    "`production_second_ms` setting (behave.ini; 50 by default: 30 s runs as 1.5 s); rates (`{rate}` "
    "KB/s) and sizes (`{size}` bytes) are taken as written."
)


def _closed(name: str, about: str, mapping: Mapping[str, Any], worded: bool = False) -> ParameterType:
    """A type of exactly the phrases of ``mapping``, each to its value (``worded``: with its words too)."""
    return ParameterType(name, about, tuple(mapping), _worded(mapping) if worded else _enum(mapping))


def _phrases(name: str, about: str, phrases: Iterable[str]) -> ParameterType:
    """A type of exactly these phrases, each handed to the step as it is."""
    return ParameterType(name, about, tuple(phrases), _choice(phrases))


_LEVELS = ", ".join(structured_logging.LEVELS).lower()
_PART = f"(?:{'|'.join(map(re.escape, coordination.FAILURE_WORDS))})"

TYPES: tuple[ParameterType, ...] = (
    # -- the network and the services
    ParameterType(
        "NetworkFault",
        "a network fault between the client and the gateway, lifted by itself once its time is up",
        tuple(form.pattern for form in network_faults.FORMS),
        _matching(network_faults.FAULT_PATTERN, network_faults.named_fault),
        suite_time=_SCALED,
    ),
    _closed(
        "RecoveryBound",
        "how soon after a network fault the client must be ready again, from its own backoff and connect "
        "settings plus the detection grace (not scaled)",
        network_faults.RECOVERY_BOUNDS,
        worded=True,
    ),
    _phrases("Service", "a mock service, by name", SERVICE_NAMES),
    _closed(
        "AuthTrouble",
        "what the auth service answers a token request with instead of tokens",
        vocabulary.AUTH_TROUBLES,
    ),
    ParameterType(
        "TokenRequests",
        "the next token requests, by how many and what for",
        ("sign-in request", "renewal request", "{n} sign-in requests"),
        _count({"sign-in request": 1, "renewal request": 1}, " sign-in requests"),
    ),
    _closed(
        "TokenKind",
        "the access token the auth service hands out: good, or with a flaw",
        vocabulary.TOKEN_FLAWS,
    ),
    _closed(
        "PresentedToken",
        "what a bare request for a realtime connection presents",
        vocabulary.PRESENTED_TOKENS,
    ),
    _closed(
        "AvatarTrouble", "how the avatar service misbehaves until it works normally again", avatar.TROUBLES
    ),
    ParameterType(
        "AvatarActivity",
        "what the avatar service shows the avatar doing",
        avatar.ACTIVITIES,
        _matching(avatar.ACTIVITY_PATTERN, avatar.activity),
    ),
    _phrases("AvatarQuality", "the quality of an avatar's stream, as the avatar service names it", QUALITIES),
    # -- the client
    _phrases("ClientState", "a connection state of the client (docs/protocol.md)", vocabulary.CLIENT_STATES),
    ParameterType(
        "AuthStatus", "an auth answer's HTTP status, or none", ("none", "{n}"), _matching(_STATUS, str)
    ),
    _phrases("AuthError", "the error code of an auth error the client reports", vocabulary.AUTH_ERRORS),
    _phrases("TokenCheck", "the reason for the client's verdict on a token's shape", vocabulary.TOKEN_CHECKS),
    _phrases("Classification", "how the client classifies a failure", error_classification.CLASSIFICATIONS),
    _closed("ClientTrait", "what the client under test is like beyond its key", vocabulary.CLIENT_TRAITS),
    _phrases("Profile", "a kind of account in fixtures/accounts.json", account_profiles()),
    _closed("TokenVerdict", "the client's verdict on a token's shape", {"usable": True, "unusable": False}),
    _closed(
        "WorthRetrying", "whether a failure was marked worth retrying", error_classification.WORTH_RETRYING
    ),
    _phrases(
        "FirstAttempt", "the client's first attempt a scenario makes fail", error_classification.TROUBLES
    ),
    _closed(
        "ConnectTrouble",
        "how the client's first connection (before any session) or first session fails; the first nine are "
        "for a connection, the rest for a session",
        error_classification.TROUBLES_BY_WORDS,
    ),
    _closed(
        "EarliestRetry",
        "how soon the client may try again at the earliest, from the settings and the pause the gateway "
        "asked for (not scaled)",
        error_classification.EARLIEST_RETRIES,
    ),
    ParameterType(
        "Failures",
        "the parts of the client that failed, in the order they failed",
        ("a failure of {part}", "failures of {part} and {part}", "failures of {part}, {part} and {part}"),
        _matching(rf"a failure of {_PART}|failures of {coordination.PARTS_PATTERN}", _failures),
    ),
    ParameterType(
        "Parts",
        f"parts of the client, each one of: {', '.join(coordination.FAILURE_WORDS)}",
        coordination.PARTS_LISTS,
        _matching(coordination.PARTS_PATTERN, coordination.parts_named),
    ),
    _closed(
        "RecoveryStrategy", "how the client recovers from parts failing together", coordination.STRATEGY_WORDS
    ),
    _closed(
        "ClientSetting",
        "one of the client's settings, named as a configuration table names it",
        configuration.SETTINGS_IN_A_SENTENCE,
    ),
    _closed(
        "LogHolds", "whether the client's log holds something yet", {"holds no": False, "now holds": True}
    ),
    # -- messages and the protocol
    ParameterType(
        "Times",
        "how many times",
        ("once", "only once", "just once", "twice", "{n} times"),
        _count({"once": 1, "only once": 1, "just once": 1, "twice": 2}, " times"),
    ),
    ParameterType(
        "MessageCount",
        "how many messages",
        ("a message", "{n} messages"),
        _count({"a message": 1}, " messages"),
    ),
    ParameterType(
        "UndeliveredCount",
        "how many messages the client could not deliver",
        ("no", "{n}"),
        TypeBuilder.make_variant([_enum({"no": 0}), _matching(_WHOLE, int)]),
    ),
    ParameterType(
        "Messages",
        "which numbered messages: 1 to n, or every one the server streamed until the stream stopped",
        ("messages 1 to {n}", "every streamed message"),
        TypeBuilder.make_variant(
            [
                _enum({"every streamed message": None}),
                _matching(rf"messages 1 to {_WHOLE}", lambda text: int(text.rsplit(" ", 1)[1])),
            ]
        ),
    ),
    ParameterType(
        "Channels",
        'a channel by its name in quotes, or each channel the scenario made up ("each channel")',
        ('"{channel}"', "each channel"),
        _matching(rf"{_QUOTED}|each channel", _channels),
    ),
    ParameterType(
        "HeartbeatPace",
        "how often the gateway hears the client's heartbeat, in the suite's usual intervals",
        ("at the usual pace", "every {n} usual intervals"),
        TypeBuilder.make_variant(
            [
                _enum({"at the usual pace": 1}),
                _matching(rf"every {_WHOLE} usual intervals", lambda text: int(text.split(" ")[1])),
            ]
        ),
    ),
    _closed(
        "UnusableFrame",
        "a frame the client cannot use, sent as it is",
        protocol_failures.UNUSABLE_FRAMES,
        worded=True,
    ),
    ParameterType(
        "ProtocolVersions",
        "the protocol versions the gateway speaks, newest first",
        protocol_failures.VERSION_WORDS,
        _matching(protocol_failures.VERSIONS_PATTERN, protocol_failures.protocol_versions),
    ),
    ParameterType("ProtocolVersion", "a protocol version", ("version {n}",), _matching(r"version \d+", str)),
    _closed(
        "GatewayCompression",
        "what the gateway does when a client offers compression",
        protocol_failures.GATEWAY_COMPRESSION,
    ),
    _closed("Compressed", "whether a connection was compressed", protocol_failures.COMPRESSED),
    # -- server faults
    _phrases("GatewayNode", "a gateway node behind the load balancer", GATEWAY_NODES),
    _closed(
        "RestartKind",
        "how the gateway restarts, keeping its sessions",
        server_faults.RESTART_KINDS,
        worded=True,
    ),
    _closed(
        "Warning",
        "the warning a gateway node gives its clients before it stops for an update",
        server_faults.WARNINGS,
    ),
    _closed(
        "CloseMeaning",
        "a close code by its meaning in words (realtime_protocol's descriptions)",
        server_faults.CLOSE_CODE_MEANINGS,
        worded=True,
    ),
    ParameterType(
        "Percentage",
        "a share, from 0% to 100%",
        ("{n}%",),
        _number_before("%", lambda number: server_faults.percentage(number + "%"), _NUMBER),
    ),
    ParameterType(
        "ProductionSeconds",
        "a time in production seconds",
        ("{n}",),
        _matching(_NUMBER, float),
        suite_time=(
            "Production seconds, scaled to suite time by the `production_second_ms` setting (behave.ini; "
            "50 by default: 10 s runs as 500 ms)."
        ),
    ),
    # -- logging
    _phrases(
        "LogEnvironment", "where an application runs, which decides how much it logs", ENVIRONMENT_LEVELS
    ),
    ParameterType(
        "ChosenLevel",
        f"the level logging is set up at; {{level}} is one of {_LEVELS}",
        structured_logging.CHOSEN_LEVELS,
        _matching(structured_logging.CHOSEN_LEVEL_PATTERN, structured_logging.chosen_level),
    ),
    ParameterType(
        "LogLevels",
        f"log levels; each {{level}} is one of {_LEVELS}",
        structured_logging.LEVEL_LISTS,
        _matching(structured_logging.LEVEL_LIST_PATTERN, structured_logging.level_names),
    ),
    _phrases("SecretKind", "a kind of secret", structured_logging.SECRET_KINDS),
    _phrases("SecretPlace", "where in a line's details a secret sits", structured_logging.PLACES),
)

BY_NAME: dict[str, ParameterType] = {parameter.name: parameter for parameter in TYPES}


def register() -> None:
    """Register every type with behave's parse matcher (the default); each converter also carries its
    phrases as ``converter.phrases``, for the nearest-phrasing advice. Idempotent."""
    for parameter in TYPES:
        parameter.converter.phrases = parameter.phrases  # type: ignore[attr-defined]
    if all(ParseMatcher.TYPE_REGISTRY.get(p.name) is p.converter for p in TYPES):
        return
    register_type(**{parameter.name: parameter.converter for parameter in TYPES})


def type_of(field: str) -> ParameterType | None:
    """The registered type of a pattern's field as written in a step (``"fault:NetworkFault"``), if any."""
    _, _, name = field.partition(":")
    return BY_NAME.get(name)


register()
