"""The step catalogue as Markdown (docs/steps.md): the areas, each step with its description, every phrase
its parameters of registered types accept (support/harness/parameter_types.py), and an example of its use.
The catalogue itself is built by ``tools.step_catalogue``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from support.harness import parameter_types
from support.harness.parameter_types import ParameterType

if TYPE_CHECKING:
    from tools.step_catalogue import Catalogue, StepEntry

REGENERATE = ".venv/bin/python -m tools.step_catalogue"
FIELD = re.compile(r"\{([^{}]*)\}")
ABOUT_PARAMETERS = (
    "A parameter written `{name:Type}` takes one of a closed set of phrases, a type registered in "
    "`support/harness/parameter_types.py`; each step lists every phrase its parameters accept (`{n}` and the "
    "like stand for a number or a name). A phrase the suite does not know leaves the step undefined, so "
    "`behave --dry-run` finds it and names the nearest phrasings. Quantities scaled to suite time: the "
    "durations in a network fault and seconds of production time, by the `production_second_ms` setting; "
    "every other number (counts, sizes, rates, percentages, multiples of the usual) is taken as written, and "
    "bounds named in words come from the client's settings."
)


# -- Markdown ------------------------------------------------------------------------------------------


def slug(title: str) -> str:
    """The anchor GitHub and GitLab give a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def code(text: str) -> str:
    """A Markdown code span that survives backticks in the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def render_markdown(catalogue: Catalogue) -> str:
    steps_dir, features_dir = catalogue.steps_dir, catalogue.features_dir
    lines = [
        "# Step catalogue",
        "",
        f"Every step the features can use, generated from the step definitions in `{steps_dir}/` and their "
        f"uses in `{features_dir}/` — do not edit by hand; regenerate with `{REGENERATE}`.",
        "",
        ABOUT_PARAMETERS,
        "",
        "## Areas",
        "",
    ]
    for area in catalogue.areas:
        count = f"{len(area.steps)} step{'' if len(area.steps) == 1 else 's'}"
        about = f" — {area.description}" if area.description else ""
        lines.append(f"- [{area.title}](#{area.anchor}) ({count}){about}")
    lines.append("")
    for area in catalogue.areas:
        lines += [f"## {area.title}", ""]
        if area.description:
            lines += [area.description, ""]
        lines += [f"Defined in `{area.file}`.", ""]
        for entry in area.steps:
            lines += render_step(entry)
    return "\n".join(lines).rstrip("\n") + "\n"


def parameters_of(pattern: str) -> list[tuple[str, ParameterType]]:
    """Each parameter of a registered type in a step pattern, as (its name, its type), in order."""
    found = []
    for field in FIELD.findall(pattern):
        parameter = parameter_types.type_of(field)
        if parameter is not None:
            found.append((field.partition(":")[0], parameter))
    return found


def render_parameter(name: str, parameter: ParameterType) -> list[str]:
    """A parameter of a registered type as a list item: what it names, how its durations are scaled (if it
    has any), and every phrase it accepts, one a line."""
    scaled = f" {parameter.suite_time}" if parameter.suite_time else ""
    head = f"- {code('{' + name + '}')} ({parameter.name}): {parameter.about}.{scaled} One of:"
    return [head, *(f"  - {code(phrase)}" for phrase in parameter.phrases)]


def render_step(entry: StepEntry) -> list[str]:
    lines = [f"### {' / '.join(entry.keywords)} {code(entry.pattern)}", ""]
    lines += [entry.description or "**No description yet** — add a docstring to the step function.", ""]
    parameters = parameters_of(entry.pattern)
    if parameters:
        for name, parameter in parameters:
            lines += render_parameter(name, parameter)
        lines.append("")
    example = entry.example
    if example is None:
        lines.append(
            "**No example yet** — use the step in a feature, or add an `Example: <step line>` line to its "
            "docstring."
        )
    elif example.feature is None:
        lines.append(f"Not used in any feature yet; for example: {code(example.text)}")
    else:
        lines.append(f"Used in {example.feature}:{example.line}: {code(example.text)}")
        if example.table_headings:
            headings = "| " + " | ".join(example.table_headings) + " |"
            lines[-1] += f", followed by a table headed {code(headings)}"
    lines.append("")
    return lines
