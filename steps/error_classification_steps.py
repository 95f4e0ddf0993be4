"""Steps about what went wrong and what the client made of it: each failure classified worth retrying or not,
with a recommended pause, and acted on."""

from collections.abc import Callable
from typing import TypeVar

from behave import given, then
from behave.runner import Context
from hamcrest import (
    contains_exactly,
    equal_to,
    greater_than_or_equal_to,
    has_length,
    less_than_or_equal_to,
    not_none,
)

from support.areas.error_classification import (
    EarliestRetry,
    Trouble,
    arrange_trouble,
    attempts_and_retries,
    earliest_retry_ms,
    far_end_attempts,
    next_attempt,
)
from support.drivers.events import ErrorClassified, ReconnectScheduled, StateChanged
from support.harness import observations, parameter_types
from support.harness.queries import Events
from support.harness.waiting import check, holds_throughout, wait_for

E = TypeVar("E", ReconnectScheduled, StateChanged)

parameter_types.register()

# How far apart two readings of the monotonic clock can be for the same instant, in seconds.
CLOCK_RESOLUTION_S = 0.002


@given("the client's first {where:FirstAttempt} will fail because {trouble:ConnectTrouble}")
def first_attempt_will_fail(context: Context, where: str, trouble: Trouble) -> None:
    """Arranges for the client's first connection (before any session) or first session (just after it
    starts) to fail in the way named, e.g. "nothing is listening at the gateway's address" or "the gateway
    says it is overloaded and to try again later"; clients made afterwards are sent where it happens.
    """
    arranged = arrange_trouble(where, trouble, context.services, context.settings)
    context.world.faults.gateway_url = arranged.gateway_url
    context.world.faults.gateway_pause_ms = arranged.asked_pause_ms


@then("the client classifies it as {classification:Classification}, {worth:WorthRetrying}")
def client_classifies(context: Context, classification: str, worth: bool) -> None:
    """Waits for the client's first classified error and checks its classification and whether it was marked
    "worth retrying" or "not worth retrying".
    """
    first = _first_classified(context)
    check(
        (first.classification, first.retryable),
        equal_to((classification, worth)),
        what="how the client classified what went wrong (classification, worth retrying)",
    )


@then("the client's earliest retry is {earliest:EarliestRetry}")
def client_earliest_retry(context: Context, earliest: EarliestRetry) -> None:
    """Checks what the client did about its first classified error. "never": it ends failed and makes no
    further attempt for a while (twice the longest retry pause). Otherwise ("at once", "after a longer pause",
    "after the pause it was asked for"): it recommended that pause, and scheduled and started its next
    attempt no sooner.
    """
    pause_ms = earliest_retry_ms(earliest, context.settings, context.world.faults.gateway_pause_ms)
    if pause_ms is None:
        _gives_up_for_good(context)
    else:
        _retries_no_sooner_than(context, pause_ms)


def _gives_up_for_good(context: Context) -> None:
    world, settings = context.world, context.settings
    world.await_state("failed", what="the client to give up")
    holds_throughout(
        lambda: (
            *attempts_and_retries(world.client.events()),
            far_end_attempts(context.services.journal_entries()),
        ),
        contains_exactly(1, 0, less_than_or_equal_to(1)),
        during_s=2 * settings.backoff_max_ms / 1000,
        what="one attempt and no retry (the client's attempts and retries, attempts the far end saw)",
    )


def _retries_no_sooner_than(context: Context, pause_ms: float) -> None:
    classified, client = _first_classified(context), context.world.client
    check(
        classified.recommended_delay_ms,
        equal_to(round(pause_ms)),
        what="the pause in ms the client recommended",
    )
    scheduled = _wait(
        context,
        lambda: Events(client.events()).first(ReconnectScheduled, since=classified.at),
        "the client to schedule a retry",
        pause_ms,
    )
    check(
        scheduled.delay_ms,
        greater_than_or_equal_to(pause_ms),
        what="the pause in ms it scheduled",
    )
    retried = _wait(
        context, lambda: next_attempt(client.events(), classified.at), "the client to try again", pause_ms
    )
    check(
        retried.at - classified.at,
        greater_than_or_equal_to(pause_ms / 1000 - CLOCK_RESOLUTION_S),
        what=f"the seconds before the client tried again (at least {pause_ms / 1000:g} s)",
    )


def _first_classified(context: Context) -> ErrorClassified:
    client, settings = context.world.client, context.settings
    return wait_for(
        lambda: Events(client.events()).of(ErrorClassified),
        has_length(greater_than_or_equal_to(1)),
        # A handshake that is never answered is classified only once the client's connect timeout runs out.
        within_s=settings.wait_timeout_s + settings.connect_timeout_ms / 1000,
        what="the client to classify what went wrong",
    )[0]


def _wait(context: Context, probe: Callable[[], E | None], what: str, pause_ms: float) -> E:
    client = context.world.client
    return wait_for(
        probe,
        not_none(),
        within_s=context.settings.wait_timeout_s + pause_ms / 1000,
        what=what,
        seen=lambda _: observations.describe_client(client.events(), client.state),
    )
