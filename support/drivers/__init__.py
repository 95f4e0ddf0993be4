"""Client drivers by name: the ``client`` setting picks one."""

from __future__ import annotations

from collections.abc import Callable

from support.drivers.base import ClientDriver, ClientSetup, ClientTimings, ObservedEvent, TokenKeeping
from support.drivers.reference import ReferenceClientDriver

DRIVERS: dict[str, Callable[[ClientSetup], ClientDriver]] = {
    "reference": ReferenceClientDriver,
}


def make_driver(name: str, setup: ClientSetup) -> ClientDriver:
    return DRIVERS[name](setup)


def describe_target(name: str) -> str:
    """What the suite is testing, for the report: a driver says so in its ``target`` attribute."""
    return str(getattr(DRIVERS[name], "target", f"{name} client"))


__all__ = [
    "DRIVERS",
    "ClientDriver",
    "ClientSetup",
    "ClientTimings",
    "ObservedEvent",
    "TokenKeeping",
    "describe_target",
    "make_driver",
]
