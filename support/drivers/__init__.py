"""Client drivers by name: the ``client`` setting picks one."""

from __future__ import annotations

from collections.abc import Callable

from support.drivers.base import ClientDriver, ClientSetup, ClientTimings, ObservedEvent
from support.drivers.reference import ReferenceClientDriver

DRIVERS: dict[str, Callable[[ClientSetup], ClientDriver]] = {
    "reference": ReferenceClientDriver,
}


def make_driver(name: str, setup: ClientSetup) -> ClientDriver:
    return DRIVERS[name](setup)


__all__ = ["DRIVERS", "ClientDriver", "ClientSetup", "ClientTimings", "ObservedEvent", "make_driver"]
