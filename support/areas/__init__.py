"""The suite's areas, one name each, and where each area's parts live.

An area is one feature file and everything named after it: ``features/<name>.feature`` tagged
``@area.<name>`` (``@journey.<name>`` for the five core journeys), its steps in ``steps/<name>_steps.py``,
the code that reads it in ``support/areas/<name>.py`` and that code's self-test in ``tests/test_<name>.py``.
An area has only the parts it needs: the journeys speak the shared vocabulary alone, and an area whose
checks are plain needs no module of its own. The shared vocabulary (the client, the services, messages,
the network) is the step files every feature may use.

``tests/test_layout.py`` holds the tree to this list, and ``tools/area_map.py`` writes the README's "Where a
change goes" table from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
# Where each part of an area lives, by the area's name.
PLACES = {
    "feature": "features/{name}.feature",
    "steps": "steps/{name}_steps.py",
    "support": "support/areas/{name}.py",
    "self-test": "tests/test_{name}.py",
}


@dataclass(frozen=True)
class Area:
    """One area: ``name`` (lower_snake, as in its file names and tag), ``kind`` ("journey" or "area") and a
    ``title`` for people."""

    name: str
    kind: Literal["journey", "area"]
    title: str

    @property
    def tag(self) -> str:
        """The feature's tag, without its "@": ``area.<name>`` or ``journey.<name>``."""
        return f"{self.kind}.{self.name}"

    def place(self, part: str) -> str:
        """Where ``part`` ("feature", "steps", "support" or "self-test") of this area lives, relative to the
        project root, whether or not it exists. KeyError for another part."""
        return PLACES[part].format(name=self.name)

    def parts(self, root: Path = ROOT) -> dict[str, str | None]:
        """Each part's path, or None where the area has no such part (keys as ``PLACES``), and its "tag"."""
        found: dict[str, str | None] = {
            part: path if (root / path).exists() else None for part, path in self.places().items()
        }
        return {**found, "tag": f"@{self.tag}"}

    def places(self) -> dict[str, str]:
        """Every part's path, as ``place`` gives it."""
        return {part: self.place(part) for part in PLACES}


@dataclass(frozen=True)
class Vocabulary:
    """Steps every feature may use: the ``step_file``, and where the code behind them lives (``support``:
    paths below the project root) with its self-tests (``self_tests``)."""

    title: str
    step_file: str
    support: tuple[str, ...]
    self_tests: tuple[str, ...]


AREAS: tuple[Area, ...] = (
    Area("authenticate", "journey", "Authenticate"),
    Area("connect", "journey", "Connect"),
    Area("lose_network", "journey", "Lose the network"),
    Area("reconnect", "journey", "Reconnect"),
    Area("shutdown", "journey", "Shut down"),
    Area("access_security", "area", "Access security"),
    Area("token_lifecycle", "area", "Token lifecycle"),
    Area("token_renewal", "area", "Token renewal"),
    Area("token_safekeeping", "area", "Token safekeeping"),
    Area("secure_transport", "area", "Secure transport"),
    Area("channel_access", "area", "Channel access"),
    Area("sign_in_load", "area", "Sign-in load"),
    Area("avatar", "area", "Avatar"),
    Area("health", "area", "Health"),
    Area("error_classification", "area", "Error classification"),
    Area("backoff", "area", "Reconnection and backoff"),
    Area("network_faults", "area", "Network faults"),
    Area("protocol_failures", "area", "Protocol failures"),
    Area("server_faults", "area", "Server faults"),
    Area("coordination", "area", "Coordination"),
    Area("configuration", "area", "Configuration"),
    Area("structured_logging", "area", "Structured logging"),
)

VOCABULARY: tuple[Vocabulary, ...] = (
    Vocabulary(
        "The services",
        "steps/service_steps.py",
        ("support/services/",),
        (
            "tests/test_auth_service.py",
            "tests/test_refresh_tokens.py",
            "tests/test_gateway.py",
            "tests/test_gateway_protocol.py",
            "tests/test_gateway_nodes.py",
            "tests/test_avatar.py",
        ),
    ),
    Vocabulary(
        "The client",
        "steps/client_steps.py",
        ("support/drivers/", "support/harness/observations.py", "reference_client/"),
        (
            "tests/test_drivers.py",
            "tests/test_observations.py",
            "tests/test_reference_client.py",
            "tests/test_client_session.py",
        ),
    ),
    Vocabulary(
        "Messages",
        "steps/messaging_steps.py",
        ("support/harness/matchers.py",),
        ("tests/test_matchers.py",),
    ),
    Vocabulary(
        "The network",
        "steps/network_steps.py",
        ("support/services/proxy/",),
        ("tests/test_fault_proxy.py", "tests/test_fault_proxy_logic.py"),
    ),
)
