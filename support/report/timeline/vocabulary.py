"""What the timeline shows and in which colours: the client's states and key moments, the services' marks,
the troubles that last, and the only facts a tooltip may show.

Everything here is data: the lanes (``client_lanes``, ``service_marks``) read events and journal entries
through these tables, so a new kind of event or entry is one row here. Colours are the Okabe-Ito palette.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from support.report.timeline import wording

# The Okabe-Ito palette: told apart with the common colour-vision deficiencies.
BLACK, ORANGE, SKY, GREEN, YELLOW = "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442"
BLUE, VERMILLION, PURPLE = "#0072B2", "#D55E00", "#CC79A7"
GREY, LIGHT, MUTED, WHITE = "#999999", "#DDDDDD", "#555555", "#FFFFFF"

STATE_COLOURS: dict[str, tuple[str, str]] = {  # state -> (fill, the text colour with more contrast on it)
    "initialized": (LIGHT, BLACK),
    "connecting": (YELLOW, BLACK),
    "authenticating": (ORANGE, BLACK),
    "connected": (SKY, BLACK),
    "ready": (GREEN, BLACK),
    "disconnected": (VERMILLION, BLACK),
    "reconnecting": (PURPLE, BLACK),
    "closing": (BLUE, WHITE),
    "closed": (GREY, BLACK),
    "failed": (BLACK, WHITE),
}
MOMENTS: dict[str, tuple[str, str]] = {  # client event -> (short label, line colour)
    "connection:lost": ("connection lost", VERMILLION),
    "heartbeat:timeout": ("no heartbeat reply", VERMILLION),
    "reconnect:exhausted": ("gave up retrying", VERMILLION),
    "auth:error": ("sign-in error", VERMILLION),
    "session:continuity_lost": ("session lost, new one", ORANGE),
    "session:resumed": ("session resumed", GREEN),
    "publish:refused": ("message refused", VERMILLION),
    "session:error": ("avatar error, voice only", ORANGE),
    "error:classified": ("classified", VERMILLION),  # labelled by _moment_label: retry or fatal, and why
    "protocol:error": ("unusable frame", VERMILLION),
    "protocol:ignored": ("frame ignored", ORANGE),
}
SHORT_LABELS = {  # a label -> what it shrinks to when it has no room
    "connection lost": "lost",
    "no heartbeat reply": "no heartbeat",
    "gave up retrying": "gave up",
    "sign-in error": "error",
    "session lost, new one": "new session",
    "session resumed": "resumed",
    "message refused": "refused",
    "avatar error, voice only": "voice only",
    "unusable frame": "bad frame",
    "frame ignored": "ignored",
    "session started": "started",
    "token asked": "asked",
    "token given": "given",
    "stream started": "stream",
    "stream stopped": "stopped",
}
SERVICE_POINTS: dict[tuple[str, str], tuple[str, str]] = {  # (source, kind) -> (short label, colour)
    ("gateway", "session started"): ("session started", GREEN),
    ("gateway", "session resumed"): ("session resumed", GREEN),
    ("gateway", "session expired"): ("session expired", ORANGE),
    ("gateway", "token expired"): ("token expired", ORANGE),
    ("gateway", "token renewed"): ("token renewed", BLUE),
    ("gateway", "token renewal refused"): ("renewal refused", VERMILLION),
    ("gateway", "handshake refused"): ("sign-in refused", VERMILLION),
    ("gateway", "publish refused"): ("post refused", VERMILLION),
    ("gateway", "stream started"): ("stream started", BLUE),
    ("gateway", "stream stopped"): ("stream stopped", BLUE),
    ("gateway", "traffic moved"): ("traffic moved", BLUE),
    ("gateway", "connection cut"): ("connection cut", VERMILLION),
    ("gateway", "odd frame sent"): ("odd frame sent", VERMILLION),
    ("gateway", "message dropped"): ("message dropped", ORANGE),
    ("auth service", "token requested"): ("token asked", SKY),
    ("auth service", "token answered"): ("token given", GREEN),
    ("auth service", "request refused"): ("refused", VERMILLION),
    ("auth service", "token revoked"): ("token revoked", ORANGE),
    ("auth service", "refresh token reused"): ("refresh reused", VERMILLION),
    ("auth service", "sign-in throttled"): ("throttled", ORANGE),
    ("auth service", "sign-in revoked"): ("sign-in revoked", VERMILLION),  # faults from here on
    ("auth service", "account closed"): ("account closed", VERMILLION),
    ("auth service", "trouble programmed"): ("made to answer", VERMILLION),  # labelled by _points
    ("auth service", "service started again"): ("auth service back", GREEN),
    ("gateway", "trouble programmed"): ("made to misbehave", VERMILLION),  # labelled by _points
    ("gateway", "token revoked"): ("dropped: token revoked", VERMILLION),
    ("gateway", "sessions forgotten"): ("sessions forgotten", VERMILLION),
    ("gateway", "message too big for clients sent"): ("too-big message sent", VERMILLION),
    ("gateway", "connections no longer cut"): ("connections no longer cut", GREEN),
    ("gateway", "compression accepted again"): ("compression accepted again", GREEN),
    ("avatar service", "avatar session created"): ("avatar started", GREEN),
    ("avatar service", "avatar updated"): ("avatar updated", BLUE),
    ("avatar service", "avatar session closed"): ("avatar closed", GREY),
    ("avatar service", "request refused"): ("refused", VERMILLION),
    ("avatar service", "service recovered"): ("avatar service back", GREEN),
    ("avatar service", "service started again"): ("avatar service back", GREEN),
    ("gateway", "upgrade refused"): ("upgrade refused", VERMILLION),  # labelled with its status by _points
    ("gateway", "session ended by the gateway"): ("session ended", VERMILLION),  # and with its close code
    ("network", "address refuses connections"): ("refusing address", VERMILLION),
    ("network", "host never answers"): ("silent host", VERMILLION),
    ("network", "connection left unanswered"): ("left unanswered", VERMILLION),
    ("network", "name does not resolve"): ("unknown name", VERMILLION),
}
# What a scenario did to a service on purpose (or its undoing): labelled before anything else on its lane, so
# a fault never loses its label to a routine mark.
FAULT_POINTS = {
    ("auth service", "sign-in revoked"),
    ("auth service", "account closed"),
    ("auth service", "trouble programmed"),
    ("auth service", "service started again"),
    ("auth service", "refresh token reused"),
    ("gateway", "trouble programmed"),
    ("gateway", "token revoked"),
    ("gateway", "sessions forgotten"),
    ("gateway", "message too big for clients sent"),
    ("gateway", "connections no longer cut"),
    ("gateway", "compression accepted again"),
    ("gateway", "odd frame sent"),
    ("gateway", "traffic moved"),
    ("avatar service", "service recovered"),
    ("avatar service", "service started again"),
    ("network", "address refuses connections"),
    ("network", "host never answers"),
    ("network", "name does not resolve"),
}
# Troubles that last: (source, kind that starts it) -> (the kinds that end it, its label from the entry's
# facts, what its end is called). One never ended lasts to the end of the scenario.
SERVICE_TROUBLES: dict[tuple[str, str], tuple[tuple[str, ...], Callable[[Mapping[str, Any]], str], str]] = {
    ("auth service", "service stopped"): (
        ("service started again",),
        lambda facts: "auth service made unavailable",
        "back",
    ),
    ("auth service", "flawed tokens handed out"): (
        (),
        lambda facts: f"hands out flawed tokens ({facts.get('flaw')})",
        "stopped",
    ),
    ("avatar service", "service stopped"): (
        ("service started again",),
        lambda facts: "avatar service made unavailable",
        "back",
    ),
    ("avatar service", "service unavailable"): (
        ("service recovered",),
        lambda facts: "avatar service made unavailable (503)",
        "back",
    ),
    ("avatar service", "service slow"): (
        ("service recovered",),
        lambda facts: f"avatar service made slow (+{wording.number(facts.get('delay_ms'))} ms)",
        "back",
    ),
    ("gateway", "connections cut from now on"): (
        ("connections no longer cut",),
        lambda facts: f"cuts every connection {wording.number(facts.get('after_ms'))} ms after it is ready",
        "no longer cut",
    ),
    ("gateway", "untrusted certificate shown"): (
        (),
        lambda facts: "shows an untrusted certificate",
        "stopped",
    ),
    ("gateway", "protocol versions limited"): (
        (),
        lambda facts: f"speaks only {facts.get('speaks')}",
        "stopped",
    ),
    ("gateway", "compression turned down"): (
        ("compression accepted again",),
        lambda facts: "turns compression down",
        "accepted again",
    ),
}
# The only data keys ever written into the picture: none of them holds a payload, token or key.
SAFE_FACTS = (
    "reason", "code", "mode", "status", "error", "description", "waited_ms", "total_attempts", "limit",
    "last_error", "replay", "channel", "rate_per_s", "sent", "grant_type", "endpoint", "retry_after_ms",
    "node", "to",
    "classification", "retryable", "recommended_delay_ms", "close_code", "retry_after_s", "address", "name",
    "after_ms",
    "what", "seq", "size", "subprotocol", "compression", "offered", "speaks",
    "requests", "delay_ms", "flaw", "issuer", "answer", "sessions", "families_revoked",
)  # fmt: skip
MESSAGE_TICKS = (  # (css class, what a tick means, the events it counts, top and bottom in the lane, colour)
    ("received", "received", {"message"}, 2, 11, BLUE),
    ("sent", "sent and acknowledged", {"publish:acked"}, 13, 22, ORANGE),
    ("trouble", "resent, duplicate or missing", {"publish:resent", "message:duplicate", "message:gap"}, 0, 24,
     VERMILLION),
)  # fmt: skip
TickKind = tuple[str, str, set[str], int, int, str]
SHORT_FAULT_NAMES = {  # fault kind -> short name, filled in from the fault's attributes
    "bandwidth": "bandwidth {rate} KB/s",
    "reset_peer": "reset by peer after {timeout} ms",
    "limit_data": "cut after {bytes} bytes",
    "slicer": "sliced into ~{average_size}-byte pieces",
    "slow_close": "close held back {delay} ms",
    "flapping": "network flapping",
}
