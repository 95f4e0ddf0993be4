"""What the things on behave's ``context`` hold, in words, for a failing scenario's "Context" attachment.

Each function takes one value and says it in a line a person reads: never a Python repr or a dict, and a
secret only by its fingerprint (``realtime_protocol.fingerprint``), never by value. An empty value says "",
so the attachment can list it among the empty ones. Payloads are counted, never shown: a message may carry
a made-up password. The attachment is redacted with the scenario's secrets as well, like every other.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from realtime_protocol import fingerprint
from support.harness.context_map import ATTRIBUTES, Attribute

MOST = 10  # items listed before "and N more"


def context_in_words(context: Any) -> str:
    """A failing scenario's context for its report: each declared attribute that has a value, in words, then
    those that have none. Attributes without a way to say them (``SAID``: behave's own, and ones that
    repeat another) are left out. Never raises: a value that cannot be put in words says so."""
    lines = ["The scenario's context when it ended, in words (secrets by fingerprint only).", ""]
    empty: list[str] = []
    shown = [item for item in ATTRIBUTES if item.path in SAID]
    width = max(len(item.path) for item in shown) + len("context.")
    for item in shown:
        said = _said(context, item)
        if said:
            lines.append(f"{'context.' + item.path:<{width}}  {said}")
        else:
            empty.append(item.path)
    if empty:
        lines += ["", *textwrap.wrap("Not set or empty: " + ", ".join(empty), 110, subsequent_indent="  ")]
    lines += ["", "What each one is, who sets it and who reads it: docs/context.md"]
    return "\n".join(lines) + "\n"


def _said(context: Any, item: Attribute) -> str:
    value = context
    for name in item.path.split("."):
        try:
            value = getattr(value, name)
        except (AttributeError, KeyError):
            return ""
    try:
        return " ".join(SAID[item.path](value).split())
    except Exception as error:  # the report must never fail a scenario
        return f"(could not be put in words: {type(error).__name__})"


def plain(value: Any) -> str:
    """A number, a text, yes/no or nothing, as it reads; anything else by its kind only ("a FaultPlan")."""
    match value:
        case None:
            return ""
        case bool():
            return "yes" if value else "no"
        case float() if math.isfinite(value):
            return f"{value:g}"
        case int() | str() | float():
            return str(value)
    return f"a {type(value).__name__}"


def listed(values: Iterable[Any], noun: str = "") -> str:
    """Up to ten values in words, then how many more; with ``noun``, led by how many there are."""
    items = [plain(value) for value in values]
    if not items:
        return ""
    shown = ", ".join(items[:MOST]) + (f" and {len(items) - MOST} more" if len(items) > MOST else "")
    return f"{_count(len(items), noun)}: {shown}" if noun else shown


def by_name(values: Mapping[str, Any], unit: str = "") -> str:
    """Each name with its value: "the client: abc; the viewer: def" (at most ten)."""
    pairs = [f"{name}: {plain(value)}{unit}" for name, value in list(values.items())[:MOST]]
    more = f"; and {len(values) - MOST} more" if len(values) > MOST else ""
    return "; ".join(pairs) + more


def counted(values: Mapping[str, Any], noun: str) -> str:
    """How many of ``noun`` each name has (a list's length, or a number): "prices: 20 messages"."""
    return by_name({name: _count(_size(value), noun) for name, value in values.items()})


def fingerprints(secrets: Iterable[str]) -> str:
    """Secrets by fingerprint only: "3 secrets: fp:…, fp:…, fp:…"."""
    return listed([fingerprint(secret) for secret in secrets], "secret")


def secret(value: str | None) -> str:
    """One secret, by its fingerprint."""
    return f"a secret, fingerprint {fingerprint(value)}" if value else ""


def keys_by_client(api_keys: Mapping[str, str]) -> str:
    """Each client's API key, by fingerprint."""
    return by_name({name: fingerprint(key) for name, key in api_keys.items()})


def users_by_key(subjects: Mapping[str, str]) -> str:
    """Which user each API key (by fingerprint) signs in as."""
    return "; ".join(f"{fingerprint(key)} signs in as {user}" for key, user in list(subjects.items())[:MOST])


def milliseconds(value: float) -> str:
    """A duration in ms; none at all reads as empty."""
    return f"{value:g} ms" if value else ""


def http_status(status: int | None) -> str:
    """An HTTP status code as it was answered."""
    return "" if status is None else f"HTTP {status}"


def settings(value: Any) -> str:
    """The few settings that tell a run apart; the report's Environment has all of them."""
    return (
        f"seed {value.seed}, client {value.client}, tls {'on' if value.tls else 'off'}, "
        f"waits up to {value.wait_timeout_ms} ms (every setting: the report's Environment)"
    )


def services(stack: Any) -> str:
    """Where the clients go: the auth service and the gateway (through the fault proxy)."""
    endpoints = stack.endpoints
    return f"auth service at {endpoints.auth_url}, gateway at {endpoints.gateway_url}"


def world(value: Any) -> str:
    """The scenario's world: its seed and how many clients it made."""
    return f"the scenario's world: seed {value.seed}, {_count(len(value.clients), 'client')}"


def clients(drivers: Mapping[str, Any]) -> str:
    """Each client's state and session: "the client: ready, session s-1"."""
    return by_name({name: _client(driver) for name, driver in drivers.items()})


def moments(marked: Mapping[str, float]) -> str:
    """Each moment the scenario marked, in ms after the scenario started."""
    start = marked.get("scenario start", min(marked.values(), default=0.0))
    return "; ".join(f"{name} at {(at - start) * 1000:.0f} ms" for name, at in marked.items())


def people(crowd: Mapping[str, Any]) -> str:
    """Each person of a crowd with the channels they may read and post to."""
    said = [
        f"{name} (reads {_names(person.read)}; posts {_names(person.publish)})"
        for name, person in list(crowd.items())[:MOST]
    ]
    more = f" and {len(crowd) - MOST} more" if len(crowd) > MOST else ""
    return f"{_count(len(crowd), 'person')}: " + "; ".join(said) + more if crowd else ""


def crowd_faults(faults: Iterable[Any]) -> str:
    """The server faults a crowd lived through, by their labels."""
    return listed([fault.label for fault in faults], "fault")


def fault_plan(plan: Any) -> str:
    """A network fault plan: its words and how long it lasts."""
    return f"{plan.words}, lasting {plan.lasting_ms:g} ms" if plan is not None else ""


def sign_in_answer(answer: Any) -> str:
    """An answer to a sign-in: status, OAuth error and the pause asked for."""
    return answer.describe() if answer is not None else ""


def caller(value: Any) -> str:
    """Someone signing in over HTTP: their client id and how many answers they had."""
    if value is None:
        return ""
    return f"client id {value.client_id}, {_count(len(value.answers), 'answer')}"


def token_store(keeping: Any) -> str:
    """Where the scenario's token store is (its key is a secret and is not shown)."""
    return f"a token store at {keeping.path}" if keeping is not None else ""


def reconfiguration(value: Any) -> str:
    """A configuration update: each setting asked for, and whether the client took it."""
    if value is None:
        return ""
    asked = [
        f"{part}.{name} = {plain(new)}" for part, names in value.update.items() for name, new in names.items()
    ]
    outcome = f"refused: {value.refusal}" if value.refusal else "taken"
    return f"{', '.join(asked)} ({outcome})"


def log_capture(capture: Any) -> str:
    """How many log lines the scenario kept."""
    return _count(len(capture.lines()), "line") + " kept"


def log_sink(sink: Any) -> str:
    """How many lines a logger set up by the scenario wrote."""
    return _count(len(sink.lines()), "line") + " written"


def planted(value: Any) -> str:
    """A secret planted in a logged line, by fingerprint, and the fields it was logged with."""
    return f"{secret(value.secret)}, logged among {listed(value.details)}"


def open_worlds(worlds: list[Any]) -> str:
    """How many scenarios are still open (more than one only when a run was interrupted)."""
    return _count(len(worlds), "scenario") + " open" if worlds else ""


def seeded(_: Any) -> str:
    """A generator seeded with the scenario's seed (its state is not worth showing)."""
    return "seeded with the scenario's seed"


def _client(driver: Any) -> str:
    session = driver.session_id
    return f"{driver.state}" + (f", session {session}" if session else ", no session")


def _names(names: Iterable[str]) -> str:
    return ", ".join(names) or "nothing"


def _size(value: Any) -> int:
    return value if isinstance(value, int) else len(value)


def _count(number: int, noun: str) -> str:
    plural = {"person": "people"}.get(noun, noun + "s")
    return f"{number} {noun if number == 1 else plural}"


# How each attribute's value reads, by its path below context (support/harness/context_map.py).
SAID: dict[str, Callable[[Any], str]] = {
    "settings": settings,
    "services": services,
    "open_worlds": open_worlds,
    "world": world,
    "log_sink": log_sink,
    "planted": planted,
    "error_secret": secret,
    "world.seed": plain,
    "world.faker": seeded,
    "world.rng": seeded,
    "world.clients": clients,
    "world.secrets": fingerprints,
    "world.moments": moments,
    "world.logs": log_capture,
    "world.accounts.api_keys": keys_by_client,
    "world.accounts.subjects": users_by_key,
    "world.accounts.correlation_ids": by_name,
    "world.accounts.caller": caller,
    "world.tokens.keeping": token_store,
    "world.tokens.fresh_access": listed,
    "world.tokens.auth_answer": sign_in_answer,
    "world.tokens.gateway_answer": http_status,
    "world.crowd.people": people,
    "world.crowd.channels": listed,
    "world.crowd.connect_told": lambda told: listed(told, "client"),
    "world.crowd.faults": crowd_faults,
    "world.messages.published": lambda sent: counted(sent, "message"),
    "world.messages.sent_data": lambda sent: counted(sent, "payload"),
    "world.messages.streamed": lambda sent: counted(sent, "message"),
    "world.messages.oversized": listed,
    "world.faults.session_before": plain,
    "world.faults.plan": fault_plan,
    "world.faults.gateway_url": plain,
    "world.faults.gateway_pause_ms": milliseconds,
    "world.faults.auth_pause_ms": milliseconds,
    "world.configuration.timing_overrides": by_name,
    "world.configuration.reconfiguration": reconfiguration,
    "world.report.findings": lambda found: "; ".join(found),
}
