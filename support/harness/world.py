"""Everything one scenario owns: its seed, its fake data, its clients and the moments it marked, and a part
for each area's own records (support/harness/world_parts.py).

Steps keep a ``ScenarioWorld`` on ``context.world``; it is plain Python so it can be tested on its own.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from faker import Faker
from hamcrest import equal_to, has_item

from realtime_protocol.structured_log import new_correlation_id
from support.drivers import (
    ClientDriver,
    ClientSetup,
    ClientTimings,
    ObservedEvent,
    close_all,
    make_driver,
    make_drivers,
)
from support.drivers.sign_in_caller import SignInAnswer, SignInCaller
from support.harness import observations
from support.harness.log_capture import LogCapture
from support.harness.people import Person
from support.harness.settings import Settings
from support.harness.test_data import account_profiles
from support.harness.vocabulary import AuthTrouble
from support.harness.waiting import in_words, wait_for
from support.harness.world_parts import Accounts, Configuration, Crowd, Faults, Messages, Report, Tokens
from support.harness.written_wrong import ScenarioWrittenWrong
from support.report.story import Attachment, scenario_attachments
from support.services.stack import ServiceStack

MAIN_CLIENT = "the client"
RESTARTED_CLIENT = "the client before its restart"


def scenario_seed(run_seed: int, *identity: str) -> int:
    """A seed for one scenario that depends only on the run's seed and the scenario's identity, so a
    scenario replays identically whether it runs alone or among others."""
    digest = hashlib.sha256("\0".join((str(run_seed), *identity)).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class ScenarioWorld:
    """One scenario's world: what every scenario needs, and a part for each area's own records."""

    settings: Settings
    services: ServiceStack
    seed: int
    faker: Faker = field(init=False)
    rng: random.Random = field(init=False)
    clients: dict[str, ClientDriver] = field(default_factory=dict)  # client name -> its driver
    secrets: list[str] = field(default_factory=list)  # every secret handed out, to prove none leaks
    moments: dict[str, float] = field(default_factory=dict)  # moment -> time.monotonic() when marked
    accounts: Accounts = field(default_factory=Accounts)
    tokens: Tokens = field(default_factory=Tokens)
    crowd: Crowd = field(init=False)
    messages: Messages = field(default_factory=Messages)
    faults: Faults = field(default_factory=Faults)
    configuration: Configuration = field(default_factory=Configuration)
    report: Report = field(default_factory=Report)
    logs: LogCapture = field(default_factory=LogCapture)  # installed by the hooks for the scenario's length

    def __post_init__(self) -> None:
        self.faker = Faker()
        self.faker.seed_instance(self.seed)
        self.rng = random.Random(self.seed)
        self.crowd = Crowd(self.clients, self.settings.wait_timeout_s)

    # -- people and keys ---------------------------------------------------------------------------

    def new_api_key(self, registered: bool = True, profile: str = "member") -> str:
        """An API key for a newly made-up person; registered with the auth service unless asked not to be."""
        key = "key_" + "".join(self.rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=32))
        self.secrets.append(key)
        self.accounts.subjects[key] = subject = self.faker.user_name()
        if registered:
            rights = account_profiles()[profile]
            self.services.auth.register_account(
                key, subject=subject, channels=rights.read, publish=rights.publish
            )
        return key

    def new_person(self, profile: str = "member", read: tuple[str, ...] | None = None) -> Person:
        """A made-up person with a unique name and a registered key, with the profile's rights, or the
        profile's publishing rights and the given reading rights."""
        rights = account_profiles()[profile]
        person = Person(
            name=self.faker.unique.user_name(),
            api_key=self.new_api_key(registered=False),
            read=rights.read if read is None else read,
            publish=rights.publish,
        )
        self.services.auth.register_account(
            person.api_key, subject=person.name, channels=person.read, publish=person.publish
        )
        return person

    def program_auth_trouble(self, trouble: AuthTrouble, count: int) -> None:
        """Make the auth service answer the next ``count`` token requests with ``trouble`` (one of
        ``AUTH_TROUBLES``' values)."""
        response = trouble(self.settings)
        if response.retry_after_s:
            self.faults.auth_pause_ms = response.retry_after_s * 1000
        self.services.auth.program(*[response] * count)

    def hand_out_flawed_tokens(self, flaw: str | None) -> None:
        """Make the auth service hand out access tokens with ``flaw`` (one of ``TOKEN_FLAWS``' values; None:
        good ones)."""
        if flaw is not None:
            self.services.auth.hand_out_flawed_tokens(flaw)

    def present_refresh_token(self, token: str) -> SignInAnswer:
        """Ask the auth service for new tokens with ``token``, as anyone holding it could."""
        self.tokens.auth_answer = answer = self.caller_for_sign_ins().present_refresh_token(token)
        return answer

    def push_secret_message(self, channel: str) -> None:
        """The server pushes a message carrying a made-up password (noted as a secret) on ``channel``."""
        password = self.faker.password(length=16)
        self.secrets.append(password)
        self.services.gateway.publish(channel, {"text": self.faker.sentence(), "password": password})

    # -- clients -----------------------------------------------------------------------------------

    def adjust_client_timings(self, **overrides: float) -> ClientTimings:
        """From now on this scenario's clients run with these timings (names of ``ClientTimings``) instead of
        the settings'. Clients are given their timings when they are made, so this comes before any client."""
        if self.clients:
            raise RuntimeError(
                "Client timings are set before any client is made; this scenario already made "
                + ", ".join(self.clients)
            )
        self.configuration.adjust(**overrides)
        return self.client_timings()

    def client_timings(self) -> ClientTimings:
        """The timings this scenario's clients run with: the settings', with the scenario's adjustments."""
        return self.configuration.client_timings(self.settings)

    def create_client(
        self,
        api_key: str,
        name: str = MAIN_CLIENT,
        keep_tokens: bool = False,
        trust_test_authority: bool = True,
        with_avatar: bool = False,
        compression: bool = True,
    ) -> ClientDriver:
        """A client of the given key; over TLS it trusts the run's test authority unless asked not to. A
        client that keeps its tokens between runs keeps them in the scenario's token store. A client with an
        avatar gets a key of its own for the avatar service."""
        endpoints = self.services.endpoints
        if self.faults.gateway_url is not None:
            endpoints = dataclasses.replace(endpoints, gateway_url=self.faults.gateway_url)
        setup = ClientSetup(
            endpoints=endpoints,
            api_key=api_key,
            timings=self.client_timings(),
            seed=scenario_seed(self.seed, name),
            token_keeping=self.tokens.keep(self.rng, self.secrets) if keep_tokens else None,
            trust_test_authority=trust_test_authority,
            correlation_id=new_correlation_id(random.Random(scenario_seed(self.seed, name, "correlation"))),
            avatar_api_key=self._avatar_key(name) if with_avatar else None,
            compression=compression,
        )
        driver = make_driver(self.settings.client, setup)
        self.accounts.correlation_ids[name] = setup.correlation_id or ""
        self.clients[name] = driver
        self.accounts.api_keys[name] = api_key
        return driver

    def restart_client(self) -> ClientDriver:
        """Shut the client down and start it again as a new process would: same key, same token store."""
        before = self.clients.pop(MAIN_CLIENT)
        before.shutdown()
        self.clients[RESTARTED_CLIENT] = before
        return self.create_client(
            self.accounts.api_keys[MAIN_CLIENT], keep_tokens=self.tokens.keeping is not None
        )

    def _avatar_key(self, name: str) -> str:
        # Drawn from a generator of its own, so a scenario's other random choices stay as they were.
        rng = random.Random(scenario_seed(self.seed, name, "avatar key"))
        key = "avk_" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=32))
        self.secrets.append(key)
        self.services.avatar.register_key(key)
        return key

    def issued(self, kind: str | None = None) -> list[str]:
        """The tokens (of one kind, "access" or "refresh", if given) the auth service handed to the main
        client's user, oldest first. Each is noted as a secret, so the report never shows it."""
        subject = self.accounts.subjects[self.accounts.api_keys[MAIN_CLIENT]]
        tokens = [
            issued.value
            for issued in self.services.auth.issued_tokens(subject)
            if kind is None or issued.kind == kind
        ]
        self.secrets += [token for token in tokens if token not in self.secrets]
        return tokens

    def create_crowd(self, people: list[Person]) -> list[ClientDriver]:
        """A client for each person, named after them, sharing what the driver can share between clients."""
        setups = [
            ClientSetup(
                endpoints=self.services.endpoints,
                api_key=person.api_key,
                timings=self.client_timings(),
                seed=scenario_seed(self.seed, person.name),
            )
            for person in people
        ]
        drivers = make_drivers(self.settings.client, setups)
        for person, driver in zip(people, drivers, strict=True):
            self.crowd.people[person.name] = person
            self.clients[person.name] = driver
        return drivers

    def caller_for_sign_ins(self) -> SignInCaller:
        """Someone (not a client) who signs in over HTTP under a client id of their own."""
        if self.accounts.caller is None:
            client_id = "caller-" + "".join(self.rng.choices("0123456789abcdef", k=12))
            endpoints = self.services.endpoints
            self.accounts.caller = SignInCaller(
                endpoints.auth_url, client_id, self.settings.wait_timeout_s, ca_file=endpoints.ca_file
            )
        return self.accounts.caller

    @property
    def client(self) -> ClientDriver:
        """The main client; a step that needs it before the scenario made it is a scenario written wrong."""
        try:
            return self.clients[MAIN_CLIENT]
        except KeyError:
            raise ScenarioWrittenWrong(
                "this step needs the client, but the scenario has not set one up yet "
                '(a Given such as "a client with a valid API key" comes first).'
            ) from None

    def connect_and_subscribe(self, client: ClientDriver, channel: str, whose: str = "the client's") -> None:
        """Connect ``client``, wait until it is ready, subscribe it to ``channel`` and wait until the gateway
        confirms the subscription; ``whose`` names the client in a failure message."""
        client.connect()
        self.await_state("ready", what=f"{whose} state to be ready", client=client)
        self.subscribe(client, channel, whose)

    def subscribe(self, client: ClientDriver, channel: str, whose: str = "the client's") -> None:
        """Subscribe ``client`` to ``channel`` and wait until the gateway holds the subscription for the
        client's session (what the gateway saw, not what the client says); ``whose`` names the client in a
        failure message."""
        client.subscribe(channel)

        def channels_read() -> list[str]:
            session_id = client.session_id
            return sorted(self.services.gateway.subscriptions(session_id)) if session_id else []

        def seen(channels: list[str]) -> str:
            return f"the gateway holds {whose} session reading {in_words(channels)}"

        wait_for(
            channels_read,
            has_item(channel),
            within_s=self.settings.wait_timeout_s,
            what=f"the gateway to confirm {whose} subscription to {channel!r}",
            seen=seen,
        )

    def await_state(
        self, state: str, what: str, *, since: str | None = None, client: ClientDriver | None = None
    ) -> None:
        """Wait until the client (the main one unless another is given) is in ``state``, or, with ``since``
        (a moment the scenario marked), until the last state it went into since then is ``state``. ``what``
        says it in words; a failure says the state the client is in and what led there."""
        driver = self.client if client is None else client
        after = None if since is None else self.since(since)

        def now() -> str:
            if after is None:
                return driver.state
            changed = observations.states_since(driver.events(), after)
            return changed[-1] if changed else f"unchanged since the {since}"

        wait_for(
            now,
            equal_to(state),
            within_s=self.settings.wait_timeout_s,
            what=what,
            seen=lambda _: observations.describe_client(
                driver.events(), driver.state, since=after, since_words=f"the {since}"
            ),
        )

    def publish(self, channel: str, count: int) -> list[str]:
        """The main client publishes ``count`` made-up messages on the channel; their ids, in order."""
        return self.publish_data(channel, [{"text": self.faker.sentence()} for _ in range(count)])

    def publish_data(self, channel: str, payloads: list[Any]) -> list[str]:
        """The main client publishes each payload on the channel, in order; each is remembered as sent."""
        ids = [self.client.publish(channel, data) for data in payloads]
        self.messages.remember(channel, ids, payloads)
        return ids

    # -- time --------------------------------------------------------------------------------------

    def mark(self, moment: str) -> float:
        """Note that ``moment`` (in words, e.g. "disruption") happens now; its time.monotonic() seconds."""
        self.moments[moment] = time.monotonic()
        return self.moments[moment]

    def disrupt(self) -> float:
        """Mark the moment something went wrong, remembering the session the client had then."""
        if MAIN_CLIENT in self.clients:
            self.faults.session_before = self.client.session_id
        return self.mark("disruption")

    def since(self, moment: str) -> float:
        """When ``moment`` was marked, in time.monotonic() seconds; a moment no step marked is a scenario
        written wrong."""
        try:
            return self.moments[moment]
        except KeyError:
            raise ScenarioWrittenWrong(
                f'this step refers to the moment "{moment}", which no earlier step marked.'
            ) from None

    # -- the end -----------------------------------------------------------------------------------

    def report_attachments(
        self, title: str, events: dict[str, list[ObservedEvent]] | None = None
    ) -> list[Attachment]:
        """What the report shows of this scenario so far, before redaction (the hooks redact it)."""
        if events is None:
            events = {name: driver.events() for name, driver in self.clients.items()}
        return scenario_attachments(
            title,
            self.seed,
            events,
            self.services.journal_entries(),
            self.services.transcript(),
            self.logs.lines(),
            self.since("scenario start"),
            time.monotonic(),
            self.report.findings,
        )

    def close(self) -> list[str]:
        """Dispose of every client; return what each left running (nothing, when all is well)."""
        leaks: list[str] = []
        try:
            # Together, so a crowd's closing handshakes overlap; any client left open is closed below.
            close_all(list(self.clients.values()))
        except Exception as error:
            leaks.append(f"closing the clients together failed ({error})")
        for name, driver in self.clients.items():
            leaks += [f"{name}: {leftover}" for leftover in driver.dispose()]
        self.tokens.discard()
        self.logs.uninstall()
        return leaks
