"""behave fixtures, and the one place that maps tags to them.

Tag a feature or scenario ``@fixture.<name>`` to use the fixture of that name (see ``TAG_FIXTURES``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from behave import fixture
from behave.runner import Context

from support.services.stack import ServiceStack


@fixture
def fresh_services(context: Context) -> Iterator[ServiceStack]:
    """A service stack of the scenario's own, for scenarios that stop or break the shared one."""
    yield from _own_services(context, tls=None)


@fixture
def tls_services(context: Context) -> Iterator[ServiceStack]:
    """A service stack over TLS (https://, wss://, a test certificate authority of its own), whatever the
    ``tls`` setting says; on a feature, its scenarios share it."""
    yield from _own_services(context, tls=True)


def _own_services(context: Context, tls: bool | None) -> Iterator[ServiceStack]:
    # tls=None follows the tls setting, like the shared stack.
    shared = context.services
    stack = ServiceStack(context.settings, tls=tls)
    try:
        stack.start()
        context.services = stack
        yield stack
    finally:
        stack.stop()
        context.services = shared


@fixture
def two_gateway_nodes(context: Context) -> Iterator[ServiceStack]:
    """A second gateway node (B) sharing its sessions with the usual one (A), behind the fault proxy standing
    for the load balancer; removed afterwards, so every other scenario has the one gateway."""
    stack = context.services
    stack.gateway.nodes.add()
    try:
        yield stack
    finally:
        stack.gateway.nodes.remove()


TAG_FIXTURES: dict[str, Callable[..., Any]] = {
    "fixture.services.fresh": fresh_services,
    "fixture.services.tls": tls_services,
    "fixture.services.two_gateways": two_gateway_nodes,
}
