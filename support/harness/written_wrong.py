"""Scenarios written wrong: a step no definition reads, a phrase a step does not know, a bad parameter.

These are neither product defects nor defects of the suite: the Gherkin asks for something the suite has
no words for. The report files them in a category of their own, and the message names the nearest
phrasings the suite does know (from behave's step registry, as the step catalogue lists them) instead of
behave's Python snippet for a new step definition.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import re
from collections.abc import Iterable, Sequence
from typing import Any

from behave.i18n import languages
from behave.matchers import ParseMatcher
from behave.step_registry import StepRegistry, registry

WRITTEN_WRONG = "The scenario is written wrong: "
STEP_TYPES = ("given", "when", "then")
NEAREST = 3
# At most this many spelled-out phrasings of one step pattern are compared (a pattern with two parameters of
# registered types is spelled out once per pair of their phrases).
MOST_SPELLED_OUT = 200
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_LANGUAGE = re.compile(r"#\s*language\s*:\s*([\w-]+)")


class ScenarioWrittenWrong(ValueError):
    """A scenario asks for something the suite has no words or no set-up for.

    ``ScenarioWrittenWrong("network fault", asked, known)``: an unknown phrase; the message names the
    closest known phrasings first. ``ScenarioWrittenWrong("a step needs a client, but …")``: a reason in words
    (a step used before the Given it depends on, say).
    """

    def __init__(self, what: str, asked: str | None = None, known: Iterable[str] = ()) -> None:
        if asked is None:
            super().__init__(WRITTEN_WRONG + what)
            return
        choices = list(known)
        nearest = difflib.get_close_matches(asked, choices, n=NEAREST, cutoff=0.4)
        rest = [choice for choice in choices if choice not in nearest]
        listed = "; ".join(f'"{choice}"' for choice in [*nearest, *rest])
        hint = f' Did you mean "{nearest[0]}"?' if nearest else ""
        super().__init__(f'{WRITTEN_WRONG}unknown {what} "{asked}".{hint} Known: {listed}.')


def phrasing(pattern: str) -> str:
    """A step pattern as a person reads it: ``the client receives {count:d} messages`` → ``… {count} …``."""
    return _PLACEHOLDER.sub(lambda found: "{" + found.group(0)[1:-1].split(":")[0] + "}", pattern)


def spelled_out(pattern: str) -> list[str]:
    """A step pattern as a person reads it, and once more for each phrase its parameters of registered types
    accept (support/harness/parameter_types.py gives each converter its ``phrases``):
    ``the network suffers {fault:NetworkFault}`` → ``the network suffers {fault}``, ``the network suffers
    the network drops for {duration}``, …"""
    variants = [pattern]
    for field in _PLACEHOLDER.findall(pattern):
        _, _, kind = field[1:-1].partition(":")
        phrases = getattr(ParseMatcher.TYPE_REGISTRY.get(kind), "phrases", None) if kind else None
        if phrases:
            variants = [variant.replace(field, phrase, 1) for variant in variants for phrase in phrases]
            variants = variants[:MOST_SPELLED_OUT]
    return list(dict.fromkeys([phrasing(pattern), *(phrasing(variant) for variant in variants)]))


def _patterns(step_type: str, steps: StepRegistry) -> list[str]:
    return [spelled for matcher in steps.steps.get(step_type, []) for spelled in spelled_out(matcher.pattern)]


def _keyword_for(step_type: str, language: str = "en") -> str:
    """The Gherkin keyword for a kind of step in the feature's language: ``given`` → "Given", "Angenommen"."""
    words = languages.get(language, languages["en"]).get(step_type, [])
    return next((word.strip() for word in words if word.strip() != "*"), step_type.capitalize())


@functools.lru_cache(maxsize=256)
def feature_language(filename: str) -> str:
    """The language a feature file is written in: its ``# language: xx`` line before any other, else "en"."""
    try:
        with open(filename, encoding="utf-8") as feature:
            for line in feature:
                text = line.strip()
                found = _LANGUAGE.match(text)
                if found:
                    return found.group(1)
                if text and not text.startswith("#"):
                    break
    except OSError:
        pass
    return "en"


@functools.lru_cache(maxsize=512)
def _source(function: Any) -> str | None:
    """A step definition's source, read once per run (None when Python cannot show it)."""
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return None


def unread_argument(step: Any, steps: StepRegistry = registry) -> str | None:
    """Why a step's data table or doc string would be silently ignored (a reason for
    :class:`ScenarioWrittenWrong`), or None: the definition the step matches never reads ``context.table``
    (or ``context.text``). Steps read them themselves, since only steps and hooks touch ``context``."""
    if not (step.table or step.text):
        return None
    match = steps.find_match(step)
    if match is None:
        return None  # undefined: reported as such
    source = _source(match.func)
    for what, read, given in (
        ("data table", "context.table", step.table),
        ("doc string", "context.text", step.text),
    ):
        if given and source is not None and read not in source:
            return (
                f'the step "{step.keyword} {step.name}" (line {step.line}) takes no {what}, '
                f"but one is given; it would be ignored. Remove it, or use a step that reads one."
            )
    return None


def undefined_step_message(step: Any, steps: StepRegistry = registry) -> str:
    """One paragraph for a step that no definition reads (``step``: a behave ``Step``).

    The step text is compared with every registered phrasing; the message names the same text under the
    keyword that does have it (``When the auth service is down`` exists only as a Given) and otherwise up
    to three nearest phrasings of the same kind, then of any kind.
    """
    text, step_type = str(step.name), str(step.step_type)
    written = f"{step.keyword} {text}"
    language = feature_language(str(step.filename)) if getattr(step, "filename", None) else "en"
    for other in STEP_TYPES:
        if other == step_type:
            continue
        for matcher in [*steps.steps.get(other, []), *steps.steps.get("step", [])]:
            if matcher.match(text) is not None:
                keyword, here = _keyword_for(other, language), _keyword_for(step_type, language)
                return (
                    f'{WRITTEN_WRONG}no {here} step reads "{written}"; it exists as "{keyword} {text}". '
                    f"Write it among the {keyword} steps."
                )
    nearest = nearest_phrasings(text, step_type, steps)
    said = f'{WRITTEN_WRONG}no step reads "{written}".'
    if not nearest:
        return said + " See docs/steps.md for every step the suite knows."
    listed = "; ".join(f'"{entry}"' for entry in nearest)
    return f"{said} The nearest known phrasings: {listed} (docs/steps.md lists them all)."


def nearest_phrasings(text: str, step_type: str, steps: StepRegistry = registry) -> list[str]:
    """Up to three registered phrasings closest to ``text``, each with its keyword, same kind first."""
    same = _scored(text, _patterns(step_type, steps) + _patterns("step", steps))
    found = [f"{_keyword_for(step_type)} {pattern}" for pattern in same]
    if len(found) < NEAREST:
        for other in STEP_TYPES:
            if other != step_type:
                scored = _scored(text, _patterns(other, steps))
                found += [f"{_keyword_for(other)} {pattern}" for pattern in scored]
    ranked = sorted(
        dict.fromkeys(found),
        key=lambda entry: -difflib.SequenceMatcher(None, text, entry.split(" ", 1)[1]).ratio(),
    )
    return ranked[:NEAREST]


def _scored(text: str, patterns: Sequence[str]) -> list[str]:
    return difflib.get_close_matches(text, list(dict.fromkeys(patterns)), n=NEAREST, cutoff=0.5)
