"""The step parameters that take a closed set of words (support/harness/parameter_types.py): each registered
type matches its phrases and no others, and hands the step the value they stand for; a phrase the suite
does not know fails ``behave --dry-run`` as an undefined step that names the nearest phrasings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from behave.matchers import ParseMatcher

from realtime_protocol import CloseCode
from support.areas import avatar, error_classification, network_faults, server_faults
from support.harness import parameter_types, vocabulary
from support.harness.parameter_types import BY_NAME, TYPES, Worded
from support.harness.settings import Settings, read_ini_defaults
from tests.scratch import copy_project, run_behave
from tools.step_catalogue import STEPS_DIR, load_matchers

ROOT = Path(__file__).resolve().parent.parent
NO_MATCH = object()


def settings() -> Settings:
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "1"})


def convert(type_name: str, words: str) -> Any:
    """What a step of the pattern ``the words are {value:<type_name>}`` is given for ``words`` (NO_MATCH when
    the step does not match them), through behave's own parse matcher."""
    matcher = ParseMatcher(lambda context, value: None, f"the words are {{value:{type_name}}}", "step")
    match = matcher.match(f"the words are {words}")
    return NO_MATCH if match is None else match.arguments[0].value


def test_every_type_is_registered_and_used_by_a_step() -> None:
    parameter_types.register()
    assert all(ParseMatcher.TYPE_REGISTRY[p.name] is p.converter for p in TYPES)
    matchers, bad = load_matchers(STEPS_DIR)
    assert bad == []
    used = {name for m in matchers for name in BY_NAME if f":{name}}}" in m.pattern}
    assert used == set(BY_NAME), f"registered but used by no step: {sorted(set(BY_NAME) - used)}"


def test_registering_again_after_behave_cleared_its_types_puts_them_back() -> None:
    ParseMatcher.clear_registered_types()  # as behave does when a run starts
    parameter_types.register()
    parameter_types.register()
    assert all(ParseMatcher.TYPE_REGISTRY[p.name] is p.converter for p in TYPES)


@pytest.mark.parametrize("parameter", TYPES, ids=lambda parameter: parameter.name)
def test_every_plain_phrase_of_a_type_matches_and_converts(parameter: parameter_types.ParameterType) -> None:
    plain = [phrase for phrase in parameter.phrases if "{" not in phrase]
    for phrase in plain:
        assert convert(parameter.name, phrase) is not NO_MATCH, phrase
    assert parameter.about and parameter.phrases


@pytest.mark.parametrize(
    ("type_name", "words", "expected"),
    [
        ("Times", "only once", 1),
        ("Times", "just once", 1),
        ("Times", "twice", 2),
        ("Times", "4 times", 4),
        ("TokenRequests", "sign-in request", 1),
        ("TokenRequests", "renewal request", 1),
        ("TokenRequests", "3 sign-in requests", 3),
        ("MessageCount", "a message", 1),
        ("MessageCount", "20 messages", 20),
        ("UndeliveredCount", "no", 0),
        ("UndeliveredCount", "2", 2),
        ("Messages", "messages 1 to 50", 50),
        ("Messages", "every streamed message", None),
        ("Channels", '"prices"', "prices"),
        ("Channels", "each channel", None),
        ("HeartbeatPace", "at the usual pace", 1),
        ("HeartbeatPace", "every 3 usual intervals", 3),
        ("WorthRetrying", "worth retrying", True),
        ("WorthRetrying", "not worth retrying", False),
        ("TokenVerdict", "unusable", False),
        ("TokenKind", "a well-formed access token", None),
        ("TokenKind", 'an unsigned token (algorithm "none")', "unsigned"),
        ("PresentedToken", "without any token", None),
        ("PresentedToken", "with the client's last access token", "access"),
        ("ClientTrait", "can show an avatar", {"with_avatar": True}),
        ("ClientTrait", "does not offer compression", {"compression": False}),
        ("ClientTrait", "does not trust the test certificate authority", {"trust_test_authority": False}),
        ("Service", "avatar service", "avatar service"),
        ("Profile", "reader", "reader"),
        ("FirstAttempt", "session", "session"),
        ("Failures", "a failure of its sign-in", ["auth"]),
        (
            "Failures",
            "failures of its sign-in, its connection and its session",
            ["auth", "connection", "session"],
        ),
        ("Parts", "its sign-in, its connection and its session", ["auth", "connection", "session"]),
        ("RecoveryStrategy", "a full restart", "full_restart"),
        ("ClientSetting", "retry limit", ("session", "retry_limit")),
        ("ClientSetting", "logging level", ("logging", "level")),
        ("LogHolds", "holds no", False),
        ("ProtocolVersions", "version 2 and version 1", ("realtime.v2", "realtime.v1")),
        ("ProtocolVersions", "only version 3", ("realtime.v3",)),
        ("GatewayCompression", "refuses", False),
        ("Compressed", "was not", False),
        ("Warning", "the server is going away", CloseCode.GOING_AWAY),
        ("Percentage", "95%", pytest.approx(0.95)),
        ("Percentage", "90.5%", pytest.approx(0.905)),
        ("ProductionSeconds", "10", 10.0),
        ("LogEnvironment", "production", "production"),
        ("ChosenLevel", "its default level", None),
        ("ChosenLevel", "the info level", "info"),
        ("LogLevels", "info, warning and error", {"INFO", "WARNING", "ERROR"}),
        ("LogLevels", "error", {"ERROR"}),
        ("SecretKind", "an authorization header", "an authorization header"),
        ("SecretPlace", "in a link's query string", "in a link's query string"),
        (
            "AvatarActivity",
            'speaking in sync with the voice "warm_narrator"',
            {"speaking": True, "voice_sync": True, "voice_id": "warm_narrator"},
        ),
        ("AvatarActivity", "silent", {"speaking": False, "status": "active"}),
        ("AvatarQuality", "high", "high"),
        ("ClientState", "ready", "ready"),
        ("ClientState", "failed", "failed"),
        ("AuthStatus", "401", "401"),
        ("AuthStatus", "none", "none"),
        ("AuthError", "temporarily_unavailable", "temporarily_unavailable"),
        ("TokenCheck", "valid_format", "valid_format"),
        ("Classification", "certificate_untrusted", "certificate_untrusted"),
        ("Classification", "handshake_503", "handshake_503"),
        ("Classification", "closed_4009", "closed_4009"),
        ("ProtocolVersion", "version 2", "version 2"),
        ("GatewayNode", "B", "B"),
    ],
)
def test_words_become_the_value_the_step_needs(type_name: str, words: str, expected: Any) -> None:
    assert convert(type_name, words) == expected


def test_words_that_the_step_says_again_keep_them() -> None:
    restart = convert("RestartKind", "at once, its process killed without a close frame")
    assert isinstance(restart, Worded)
    assert str(restart) == "at once, its process killed without a close frame"
    assert (restart.value.mode, restart.value.code) == ("crash", CloseCode.ABNORMAL)
    meaning = convert("CloseMeaning", "the connection dropped without a close frame")
    assert (str(meaning), meaning.value) == ("the connection dropped without a close frame", 1006)
    frame = convert("UnusableFrame", "a binary frame")
    assert (frame.words, frame.value) == ("a binary frame", bytes(range(16)))
    bound = convert("RecoveryBound", "within a retry pause")
    assert str(bound) == "within a retry pause"
    assert network_faults.recovery_bound_s(bound.value, settings()) == pytest.approx(
        network_faults.recovery_bound_s(network_faults.RECOVERY_BOUNDS["within a retry pause"], settings())
    )


def test_a_network_fault_in_words_becomes_a_plan_in_suite_time() -> None:
    fault = convert("NetworkFault", "connections reset by peer after 5 s, for 30 s")
    assert str(fault) == "connections reset by peer after 5 s, for 30 s"
    plan = fault.plan(0.02)
    assert plan.lasting_ms == pytest.approx(600)
    assert [(toxic.kind, toxic.attributes) for toxic in plan.toxics] == [("reset_peer", {"timeout": 100.0})]
    # Every wording the catalogue lists is accepted, durations in s or ms, any case.
    assert convert("NetworkFault", "A latency of 2 s ± 500 ms for 20 s") is not NO_MATCH
    assert (
        convert("NetworkFault", "the stream sliced into 50-byte pieces 1 ms apart for 20 s") is not NO_MATCH
    )


def test_troubles_become_what_the_services_do() -> None:
    current = settings()
    paused = convert("AuthTrouble", "too many requests, asking for a pause")(current)
    assert (paused.status, paused.error) == (429, "rate_limited")
    assert (
        paused is not None
        and convert("AuthTrouble", "a server error") is vocabulary.AUTH_TROUBLES["a server error"]
    )
    assert convert("AvatarTrouble", "too slow to answer") is avatar.TROUBLES["too slow to answer"]
    trouble = convert("ConnectTrouble", "the gateway is restarting")
    assert (trouble.words, trouble.where) == ("the gateway is restarting", "session")
    earliest = convert("EarliestRetry", "after a longer pause")
    assert earliest is error_classification.EARLIEST_RETRIES["after a longer pause"]
    assert server_faults.RESTART_KINDS["with a warning that it is going away"].code == CloseCode.GOING_AWAY


@pytest.mark.parametrize(
    ("type_name", "words"),
    [
        ("NetworkFault", "gremlins"),
        ("NetworkFault", "a brief blip of 2 s"),
        ("NetworkFault", "the network drops for 30 seconds"),
        ("RecoveryBound", "soon"),
        ("AuthTrouble", "a teapot"),
        ("TokenKind", "a rusty token"),
        ("AvatarTrouble", "on fire"),
        ("AvatarActivity", "dancing"),
        ("RestartKind", "slowly"),
        ("Warning", "bye"),
        ("CloseMeaning", "sunspots"),
        ("ConnectTrouble", "the moon is full"),
        ("WorthRetrying", "maybe"),
        ("EarliestRetry", "eventually"),
        ("SecretKind", "a pin"),
        ("SecretPlace", "under the rug"),
        ("Parts", "its audio"),
        ("Failures", "a failure of its audio"),
        ("UnusableFrame", "a frame from mars"),
        ("ProtocolVersions", "the latest one"),
        ("Percentage", "most"),
        ("Times", "often"),
        ("Service", "the database"),
        ("Profile", "admin"),
        ("ClientTrait", "can fly"),
        ("LogLevels", "loud and clear"),
        ("ChosenLevel", "the chatty level"),
        ("LogEnvironment", "staging"),
        ("AvatarQuality", "ultra"),
        ("ClientState", "redy"),
        ("ClientState", "ready again"),
        ("AuthStatus", "four hundred"),
        ("AuthStatus", "4011"),
        ("AuthError", "invalid_clinet"),
        ("TokenCheck", "missing"),
        ("Classification", "certificate_untrusetd"),
        ("Classification", "closed_1006"),
        ("Classification", "handshake_200"),
        ("ProtocolVersion", "verison 2"),
        ("ProtocolVersion", "version two"),
        ("GatewayNode", "C"),
    ],
)
def test_words_the_suite_does_not_know_leave_the_step_unmatched(type_name: str, words: str) -> None:
    assert convert(type_name, words) is NO_MATCH


# -- a bad phrase at behave --dry-run ------------------------------------------------------------------------

SCRATCH_FEATURE = """\
Feature: Scratch

  Scenario: A fault worded right
    Given the realtime services are running
    When the network suffers the network drops for 30 s

  Scenario: A fault worded wrong
    Given the realtime services are running
    When the network suffers the network drops for 30 seconds
"""


def test_a_fault_worded_wrong_fails_the_dry_run_as_undefined_naming_the_nearest_wordings(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path)
    (project / "features" / "scratch").mkdir()
    (project / "features" / "scratch" / "faults.feature").write_text(SCRATCH_FEATURE, encoding="utf-8")

    result = run_behave(
        project, "--dry-run", "--no-junit", "--format=plain", "features/scratch/faults.feature"
    )

    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "1 undefined" in said, said
    # A dry run writes no run record: it says which scenarios are written wrong, and why, on its console.
    listed = said.split("Scenarios written wrong:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split(" — ", 1)[0] for line in listed] == [
        "  features/scratch/faults.feature:7 A fault worded wrong"
    ], said
    wrong = listed[0].split(" — ", 1)[1]
    assert wrong.startswith(
        "no step reads "
        '"When the network suffers the network drops for 30 seconds". The nearest known phrasings: '
        '"When the network suffers the network drops for {duration}";'
    ), wrong
    assert not (project / "reports" / "run.json").exists()


MISSPELT_FEATURE = """\
Feature: Scratch

  Scenario: A state misspelt
    Given the realtime services are running
    Then the client ends up redy

  Scenario: A classification misspelt
    Given the realtime services are running
    Then the client classifies it as certificate_untrusetd, not worth retrying

  Scenario: A gateway node misspelt
    Given the realtime services are running
    When gateway node a is back, updated
"""


def test_a_misspelt_word_in_a_closed_set_fails_the_dry_run_as_undefined(tmp_path: Path) -> None:
    project = copy_project(tmp_path)
    (project / "features" / "scratch").mkdir()
    (project / "features" / "scratch" / "words.feature").write_text(MISSPELT_FEATURE, encoding="utf-8")

    result = run_behave(
        project, "--dry-run", "--no-junit", "--format=plain", "features/scratch/words.feature"
    )

    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "3 undefined" in said, said
    # A dry run writes no run record: the scenarios written wrong are listed on its console.
    listed = said.split("Scenarios written wrong:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    messages = {
        line.split(" — ", 1)[0].split(" ", 3)[-1]: line.split(" — ", 1)[1] for line in listed if " — " in line
    }
    assert '"Then the client ends up ready"' in messages["A state misspelt"], messages
    nearest = '"Then the client classifies it as certificate_untrusted, not worth retrying"'
    assert nearest in messages["A classification misspelt"], messages
    assert '"When gateway node A is back, updated"' in messages["A gateway node misspelt"], messages
