"""Steps about server faults a crowd of clients lives through: a gateway restarting with or without warning,
and a rolling update across two gateway nodes that share their sessions."""

import time

import allure
from behave import given, step, then
from behave.runner import Context
from hamcrest import empty, greater_than_or_equal_to, has_length, is_not

from support.areas import server_faults
from support.areas.server_faults import CrowdFault, RestartKind
from support.drivers import ObservedEvent
from support.drivers.events import Subscribed
from support.harness import observations, parameter_types
from support.harness.matchers import milliseconds_under, no_problems, share_at_least
from support.harness.parameter_types import Worded
from support.harness.queries import Events
from support.harness.waiting import check, wait_for

parameter_types.register()

# Enough messages to show each client's stream is flowing before the fault.
SOME_MESSAGES = 5


@given('a crowd of clients, each ready and subscribed to "{channel}"')
def crowd_ready_and_subscribed(context: Context, channel: str) -> None:
    """Creates as many clients as the `server_fault_clients` setting says, each for a different made-up
    member, connects them all at once, waits until every one is ready, then subscribes each to the channel and
    waits until the gateway has confirmed every subscription.
    """
    world, within_s = context.world, context.settings.wait_timeout_s
    world.create_crowd([world.new_person("member") for _ in range(context.settings.server_fault_clients)])
    world.crowd.connect()
    world.crowd.await_ready()
    for name in world.crowd.people:
        world.clients[name].subscribe(channel)
    wait_for(
        lambda: [
            name for name, seen in context.world.crowd.events().items() if not _subscribed(seen, channel)
        ],
        empty(),
        within_s=within_s,
        what=f"the gateway to confirm every client's subscription to {channel!r}",
    )


@given('every client of the crowd has received some messages on "{channel}"')
def crowd_has_received_some(context: Context, channel: str) -> None:
    """Waits until every client of the crowd has received at least 5 messages on the channel."""
    wait_for(
        lambda: [
            name
            for name, seen in context.world.crowd.events().items()
            if len(observations.delivered_numbers(seen, channel)) < SOME_MESSAGES
        ],
        empty(),
        within_s=context.settings.wait_timeout_s,
        what=f"some messages on {channel!r} to reach every client",
    )


@step("the gateway restarts {kind:RestartKind}")
def gateway_restarts(context: Context, kind: Worded[RestartKind]) -> None:
    """Restarts the gateway, keeping its sessions: "with a warning that the service is restarting" (close
    code 1012), "with a warning that it is going away" (1001), or "at once, its process killed without a close
    frame". It is down for the `gateway_restart_ms` setting, then listens again on the same address.
    """
    restart = kind.value
    _fault_strikes(context, f"the gateway restarted {kind}")
    context.services.gateway.restart(restart.mode, restart.code)


@step("gateway node {node:GatewayNode} is taken out for an update, warning its clients that {code:Warning}")
def gateway_node_taken_out(context: Context, node: str, code: int) -> None:
    """Drains a gateway node for an update: the load balancer sends new connections to the other node, then
    this one closes each of its connections with the warning ("the service is restarting", 1012, or "the
    server is going away", 1001) and stops. The sessions stay in the store both nodes share.
    """
    _fault_strikes(context, f"node {node} taken out for an update")
    context.services.gateway.nodes.drain(node, code)


@step("gateway node {node:GatewayNode} is back, updated")
def gateway_node_back(context: Context, node: str) -> None:
    """Starts the gateway node again on its address; the load balancer sends it nothing until told to."""
    context.services.gateway.nodes.start(node)


@then("every client of the crowd lost its connection because {reason:CloseMeaning}")
def crowd_lost_connection(context: Context, reason: Worded[int]) -> None:
    """Waits until every client of the crowd reports its connection lost since the fault, with the close code
    of those words: "the service is restarting" (1012), "the server is going away" (1001), "the connection
    dropped without a close frame" (no close frame at all).
    """
    code, fault = reason.value, _last_fault(context)
    wait_for(
        lambda: server_faults.lost_connections(fault, context.world.crowd.events(), code),
        no_problems("clients that did not lose their connection that way"),
        within_s=context.settings.wait_timeout_s,
        what=f"every client to lose its connection because {reason}",
    )


@then("the crowd settles, with each client's downtime in the report")
def crowd_settles(context: Context) -> None:
    """Waits until every client of the crowd is ready again or has given up, then measures each one's downtime
    (from losing its connection to being ready again) and puts a table of them in the report, with the
    reconnection rate and the average downtime.
    """
    _settle(context)


@then("the crowd settles on gateway node {node:GatewayNode}, with each client's downtime in the report")
def crowd_settles_on_node(context: Context, node: str) -> None:
    """Like "the crowd settles", and checks that every client that came back resumed its session on that
    gateway node.
    """
    fault = _settle(context)
    elsewhere = [
        f"{outage.name} resumed on node {outage.node}" if outage.node else f"{outage.name} resumed on no node"
        for outage in fault.outages
        if outage.came_back and outage.node != node
    ]
    check(elsewhere, no_problems("clients elsewhere"), what=f"where the clients resumed (wanted node {node})")


@then("at least {rate:Percentage} of the crowd reconnected")
def crowd_reconnection_rate(context: Context, rate: float) -> None:
    """Checks that at least that share of the crowd (say "95%") was ready again after the last fault."""
    summary = server_faults.summarise(_last_fault(context).outages)
    check(
        summary.reconnection_rate,
        share_at_least(rate),
        what=f"the share of the crowd that reconnected ({summary.came_back} of {summary.count})",
    )


@then("their average downtime was under {seconds:ProductionSeconds} seconds of production time")
def crowd_average_downtime(context: Context, seconds: float) -> None:
    """Checks the average downtime of the clients that came back after the last fault against a limit stated
    in production seconds, which the `production_second_ms` setting turns into the suite's time.
    """
    summary = server_faults.summarise(_last_fault(context).outages)
    limit_ms = context.settings.suite_seconds(seconds) * 1000
    check(
        summary.average_downtime_ms,
        milliseconds_under(limit_ms),
        what=f"the crowd's average downtime ({seconds:g} s in production is {limit_ms:.0f} ms here)",
    )


@then(
    'each client that came back resumed its own session and received every streamed message on "{channel}",'
    " each once and in order"
)
def crowd_kept_its_data(context: Context, channel: str) -> None:
    """Waits until every client that came back after each fault has received every message the server streamed
    on the channel (up to when the stream stopped), each exactly once and in order, and checks that it resumed
    the session it had before the first fault every time.
    """
    world = context.world
    check(
        world.crowd.faults,
        has_length(greater_than_or_equal_to(1)),
        what="the faults the crowd lived through",
    )
    wait_for(
        lambda: server_faults.data_lost(
            world.crowd.faults,
            {name: world.clients[name].session_id for name in world.crowd.people},
            {
                name: observations.delivered_numbers(seen, channel)
                for name, seen in context.world.crowd.events().items()
            },
            world.messages.streamed[channel],
        ),
        no_problems("losses"),
        within_s=context.settings.wait_timeout_s,
        what=f"every client that came back to have all {world.messages.streamed[channel]} messages "
        f"on {channel!r}",
    )


# -- helpers -----------------------------------------------------------------------------------------------


def _subscribed(seen: list[ObservedEvent], channel: str) -> bool:
    return Events(seen).first(Subscribed, channel=channel) is not None


def _fault_strikes(context: Context, label: str) -> None:
    world = context.world
    sessions = {name: world.clients[name].session_id for name in world.crowd.people}
    world.crowd.faults.append(CrowdFault(label, time.monotonic(), sessions))
    world.mark("disruption")


def _last_fault(context: Context) -> CrowdFault:
    faults = context.world.crowd.faults
    check(faults, is_not(empty()), what="the server faults the scenario has seen")
    return faults[-1]


def _settle(context: Context) -> CrowdFault:
    world, fault = context.world, _last_fault(context)
    try:
        wait_for(
            lambda: server_faults.unsettled(fault, context.world.crowd.events()),
            no_problems("clients still on their way back"),
            within_s=context.settings.wait_timeout_s,
            what="every client of the crowd to be ready again or to give up",
        )
    finally:
        fault.outages = server_faults.measure(
            fault, context.world.crowd.events(), context.services.journal_entries()
        )
        second_ms = context.settings.production_second_ms
        world.report.findings.append(server_faults.summary_text(fault, second_ms))
        allure.attach(
            server_faults.summary_html(fault, second_ms),
            name=f"Server fault: {fault.label}",
            attachment_type=allure.attachment_type.HTML,
        )
    return fault
