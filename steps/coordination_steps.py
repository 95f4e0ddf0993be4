"""Steps about the client's parts working as one: the order they start and stop in, recovering from failures
together, and changing the client's configuration while it runs."""

import logging
from typing import Any

from behave import given, then, when
from behave.runner import Context
from hamcrest import (
    all_of,
    contains_string,
    empty,
    equal_to,
    greater_than,
    greater_than_or_equal_to,
    has_length,
    is_not,
    less_than_or_equal_to,
    none,
    not_none,
)

from support import coordination, observations
from support.waiting import check, wait_for

# How far apart two readings of the monotonic clock can be for the same instant, in seconds.
CLOCK_RESOLUTION_S = 0.002
# Heartbeats measured to judge their pace: the typical gap between them is taken, so one late one does not
# decide it.
HEARTBEATS_MEASURED = 4
# A heartbeat can reach the gateway a little early or late against the previous one on a busy machine.
HEARTBEAT_ARRIVAL_SLACK = 0.9

# -- start-up and shutdown -------------------------------------------------------------------------------


@then("the client started its parts in this order, each once, before connecting:")
def started_parts_in_order(context: Context) -> None:
    """Checks that the client initialised exactly the parts of the table (column `part`), in that order, each
    once, and all of them before it first set out to connect."""
    expected = [row["part"] for row in context.table]
    events = context.world.client.events()
    started = coordination.initialized_parts(events)
    check(started, equal_to(expected), what="the parts the client started, in order")
    connecting = next(
        e.at for e in events if e.name == "state:changed" and e.data.get("state") == "connecting"
    )
    late = [
        str(e.data.get("component"))
        for e in events
        if e.name == "subsystem:initialized" and e.at > connecting
    ]
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


# -- failures and recovery -------------------------------------------------------------------------------


@when("the client's sign-in is revoked and the gateway drops the client for it")
def sign_in_revoked(context: Context) -> None:
    """Has the auth service revoke every token it gave the client (its account stays, so its API key still
    signs in), and the gateway close the client's connection because its access token was revoked; returns
    once the client has been told."""
    world = context.world
    world.disrupt()
    context.services.revoke_sign_in(world.subjects[world.api_keys["the client"]])


@when("the gateway forgets every session")
def gateway_forgets_sessions(context: Context) -> None:
    """Makes the gateway lose every session it holds, as a gateway that lost its memory would: a client that
    asks to resume one is told it is unknown."""
    context.services.forget_gateway_sessions()


@when("the client finds the gateway out of reach")
def client_finds_gateway_out_of_reach(context: Context) -> None:
    """Waits until, since the disruption, the client has tried to reach the gateway and failed for a reason
    of the network (not of its access)."""
    client, since = context.world.client, context.world.since("disruption")
    wait_for(
        lambda: [
            event.data.get("classification")
            for event in observations.named_since(client.events(), "error:classified", since)
            if not str(event.data.get("classification")).startswith(("auth_", "token_"))
        ],
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to fail to reach the gateway",
    )


@then("the client recovered once, from a failure of {parts}")
@then("the client recovered once, from failures of {parts}")
def recovered_once(context: Context, parts: str) -> None:
    """Waits until the client reports its recovery complete, and checks the whole story of it: each named part
    reported failing once ("its sign-in", "its connection", "its session"), in that order; one recovery
    started at the first failure; the failures reported together when more than one part failed; and the one
    recovery completed. Another recovery, or another failure, fails the step."""
    failed = coordination.parts_named(parts)
    client = context.world.client
    wait_for(
        lambda: coordination.recovery_story(client.events()),
        equal_to(coordination.expected_recovery(failed)),
        within_s=context.settings.wait_timeout_s,
        what=f"the client to recover once, from the failure of {', '.join(failed)}",
    )


@then("the client reported {parts} failing together, to be recovered by {strategy}")
def reported_failing_together(context: Context, parts: str, strategy: str) -> None:
    """Checks the client's one report of several parts failing together: which parts, in the order they
    failed, how it recovers ("a full restart", "a new session", "signing in again" or "reconnecting"), and
    that it could recover."""
    reports = observations.named(context.world.client.events(), "system:failure")
    check(len(reports), equal_to(1), what="the number of times the client reported parts failing together")
    check(
        {
            name: reports[0].data.get(name)
            for name in ("failed_components", "recovery_strategy", "can_recover")
        },
        equal_to(
            {
                "failed_components": coordination.parts_named(parts),
                "recovery_strategy": coordination.strategy_named(strategy),
                "can_recover": True,
            }
        ),
        what="the client's report of parts failing together",
    )


@then('the client was told just once that continuity was lost, because "{reason}"')
def told_once_continuity_lost(context: Context, reason: str) -> None:
    """Checks that the client told the application exactly once that continuity was lost, for the reason
    quoted."""
    lost = observations.named(context.world.client.events(), "session:continuity_lost")
    check(
        [str(event.data.get("reason")) for event in lost],
        equal_to([reason]),
        what="the continuity-lost notices",
    )


@then("the gateway started just one new session for the client")
def gateway_started_one_new_session(context: Context) -> None:
    """Checks that the gateway started two sessions in the whole scenario: the client's first one and one
    new one."""
    started = context.services.gateway_journal.entries("session started")
    check(
        len(started), equal_to(2), what="the number of sessions the gateway started (the first, then one new)"
    )


# -- configuration at run time ---------------------------------------------------------------------------


@when("the application changes the client's configuration:")
def application_changes_configuration(context: Context) -> None:
    """Asks the running client to take a configuration update, one row per setting (columns `part`, `setting`
    and `to`). Parts: auth, session, logging, or any other name. Settings: refresh threshold, heartbeat
    interval, heartbeat timeout, retry limit, level, sample rate, buffer size, or any other name. Values: "3
    times the usual" (the suite's own setting), "50 percent", a whole number, a quoted text, or words."""
    update = coordination.update_from_rows(context.table, context.settings)
    context.world.reconfiguration = coordination.reconfigure(context.world.client, update)


@when("the application sets the client's heartbeat interval to {factor:d} times the usual")
def set_heartbeat_interval(context: Context, factor: int) -> None:
    """Asks the running client to send its heartbeat that many times less often than the suite's usual
    interval; checks the client took the change."""
    _reconfigure(
        context, {"session": {"heartbeat_interval_ms": factor * context.settings.heartbeat_interval_ms}}
    )


@when("the application lowers the client's retry limit to {limit:d}")
def lower_retry_limit(context: Context, limit: int) -> None:
    """Asks the running client to give up after that many failed retries in a row; checks it took the
    change."""
    _reconfigure(context, {"session": {"retry_limit": limit}})


@when("the application has the client renew its access once {percent:d} percent of its lifetime has passed")
def set_refresh_threshold(context: Context, percent: int) -> None:
    """Asks the running client to renew each access token once that share of its lifetime has passed; checks
    it took the change."""
    _reconfigure(context, {"auth": {"token_refresh_fraction": percent / 100}})


@when('the application turns the client\'s logging to "{level}"')
def set_log_level(context: Context, level: str) -> None:
    """Asks the running client to log from the named level up ("debug", "info", "warning"...); checks it took
    the change."""
    _reconfigure(context, {"logging": {"level": level}})


def _reconfigure(context: Context, update: dict[str, dict[str, Any]]) -> None:
    reconfiguration = coordination.reconfigure(context.world.client, update)
    context.world.reconfiguration = reconfiguration
    check(reconfiguration.refusal, none(), what="the client's refusal of the configuration update")


@then("the gateway hears the client's heartbeat every {factor:d} usual intervals")
@then("the gateway hears the client's heartbeat at the usual pace")
def heartbeat_pace(context: Context, factor: int = 1) -> None:
    """Measures, at the gateway, the gaps between the client's heartbeats since the configuration update (or
    attempt), and checks the typical gap is that many of the suite's usual intervals: not shorter (a tenth is
    allowed for arrival jitter), and not longer than that plus the detection grace."""
    world, settings = context.world, context.settings
    since = _reconfiguration(context).at
    interval_s = factor * settings.heartbeat_interval_ms / 1000
    gaps = wait_for(
        lambda: coordination.heartbeat_gaps(context.services.gateway_heartbeats(), since),
        has_length(greater_than_or_equal_to(HEARTBEATS_MEASURED - 1)),
        within_s=HEARTBEATS_MEASURED * interval_s + settings.wait_timeout_s,
        what=f"the gateway to hear {HEARTBEATS_MEASURED} heartbeats from the client",
    )
    typical_s = coordination.typical_gap(gaps)
    world.findings.append(f"Heartbeats heard by the gateway: typically {typical_s * 1000:.0f} ms apart")
    check(
        typical_s,
        all_of(
            greater_than_or_equal_to(interval_s * HEARTBEAT_ARRIVAL_SLACK),
            less_than_or_equal_to(interval_s + settings.detection_grace_ms / 1000),
        ),
        what=f"the typical seconds between heartbeats (the interval is {interval_s:g} s)",
    )


@then("the client gives up after {count:d} retries")
def gives_up_after_retries(context: Context, count: int) -> None:
    """Waits until the client gives up, and checks it said it had reached a limit of that many retries, having
    scheduled exactly that many since the disruption."""
    world = context.world
    world.await_state("failed", what="the client to give up")
    events = world.client.events()
    exhausted = observations.named(events, "reconnect:exhausted")
    check(
        [event.data.get("limit") for event in exhausted], equal_to([count]), what="the retry limit it reached"
    )
    scheduled = observations.named_since(events, "reconnect:scheduled", world.since("disruption"))
    check(len(scheduled), equal_to(count), what="the number of retries the client scheduled")


@then("the client renews its access once {percent:d} percent of its lifetime has passed")
def renews_at_share_of_lifetime(context: Context, percent: int) -> None:
    """Waits until the client renews its first access token, and checks it did so once that share of the
    token's lifetime had passed: not before, and not later than the detection grace after."""
    client, settings = context.world.client, context.settings
    refreshed = wait_for(
        lambda: observations.first(client.events(), "token:refreshed"),
        not_none(),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the client to renew its access",
    )
    acquired = check(
        observations.first(client.events(), "token:acquired"), not_none(), what="the first token"
    )
    due_s = float(acquired.data["expires_in_ms"]) / 1000 * percent / 100
    check(
        refreshed.at - acquired.at,
        all_of(
            greater_than_or_equal_to(due_s - CLOCK_RESOLUTION_S),
            less_than_or_equal_to(due_s + settings.detection_grace_ms / 1000),
        ),
        what=f"the seconds before renewing (due after {due_s:g} s)",
    )


@given("the client's log holds no debug detail from the client")
def no_debug_detail(context: Context) -> None:
    """Checks that the client has written no debug line to the scenario's log so far."""
    check(_debug_lines(context), equal_to(0), what="the number of debug lines from the client")


@then("the client's log now holds debug detail from the client")
def debug_detail_now(context: Context) -> None:
    """Waits until the client (its own logger or one under it) writes debug lines to the scenario's log."""
    wait_for(
        lambda: _debug_lines(context),
        greater_than(0),
        within_s=context.settings.wait_timeout_s,
        what="the client to write debug detail to the log",
    )


def _debug_lines(context: Context) -> int:
    return context.world.logs.count("reference_client", logging.DEBUG)


@then("each part named in the update reported its changes once, with the values before and after")
def parts_reported_changes(context: Context) -> None:
    """Checks that every part of the client the update named reported its changes exactly once
    (`config:updated`), with the values of the changed settings before and after, and that no other part
    reported a change."""
    reconfiguration = _reconfiguration(context)
    check(reconfiguration.refusal, none(), what="the client's refusal of the configuration update")
    expected = {part: [change] for part, change in coordination.expected_reports(reconfiguration).items()}
    check(
        coordination.reported_updates(context.world.client.events()),
        equal_to(expected),
        what="the changes each part reported (before, after)",
    )


@then("the client's configuration now holds the new values")
def configuration_holds_new_values(context: Context) -> None:
    """Checks that the client's settings now hold the values of the update, and every other setting is as
    it was."""
    reconfiguration = _reconfiguration(context)
    expected = {part: dict(settings) for part, settings in reconfiguration.before.items()}
    for part, (_, new) in coordination.expected_reports(reconfiguration).items():
        expected[part].update(new)
    check(context.world.client.configuration(), equal_to(expected), what="the client's configuration")


@then('the update is refused, saying "{reason}"')
def update_refused(context: Context, reason: str) -> None:
    """Checks that the client refused the configuration update with a one-line reason holding the quoted
    words."""
    refusal = check(_reconfiguration(context).refusal, not_none(), what="the client's refusal of the update")
    check(refusal, all_of(contains_string(reason), is_not(contains_string("\n"))), what="the client's reason")


@then("the client reported the refusal once, with the same reason, and no change")
def refusal_reported(context: Context) -> None:
    """Checks that the client reported refusing the update exactly once (`config:rejected`), with the reason
    it gave the application, and reported no part changing."""
    events = context.world.client.events()
    rejected = [str(event.data.get("reason")) for event in observations.named(events, "config:rejected")]
    check(rejected, has_length(1), what="the refusals the client reported")
    check(str(_reconfiguration(context).refusal), contains_string(rejected[0]), what="the reason it gave")
    check(observations.named(events, "config:updated"), empty(), what="the changes the client reported")


@then("the client's configuration is as it was")
def configuration_unchanged(context: Context) -> None:
    """Checks that every setting of the client is as it was before the update was asked for."""
    check(
        context.world.client.configuration(),
        equal_to(_reconfiguration(context).before),
        what="the client's configuration",
    )


def _reconfiguration(context: Context) -> coordination.Reconfiguration:
    return check(
        context.world.reconfiguration, not_none(), what="the configuration update the scenario asked for"
    )
