"""Network faults as scenarios name them, in real time, turned into what the fault proxy does in suite time.

A scenario says "the network drops for 30 s" or "connections reset by peer after 5 s, for 30 s": one of
the ``FORMS`` below, which the step's parameter type (``NetworkFault`` in support/harness/parameter_types.py)
accepts and no other wording, so a fault worded wrong fails ``behave --dry-run``. Every duration in such a
phrase is scaled by the ``production_second_ms`` setting, so the seed's real numbers stay readable in the
feature while the suite runs in milliseconds; rates and sizes are taken as they are. Each fault lasts its
time and is then lifted by the network itself.

How soon the client must be ready again once the fault is over is named in words ("within a retry pause")
and comes from the client's own backoff and connect settings plus the detection grace, not from the scale:
those are the times the client really needs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from support.drivers.base import ObservedEvent
from support.drivers.events import StateChanged
from support.harness.queries import Events
from support.harness.settings import Settings
from support.services.proxy import FaultRecord, Stream

# The stream every toxic here acts on: what the gateway sends the client.
DOWNSTREAM: Stream = "downstream"
# How far each flapping phase strays from its mean, so the schedule is not a metronome (drawn from the seed).
FLAP_VARIATION = 0.2
_DURATION = r"(\d+(?:\.\d+)?)\s*(ms|s)"
# The holes of a form that hold a duration (scaled to suite time); every other hole holds a rate or a size.
DURATION_HOLES = ("duration", "latency", "jitter", "timeout", "delay", "period", "gap")


@dataclass(frozen=True)
class Toxic:
    kind: str
    attributes: dict[str, float]


@dataclass(frozen=True)
class FaultPlan:
    """What the network does, in suite time: toxics on the gateway's stream, the link down, or flapping."""

    words: str
    lasting_ms: float
    toxics: tuple[Toxic, ...] = ()
    down: bool = False
    flapping_ms: tuple[float, float] | None = None  # (up, down)


class Network(Protocol):
    """The part of the fault proxy's handle (``ServiceStack.proxy``) a plan needs."""

    def add_toxic(self, kind: str, stream: Stream = DOWNSTREAM, **attributes: float) -> FaultRecord: ...
    def down(self) -> FaultRecord: ...
    def start_flapping(self, *, up_ms: float, down_ms: float, variation: float = 0.0) -> FaultRecord: ...
    def heal_after(self, delay_ms: float) -> None: ...


@dataclass(frozen=True)
class _Form:
    pattern: str  # the phrase, with {duration}-style holes, as the step catalogue lists it
    build: Callable[[dict[str, float]], FaultPlan]
    regex: re.Pattern[str] = field(init=False)
    # The same phrase as a regular expression without groups, for the step's parameter type.
    plain_regex: str = field(init=False)

    def __post_init__(self) -> None:
        holes = re.split(r"(\{\w+\})", self.pattern)
        words = [re.escape(part).replace(r"\ ", r"\s+") for part in holes]
        named = [
            _hole(part[1:-1]) if part.startswith("{") else word
            for part, word in zip(holes, words, strict=True)
        ]
        plain = [
            _hole(part[1:-1], "?:") if part.startswith("{") else word
            for part, word in zip(holes, words, strict=True)
        ]
        object.__setattr__(self, "regex", re.compile("^" + "".join(named) + "$", re.IGNORECASE))
        object.__setattr__(self, "plain_regex", "".join(plain))


def _hole(name: str, group: str | None = None) -> str:
    opening = f"(?P<{name}>" if group is None else f"({group}"
    if name in DURATION_HOLES:
        return rf"{opening}\d+(?:\.\d+)?\s*(?:ms|s))"
    return rf"{opening}\d+(?:\.\d+)?)"


def _toxics(*toxics: Toxic) -> Callable[[dict[str, float]], FaultPlan]:
    return lambda v: FaultPlan("", v["duration"], toxics=toxics)


FORMS = (
    _Form("the network drops for {duration}", lambda v: FaultPlan("", v["duration"], down=True)),
    _Form(
        "the network goes off and on every {period} for {duration}",
        lambda v: FaultPlan("", v["duration"], flapping_ms=(v["period"], v["period"])),
    ),
    _Form(
        "a latency of {latency} ± {jitter} for {duration}",
        lambda v: _toxics(Toxic("latency", {"latency": v["latency"], "jitter": v["jitter"]}))(v),
    ),
    _Form(
        "the bandwidth throttled to {rate} KB/s for {duration}",
        lambda v: _toxics(Toxic("bandwidth", {"rate": v["rate"]}))(v),
    ),
    _Form(
        "the stream sliced into {size}-byte pieces {gap} apart for {duration}",
        lambda v: _toxics(
            Toxic(
                "slicer",
                {"average_size": v["size"], "size_variation": v["size"] // 2, "delay": v["gap"] * 1000},
            )
        )(v),
    ),
    _Form("a half-open link for {duration}", _toxics(Toxic("timeout", {"timeout": 0}))),
    _Form(
        "connections reset by peer after {timeout}, for {duration}",
        lambda v: _toxics(Toxic("reset_peer", {"timeout": v["timeout"]}))(v),
    ),
    _Form(
        "connections cut after {size} bytes, for {duration}",
        lambda v: _toxics(Toxic("limit_data", {"bytes": v["size"]}))(v),
    ),
    _Form(
        "connections cut after {size} bytes with the close held back {delay}, for {duration}",
        lambda v: _toxics(
            Toxic("limit_data", {"bytes": v["size"]}), Toxic("slow_close", {"delay": v["delay"]})
        )(v),
    ),
)


# Every wording of a fault, as one regular expression without groups (case does not matter).
FAULT_PATTERN = "(?i:" + "|".join(form.plain_regex for form in FORMS) + ")"


@dataclass(frozen=True)
class NamedFault:
    """A network fault as a scenario names it (``words``), its durations still in production time."""

    words: str
    form: _Form

    def plan(self, time_scale: float) -> FaultPlan:
        """The plan in suite time: every duration in the words multiplied by ``time_scale`` (the suite's
        milliseconds per production millisecond); rates and sizes as written."""
        match = self.form.regex.match(self.words.strip())
        assert match is not None, self.words  # named_fault chose this form for these words
        values = {name: _value(text, time_scale) for name, text in match.groupdict().items()}
        return dataclasses.replace(self.form.build(values), words=self.words)

    def __str__(self) -> str:
        return self.words


def named_fault(words: str) -> NamedFault:
    """The fault named in ``words`` (one of the ``FORMS``); ValueError when no form says it, which the
    ``NetworkFault`` parameter type makes impossible for a step."""
    for form in FORMS:
        if form.regex.match(words.strip()) is not None:
            return NamedFault(words, form)
    raise ValueError(f"No network fault is worded {words!r}")


def _value(text: str, time_scale: float) -> float:
    duration = re.fullmatch(_DURATION, text)
    if duration is None:
        return float(text)  # a rate or a size: not scaled
    number, unit = float(duration.group(1)), duration.group(2)
    return number * (1000 if unit == "s" else 1) * time_scale


def apply_fault(plan: FaultPlan, network: Network) -> None:
    """Apply the plan's faults now, to be lifted by the network itself once the plan's time is up."""
    for toxic in plan.toxics:
        network.add_toxic(toxic.kind, DOWNSTREAM, **toxic.attributes)
    if plan.down:
        network.down()
    if plan.flapping_ms is not None:
        up_ms, down_ms = plan.flapping_ms
        network.start_flapping(up_ms=up_ms, down_ms=down_ms, variation=FLAP_VARIATION)
    network.heal_after(plan.lasting_ms)


# -- how soon the client must be ready again -------------------------------------------------------

RecoveryBound = Callable[[Settings], float]  # the settings → the bound in milliseconds


def _retry_pause_ms(settings: Settings) -> float:
    return settings.backoff_max_ms * (1 + settings.backoff_jitter)


# How long after the fault is over the client may take to be ready again, by the words scenarios use: from
# the client's own backoff and connect settings plus the detection grace, never from the time scale.
RECOVERY_BOUNDS: dict[str, RecoveryBound] = {
    "at once": lambda settings: 0.0,
    "within a retry pause": lambda settings: _retry_pause_ms(settings) + settings.detection_grace_ms,
    "within a connection timeout and a retry pause": lambda settings: (
        settings.connect_timeout_ms + _retry_pause_ms(settings) + settings.detection_grace_ms
    ),
}


def recovery_bound_s(bound: RecoveryBound, settings: Settings) -> float:
    """The bound (one of ``RECOVERY_BOUNDS``' values) in seconds, under these settings."""
    return bound(settings) / 1000


def lifted_at(faults: Sequence[FaultRecord], since: float) -> float | None:
    """When the last of the faults applied since ``since`` was lifted; None while any is still active."""
    recent = [fault for fault in faults if fault.applied_at >= since]
    if not recent or any(fault.active for fault in recent):
        return None
    return max(fault.lifted_at or 0.0 for fault in recent)


def recovery_s(events: Sequence[ObservedEvent], healed_at: float) -> float | None:
    """Seconds from the network healing until the client was ready again for good: 0 if it was ready then and
    has stayed so; None while it is not ready."""
    last = Events(events).last(StateChanged)
    if last is None or last.state != "ready":
        return None
    return max(0.0, last.at - healed_at)
