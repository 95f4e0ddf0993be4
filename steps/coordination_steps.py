"""Steps of coordination (features/coordination.feature): the order the client's parts start and stop in,
and recovering from failures together."""

from behave import step, then
from behave.runner import Context
from hamcrest import (
    empty,
    equal_to,
    greater_than,
    greater_than_or_equal_to,
    has_length,
)

from support.areas import coordination
from support.drivers.events import (
    ErrorClassified,
    StateChanged,
    SubsystemInitialized,
    SystemFailure,
)
from support.harness import parameter_types
from support.harness.queries import Events, Records
from support.harness.waiting import check, wait_for
from support.services.records import GatewaySessionStarted

parameter_types.register()

# -- start-up and shutdown -------------------------------------------------------------------------------


@then("the client started its parts in this order, each once, before connecting:")
def started_parts_in_order(context: Context) -> None:
    """Checks that the client initialised exactly the parts of the table (column `part`), in that order, each
    once, and all of them before it first set out to connect."""
    expected = [row["part"] for row in context.table]
    events = context.world.client.events()
    started = coordination.initialized_parts(events)
    check(started, equal_to(expected), what="the parts the client started, in order")
    seen = Events(events)
    connecting = next(change.at for change in seen.of(StateChanged, state="connecting"))
    late = [part.component for part in seen.where(SubsystemInitialized, lambda part: part.at > connecting)]
    check(late, empty(), what="the parts the client started only after it set out to connect")


@then("the client cleaned up each part once, in the reverse of the start-up order, while disconnecting")
def cleaned_up_in_reverse(context: Context) -> None:
    """Checks that the client reported cleaning up each part it had started exactly once (`<part>:cleanup`),
    in the reverse of the order it started them, after saying it was disconnecting and before saying it was
    disconnected."""
    events = context.world.client.events()
    started = check(
        coordination.initialized_parts(events),
        has_length(greater_than(0)),
        what="the parts the client started",
    )
    expected = ["disconnecting", *(f"{part}:cleanup" for part in reversed(started)), "disconnected"]
    check(
        coordination.cleanup_sequence(events), equal_to(expected), what="the client's shutdown, part by part"
    )


@step("the client's sign-in is revoked and the gateway drops the client for it")
def sign_in_revoked(context: Context) -> None:
    """Has the auth service revoke every token it gave the client (its account stays, so its API key still
    signs in), and the gateway close the client's connection because its access token was revoked; returns
    once the client has been told."""
    world = context.world
    world.disrupt()
    context.services.revoke_sign_in(world.accounts.subjects[world.accounts.api_keys["the client"]])


@step("the gateway forgets every session")
def gateway_forgets_sessions(context: Context) -> None:
    """Makes the gateway lose every session it holds, as a gateway that lost its memory would: a client that
    asks to resume one is told it is unknown."""
    context.services.gateway.forget_sessions()


@step("the client finds the gateway out of reach")
def client_finds_gateway_out_of_reach(context: Context) -> None:
    """Waits until, since the disruption, the client has tried to reach the gateway and failed for a reason
    of the network (not of its access)."""
    client, since = context.world.client, context.world.since("disruption")
    wait_for(
        lambda: [
            event.classification
            for event in Events(client.events()).of(ErrorClassified, since=since)
            if not event.classification.startswith(("auth_", "token_"))
        ],
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to fail to reach the gateway",
    )


@then("the client recovered once, from {failed:Failures}")
def recovered_once(context: Context, failed: list[str]) -> None:
    """Waits until the client reports its recovery complete, and checks the whole story of it: each named part
    reported failing once ("its sign-in", "its connection", "its session"), in that order; one recovery
    started at the first failure; the failures reported together when more than one part failed; and the one
    recovery completed. Another recovery, or another failure, fails the step. Say "a failure of its sign-in"
    or "failures of its sign-in, its connection and its session"."""
    client = context.world.client
    wait_for(
        lambda: coordination.recovery_story(client.events()),
        equal_to(coordination.expected_recovery(failed)),
        within_s=context.settings.wait_timeout_s,
        what=f"the client to recover once, from the failure of {', '.join(failed)}",
    )


@then("the client reported {parts:Parts} failing together, to be recovered by {strategy:RecoveryStrategy}")
def reported_failing_together(context: Context, parts: list[str], strategy: str) -> None:
    """Checks the client's one report of several parts failing together: which parts, in the order they
    failed, how it recovers ("a full restart", "a new session", "signing in again" or "reconnecting"), and
    that it could recover."""
    reports = Events(context.world.client.events()).of(SystemFailure)
    check(len(reports), equal_to(1), what="the number of times the client reported parts failing together")
    check(
        {
            "failed_components": reports[0].failed_components,
            "recovery_strategy": reports[0].recovery_strategy,
            "can_recover": reports[0].can_recover,
        },
        equal_to(
            {
                "failed_components": parts,
                "recovery_strategy": strategy,
                "can_recover": True,
            }
        ),
        what="the client's report of parts failing together",
    )


@then("the gateway started just one new session for the client")
def gateway_started_one_new_session(context: Context) -> None:
    """Checks that the gateway started two sessions in the whole scenario: the client's first one and one
    new one."""
    started = Records(context.services.gateway_journal).of(GatewaySessionStarted)
    check(
        len(started), equal_to(2), what="the number of sessions the gateway started (the first, then one new)"
    )
