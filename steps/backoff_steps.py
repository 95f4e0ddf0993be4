"""Steps about reconnecting: the pauses between retries, when counting starts over, the retry limit, a crowd
not retrying in lockstep, and the application cutting a pause short."""

import allure
from behave import given, step, then
from behave.runner import Context
from hamcrest import (
    all_of,
    empty,
    equal_to,
    greater_than_or_equal_to,
    has_entries,
    has_item,
    has_length,
    instance_of,
    is_not,
    less_than,
    less_than_or_equal_to,
    not_none,
)

from realtime_protocol import CloseCode
from support.areas import backoff as retry_schedule
from support.areas.backoff import Policy
from support.drivers.events import ReconnectExhausted, StateChanged
from support.harness import observations
from support.harness.matchers import keeps_growing, no_problems
from support.harness.queries import Events, Records
from support.harness.waiting import check, holds_throughout, wait_for
from support.services.records import GatewayConnectionCut, NetworkConnectionOpened

# -- the policy a scenario's clients follow -----------------------------------------------------------------


@given(
    "clients back off {growth:g} times more on each retry, up to {cap:g} times the first pause, give or take "
    "{jitter:d} percent"
)
def clients_back_off(context: Context, growth: float, cap: float, jitter: int) -> None:
    """Sets the backoff policy of the clients the scenario makes from now on: the first pause stays the
    suite's, each next one is that many times longer, none is longer than the cap (a multiple of the first
    pause), and each is drawn at random within that many percent either side of its base.
    """
    initial_ms = context.settings.backoff_initial_ms
    context.world.adjust_client_timings(
        backoff_multiplier=growth, backoff_max_ms=round(cap * initial_ms), backoff_jitter=jitter / 100
    )


@given("clients give up after {count:d} retries")
def clients_give_up_after(context: Context, count: int) -> None:
    """Sets how many retries in a row the clients the scenario makes from now on may make before giving up."""
    context.world.adjust_client_timings(retry_limit=count)


@given("clients pause a long time between retries")
def clients_pause_long(context: Context) -> None:
    """Makes every pause between retries (after the first, prompt one) of the clients the scenario makes from
    now on as long as the `long_pause_ms` setting.
    """
    long_ms = context.settings.long_pause_ms
    context.world.adjust_client_timings(backoff_initial_ms=long_ms, backoff_max_ms=long_ms)


@given("clients pause long enough between retries for their jitter to show")
def clients_pause_for_jitter(context: Context) -> None:
    """Stretches the backoff of the clients the scenario makes from now on so that their first pause is as
    long as the `jitter_crowd_pause_ms` setting (the cap grows in proportion; the multiplier and the jitter
    stay the suite's): the window the jitter spreads a pause over is then far wider than the time one event
    loop takes to handle a crowd's retries one after another.
    """
    settings = context.settings
    stretch = settings.jitter_crowd_pause_ms / settings.backoff_initial_ms
    context.world.adjust_client_timings(
        backoff_initial_ms=settings.jitter_crowd_pause_ms,
        backoff_max_ms=round(settings.backoff_max_ms * stretch),
    )


# -- the schedule -------------------------------------------------------------------------------------------


@then("the client's first {count:d} retries each wait as the policy says, with the schedule in the report")
def retries_follow_policy(context: Context, count: int) -> None:
    """Waits until the client has begun that many retries since the disruption, puts the schedule in the
    report, and checks each retry: counted in order, its pause within the jitter bounds of its base (the base
    growing by the multiplier from the first pause, none above the cap), and begun once its pause was over
    (within `retry_timing_grace_ms`). The retries must reach the cap, or the cap would go untested.
    """
    world, settings = context.world, context.settings
    policy = Policy.of(world.client_timings())
    try:
        client_has_retried(context, count)
    finally:
        rows = retry_schedule.judge(_planned(context), policy, count, late_ms=settings.retry_timing_grace_ms)
        world.report.findings.append(retry_schedule.schedule_text(rows, policy))
        allure.attach(
            retry_schedule.schedule_html(rows, policy),
            name="Reconnection schedule",
            attachment_type=allure.attachment_type.HTML,
        )
    check(
        retry_schedule.schedule_problems(rows, policy),
        no_problems("departures from the policy"),
        what="the client's reconnection schedule",
    )


@step("the client has retried {count:d} times")
def client_has_retried(context: Context, count: int) -> None:
    """Waits until the client has begun that many retries since the disruption (the usual wait, plus the
    longest pauses the policy allows them)."""
    longest_s = Policy.of(context.world.client_timings()).longest_s(count)
    wait_for(
        lambda: retry_schedule.begun(_planned(context)),
        greater_than_or_equal_to(count),
        within_s=context.settings.wait_timeout_s + longest_s,
        what=f"the client to begin {count} retries",
    )


# -- when counting starts over -----------------------------------------------------------------------------


@step("the connection stays up for longer than the stable time")
def connection_stays_up(context: Context) -> None:
    """Checks that the client stays ready, without a break, for the stable time (`stable_connection_ms`),
    after which a connection counts as stable.
    """
    client = context.world.client
    holds_throughout(
        lambda: client.state,
        equal_to("ready"),
        during_s=context.settings.stable_connection_ms / 1000,
        what="the client to stay ready",
        seen=lambda state: observations.describe_client(client.events(), state),
    )


@then("the client's first retry after the drop comes at once: counting started over")
def first_retry_at_once(context: Context) -> None:
    """Waits for the client's first retry since the disruption and checks that it is counted as retry 1, with
    no pause planned, and that it began within `retry_timing_grace_ms`.
    """
    planned = wait_for(
        lambda: _planned(context)[:1],
        has_length(1),
        within_s=context.settings.wait_timeout_s,
        what="the client to plan a retry",
    )[0]
    check(
        (planned.number, planned.base_ms, planned.delay_ms),
        equal_to((1, 0.0, 0.0)),
        what="the client's first retry after the drop (its number, base pause and pause in ms)",
    )
    began = wait_for(
        lambda: _planned(context)[0].waited_ms,
        not_none(),
        within_s=context.settings.wait_timeout_s,
        what="the client to begin its first retry",
    )
    check(
        began,
        less_than_or_equal_to(context.settings.retry_timing_grace_ms),
        what="the ms between planning the first retry and beginning it",
    )


@step("the link starts dropping every connection soon after it is ready")
def link_starts_flapping(context: Context) -> None:
    """Makes the link flap: from now on every connection, the live one included, is dropped (no close frame)
    as long after its session is ready as the `flapping_connection_ms` setting says, which is shorter than
    the stable time.
    """
    context.world.disrupt()
    context.services.gateway.cut_connections_after(context.settings.flapping_connection_ms)


@then("the client reconnects {count:d} times, each connection dropped before it counted as stable")
def client_reconnects_while_flapping(context: Context, count: int) -> None:
    """Waits until the client has become ready that many times since the link began to flap, and checks that
    every connection it had in that time was dropped by the link, each before the stable time.
    """
    world, settings = context.world, context.settings
    since = world.since("disruption")
    wait_for(
        lambda: observations.states_since(world.client.events(), since).count("ready"),
        greater_than_or_equal_to(count),
        within_s=settings.wait_timeout_s,
        what=f"the client to reconnect {count} times",
        seen=lambda ready: (
            f"the client became ready {observations.times(ready)} since the link began to flap, and now "
            + observations.describe_client(world.client.events(), world.client.state, who="it")
        ),
    )
    lifetimes = retry_schedule.ready_lifetimes_ms(world.client.events(), since)
    check(
        [lifetime for lifetime in lifetimes if lifetime >= settings.stable_connection_ms],
        empty(),
        what=f"connections that stayed up for the stable time ({settings.stable_connection_ms} ms) or more",
    )
    check(
        Records(context.services.gateway_journal).count(GatewayConnectionCut),
        greater_than_or_equal_to(len(lifetimes)),
        what="how many connections the link dropped",
    )


@then("the client's retries keep counting up, with pauses that grow")
def retries_keep_counting(context: Context) -> None:
    """Checks that, since the disruption, the client counted its retries 1, 2, 3… without starting over, and
    that their base pauses never shrink and end longer than they started.
    """
    planned = _planned(context)
    check(
        [retry.number for retry in planned],
        equal_to(list(range(1, len(planned) + 1))),
        what="the numbers the client gave its retries",
    )
    check([retry.base_ms for retry in planned], keeps_growing(), what="the client's base pauses, in ms")


# -- the retry limit ---------------------------------------------------------------------------------------


@step("the gateway goes away and does not come back")
def gateway_goes_away_for_good(context: Context) -> None:
    """Stops the gateway without a word (a crash) and keeps it down: the network still accepts every
    connection, then drops it for want of a gateway, so each attempt is counted on the way.
    """
    context.world.disrupt()
    context.services.gateway.stop("crash", int(CloseCode.GOING_AWAY), keep_sessions=False)


@then("the client gives up after {count:d} retries, saying how many attempts it made and the last error")
def client_gives_up_after(context: Context, count: int) -> None:
    """Waits until the client reports that it stopped retrying, and checks the report: its limit, its attempts
    (the connection it lost and every retry, as many as the network saw) and the last error; and that it made
    exactly that many retries since the disruption.
    """
    world = context.world
    exhausted = wait_for(
        lambda: Events(world.client.events()).of(ReconnectExhausted),
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to say it stopped retrying",
    )
    check(exhausted, has_length(1), what="how many times the client said it stopped retrying")
    check(
        exhausted[0].facts(),
        has_entries(
            limit=count,
            total_attempts=_connections_seen(context),
            last_error=all_of(instance_of(str), is_not(empty())),
        ),
        what="what the client said when it stopped retrying (limit, attempts the network saw, last error)",
    )
    check(len(_planned(context)), equal_to(count), what="how many retries the client made")


@then("the client makes no further attempt to reach the gateway, however long we wait")
def no_further_attempt(context: Context) -> None:
    """Checks that for twice the longest pause the client's policy allows, the network sees no new connection
    and the client plans no new retry.
    """
    world = context.world
    seen = (_connections_seen(context), len(_planned(context)))
    holds_throughout(
        lambda: (_connections_seen(context), len(_planned(context))),
        equal_to(seen),
        during_s=2 * world.client_timings().backoff_max_ms / 1000,
        what="the number of connections the network saw and the retries the client planned to stay the same",
    )


# -- a crowd ----------------------------------------------------------------------------------------------


@given("a crowd of clients, all ready")
def crowd_all_ready(context: Context) -> None:
    """Makes as many clients as the `jitter_crowd_clients` setting says, each for a different made-up member,
    tells them all to connect at once, and waits until every one is ready. A client whose first try fails on a
    busy machine (a crowd signing in over TLS at once can run past the sign-in timeout) retries with the
    scenario's pauses, so the wait allows for three of them.
    """
    world = context.world
    people = [world.new_person("member") for _ in range(context.settings.jitter_crowd_clients)]
    world.create_crowd(people)
    world.crowd.connect()
    world.crowd.await_ready(extra_s=Policy.of(world.client_timings()).longest_s(3))


@step("every client of the crowd has retried {count:d} times, with their spread in the report")
def crowd_has_retried(context: Context, count: int) -> None:
    """Waits until every client of the crowd has begun that many retries since the disruption, then puts in
    the report, for each retry, when the clients began it: first, median, last, the spread, what the jitter
    allows, and a small histogram.
    """
    world, settings = context.world, context.settings
    since = world.since("disruption")
    try:
        wait_for(
            lambda: [
                name
                for name, seen in context.world.crowd.events().items()
                if len(retry_schedule.retry_moments(seen, since, count)) < count
            ],
            empty(),
            within_s=settings.wait_timeout_s,
            what=f"every client of the crowd to begin {count} retries",
        )
    finally:
        measured = _spreads(context, count)
        world.report.findings.append(retry_schedule.spread_text(measured))
        allure.attach(
            retry_schedule.spread_html(measured),
            name="Retry spread",
            attachment_type=allure.attachment_type.HTML,
        )


@then("their first {count:d} retries spread out as the jitter allows, not in lockstep")
def crowd_not_in_lockstep(context: Context, count: int) -> None:
    """Checks, for each of those retries, that the moments the clients began it spread over at least half of
    what independent draws within the policy's jitter window give on average. A retry the policy makes at once
    (the first) has no window, so any spread will do.
    """
    check(
        retry_schedule.lockstep_problems(_spreads(context, count)),
        no_problems("retries in lockstep"),
        what="how the crowd's retries spread out",
    )


# -- the application asks to connect ----------------------------------------------------------------------


@step("the client is waiting a long pause before its next retry")
def client_waits_long(context: Context) -> None:
    """Waits until the client, since the disruption, has planned a retry after a pause of at least half the
    `long_pause_ms` setting, and has not begun it.
    """
    wait_for(
        lambda: [retry.delay_ms for retry in _planned(context) if retry.began_at is None],
        has_item(greater_than_or_equal_to(context.settings.long_pause_ms / 2)),
        within_s=context.settings.wait_timeout_s,
        what="the client to wait a long pause before a retry (the pauses, in ms, it is waiting)",
    )


@then("the client tries again at once, long before its pause is over")
def client_tries_at_once(context: Context) -> None:
    """Checks that the client began a new attempt within `retry_timing_grace_ms` of being asked, while at
    least half of the pause it was waiting was still to run.
    """
    world, settings = context.world, context.settings
    asked = world.since("asked to connect")
    waiting = [retry for retry in _planned(context) if retry.planned_at <= asked][-1]
    began = wait_for(
        lambda: Events(world.client.events()).first(StateChanged, since=asked, state="connecting"),
        not_none(),
        within_s=settings.wait_timeout_s,
        what="the client to try again",
        seen=lambda _: observations.describe_client(world.client.events(), world.client.state),
    ).at
    check(
        (began - asked) * 1000,
        less_than_or_equal_to(settings.retry_timing_grace_ms),
        what="the ms between asking the client to connect and its next attempt",
    )
    pause_over = waiting.planned_at + waiting.delay_ms / 1000
    check(
        (pause_over - began) * 1000,
        all_of(greater_than_or_equal_to(waiting.delay_ms / 2), less_than(waiting.delay_ms)),
        what=f"the ms of the {waiting.delay_ms:g} ms pause still to run when the client tried again",
    )


def _planned(context: Context) -> list[retry_schedule.PlannedRetry]:
    """The main client's retries since the disruption."""
    world = context.world
    return retry_schedule.planned_retries(world.client.events(), world.since("disruption"))


def _connections_seen(context: Context) -> int:
    """How many connections the network towards the gateway has let in during the scenario."""
    return Records(context.services.network_journal).count(NetworkConnectionOpened)


def _spreads(context: Context, count: int) -> list[retry_schedule.RetrySpread]:
    world = context.world
    return retry_schedule.spreads(
        context.world.crowd.events(), world.since("disruption"), count, Policy.of(world.client_timings())
    )
