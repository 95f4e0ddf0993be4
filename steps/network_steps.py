"""Steps about the network between the client and the gateway, and how fast the client notices."""

from behave import step, then, when
from behave.runner import Context
from hamcrest import greater_than_or_equal_to, has_item, has_length, less_than_or_equal_to, not_none

from support.drivers.events import ConnectionLost, HeartbeatTimeout, ReconnectScheduled
from support.harness import observations
from support.harness.matchers import keeps_growing
from support.harness.queries import Events
from support.harness.waiting import check, wait_for


@step("the network to the gateway goes down")
def network_goes_down(context: Context) -> None:
    """Cuts the network between the client and the gateway: every open connection is reset and new ones are
    refused until it comes back.
    """
    context.world.disrupt()
    context.services.proxy.down()


@step("the network silently stops delivering anything from the gateway")
def network_goes_silent(context: Context) -> None:
    """Makes the link half-open: nothing from the gateway reaches the client any more, yet no connection is
    closed.
    """
    context.world.disrupt()
    context.services.proxy.add_toxic("timeout", stream="downstream", timeout=0)


@step("the network comes back")
def network_comes_back(context: Context) -> None:
    """Restores the network between the client and the gateway: every fault is lifted and connections are
    accepted again.
    """
    context.services.proxy.heal()
    context.world.mark("network restored")


@when("the client notices the connection is lost")
@then("the client notices the connection is lost within the bound for a cut connection")
def client_notices_loss(context: Context) -> None:
    """Waits until the client reports that its connection was lost, and checks that it noticed within the
    bound for a cut connection (the detection grace).
    """
    _noticed(context, ConnectionLost, context.settings.drop_detection_bound_s, "a cut connection")


@when("the client's heartbeat notices the silent link")
@then("the client's heartbeat notices within the bound for a silent link")
def heartbeat_notices(context: Context) -> None:
    """Waits until the client's heartbeat times out, and checks that it noticed within one heartbeat interval
    plus the heartbeat timeout (and the detection grace).
    """
    _noticed(context, HeartbeatTimeout, context.settings.heartbeat_detection_bound_s, "a silent link")


def _noticed(
    context: Context, kind: type[ConnectionLost | HeartbeatTimeout], bound_s: float, what: str
) -> None:
    client, since = context.world.client, context.world.since("disruption")
    noticed = wait_for(
        lambda: Events(client.events()).first(kind, since=since),
        not_none(),
        within_s=context.settings.wait_timeout_s,
        what=f"the client to notice {what}",
    )
    took = f"the seconds the client took to notice {what} (allowed {bound_s:g} s)"
    check(noticed.at - since, less_than_or_equal_to(bound_s), what=took)


@then("the client says it is reconnecting")
def client_says_reconnecting(context: Context) -> None:
    """Waits until the client says, after the disruption, that it is reconnecting."""
    client, since = context.world.client, context.world.since("disruption")
    wait_for(
        lambda: observations.states_since(client.events(), since),
        has_item("reconnecting"),
        within_s=context.settings.wait_timeout_s,
        what="the client to say it is reconnecting",
        seen=lambda _: observations.describe_client(client.events(), client.state, since=since),
    )


@then("the client retries at least {count:d} times, with pauses that grow")
def client_retries_with_growing_pauses(context: Context, count: int) -> None:
    """Waits until the client has scheduled at least that many reconnection attempts, and checks that the
    pauses between them never shrink and end longer than they started.
    """
    client, since = context.world.client, context.world.since("disruption")
    scheduled = wait_for(
        lambda: Events(client.events()).of(ReconnectScheduled, since=since),
        has_length(greater_than_or_equal_to(count)),
        within_s=context.settings.wait_timeout_s,
        what=f"the client to retry {count} times",
    )
    pauses = [event.base_delay_ms for event in scheduled]
    check(pauses, keeps_growing(), what="the client's pauses between retries, in ms")
