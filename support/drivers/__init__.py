"""Client drivers by name: the ``client`` setting picks one."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from support.drivers.base import (
    ClientDriver,
    ClientSetup,
    ClientTimings,
    ConfigurationRefused,
    ObservedEvent,
    TokenKeeping,
)
from support.drivers.reference import SCENARIO_ENDED, ReferenceClientDriver

DRIVERS: dict[str, Callable[[ClientSetup], ClientDriver]] = {
    "reference": ReferenceClientDriver,
}
# Drivers that can run many clients together (on one event loop, say); the others get one driver per setup.
CROWD_DRIVERS: dict[str, Callable[[Sequence[ClientSetup]], Sequence[ClientDriver]]] = {
    "reference": ReferenceClientDriver.crowd,
}


def make_driver(name: str, setup: ClientSetup) -> ClientDriver:
    return DRIVERS[name](setup)


def make_drivers(name: str, setups: Sequence[ClientSetup]) -> list[ClientDriver]:
    """A driver for each setup, in order, sharing what the driver can share between clients."""
    crowd = CROWD_DRIVERS.get(name)
    if crowd is not None:
        return list(crowd(setups))
    drivers: list[ClientDriver] = []
    try:
        for setup in setups:
            drivers.append(make_driver(name, setup))
    except BaseException:
        for driver in drivers:
            driver.dispose()
        raise
    return drivers


def connect_all(drivers: Sequence[ClientDriver]) -> list[float]:
    """Tell every client to connect, as nearly at the same moment as the drivers allow; returns when each was
    told (``time.monotonic()``), in the order given."""
    if drivers and all(isinstance(driver, ReferenceClientDriver) for driver in drivers):
        return ReferenceClientDriver.connect_together(drivers)  # type: ignore[arg-type]
    told: list[float] = []
    for driver in drivers:
        told.append(time.monotonic())
        driver.connect()
    return told


def close_all(drivers: Sequence[ClientDriver]) -> None:
    """Shut down every client that a driver can shut down together with others; ``dispose`` does the rest."""
    together = [driver for driver in drivers if isinstance(driver, ReferenceClientDriver)]
    ReferenceClientDriver.close_together(together, SCENARIO_ENDED)


def describe_target(name: str) -> str:
    """What the suite is testing, for the report: a driver says so in its ``target`` attribute."""
    return str(getattr(DRIVERS[name], "target", f"{name} client"))


__all__ = [
    "CROWD_DRIVERS",
    "DRIVERS",
    "ClientDriver",
    "ClientSetup",
    "ClientTimings",
    "ConfigurationRefused",
    "ObservedEvent",
    "TokenKeeping",
    "close_all",
    "connect_all",
    "describe_target",
    "make_driver",
    "make_drivers",
]
