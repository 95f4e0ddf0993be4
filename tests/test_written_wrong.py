"""Scenarios written wrong: each message names what the suite did not know and what it does know."""

from __future__ import annotations

from pathlib import Path

from behave.matchers import ParseMatcher
from behave.model import Step, Table
from behave.step_registry import StepRegistry

from support.harness import parameter_types
from support.harness.written_wrong import (
    ScenarioWrittenWrong,
    nearest_phrasings,
    spelled_out,
    undefined_step_message,
    unread_argument,
)


def the_auth_service_is_down(context: object) -> None:
    """A step that reads nothing but its words."""


def the_stages_were(context: object) -> None:
    """A step that reads its table."""
    _ = context.table  # type: ignore[attr-defined]


def registry() -> StepRegistry:
    steps = StepRegistry()
    steps.steps["given"].append(ParseMatcher(the_auth_service_is_down, "the auth service is down", "given"))
    steps.steps["given"].append(
        ParseMatcher(the_auth_service_is_down, "the network to the gateway goes down", "given")
    )
    steps.steps["then"].append(ParseMatcher(the_stages_were, "the client went through these stages", "then"))
    return steps


def step(keyword: str, step_type: str, text: str, filename: str = "features/x.feature") -> Step:
    return Step(filename, 7, keyword, step_type, text)


def test_a_step_under_the_wrong_keyword_is_told_which_keyword_has_it() -> None:
    message = undefined_step_message(step("And", "when", "the auth service is down"), registry())
    assert message == (
        'The scenario is written wrong: no When step reads "And the auth service is down"; it exists as '
        '"Given the auth service is down". Write it among the Given steps.'
    )


def test_the_keyword_is_named_in_the_language_the_feature_is_written_in(tmp_path: Path) -> None:
    feature = tmp_path / "de.feature"
    feature.write_text("# language: de\nFunktionalität: Meins\n", encoding="utf-8")
    message = undefined_step_message(
        step("Und", "when", "the auth service is down", str(feature)), registry()
    )
    assert 'no Wenn step reads "Und the auth service is down"' in message
    assert '"Angenommen the auth service is down"' in message


def test_a_mistyped_step_is_told_the_nearest_phrasings() -> None:
    message = undefined_step_message(step("Given", "given", "the auth servce is dwn"), registry())
    assert message.startswith('The scenario is written wrong: no step reads "Given the auth servce is dwn".')
    assert '"Given the auth service is down"' in message
    assert (
        nearest_phrasings("the auth servce is dwn", "given", registry())[0]
        == "Given the auth service is down"
    )


def test_an_unknown_phrase_names_the_closest_known_one_first() -> None:
    error = ScenarioWrittenWrong(
        "network fault", "the netwrk drops", ["a latency of 1 s", "the network drops"]
    )
    assert str(error) == (
        'The scenario is written wrong: unknown network fault "the netwrk drops". Did you mean '
        '"the network drops"? Known: "the network drops"; "a latency of 1 s".'
    )


def test_a_table_given_to_a_step_that_never_reads_one_is_a_mistake_in_the_feature() -> None:
    ignored = step("Given", "given", "the auth service is down")
    ignored.table = Table(["part"], rows=[["auth"]])
    reason = unread_argument(ignored, registry())
    assert reason is not None and "takes no data table, but one is given" in reason
    read = step("Then", "then", "the client went through these stages")
    read.table = Table(["stage"], rows=[["ready"]])
    assert unread_argument(read, registry()) is None
    with_text = step("Given", "given", "the auth service is down")
    with_text.text = "password=hunter2"
    assert "takes no doc string" in (unread_argument(with_text, registry()) or "")


def test_a_parameter_of_a_registered_type_is_spelled_out_with_each_phrase_it_accepts() -> None:
    parameter_types.register()
    steps = StepRegistry()
    steps.steps["when"].append(
        ParseMatcher(the_auth_service_is_down, "the network suffers {fault:NetworkFault}", "when")
    )
    assert spelled_out("the network suffers {fault:NetworkFault}")[:3] == [
        "the network suffers {fault}",
        "the network suffers the network drops for {duration}",
        "the network suffers the network goes off and on every {period} for {duration}",
    ]
    message = undefined_step_message(
        step("When", "when", "the network suffers a network drop of 30 s"), steps
    )
    assert '"When the network suffers the network drops for {duration}"' in message
