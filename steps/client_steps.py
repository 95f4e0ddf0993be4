"""Steps about the client's own life: keys, connecting, its states and session, and shutting down."""

import time

from behave import given, step, then
from behave.runner import Context
from hamcrest import (
    all_of,
    contains_string,
    empty,
    equal_to,
    greater_than_or_equal_to,
    has_item,
    has_length,
    instance_of,
    is_not,
    less_than,
    not_none,
    starts_with,
)

from support.drivers.events import (
    AuthFailed,
    ConnectionLost,
    PublishUnsent,
    SessionContinuityLost,
    SessionResumed,
    SessionStarted,
    TokenAcquired,
    TokenRefreshed,
)
from support.harness import observations, parameter_types
from support.harness.matchers import in_order_once_each
from support.harness.queries import Events, Records
from support.harness.waiting import check, holds_throughout, wait_for
from support.services.records import AuthTokenRequested, GatewayConnectionOpened

parameter_types.register()

# How far apart two readings of the monotonic clock can be for the same instant, in seconds.
CLOCK_RESOLUTION_S = 0.002


@given("a client with a valid API key")
@given("a client with a valid API key that {trait:ClientTrait}")
def client_with_valid_key(context: Context, trait: dict[str, bool] | None = None) -> None:
    """Creates the client under test with a new API key the auth service knows, and what it is like beyond
    that: it "can show an avatar" (a key of its own for the avatar service), "keeps its tokens between
    runs" (a token store: a file in a temporary folder, with a key of its own), "offers compression" or
    "does not offer compression" to the gateway, "trusts the test certificate authority" or "does not
    trust" it (over TLS). It does not connect yet.
    """
    context.world.create_client(context.world.new_api_key(), **(trait or {}))


@given("a client with an API key the auth service does not recognise")
def client_with_unknown_key(context: Context) -> None:
    """Creates the client under test with a made-up API key the auth service has never seen; it does not
    connect yet.
    """
    context.world.create_client(context.world.new_api_key(registered=False))


@step("the client connects")
@step("the application asks the client to connect again")
def client_connects(context: Context) -> None:
    """Tells the client to connect (sign in with its API key, then open its connection to the gateway), or,
    while it waits to retry, to try again now; does not wait for the outcome. The moment is marked, for
    "the client tries again at once".
    """
    context.world.mark("asked to connect")
    context.world.client.connect()


@then("the client becomes ready")
def client_becomes_ready(context: Context) -> None:
    """Waits until the client says it is ready."""
    context.world.await_state("ready", what="the client to be ready")


@then("the client becomes ready again")
def client_ready_again(context: Context) -> None:
    """Waits until the client, after the disruption, says it is ready again."""
    context.world.await_state(
        "ready", what="the client to be ready again after the disruption", since="disruption"
    )


@then("the client has a session")
def client_has_session(context: Context) -> None:
    """Checks that the client has a session id."""
    check(context.world.client.session_id, not_none(), what="the client's session id")


@then("the client went through these stages in order, once each:")
def client_went_through_stages(context: Context) -> None:
    """Checks that the client went through the stages in the table (column `stage`) in that order, each
    exactly once; other stages may come in between.
    """
    expected = [row["stage"] for row in context.table]
    check(
        observations.states(context.world.client.events()),
        in_order_once_each(expected),
        what="the client's stages",
    )


@then('the client gives up, saying "{reason}"')
def client_gives_up(context: Context, reason: str) -> None:
    """Waits until the client gives up (its state is "failed") and checks that the reason it gave contains the
    quoted text.
    """
    client = context.world.client
    context.world.await_state("failed", what="the client to give up")
    check(
        observations.final_reason(client.events()), contains_string(reason), what="the reason the client gave"
    )


@then("the client never got a session")
def client_never_got_session(context: Context) -> None:
    """Checks that the client has no session id and never reported starting or resuming a session."""
    client = context.world.client
    check(client.session_id, equal_to(None), what="the client's session id")
    started = [e.kind for e in Events(client.events()).of((SessionStarted, SessionResumed))]
    check(started, empty(), what="the sessions the client reported")


@then("the client was given an access token")
def client_got_token(context: Context) -> None:
    """Checks that the client reported getting exactly one access token: a Bearer token, named only by its
    fingerprint, with the lifetime the auth service gave it; and that a refresh token came with it."""
    acquired = Events(context.world.client.events()).of(TokenAcquired)
    check(acquired, has_length(1), what="the number of access tokens the client reported getting")
    check(
        (acquired[0].token_type, acquired[0].expires_in_ms),
        equal_to(("Bearer", context.settings.token_lifetime_ms)),
        what="the kind of token and its lifetime in milliseconds",
    )
    check(
        acquired[0].token,
        starts_with("fp:"),
        what="how the client named the token (a fingerprint, never the token)",
    )
    check(context.world.issued("refresh"), has_length(1), what="the refresh tokens the client was given")


@then("the client asked the auth service for access {count:Times}")
def client_asked_auth(context: Context, count: int) -> None:
    """Checks how many times the client asked the auth service for a token with its API key ("only once",
    "twice", "3 times").
    """
    requests = Records(context.services.auth_journal).of(AuthTokenRequested, grant_type="api_key")
    check(len(requests), equal_to(count), what="the number of times the client asked for access")


@then("the client reported {count:d} auth errors, each marked as worth retrying")
def client_reported_auth_errors(context: Context, count: int) -> None:
    """Checks that the client reported exactly that many auth errors, none of them marked as not worth
    retrying.
    """
    errors = Events(context.world.client.events()).of(AuthFailed)
    check(len(errors), equal_to(count), what="the number of auth errors the client reported")
    check(
        [e.retryable for e in errors],
        is_not(has_item(False)),
        what="which auth errors were retryable",
    )


@then("the client reported one auth error: {status:AuthStatus}, {error:AuthError}, {retryable:WorthRetrying}")
def client_reported_one_auth_error(context: Context, status: str, error: str, retryable: bool) -> None:
    """Waits for the client's auth error and checks its HTTP status ("none" when no answer came), error code,
    and whether it was marked "worth retrying" or "not worth retrying"; it must also carry a description.
    Example: Then the client reported one auth error: 401, invalid_client, not worth retrying
    """
    reported = wait_for(
        lambda: Events(context.world.client.events()).of(AuthFailed),
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to report an auth error",
    )[0]
    check(
        (str(reported.status or "none"), reported.error, reported.retryable),
        equal_to((status, error, retryable)),
        what="the auth error the client reported (status, error, worth retrying)",
    )
    check(
        reported.description,
        all_of(instance_of(str), is_not(empty())),
        what="the auth error's description",
    )


@then("the client ends up {state:ClientState}")
def client_ends_up(context: Context, state: str) -> None:
    """Waits until the client is in the named state ("ready" or "failed")."""
    context.world.await_state(state, what=f"the client to end up {state}")


@then("the client waited at least the requested pause before asking again")
def client_respected_retry_after(context: Context) -> None:
    """Checks that, after "too many requests", the client waited at least the pause the auth service asked for
    before signing in again.
    """
    requests = Records(context.services.auth_journal).of(AuthTokenRequested)
    check(requests, has_length(greater_than_or_equal_to(2)), what="the sign-in requests the auth service saw")
    waited_ms = (requests[1].at - requests[0].at) * 1000
    asked_ms = context.world.faults.auth_pause_ms
    check(
        waited_ms,
        greater_than_or_equal_to(asked_ms),
        what=f"the pause in ms before asking again (asked for {asked_ms:.0f} ms)",
    )


@then("the client resumed the same session")
def client_resumed(context: Context) -> None:
    """Checks that the client resumed its session after the disruption and still has the session id it had
    before.
    """
    world = context.world
    resumed = Events(world.client.events()).of(SessionResumed)
    check(
        len(resumed), greater_than_or_equal_to(1), what="the number of times the client resumed its session"
    )
    check(
        world.client.session_id,
        equal_to(world.faults.session_before),
        what="the client's session after reconnecting",
    )


@then("the client has a new session")
def client_has_new_session(context: Context) -> None:
    """Checks that the client has a session, and that it is not the one it had before the disruption."""
    world = context.world
    check(
        world.client.session_id,
        all_of(not_none(), is_not(equal_to(world.faults.session_before))),
        what="the client's session",
    )


@then('the client was told just once that continuity was lost, because "{reason}"')
def told_once_continuity_lost(context: Context, reason: str) -> None:
    """Checks that the client told the application exactly once that continuity was lost, for the reason
    quoted (the gateway's words, such as "the resume window has passed")."""
    lost = Events(context.world.client.events()).of(SessionContinuityLost)
    check(
        [event.reason for event in lost],
        equal_to([reason]),
        what="the continuity-lost notices",
    )


@step("the application shuts the client down")
def application_shuts_down(context: Context) -> None:
    """Has the application shut the client down gracefully; the step returns when the client says it is
    closed.
    """
    context.world.mark("shutdown")
    context.world.client.shutdown()


@then("the client reported, in this order:")
def client_reported_in_order(context: Context) -> None:
    """Checks that the client reported the events in the table (column `step`) in that order, each exactly
    once; other events may come in between.
    """
    expected = [row["step"] for row in context.table]
    seen = [event.kind for event in Events(context.world.client.events()) if event.kind in expected]
    check(seen, in_order_once_each(expected), what="the client's shutdown events")


@then("the client makes no attempt to reconnect afterwards")
def client_makes_no_reconnect(context: Context) -> None:
    """Checks that for a while after shutting down (twice the longest retry pause) the client stays closed and
    the gateway sees no new connection.
    """
    world, gateway_journal = context.world, context.services.gateway_journal
    shutdown = world.since("shutdown")
    holds_throughout(
        lambda: (
            observations.states_since(world.client.events(), shutdown),
            len(Records(gateway_journal).where(GatewayConnectionOpened, lambda record: record.at > shutdown)),
        ),
        equal_to((["closing", "closed"], 0)),
        during_s=2 * context.settings.backoff_max_ms / 1000,
        what="the client to stay closed, with no new connection at the gateway",
        seen=lambda states_and_opened: observations.describe_since_shutdown(
            world.client.events(), world.client.state, *states_and_opened
        ),
    )


@then("nothing of the client is left running")
def nothing_left_running(context: Context) -> None:
    """Checks that nothing of the client is still running: no tasks, no open sockets."""
    check(context.world.client.leftovers(), empty(), what="what the client left running")


@then("the client reported {count:UndeliveredCount} undelivered messages")
def reported_undelivered(context: Context, count: int) -> None:
    """Checks that the client reported no messages it could not deliver ("no"), or reported, once, that
    exactly that many could not be delivered.
    """
    unsent = Events(context.world.client.events()).of(PublishUnsent)
    if not count:
        check(unsent, empty(), what="undelivered messages reported")
        return
    check([e.count for e in unsent], equal_to([count]), what="the undelivered messages the client reported")


@step("the client's access nears the end of its lifetime")
def access_nears_end_of_life(context: Context) -> None:
    """Waits (up to the token's lifetime, plus the usual wait) until the client renews its access token."""
    client, settings = context.world.client, context.settings
    wait_for(
        lambda: Events(client.events()).of(TokenRefreshed),
        has_length(greater_than_or_equal_to(1)),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the client to renew its access token",
    )


@step("the client's access runs out while it is offline")
def access_runs_out_offline(context: Context) -> None:
    """Waits, while the client is offline (since the network or the gateway went away), until the access
    token it held then has outlived the lifetime it was given with it, and checks that the client was not
    ready again in between. The wait comes from the token's own lifetime: no arithmetic over settings.
    """
    client, since = context.world.client, context.world.since("disruption")
    tokens = Events(client.events()).of((TokenAcquired, TokenRefreshed))
    held = [token for token in tokens if token.at <= since]
    token = check(held[-1:], has_length(1), what="the access tokens the client held when it went offline")[0]
    runs_out_at = token.at + float(token.expires_in_ms) / 1000
    wait_for(
        lambda: time.monotonic() >= runs_out_at,
        equal_to(True),
        within_s=max(0.0, runs_out_at - time.monotonic()) + context.settings.wait_timeout_s,
        what="the client's access token to run out",
    )
    check(
        observations.states_since(client.events(), since),
        is_not(has_item("ready")),
        what="the client's states since it went offline",
    )


@then("the client renewed its access in good time")
def renewed_in_good_time(context: Context) -> None:
    """Checks that the client renewed its first access token once the configured fraction of its lifetime had
    passed but before the lifetime was over, and that the renewal replaced that token.
    """
    events = Events(context.world.client.events())
    acquired = check(events.first(TokenAcquired), not_none(), what="the first token the client got")
    refreshed = check(events.first(TokenRefreshed), not_none(), what="the client's renewed token")
    check(refreshed.previous, equal_to(acquired.token), what="the token that was renewed")
    lifetime_s = float(acquired.expires_in_ms) / 1000
    # Timers never fire early, so the lower bound needs no slack beyond the clock's resolution.
    due_s = lifetime_s * context.settings.token_refresh_fraction - CLOCK_RESOLUTION_S
    check(
        refreshed.at - acquired.at,
        all_of(greater_than_or_equal_to(due_s), less_than(lifetime_s)),
        what=f"the seconds before renewing a {lifetime_s:g} s token",
    )


@then("the client never lost its connection")
def never_lost_connection(context: Context) -> None:
    """Checks that the client never reported losing its connection during the scenario."""
    lost = Events(context.world.client.events()).of(ConnectionLost)
    check([event.reason for event in lost], empty(), what="the client's lost connections")


@given("the client is ready")
def client_is_ready(context: Context) -> None:
    """Tells the client to connect and waits until it says it is ready."""
    context.world.client.connect()
    context.world.await_state("ready", what="the client to be ready")
