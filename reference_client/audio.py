"""The client's audio: its capture settings, and the voice side's speaking state.

Other parts of the client (the avatar) follow the voice: they register a listener that is told, and
awaited, each time speaking starts or stops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from reference_client.events import EventEmitter
from reference_client.subsystems import Health

SAMPLE_RATES = (8_000, 16_000, 22_050, 24_000, 44_100, 48_000)
BUFFER_SIZES = tuple(2**power for power in range(8, 15))  # 256 … 16384 samples
DEFAULT_SAMPLE_RATE = 24_000
DEFAULT_BUFFER_SIZE = 4_096

# Told the voice id (None when not speaking) and whether the voice is speaking.
SpeakingListener = Callable[[str | None, bool], Awaitable[None]]


class AudioSubsystem:
    name = "audio"

    def __init__(
        self,
        events: EventEmitter,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        self._events = events
        self._settings: dict[str, Any] = {"sample_rate": sample_rate, "buffer_size": buffer_size}
        problems = self.problems_with(self._settings)
        if problems:
            raise ValueError("; ".join(problems))
        self._listeners: list[SpeakingListener] = []
        self._initialized = False
        self._cleaned_up = False
        self.voice_id: str | None = None
        self.speaking = False

    # -- the contract ------------------------------------------------------------------------------------

    async def initialize(self) -> None:
        self._initialized = True

    async def cleanup(self, reason: str) -> None:
        if self._cleaned_up:
            return
        self._cleaned_up = True
        was_speaking = self.speaking
        self.speaking, self.voice_id = False, None
        self._events.emit("audio:cleanup", component=self.name, reason=reason, was_speaking=was_speaking)

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        for key, value in changes.items():
            if key == "sample_rate":
                if not _is_whole(value) or value not in SAMPLE_RATES:
                    rates = ", ".join(str(rate) for rate in SAMPLE_RATES)
                    problems.append(f"audio sample_rate must be one of {rates} (Hz), got {value!r}")
            elif key == "buffer_size":
                if not _is_whole(value) or value not in BUFFER_SIZES:
                    problems.append(
                        f"audio buffer_size must be a power of two from {BUFFER_SIZES[0]} to "
                        f"{BUFFER_SIZES[-1]} samples, got {value!r}"
                    )
            else:
                problems.append(f"audio has no setting {key!r} (known: {', '.join(sorted(self._settings))})")
        return problems

    def apply(self, changes: Mapping[str, Any]) -> None:
        self._settings.update(changes)

    def health(self) -> tuple[Health, dict[str, Any]]:
        facts: dict[str, Any] = {"speaking": self.speaking, "voice_id": self.voice_id, **self._settings}
        if self._cleaned_up:
            return "down", {**facts, "reason": "cleaned up"}
        if not self._initialized:
            return "down", {**facts, "reason": "not started yet"}
        return "up", facts

    # -- the voice ---------------------------------------------------------------------------------------

    def on_speaking(self, listener: SpeakingListener) -> None:
        self._listeners.append(listener)

    async def start_speaking(self, voice_id: str) -> None:
        """The voice starts speaking with ``voice_id``; whoever follows the voice is told and awaited."""
        if not voice_id:
            raise ValueError("a voice id is required to start speaking")
        self.voice_id, self.speaking = voice_id, True
        await self._announce()

    async def stop_speaking(self) -> None:
        """The voice stops speaking (nothing happens if it was not speaking)."""
        if not self.speaking:
            return
        self.speaking = False
        await self._announce()

    async def _announce(self) -> None:
        self._events.emit(
            "voice:speaking", component=self.name, voice_id=self.voice_id, speaking=self.speaking
        )
        for listener in list(self._listeners):
            await listener(self.voice_id, self.speaking)


def _is_whole(value: object) -> bool:
    # bool is an int in Python, but True is no sample rate.
    return isinstance(value, int) and not isinstance(value, bool)
