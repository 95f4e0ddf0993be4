"""What the suite writes for people about one scenario, and the pieces of the world that feed it."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.drivers.base import ObservedEvent
from support.harness.settings import Settings, read_ini_defaults
from support.harness.vocabulary import AUTH_TROUBLES, TOKEN_FLAWS
from support.harness.world import scenario_seed
from support.report.story import REDACTED, redact, story
from support.report.timeline import render_timeline
from support.services.auth.authorization_server import ANSWER_FLAWS
from support.services.auth.programmed import ProgrammedResponse
from support.services.auth.tokens import FLAWS
from support.services.gateway import GatewayTrouble
from support.services.journal import Journal, JournalEntry
from support.services.stack import ServiceStack

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"


def settings() -> Settings:
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {})


# -- redaction --------------------------------------------------------------------------------------


def test_redact_replaces_every_occurrence_of_every_secret() -> None:
    text = "key key_abc123 signed in, got tok-9f8e; key_abc123 again; refresh rt-77"
    redacted = redact(text, ["key_abc123", "tok-9f8e", "rt-77"])
    assert redacted == (f"key {REDACTED} signed in, got {REDACTED}; {REDACTED} again; refresh {REDACTED}")


def test_redact_treats_secrets_as_plain_text() -> None:
    assert redact("k=a.b+c* and axb+c", ["a.b+c*"]) == f"k={REDACTED} and axb+c"


def test_redact_ignores_empty_secrets_and_leaves_clean_text_alone() -> None:
    assert redact("nothing secret here", ["", "absent"]) == "nothing secret here"
    assert redact("abc", []) == "abc"


def test_redact_leaves_nothing_of_a_secret_that_contains_another() -> None:
    short, long = "tok-1234", "tok-1234-refresh-5678"
    for secrets in ([short, long], [long, short]):
        redacted = redact(f"a={short} b={long}", secrets)
        assert redacted == f"a={REDACTED} b={REDACTED}"
        assert "refresh" not in redacted and "5678" not in redacted


# -- the story of a scenario ------------------------------------------------------------------------


def test_story_orders_client_events_and_journal_entries_by_time() -> None:
    start = 100.0
    events = {
        "the client": [
            ObservedEvent("state:changed", {"state": "connecting", "reason": "asked to connect"}, 100.0),
            ObservedEvent("state:changed", {"state": "connected", "reason": "welcomed"}, 100.25),
            ObservedEvent("message", {"channel": "prices", "seq": 1}, 101.5),
        ],
        "observer": [ObservedEvent("connection:lost", {}, 101.0)],
    }
    journal = [
        JournalEntry(100.125, "auth", "token issued", {"subject": "client-7", "refresh": None}),
        JournalEntry(100.5, "proxy", "link cut", {}),
    ]
    assert story(events, journal, start).splitlines() == [
        "       0 ms  the client  is now connecting — asked to connect",
        "     125 ms  auth        token issued (subject=client-7)",
        "     250 ms  the client  is now connected — welcomed",
        "     500 ms  proxy       link cut",
        "    1000 ms  observer    connection:lost",
        "    1500 ms  the client  message (channel=prices, seq=1)",
    ]


def test_story_of_real_journal_entries_keeps_their_order() -> None:
    journal = Journal("gateway")
    first = journal.record("connection accepted", peer="127.0.0.1")
    journal.record("hello", resumed=False)
    lines = story({}, list(journal), first.at).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("gateway  connection accepted (peer=127.0.0.1)")
    assert lines[1].endswith("gateway  hello (resumed=no)")
    assert lines[0].strip().startswith("0 ms")


def test_story_of_nothing_is_empty() -> None:
    assert story({}, [], 0.0) == ""


def test_story_tells_structured_values_and_yes_or_no_in_words() -> None:
    events = {
        "the client": [
            ObservedEvent("message", {"channel": "prices", "seq": 1, "data": {"n": 1}}, 1.0),
            ObservedEvent("token:checked", {"valid": True, "reason": "valid_format", "detail": None}, 2.0),
            ObservedEvent("protocol:offered", {"subprotocols": ["realtime.v2", "realtime.v1"]}, 3.0),
            ObservedEvent("batch", {"items": [{"n": 1, "ok": False}, {"n": 2}], "left": []}, 4.0),
        ]
    }
    lines = [line.split("the client  ", 1)[1] for line in story(events, [], 0.0).splitlines()]
    assert lines == [
        "message (channel=prices, seq=1, data=n: 1)",
        "token:checked (valid=yes, reason=valid_format)",
        "protocol:offered (subprotocols=realtime.v2 and realtime.v1)",
        "batch (items=(n: 1 and ok: no) and n: 2, left=none)",
    ]
    assert not any(mark in line for line in lines for mark in "{}[]'\"")
    assert "True" not in "".join(lines) and "False" not in "".join(lines)


# -- scenario seeds ---------------------------------------------------------------------------------


def test_scenario_seed_is_stable() -> None:
    seed = scenario_seed(42, "features/connect.feature", "Connecting with a valid key")
    assert seed == scenario_seed(42, "features/connect.feature", "Connecting with a valid key")
    assert isinstance(seed, int) and 0 <= seed < 2**31


def test_scenario_seed_differs_per_scenario_and_per_run() -> None:
    seeds = {
        scenario_seed(42, "features/connect.feature", "Connecting with a valid key"),
        scenario_seed(42, "features/connect.feature", "Connecting with an unknown key"),
        scenario_seed(42, "features/reconnect.feature", "Connecting with a valid key"),
        scenario_seed(43, "features/connect.feature", "Connecting with a valid key"),
    }
    assert len(seeds) == 4


# -- auth troubles ----------------------------------------------------------------------------------


def test_auth_trouble_knows_the_five_troubles() -> None:
    current = settings()
    refused = AUTH_TROUBLES["a refusal of the key"](current)
    assert (refused.status, refused.error) == (401, "invalid_client")
    server_error = AUTH_TROUBLES["a server error"](current)
    assert (server_error.status, server_error.error) == (500, "server_error")
    unavailable = AUTH_TROUBLES["service unavailable"](current)
    assert (unavailable.status, unavailable.error) == (503, "temporarily_unavailable")
    late = AUTH_TROUBLES["a reply that comes late"](current)
    assert late.status == 200
    assert late.delay_ms == 2 * current.auth_timeout_ms
    assert late.delay_ms > current.auth_timeout_ms
    paused = AUTH_TROUBLES["too many requests, asking for a pause"](current)
    assert (paused.status, paused.error) == (429, "rate_limited")
    assert paused.retry_after_s == pytest.approx(4 * current.backoff_max_ms / 1000)
    assert paused.retry_after_s is not None and paused.retry_after_s * 1000 > current.backoff_max_ms


def test_every_flaw_the_services_know_has_a_name_for_scenarios_and_one_name_means_no_flaw() -> None:
    named = [flaw for flaw in TOKEN_FLAWS.values() if flaw is not None]
    assert sorted(named) == sorted((*FLAWS, *ANSWER_FLAWS))
    assert list(TOKEN_FLAWS.values()).count(None) == 1
    assert TOKEN_FLAWS["a token that has already expired"] == "expired"
    assert TOKEN_FLAWS["a well-formed access token"] is None


# -- every fault a scenario applies is told in the story and drawn on its lane ----------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[ServiceStack]:
    services = ServiceStack(settings())
    services.start()
    try:
        yield services
    finally:
        assert services.stop() == []


def lane_of(root: ET.Element, words: str) -> str:
    """The name of the lane a label with these words is drawn in (a lane's name sits 14 px below its top)."""
    names = sorted(
        (float(text.get("y") or 0) - 14, "".join(text.itertext()))
        for text in root.iter(SVG + "text")
        if text.get("x") == "12"
        and not ({"note", "legend"} & set((text.get("class") or "").split()))
        and float(text.get("y") or 0) > 70
    )
    drawn = [text for text in root.iter(SVG + "text") if "".join(text.itertext()).endswith(words)]
    assert drawn, f"no label says {words!r} on the timeline"
    return [name for top, name in names if top <= float(drawn[0].get("y") or 0)][-1]


def revoke_a_sign_in(stack: ServiceStack) -> None:
    stack.auth.register_account("key_of_someone", subject="someone")
    stack.revoke_sign_in("someone")


def close_an_account(stack: ServiceStack) -> None:
    stack.auth.register_account("key_of_someone", subject="someone")
    stack.auth.close_account("key_of_someone")


def take_the_auth_service_away_and_back(stack: ServiceStack) -> None:
    stack.auth.stop()
    stack.auth.start()


def cut_connections_then_stop(stack: ServiceStack) -> None:
    stack.gateway.cut_connections_after(150)
    stack.gateway.cut_connections_after(None)


def avatar_unavailable_then_back(stack: ServiceStack) -> None:
    stack.avatar.become_unavailable()
    stack.avatar.recover()


FAULTS: list[tuple[Callable[[ServiceStack], Any], str, list[tuple[str, str]]]] = [
    # what the scenario does, the lane it shows on, and (what the story says, the label on the lane) for each
    # thing it journals
    (
        take_the_auth_service_away_and_back,
        "auth service",
        [
            (
                "service stopped (answer=its address refuses every connection)",
                "auth service made unavailable",
            ),
            ("service started again", "auth service back"),
        ],
    ),
    (
        lambda stack: stack.auth.program(*[ProgrammedResponse(503, "temporarily_unavailable")] * 2),
        "auth service",
        [
            (
                "trouble programmed (requests=2, status=503, error=temporarily_unavailable)",
                "made to answer 503 ×2",
            )
        ],
    ),
    (
        lambda stack: stack.auth.program(ProgrammedResponse(200, delay_ms=600)),
        "auth service",
        [("trouble programmed (requests=1, status=200, delay_ms=600)", "made to answer 600 ms late")],
    ),
    (
        lambda stack: stack.auth.hand_out_flawed_tokens("tampered"),
        "auth service",
        [("flawed tokens handed out (flaw=tampered)", "hands out flawed tokens (tampered)")],
    ),
    (revoke_a_sign_in, "auth service", [("sign-in revoked (subject=someone", "sign-in revoked")]),
    (close_an_account, "auth service", [("account closed (subject=someone", "account closed")]),
    (
        lambda stack: stack.gateway.program(GatewayTrouble(status=503)),
        "gateway",
        [("trouble programmed (status=503)", "made to refuse 503")],
    ),
    (
        lambda stack: stack.gateway.program(GatewayTrouble(close_code=1011, reason="internal error")),
        "gateway",
        [
            (
                "trouble programmed (close_code=1011, reason=1011 (an internal server error))",
                "made to close 1011",
            )
        ],
    ),
    (
        cut_connections_then_stop,
        "gateway",
        [
            ("connections cut from now on (after_ms=150)", "cuts every connection 150 ms after it is ready"),
            ("connections no longer cut", "connections no longer cut"),
        ],
    ),
    (
        lambda stack: stack.gateway.speak(("realtime.v1",)),
        "gateway",
        [("protocol versions limited (speaks=realtime.v1)", "speaks only realtime.v1")],
    ),
    (
        lambda stack: stack.gateway.accept_compression(False),
        "gateway",
        [("compression turned down", "turns compression down")],
    ),
    (
        lambda stack: stack.gateway.publish_too_big("prices", {"text": "x" * 100}, 64),
        "gateway",
        [("message too big for clients sent (channel=prices, size=", "too-big message sent")],
    ),
    (
        lambda stack: stack.gateway.forget_sessions(),
        "gateway",
        [("sessions forgotten (sessions=0)", "sessions forgotten")],
    ),
    (
        avatar_unavailable_then_back,
        "avatar service",
        [
            ("service unavailable", "avatar service made unavailable (503)"),
            ("service recovered", "avatar service back"),
        ],
    ),
    (
        lambda stack: stack.avatar.become_slow(900),
        "avatar service",
        [("service slow (delay_ms=900)", "avatar service made slow (+900 ms)")],
    ),
]


@pytest.mark.parametrize(("apply", "lane", "told"), FAULTS)
def test_each_fault_is_told_in_the_story_and_drawn_on_its_lane_with_a_plain_label(
    stack: ServiceStack,
    apply: Callable[[ServiceStack], Any],
    lane: str,
    told: list[tuple[str, str]],
) -> None:
    stack.reset(seed=11)
    start = time.monotonic()
    apply(stack)
    journal = stack.journal_entries()
    end = time.monotonic() + 0.01
    lines = story({}, journal, start).splitlines()
    root = ET.fromstring(render_timeline({}, journal, start, end, "faults"))
    for says, label in told:
        assert [line for line in lines if f"{lane}  {says}" in line], f"the story does not tell {says!r}"
        assert lane_of(root, label) == lane, f"{label!r} is not drawn on the {lane} lane"


def test_an_untrusted_certificate_the_gateway_shows_is_told_and_drawn() -> None:
    stack = ServiceStack(settings(), tls=True)
    stack.start()
    try:
        stack.reset(seed=11)
        start = time.monotonic()
        stack.gateway.show_untrusted_certificate()
        journal = stack.journal_entries()
        lines = story({}, journal, start).splitlines()
        root = ET.fromstring(render_timeline({}, journal, start, time.monotonic() + 0.01, "faults"))
    finally:
        assert stack.stop() == []
    assert any(
        "gateway  untrusted certificate shown (issuer=an authority nobody trusts)" in line for line in lines
    )
    assert lane_of(root, "shows an untrusted certificate") == "gateway"
