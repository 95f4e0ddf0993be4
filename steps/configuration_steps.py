"""Steps of configuration (features/configuration.feature): changing the client's settings while it runs."""

import logging
from typing import Any

from behave import step, then
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

from support.areas import configuration
from support.drivers.events import (
    ConfigRejected,
    ConfigUpdated,
    ReconnectExhausted,
    ReconnectScheduled,
    TokenAcquired,
    TokenRefreshed,
)
from support.harness import parameter_types
from support.harness.queries import Events
from support.harness.waiting import check, wait_for

parameter_types.register()

# How far apart two readings of the monotonic clock can be for the same instant, in seconds.
CLOCK_RESOLUTION_S = 0.002
# Heartbeats measured to judge their pace: the typical gap between them is taken, so one late one does not
# decide it.
HEARTBEATS_MEASURED = 4
# A heartbeat can reach the gateway a little early or late against the previous one on a busy machine.
HEARTBEAT_ARRIVAL_SLACK = 0.9

# -- start-up and shutdown -------------------------------------------------------------------------------


@step("the application changes the client's configuration:")
def application_changes_configuration(context: Context) -> None:
    """Asks the running client to take a configuration update, one row per setting (columns `part`, `setting`
    and `to`). Parts: auth, session, logging, or any other name. Settings: refresh threshold, heartbeat
    interval, heartbeat timeout, retry limit, level, sample rate, buffer size, or any other name. Values: "3
    times the usual" (the suite's own setting), "50 percent", a whole number, a quoted text, or words."""
    update = configuration.update_from_rows(context.table, context.settings)
    context.world.configuration.reconfiguration = configuration.reconfigure(context.world.client, update)


@step("the application sets the client's {setting:ClientSetting} to {value}")
def set_one_setting(context: Context, setting: tuple[str, str], value: str) -> None:
    """Asks the running client to change one setting, named in words ("heartbeat interval", "retry limit",
    "refresh threshold", "logging level"…), to a value written as in a configuration table ("3 times the
    usual", "2", "50 percent", "debug"); checks the client took the change."""
    part, name = setting
    _reconfigure(context, {part: {name: configuration.value_of(value, name, context.settings)}})


@then("the gateway hears the client's heartbeat {factor:HeartbeatPace}")
def heartbeat_pace(context: Context, factor: int) -> None:
    """Measures, at the gateway, the gaps between the client's heartbeats since the configuration update (or
    attempt), and checks the typical gap is that many of the suite's usual intervals: not shorter (a tenth is
    allowed for arrival jitter), and not longer than that plus the detection grace."""
    world, settings = context.world, context.settings
    since = _reconfiguration(context).at
    interval_s = factor * settings.heartbeat_interval_ms / 1000
    gaps = wait_for(
        lambda: configuration.heartbeat_gaps(context.services.gateway.heartbeats(), since),
        has_length(greater_than_or_equal_to(HEARTBEATS_MEASURED - 1)),
        within_s=HEARTBEATS_MEASURED * interval_s + settings.wait_timeout_s,
        what=f"the gateway to hear {HEARTBEATS_MEASURED} heartbeats from the client",
    )
    typical_s = configuration.typical_gap(gaps)
    world.report.findings.append(
        f"Heartbeats heard by the gateway: typically {typical_s * 1000:.0f} ms apart"
    )
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
    events = Events(world.client.events())
    exhausted = events.of(ReconnectExhausted)
    check([event.limit for event in exhausted], equal_to([count]), what="the retry limit it reached")
    scheduled = events.of(ReconnectScheduled, since=world.since("disruption"))
    check(len(scheduled), equal_to(count), what="the number of retries the client scheduled")


@then("the client renews its access once {percent:d} percent of its lifetime has passed")
def renews_at_share_of_lifetime(context: Context, percent: int) -> None:
    """Waits until the client renews its first access token, and checks it did so once that share of the
    token's lifetime had passed: not before, and not later than the detection grace after."""
    client, settings = context.world.client, context.settings
    refreshed = wait_for(
        lambda: Events(client.events()).first(TokenRefreshed),
        not_none(),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the client to renew its access",
    )
    acquired = check(Events(client.events()).first(TokenAcquired), not_none(), what="the first token")
    due_s = float(acquired.expires_in_ms) / 1000 * percent / 100
    check(
        refreshed.at - acquired.at,
        all_of(
            greater_than_or_equal_to(due_s - CLOCK_RESOLUTION_S),
            less_than_or_equal_to(due_s + settings.detection_grace_ms / 1000),
        ),
        what=f"the seconds before renewing (due after {due_s:g} s)",
    )


@step("the client's log {holds:LogHolds} debug detail from the client")
def debug_detail(context: Context, holds: bool) -> None:
    """Checks that the client has written no debug line to the scenario's log so far ("holds no"), or waits
    until the client (its own logger or one under it) writes debug lines there ("now holds")."""
    if not holds:
        check(_debug_lines(context), equal_to(0), what="the number of debug lines from the client")
        return
    wait_for(
        lambda: _debug_lines(context),
        greater_than(0),
        within_s=context.settings.wait_timeout_s,
        what="the client to write debug detail to the log",
    )


@then("each part named in the update reported its changes once, with the values before and after")
def parts_reported_changes(context: Context) -> None:
    """Checks that every part of the client the update named reported its changes exactly once
    (`config:updated`), with the values of the changed settings before and after, and that no other part
    reported a change."""
    reconfiguration = _reconfiguration(context)
    check(reconfiguration.refusal, none(), what="the client's refusal of the configuration update")
    expected = {part: [change] for part, change in configuration.expected_reports(reconfiguration).items()}
    check(
        configuration.reported_updates(context.world.client.events()),
        equal_to(expected),
        what="the changes each part reported (before, after)",
    )


@then("the client's configuration now holds the new values")
def configuration_holds_new_values(context: Context) -> None:
    """Checks that the client's settings now hold the values of the update, and every other setting is as
    it was."""
    reconfiguration = _reconfiguration(context)
    expected = {part: dict(settings) for part, settings in reconfiguration.before.items()}
    for part, (_, new) in configuration.expected_reports(reconfiguration).items():
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
    events = Events(context.world.client.events())
    rejected = [event.reason for event in events.of(ConfigRejected)]
    check(rejected, has_length(1), what="the refusals the client reported")
    check(str(_reconfiguration(context).refusal), contains_string(rejected[0]), what="the reason it gave")
    check(events.of(ConfigUpdated), empty(), what="the changes the client reported")


@then("the client's configuration is as it was")
def configuration_unchanged(context: Context) -> None:
    """Checks that every setting of the client is as it was before the update was asked for."""
    check(
        context.world.client.configuration(),
        equal_to(_reconfiguration(context).before),
        what="the client's configuration",
    )


def _reconfigure(context: Context, update: dict[str, dict[str, Any]]) -> None:
    reconfiguration = configuration.reconfigure(context.world.client, update)
    context.world.configuration.reconfiguration = reconfiguration
    check(reconfiguration.refusal, none(), what="the client's refusal of the configuration update")


def _debug_lines(context: Context) -> int:
    return context.world.logs.count("reference_client", logging.DEBUG)


def _reconfiguration(context: Context) -> configuration.Reconfiguration:
    return check(
        context.world.configuration.reconfiguration,
        not_none(),
        what="the configuration update the scenario asked for",
    )
