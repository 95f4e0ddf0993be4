"""The map of behave's ``context``: every attribute that lives on it and on the scenario's world and its
parts, with who sets it, who may read it and what it is (``ATTRIBUTES``), and the rules for using it
(``RULES``), after the code guide of ONSdigital's acceptance tests, which keeps such an index of its context.

docs/context.md is written from this module (``python -m tools.context_doc``); tests/test_context_map.py
fails when code sets an attribute the map does not declare. For a failing scenario the hooks attach
"Context" to its report: each attribute's value in words, secrets by fingerprint only
(support/harness/context_words.py).
"""

from __future__ import annotations

from dataclasses import dataclass

BEHAVE = "behave"
HOOKS = "support/harness/hooks.py"
FIXTURES = "support/harness/fixtures.py"
WORLD = "support/harness/world.py"
EVERY_STEP = "every step file"

RULES: tuple[str, ...] = (
    "Only behave, the hooks (`support/harness/hooks.py`), the fixtures (`support/harness/fixtures.py`) "
    "and the step files set attributes on `context`. Everything else is handed what it needs as arguments "
    "and returns what it found; it never takes `context` itself.",
    "`context` holds the run (settings, services, where results go) and the scenario's world. What a "
    "scenario keeps from one step to the next goes into the world, in the part its area owns "
    "(`context.world.<part>`, `support/harness/world_parts.py`), rather than onto `context`.",
    "Every attribute is declared in `support/harness/context_map.py`, with what it is, who sets it and who "
    "may read it. `tests/test_context_map.py` fails when code sets one the map does not declare, and when "
    "a part of the world has a field the map does not declare.",
    'A failing scenario\'s report carries each value in words (the "Context" attachment): never a Python '
    "repr, and a secret only by its fingerprint (`support/harness/context_words.py`).",
)


def steps(*areas: str) -> str:
    """The step files of these areas (or of the shared vocabulary): "steps/<area>_steps.py", comma-joined."""
    return ", ".join(f"steps/{area}_steps.py" for area in areas)


@dataclass(frozen=True)
class Attribute:
    """One attribute: its ``path`` below ``context`` ("settings", "world.crowd.people"), what it is (with
    its shape), where it is set and who may read it (files, and the function where it helps)."""

    path: str
    what: str
    set_by: str
    read_by: str

    @property
    def group(self) -> str:
        """The group: "context", "world" or the world's part ("world.crowd") the attribute belongs to."""
        parts = self.path.split(".")
        return "context" if len(parts) == 1 else ".".join(parts[:-1])


STRUCTURED_LOGGING = steps("structured_logging")
CROWD_AREAS = steps("channel_access", "sign_in_load", "server_faults")

ATTRIBUTES: tuple[Attribute, ...] = (
    # -- on context itself (behave's own that the suite reads, then the suite's) ----------------------------
    Attribute("config", "behave's configuration: its command line, userdata and formatters", BEHAVE, HOOKS),
    Attribute("scenario", "the scenario running (behave's model)", BEHAVE, steps("token_safekeeping")),
    Attribute("table", "the data table of the step running, or None", BEHAVE, EVERY_STEP),
    Attribute("text", "the doc string of the step running, or None", BEHAVE, EVERY_STEP),
    Attribute("aborted", "whether the run was interrupted (Ctrl-C)", BEHAVE, HOOKS),
    Attribute(
        "settings",
        "the run's Settings (support/harness/settings.py): every setting, times in ms",
        f"{HOOKS} before_all",
        f"{EVERY_STEP}, {FIXTURES}",
    ),
    Attribute(
        "services",
        "the ServiceStack the scenario talks to: auth service, gateway, fault proxy, avatar service",
        f"{HOOKS} before_all; {FIXTURES} swaps in a stack of the scenario's own for @fixture.services.*",
        EVERY_STEP,
    ),
    Attribute(
        "allure_results",
        "the folder Allure results are written to (a Path), or None when no Allure formatter runs",
        f"{HOOKS} before_all",
        f"{HOOKS} after_all",
    ),
    Attribute(
        "open_worlds",
        "the worlds of scenarios not yet closed (a list), closed by after_all when a run is interrupted",
        f"{HOOKS} before_all, before_scenario and after_scenario",
        f"{HOOKS} after_all",
    ),
    Attribute(
        "world",
        "the scenario's ScenarioWorld (support/harness/world.py): what every scenario needs, and its parts",
        f"{HOOKS} before_scenario",
        EVERY_STEP,
    ),
    Attribute(
        "log_sink",
        "a logger the scenario set up as an application in one environment would (a LogSink)",
        STRUCTURED_LOGGING,
        STRUCTURED_LOGGING,
    ),
    Attribute(
        "planted",
        "the made-up secret a logged line carried, with the details it was logged among (a PlantedSecret)",
        STRUCTURED_LOGGING,
        STRUCTURED_LOGGING,
    ),
    Attribute(
        "error_secret",
        "the made-up password in the message of an error the client logged (a secret)",
        STRUCTURED_LOGGING,
        STRUCTURED_LOGGING,
    ),
    # -- the world: what every scenario needs --------------------------------------------------------------
    Attribute("world.settings", "the same Settings as context.settings", HOOKS, WORLD),
    Attribute("world.services", "the same ServiceStack as context.services", HOOKS, WORLD),
    Attribute(
        "world.seed", "the scenario's seed, from the run's seed and the scenario's name", HOOKS, EVERY_STEP
    ),
    Attribute(
        "world.faker",
        "Faker seeded with the scenario's seed: made-up names, sentences, passwords",
        WORLD,
        EVERY_STEP,
    ),
    Attribute("world.rng", "random.Random seeded with the scenario's seed", WORLD, EVERY_STEP),
    Attribute(
        "world.clients", 'client name -> its ClientDriver; the main one is "the client"', WORLD, EVERY_STEP
    ),
    Attribute(
        "world.secrets",
        "every secret handed out (keys, tokens, passwords), to prove none leaks",
        f"{WORLD}; {STRUCTURED_LOGGING}",
        f"{HOOKS} (redaction); steps/token_safekeeping_steps.py",
    ),
    Attribute(
        "world.moments",
        'moment -> time.monotonic() when a step marked it ("scenario start", "disruption")',
        f"{WORLD} mark and disrupt",
        EVERY_STEP,
    ),
    Attribute(
        "world.logs",
        "the LogCapture of the client's and services' log lines, installed for the scenario",
        f"{WORLD}; {HOOKS} installs it",
        steps("structured_logging", "token_safekeeping", "configuration", "protocol_failures"),
    ),
    # -- world.accounts: who each client is ----------------------------------------------------------------
    Attribute(
        "world.accounts.api_keys",
        "client name -> its API key (a secret)",
        WORLD,
        steps("coordination", "token_renewal"),
    ),
    Attribute(
        "world.accounts.subjects",
        "API key -> the user name it signs in as",
        WORLD,
        steps("coordination"),
    ),
    Attribute(
        "world.accounts.correlation_ids",
        "client name -> the correlation id its log lines carry",
        WORLD,
        STRUCTURED_LOGGING,
    ),
    Attribute(
        "world.accounts.caller",
        "someone signing in over HTTP without a client (a SignInCaller), or None",
        f"{WORLD} caller_for_sign_ins",
        f"{WORLD} caller_for_sign_ins and present_refresh_token, for the sign-in load and token steps",
    ),
    # -- world.tokens: tokens held or asked for by hand ----------------------------------------------------
    Attribute(
        "world.tokens.keeping",
        "where clients that keep tokens keep them (a TokenKeeping: path and key), or None",
        WORLD,
        steps("token_safekeeping"),
    ),
    Attribute(
        "world.tokens.fresh_access",
        "the access tokens callers asking at once were given, by fingerprint",
        steps("token_renewal"),
        steps("token_renewal"),
    ),
    Attribute(
        "world.tokens.auth_answer",
        "the last answer to a refresh token presented by hand (a SignInAnswer), or None",
        f"{WORLD} present_refresh_token",
        steps("token_renewal"),
    ),
    Attribute(
        "world.tokens.gateway_answer",
        "the HTTP status of the last bare request to the gateway, or None",
        steps("service", "token_safekeeping"),
        steps("service"),
    ),
    # -- world.crowd: many people's clients at once --------------------------------------------------------
    Attribute(
        "world.crowd.clients", "the same dict as world.clients", WORLD, "support/harness/world_parts.py"
    ),
    Attribute(
        "world.crowd.wait_s",
        "how long a crowd wait lasts unless told otherwise: wait_timeout_ms, in s",
        WORLD,
        "support/harness/world_parts.py",
    ),
    Attribute(
        "world.crowd.people",
        "client name -> the Person whose client it is (name, key, rights)",
        f"{WORLD} create_crowd; steps/channel_access_steps.py",
        f"{CROWD_AREAS}, steps/backoff_steps.py",
    ),
    Attribute(
        "world.crowd.channels",
        "the channels the scenario made up, in order",
        steps("channel_access"),
        steps("channel_access"),
    ),
    Attribute(
        "world.crowd.connect_told",
        "client name -> time.monotonic() when it was told to connect",
        "support/harness/world_parts.py connect",
        steps("sign_in_load"),
    ),
    Attribute(
        "world.crowd.faults",
        "the server faults the crowd lived through, in order (CrowdFault)",
        steps("server_faults"),
        steps("server_faults"),
    ),
    # -- world.messages: what was sent, by channel ---------------------------------------------------------
    Attribute(
        "world.messages.published",
        "channel -> ids of the messages the client sent, in order",
        f"{WORLD} publish_data",
        steps("messaging", "channel_access"),
    ),
    Attribute(
        "world.messages.sent_data",
        "channel -> the payloads sent on it, in order (never shown: counted)",
        f"{WORLD} publish_data; steps/protocol_failures_steps.py",
        steps("protocol_failures"),
    ),
    Attribute(
        "world.messages.streamed",
        "channel -> how many messages a finished stream sent",
        steps("messaging"),
        steps("messaging", "server_faults"),
    ),
    Attribute(
        "world.messages.oversized",
        "ids of messages sent that were too big for the gateway",
        steps("protocol_failures"),
        steps("protocol_failures"),
    ),
    # -- world.faults: what the scenario did to the network and the services --------------------------------
    Attribute(
        "world.faults.session_before",
        "the client's session id when the disruption was marked, or None",
        f"{WORLD} disrupt",
        steps("client", "service", "network_faults", "avatar"),
    ),
    Attribute(
        "world.faults.plan",
        "the last network fault applied (a FaultPlan, in suite time), or None",
        steps("network_faults"),
        steps("network_faults"),
    ),
    Attribute(
        "world.faults.gateway_url",
        "where new clients go instead of the gateway, or None",
        steps("error_classification"),
        WORLD,
    ),
    Attribute(
        "world.faults.gateway_pause_ms",
        "the Retry-After the gateway was told to ask for, in ms",
        steps("error_classification"),
        steps("error_classification"),
    ),
    Attribute(
        "world.faults.auth_pause_ms",
        "the Retry-After the auth service was told to ask for, in ms",
        f"{WORLD} program_auth_trouble",
        steps("client"),
    ),
    # -- world.configuration: clients configured differently from the settings -----------------------------
    Attribute(
        "world.configuration.timing_overrides",
        "ClientTimings name -> the value this scenario's clients get instead of the setting",
        f"{WORLD} adjust_client_timings",
        WORLD,
    ),
    Attribute(
        "world.configuration.reconfiguration",
        "the last configuration update asked for (a Reconfiguration), or None",
        steps("configuration"),
        steps("configuration"),
    ),
    # -- world.report: what the report says beyond what happened -------------------------------------------
    Attribute(
        "world.report.findings",
        "what the scenario measured, in sentences that open its story",
        steps(
            "backoff", "configuration", "network_faults", "protocol_failures", "server_faults", "sign_in_load"
        ),
        WORLD,
    ),
)


def declared(group: str | None = None) -> dict[str, Attribute]:
    """The declared attributes by path, all of them or those of one group ("context", "world.crowd")."""
    return {item.path: item for item in ATTRIBUTES if group is None or item.group == group}
