"""What the suite writes for people about one scenario, and the pieces of the world that feed it."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.drivers.base import ObservedEvent
from support.journal import Journal, JournalEntry
from support.reporting import REDACTED, redact, story
from support.services.auth_service import ANSWER_FLAWS
from support.services.tokens import FLAWS
from support.settings import Settings, read_ini_defaults
from support.world import TOKEN_FLAWS, auth_trouble, scenario_seed, token_flaw

ROOT = Path(__file__).resolve().parent.parent


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
    assert lines[1].endswith("gateway  hello (resumed=False)")
    assert lines[0].strip().startswith("0 ms")


def test_story_of_nothing_is_empty() -> None:
    assert story({}, [], 0.0) == ""


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
    refused = auth_trouble("a refusal of the key", current)
    assert (refused.status, refused.error) == (401, "invalid_client")
    server_error = auth_trouble("a server error", current)
    assert (server_error.status, server_error.error) == (500, "server_error")
    unavailable = auth_trouble("service unavailable", current)
    assert (unavailable.status, unavailable.error) == (503, "temporarily_unavailable")
    late = auth_trouble("a reply that comes late", current)
    assert late.status == 200
    assert late.delay_ms == 2 * current.auth_timeout_ms
    assert late.delay_ms > current.auth_timeout_ms
    paused = auth_trouble("too many requests, asking for a pause", current)
    assert (paused.status, paused.error) == (429, "rate_limited")
    assert paused.retry_after_s == pytest.approx(4 * current.backoff_max_ms / 1000)
    assert paused.retry_after_s is not None and paused.retry_after_s * 1000 > current.backoff_max_ms


def test_an_unknown_auth_trouble_is_refused_clearly() -> None:
    with pytest.raises(ValueError) as caught:
        auth_trouble("a teapot", settings())
    message = str(caught.value)
    assert message.startswith("Unknown auth trouble 'a teapot'; known: ")
    for known in (
        "a reply that comes late",
        "a server error",
        "service unavailable",
        "too many requests, asking for a pause",
    ):
        assert known in message
    assert "\n" not in message


def test_every_flaw_the_services_know_has_a_name_for_scenarios_and_one_name_means_no_flaw() -> None:
    named = [flaw for flaw in TOKEN_FLAWS.values() if flaw is not None]
    assert sorted(named) == sorted((*FLAWS, *ANSWER_FLAWS))
    assert list(TOKEN_FLAWS.values()).count(None) == 1
    assert token_flaw("a token that has already expired") == "expired"
    assert token_flaw("a well-formed access token") is None


def test_an_unknown_kind_of_token_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError) as refused:
        token_flaw("a rusty token")
    message = str(refused.value)
    assert message.startswith("Unknown kind of token 'a rusty token'; known: ")
    assert "a token from another issuer" in message and "\n" not in message
