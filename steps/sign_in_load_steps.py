"""Steps of sign-in under load (features/sign_in_load.feature): a caller throttled for failed sign-ins,
and a rush of clients signing in at once."""

import time

import allure
from behave import given, step, then
from behave.runner import Context
from hamcrest import (
    empty,
    equal_to,
    has_item,
    has_items,
    is_not,
)

from support.areas import sign_in_load as rush
from support.drivers.events import AuthFailed, TokenAcquired
from support.drivers.sign_in_caller import summarise_answers
from support.harness.matchers import no_problems
from support.harness.queries import Events, Records
from support.harness.waiting import check, wait_for
from support.services.records import AuthSignInThrottled

# -- reading and posting rights ----------------------------------------------------------------------------


@step("another caller makes twice the allowed number of sign-in attempts in a row, all with wrong keys")
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
    errors = Events(context.world.client.events()).of(AuthFailed)
    check([event.status for event in errors], is_not(has_item(429)), what="the client's auth errors")
    throttled = {record.caller for record in Records(context.services.auth_journal).of(AuthSignInThrottled)}
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


@step("that caller has waited the pause it was given")
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


@given("a crowd of clients, each with a valid API key of its own")
def crowd_of_clients(context: Context) -> None:
    """Creates as many clients as the `rush_clients` setting says, each for a different made-up member with an
    API key the auth service knows; they do not connect yet. Their access tokens last twice the wait for the
    rush to settle, so a rush slowed by a busy machine is judged on signing in, not on short-lived tokens
    running out while the clients queue (renewal has its own feature).
    """
    world = context.world
    settings = context.settings
    context.services.auth.set_access_lifetime(max(settings.token_lifetime_ms, 2 * settings.wait_timeout_ms))
    people = [world.new_person("member") for _ in range(context.settings.rush_clients)]
    world.create_crowd(people)


@step("they all connect at the same moment")
def crowd_connects(context: Context) -> None:
    """Tells every client of the crowd to connect in the same instant; does not wait for the outcome."""
    context.world.crowd.connect()


@step("the rush settles, with its numbers in the report")
def rush_settles(context: Context) -> None:
    """Waits until every client of the crowd is ready or has given up, then puts the rush's numbers in the
    report (and the scenario's story): how many signed in, the success rate, and how long getting an access
    token and getting ready took (median, 95th percentile, slowest). The numbers are reported, not judged.
    """
    world = context.world
    try:
        wait_for(
            lambda: rush.unsettled(context.world.crowd.events()),
            empty(),
            within_s=context.settings.wait_timeout_s,
            what="every client of the rush to be ready or to give up",
        )
    finally:
        sessions = {name: world.clients[name].session_id for name in world.crowd.people}
        summary = rush.summarise(
            rush.measure(world.crowd.connect_told, context.world.crowd.events(), sessions)
        )
        world.report.findings.append(rush.summary_text(summary))
        allure.attach(
            rush.summary_html(summary), name="Sign-in rush", attachment_type=allure.attachment_type.HTML
        )


@then("every one of them signed in and became ready")
def every_one_ready(context: Context) -> None:
    """Checks that every client of the crowd got an access token and became ready: a success rate of 100 %.
    On loopback, with nothing between client and services, only a defect can make a sign-in fail, so nothing
    less is accepted.
    """
    events = context.world.crowd.events()
    check(
        rush.never_ready(events), no_problems("clients that did not make it"), what="the clients of the rush"
    )
    unsigned = [name for name, seen in events.items() if Events(seen).first(TokenAcquired) is None]
    check(unsigned, empty(), what="the clients that never got an access token")


@then("each of them has a session of its own")
def each_has_own_session(context: Context) -> None:
    """Checks that no two clients of the crowd share a session, and that the gateway holds every one."""
    world = context.world
    sessions = [world.clients[name].session_id for name in world.crowd.people]
    check(len(set(sessions) - {None}), equal_to(len(sessions)), what="the number of different sessions")
    check(
        context.services.gateway.sessions(),
        has_items(*sessions),
        what="the sessions the gateway holds",
    )
