"""The parts of a scenario's world, one per area or shared concern, each a small dataclass.

``ScenarioWorld`` (support/harness/world.py) keeps what every scenario needs (settings, services, seed, fake
data, clients, secrets, moments) and composes these parts; a step reads the part of its area, e.g.
``context.world.crowd.people`` or ``context.world.faults.plan``. What each field holds, who sets it and
who reads it is declared in support/harness/context_map.py (rendered as docs/context.md).
"""

from __future__ import annotations

import base64
import dataclasses
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from hamcrest import empty

from support.areas.configuration import Reconfiguration
from support.areas.network_faults import FaultPlan
from support.areas.server_faults import CrowdFault
from support.drivers import ClientDriver, ClientTimings, ObservedEvent, TokenKeeping, connect_all
from support.drivers.sign_in_caller import SignInAnswer, SignInCaller
from support.harness import observations
from support.harness.people import Person
from support.harness.settings import Settings
from support.harness.waiting import wait_for
from support.harness.written_wrong import ScenarioWrittenWrong


@dataclass
class Accounts:
    """Who each client is: its API key, the user that key signs in as and the correlation id its log lines
    carry; and someone who signs in over HTTP without a client. Shared vocabulary (the client's and the
    services' steps); structured_logging reads the correlation ids, sign_in_load the caller."""

    api_keys: dict[str, str] = field(default_factory=dict)  # client name -> its API key
    subjects: dict[str, str] = field(default_factory=dict)  # API key -> the user name it signs in as
    correlation_ids: dict[str, str] = field(default_factory=dict)  # client name -> the id its lines carry
    caller: SignInCaller | None = None  # someone signing in over HTTP without a client


@dataclass
class Tokens:
    """The tokens a scenario holds, or asked for by hand (token_renewal, token_safekeeping,
    access_security)."""

    keeping: TokenKeeping | None = None  # where clients that keep tokens keep them
    fresh_access: list[str] = field(default_factory=list)  # what callers got asking at once, by fingerprint
    auth_answer: SignInAnswer | None = None  # the last answer to a refresh token presented by hand
    gateway_answer: int | None = None  # the HTTP status of the last bare request to the gateway

    def keep(self, rng: Random, secrets: list[str]) -> TokenKeeping:
        """The scenario's token store: a file in a private temporary folder and a 32-byte key drawn from
        ``rng`` (noted in ``secrets``); made on first use, the same one afterwards."""
        if self.keeping is None:
            directory = Path(tempfile.mkdtemp(prefix="rtas-tokens-"))
            key = base64.urlsafe_b64encode(rng.randbytes(32))
            secrets.append(key.decode("ascii"))
            self.keeping = TokenKeeping(str(directory / "tokens"), key)
        return self.keeping

    def stored(self) -> bytes | None:
        """What the client's token store holds on disk, byte for byte; None when there is no file. Raises
        AssertionError when the scenario's client keeps no tokens."""
        if self.keeping is None:
            raise AssertionError("The scenario's client does not keep its tokens.")
        try:
            return Path(self.keeping.path).read_bytes()
        except FileNotFoundError:
            return None

    def discard(self) -> None:
        """Remove the token store's folder, if the scenario made one."""
        if self.keeping is not None:
            shutil.rmtree(Path(self.keeping.path).parent, ignore_errors=True)


@dataclass
class Crowd:
    """Many people's clients at once (sign_in_load, server_faults, channel_access, backoff's spread). Each
    person's client is in the world's ``clients`` under the person's name; ``clients`` is that same dict."""

    clients: dict[str, ClientDriver] = field(repr=False)  # the world's clients, shared
    wait_s: float  # how long a wait lasts unless told otherwise: the wait_timeout_ms setting, in s
    people: dict[str, Person] = field(default_factory=dict)  # client name -> whose client it is
    channels: list[str] = field(default_factory=list)  # channels the scenario made up, in order
    connect_told: dict[str, float] = field(default_factory=dict)  # client name -> when told to connect
    faults: list[CrowdFault] = field(default_factory=list)  # the server faults it lived through, in order

    def connect(self) -> None:
        """Tell every person's client to connect at the same moment, remembering when each was told."""
        names = list(self.people)
        told = connect_all([self.clients[name] for name in names])
        self.connect_told.update(zip(names, told, strict=True))

    def events(self) -> dict[str, list[ObservedEvent]]:
        """What each person's client has reported so far, by person."""
        return {name: self.clients[name].events() for name in self.people}

    def describe(self, names: list[str]) -> str:
        """What each of these clients is doing, for a failure message: at most ten, then how many more."""
        told = [
            observations.describe_client(self.clients[name].events(), self.clients[name].state, who=name)
            for name in names[:10]
        ]
        more = f"; and {len(names) - 10} more" if len(names) > 10 else ""
        return f"{len(names)} of {len(self.people)} not ready: " + "; ".join(told) + more

    def await_ready(self, extra_s: float = 0.0) -> None:
        """Wait until every person's client is ready (the usual wait, plus ``extra_s``); the failure message
        says of each that is not what it is doing and what led there."""
        wait_for(
            lambda: [name for name in self.people if self.clients[name].state != "ready"],
            empty(),
            within_s=self.wait_s + extra_s,
            what="every client of the crowd to be ready",
            seen=self.describe,
        )


@dataclass
class Messages:
    """What was sent, by channel (the messaging steps; protocol_failures, channel_access, server_faults)."""

    published: dict[str, list[str]] = field(default_factory=dict)  # channel -> message ids sent
    sent_data: dict[str, list[Any]] = field(default_factory=dict)  # channel -> what was sent on it, in order
    streamed: dict[str, int] = field(default_factory=dict)  # channel -> messages a finished stream sent
    oversized: list[str] = field(default_factory=list)  # ids of messages sent that were too big to be taken

    def remember(self, channel: str, ids: list[str], payloads: list[Any]) -> None:
        """Note messages sent on ``channel``: their ids and payloads, in the order sent."""
        self.published.setdefault(channel, []).extend(ids)
        self.sent_data.setdefault(channel, []).extend(payloads)


@dataclass
class Faults:
    """What the scenario did to the network and the services, and what it remembers from before
    (network_faults, error_classification, the network's and the services' steps)."""

    session_before: str | None = None  # the client's session when the disruption was marked
    plan: FaultPlan | None = None  # the last network fault the scenario applied, in suite time
    gateway_url: str | None = None  # where new clients go instead of the gateway, when a scenario says so
    gateway_pause_ms: float = 0.0  # the Retry-After the gateway was told to ask for
    auth_pause_ms: float = 0.0  # the Retry-After the auth service was told to ask for


@dataclass
class Configuration:
    """How the scenario configures its clients differently from the settings (backoff, configuration)."""

    # Client timings this scenario sets for its clients instead of the settings' (a small retry limit, say).
    timing_overrides: dict[str, float] = field(default_factory=dict)
    reconfiguration: Reconfiguration | None = None  # the last configuration update the scenario asked for

    def adjust(self, **overrides: float) -> None:
        """Override client timings by their ``ClientTimings`` names; an unknown name is a scenario written
        wrong."""
        known = {item.name for item in dataclasses.fields(ClientTimings)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ScenarioWrittenWrong("client timing", ", ".join(unknown), sorted(known))
        self.timing_overrides.update(overrides)

    def client_timings(self, settings: Settings) -> ClientTimings:
        """The timings clients run with: the settings' of the same names, with this scenario's overrides."""
        timings = ClientTimings(
            **{item.name: getattr(settings, item.name) for item in dataclasses.fields(ClientTimings)}
        )
        return dataclasses.replace(timings, **self.timing_overrides)


@dataclass
class Report:
    """What the report says of the scenario beyond what happened: what it measured, which opens its story."""

    findings: list[str] = field(default_factory=list)
