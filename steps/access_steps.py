"""Steps about who may sign in how often: a caller throttled for failed sign-ins."""

import time

from behave import then, when
from behave.runner import Context
from hamcrest import empty, equal_to, has_item, is_not

from support import observations
from support.sign_in_caller import summarise_answers
from support.waiting import check, wait_for

# -- a caller throttled for failed sign-ins -----------------------------------------------------------------


@when("another caller makes twice the allowed number of sign-in attempts in a row, all with wrong keys")
def burst_of_failed_sign_ins(context: Context) -> None:
    """Has someone other than the client, under a client id of their own, ask the auth service for access
    over HTTP twice as many times as the failure limit allows, one right after another, each time with an
    API key the service does not know.
    """
    world = context.world
    keys = [world.new_api_key(registered=False) for _ in range(2 * context.settings.auth_failure_limit)]
    world.caller_for_sign_ins().burst(keys)


@then("that caller's attempts up to the limit are refused as unauthorised")
def attempts_up_to_limit_unauthorised(context: Context) -> None:
    """Checks that the caller's first attempts, as many as the failure limit, were each answered 401
    invalid_client.
    """
    limit = context.settings.auth_failure_limit
    answers = context.world.caller_for_sign_ins().answers[:limit]
    check(
        summarise_answers(answers),
        equal_to(f"{limit} answered 401 invalid_client"),
        what=f"the answers to the first {limit} attempts",
    )


@then("its attempts after the limit are refused as too many requests, each with a pause to wait")
def attempts_after_limit_throttled(context: Context) -> None:
    """Checks that every attempt after the failure limit was answered 429 rate_limited, asking for a pause
    longer than nothing and no longer than the failure window.
    """
    settings = context.settings
    answers = context.world.caller_for_sign_ins().answers[settings.auth_failure_limit :]
    check(
        summarise_answers(answers),
        equal_to(f"{settings.auth_failure_limit} answered 429 rate_limited"),
        what="the answers to the attempts after the limit",
    )
    window_s = settings.auth_failure_window_ms / 1000
    check(
        [answer.retry_after_s for answer in answers if not 0 < (answer.retry_after_s or 0) <= window_s],
        empty(),
        what=f"the pauses asked for outside 0 to {window_s:g} seconds",
    )


@then("the client was never asked to slow down")
def client_never_throttled(context: Context) -> None:
    """Checks that the client reported no "too many requests" from the auth service, and that the auth
    service throttled only the other caller.
    """
    errors = observations.named(context.world.client.events(), "auth:error")
    check(
        [event.data.get("status") for event in errors], is_not(has_item(429)), what="the client's auth errors"
    )
    throttled = {
        entry.detail.get("caller") for entry in context.services.auth_journal.entries("sign-in throttled")
    }
    check(
        throttled,
        equal_to({context.world.caller_for_sign_ins().client_id}),
        what="the callers the auth service throttled",
    )


@then("that caller is still refused as too many requests, even with a right key")
def caller_still_throttled(context: Context) -> None:
    """Has the throttled caller sign in once more, now with an API key the auth service knows, and checks it
    is still answered 429 rate_limited.
    """
    world = context.world
    answer = world.caller_for_sign_ins().attempt(world.new_api_key())
    check((answer.status, answer.error), equal_to((429, "rate_limited")), what="the answer to a right key")


@when("that caller has waited the pause it was given")
def caller_waits_the_pause(context: Context) -> None:
    """Waits until the pause the auth service last asked the throttled caller for has passed."""
    last = context.world.caller_for_sign_ins().answers[-1]
    resume_at = last.at + (last.retry_after_s or 0.0)
    wait_for(
        lambda: time.monotonic() >= resume_at,
        equal_to(True),
        within_s=(last.retry_after_s or 0.0) + context.settings.wait_timeout_s,
        what="the pause the auth service asked for to pass",
    )


@then("that caller's right key is accepted again")
def caller_accepted_again(context: Context) -> None:
    """Has the caller sign in once more with an API key the auth service knows, and checks that it is given
    access (200).
    """
    world = context.world
    answer = world.caller_for_sign_ins().attempt(world.new_api_key())
    check(answer.describe(), equal_to("200"), what="the answer to a right key after the pause")
