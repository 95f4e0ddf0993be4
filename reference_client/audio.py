"""The client's audio: its capture settings, and the voice side's speaking state.

Other parts of the client (the avatar) follow the voice: they register a listener that is told, and
awaited, each time speaking starts or stops.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from reference_client.events import EventEmitter
from reference_client.subsystems import Health, Rule, SettingsByRule

SAMPLE_RATES = (8_000, 16_000, 22_050, 24_000, 44_100, 48_000)
BUFFER_SIZES = tuple(2**power for power in range(8, 15))  # 256 … 16384 samples
DEFAULT_SAMPLE_RATE = 24_000
DEFAULT_BUFFER_SIZE = 4_096

# Told the voice id (None when not speaking) and whether the voice is speaking.
SpeakingListener = Callable[[str | None, bool], Awaitable[None]]


def _sample_rate_problem(value: object) -> str | None:
    if _is_whole(value) and value in SAMPLE_RATES:
        return None
    rates = ", ".join(str(rate) for rate in SAMPLE_RATES)
    return f"audio sample_rate must be one of {rates} (Hz), got {value!r}"


def _buffer_size_problem(value: object) -> str | None:
    if _is_whole(value) and value in BUFFER_SIZES:
        return None
    return (
        f"audio buffer_size must be a power of two from {BUFFER_SIZES[0]} to "
        f"{BUFFER_SIZES[-1]} samples, got {value!r}"
    )


class AudioSubsystem(SettingsByRule):
    """The voice side: capture settings (``sample_rate`` in Hz, ``buffer_size`` in samples) and whether the
    voice is speaking, with which voice."""

    name = "audio"
    RULES: ClassVar[Mapping[str, Rule]] = {
        "sample_rate": _sample_rate_problem,
        "buffer_size": _buffer_size_problem,
    }

    def __init__(
        self,
        events: EventEmitter,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        self._events = events
        self._take_settings({"sample_rate": sample_rate, "buffer_size": buffer_size})
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
