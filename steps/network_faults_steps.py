"""Steps about network faults that last a while and end by themselves, and how the client comes through."""

from behave import step, then
from behave.runner import Context
from hamcrest import described_as, empty, equal_to, greater_than_or_equal_to, less_than_or_equal_to, not_none

from support.areas import network_faults
from support.drivers.events import ConnectionLost, SessionResumed
from support.harness import observations, parameter_types
from support.harness.parameter_types import Worded
from support.harness.queries import Events
from support.harness.waiting import check, wait_for

parameter_types.register()


@step("the network suffers {fault:NetworkFault}")
def network_suffers(context: Context, fault: network_faults.NamedFault) -> None:
    """Applies a network fault named in real time (e.g. "the network drops for 30 s"), scaled to suite time by
    the suite's production-second setting; the fault is lifted by itself once its time is up.
    """
    plan = fault.plan(context.settings.production_second_ms / 1000)
    context.world.disrupt()
    network_faults.apply_fault(plan, context.services.proxy)
    context.world.faults.plan = plan


@then("once the network is back, the client is ready {bound:RecoveryBound}")
def ready_once_network_back(context: Context, bound: Worded[network_faults.RecoveryBound]) -> None:
    """Waits until the fault is over, then until the client is ready, and checks how long after the fault
    it became ready for good: "at once" (it never stopped being ready), "within a retry pause" (the longest
    backoff pause plus the detection grace) or "within a connection timeout and a retry pause".
    """
    bound_s = network_faults.recovery_bound_s(bound.value, context.settings)
    world, services, since = context.world, context.services, context.world.since("disruption")
    check(world.faults.plan, not_none(), what="the network fault the scenario applied")
    healed_at = wait_for(
        lambda: network_faults.lifted_at(services.proxy.faults(), since),
        described_as("every fault lifted", not_none()),
        within_s=world.faults.plan.lasting_ms / 1000 + context.settings.wait_timeout_s,
        what=f"the network to be back after {world.faults.plan.words}",
    )
    took_s = wait_for(
        lambda: network_faults.recovery_s(world.client.events(), healed_at),
        described_as("the client ready", not_none()),
        within_s=bound_s + context.settings.wait_timeout_s,
        what="the client to be ready again once the network was back",
        seen=lambda _: observations.describe_client(world.client.events(), world.client.state),
    )
    world.report.findings.append(
        f"Ready again {took_s * 1000:.0f} ms after the network was back (allowed {bound_s * 1000:.0f} ms)"
    )
    check(took_s, less_than_or_equal_to(bound_s), what=f"the seconds the client took to be ready {bound}")


@then("the client stayed connected throughout")
def stayed_connected(context: Context) -> None:
    """Checks that, since the fault began, the client never lost its connection, never missed a heartbeat
    reply and never left the ready state.
    """
    client, since = context.world.client, context.world.since("disruption")
    check(
        observations.connection_trouble(client.events(), since),
        empty(),
        what="what happened to the client's connection during the fault",
        seen=lambda trouble: (
            f"since the fault began {'; '.join(trouble)}; now "
            + observations.describe_client(client.events(), client.state, who="it")
        ),
    )


@then("the client reconnected and resumed the same session")
def reconnected_and_resumed(context: Context) -> None:
    """Checks that, since the fault began, the client lost its connection at least once and came back to the
    session it had before, resuming it.
    """
    world, since = context.world, context.world.since("disruption")
    events = Events(world.client.events())
    check(
        events.count(ConnectionLost, since=since),
        greater_than_or_equal_to(1),
        what="the number of times the client lost its connection during the fault",
    )
    check(
        events.count(SessionResumed, since=since),
        greater_than_or_equal_to(1),
        what="the number of times the client resumed its session",
    )
    check(world.client.session_id, equal_to(world.faults.session_before), what="the client's session")
