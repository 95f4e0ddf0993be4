"""What the suite writes for people about one scenario: a readable story of what the client, the
services and the network did. (Run-level Allure files are in ``support.report.allure_results``.)

Every text passes through ``redact`` with the scenario's secrets before it is written.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from support.drivers.base import ObservedEvent
from support.drivers.events import StateChanged
from support.harness.facts import UnreadableFacts
from support.report.timeline import render_timeline
from support.report.transcript import transcript_table
from support.services.journal import JournalEntry, describe_facts
from support.services.transcript import Frame

REDACTED = "[REDACTED]"


def redact(text: str, secrets: Iterable[str]) -> str:
    # One pass, longest first: a secret that contains another is hidden whole, not just in part.
    wanted = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if not wanted:
        return text
    return re.sub("|".join(re.escape(secret) for secret in wanted), REDACTED, text)


@dataclass(frozen=True)
class Attachment:
    name: str
    body: str
    kind: str  # the name of an allure.attachment_type: SVG, HTML or TEXT


def scenario_attachments(
    title: str,
    seed: int,
    events: Mapping[str, Sequence[ObservedEvent]],
    journal: Sequence[JournalEntry],
    frames: Sequence[Frame],
    log_lines: Sequence[str],
    start: float,
    end: float,
    findings: Sequence[str] = (),
) -> list[Attachment]:
    """What the report shows of one scenario: its picture, transcript, story and log. Not yet redacted.
    What the scenario measured (``findings``) opens the story, so the numbers are not lost among hundreds
    of events."""
    measured = "".join(f"{finding}\n\n" for finding in findings)
    attachments = [
        Attachment("Connection timeline", render_timeline(events, journal, start, end, title), "SVG"),
        Attachment("Message transcript", transcript_table(frames, start), "HTML"),
        Attachment(
            "What happened", f"Scenario seed {seed}\n\n{measured}{story(events, journal, start)}", "TEXT"
        ),
    ]
    if log_lines:
        attachments.append(Attachment("Log", "\n".join(log_lines), "TEXT"))
    return attachments


@dataclass(frozen=True)
class StoryLine:
    at: float
    who: str
    what: str


def story(
    events: Mapping[str, Sequence[ObservedEvent]], journal: Sequence[JournalEntry], start: float
) -> str:
    """One time-ordered account of a scenario: each client's events and the services' journals."""
    lines = [StoryLine(entry.at, entry.source, describe_facts(entry.kind, entry.detail)) for entry in journal]
    for client, observed in events.items():
        lines += [StoryLine(event.at, client, _describe_event(event)) for event in observed]
    lines.sort(key=lambda line: line.at)
    width = max((len(line.who) for line in lines), default=6)
    return "\n".join(
        f"{(line.at - start) * 1000:>8.0f} ms  {line.who:<{width}}  {line.what}" for line in lines
    )


def _describe_event(observed: ObservedEvent) -> str:
    with contextlib.suppress(UnreadableFacts):  # told as the client gave it, whatever its facts
        event = observed.event
        if isinstance(event, StateChanged):
            return f"is now {event.state} — {event.reason}"
    return describe_facts(observed.name, observed.data)
