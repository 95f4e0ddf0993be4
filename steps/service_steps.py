"""Steps about the mock services: that they run, how the auth service should misbehave, and what the gateway
lets in."""

from behave import given, step, then
from behave.runner import Context
from hamcrest import empty, equal_to, has_item, is_not

from realtime_protocol import CloseCode
from support.drivers.events import ConnectionLost
from support.harness import parameter_types
from support.harness.queries import Events, Records
from support.harness.vocabulary import AuthTrouble
from support.harness.waiting import check, holds_throughout, wait_for
from support.services.records import (
    GatewayConnectionClosed,
    GatewayConnectionOpened,
    GatewayHandshakeRefused,
    GatewaySessionExpired,
    GatewaySessionStarted,
    GatewayTokenExpired,
    GatewayTokenRenewalRefused,
    GatewayTokenRenewed,
    GatewayTokenRevoked,
    TlsHandshake,
)

# What the gateway records about access tokens on live connections.
GATEWAY_TOKEN_RECORDS = (
    GatewayTokenRenewed,
    GatewayTokenRenewalRefused,
    GatewayTokenExpired,
    GatewayTokenRevoked,
)

parameter_types.register()


@given("the realtime services are running")
def services_are_running(context: Context) -> None:
    """Checks that the mock services (auth service, gateway and the network in between) are running; the suite
    starts them before the first scenario.
    """
    check(context.services.loop.running, equal_to(True), what="whether the mock services are running")


@step("the auth service will answer the next {count:TokenRequests} with {trouble:AuthTrouble}")
def auth_will_misbehave(context: Context, count: int, trouble: AuthTrouble) -> None:
    """Makes the auth service answer the next token request(s) (sign-in or renewal) with the named trouble
    instead of tokens: "a refusal of the key", "a refusal of the refresh token", "a server error", "service
    unavailable", "a reply that comes late" or "too many requests, asking for a pause".
    """
    context.world.program_auth_trouble(trouble, count)


@then("the client never reached the gateway")
def client_never_reached_gateway(context: Context) -> None:
    """Checks that the gateway never saw the client: no TLS handshake started, no connection was opened and no
    handshake refused."""
    kinds = [record.kind for record in Records(context.services.gateway_journal)]
    for kind in (TlsHandshake, GatewayConnectionOpened, GatewayHandshakeRefused):
        check(kinds, is_not(has_item(kind.kind)), what="what the gateway saw")


@then("the gateway knows the client's session")
def gateway_knows_session(context: Context) -> None:
    """Waits until the gateway lists the client's session among its live sessions."""
    wait_for(
        context.services.gateway.sessions,
        has_item(context.world.client.session_id),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to know the client's session",
    )


@step("the gateway gives up waiting for the client to resume")
def gateway_gives_up_on_session(context: Context) -> None:
    """Waits (up to the resume window, plus the usual wait) until the gateway lets the session the client had
    before the disruption expire.
    """
    session, settings = context.world.faults.session_before, context.settings
    wait_for(
        lambda: [
            record.session for record in Records(context.services.gateway_journal).of(GatewaySessionExpired)
        ],
        has_item(session),
        within_s=(settings.resume_window_ms + settings.wait_timeout_ms) / 1000,
        what="the gateway to let the client's session expire",
    )


@then("the gateway saw the client close normally")
def gateway_saw_normal_close(context: Context) -> None:
    """Waits until the gateway records a connection closed normally (close code 1000)."""
    wait_for(
        lambda: [
            record.code for record in Records(context.services.gateway_journal).of(GatewayConnectionClosed)
        ],
        has_item(int(CloseCode.NORMAL)),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to record a normal closure (code 1000)",
    )


@step("the gateway shuts down for a restart, keeping its sessions")
def gateway_shuts_down_for_restart(context: Context) -> None:
    """Stops the gateway for a restart: connected clients are told it is going away (close code 1001), and
    their sessions are kept so they can be resumed.
    """
    context.world.disrupt()
    context.services.gateway.stop("graceful", int(CloseCode.GOING_AWAY), keep_sessions=True)


@step("the gateway comes back")
def gateway_comes_back(context: Context) -> None:
    """Starts the gateway again after a restart, so clients can connect to it again."""
    context.services.gateway.start()
    context.world.mark("network restored")


@then("the client is told the server is going away")
def client_told_going_away(context: Context) -> None:
    """Waits until the client reports that its connection was closed because the server is going away (close
    code 1001).
    """
    client, since = context.world.client, context.world.since("disruption")
    wait_for(
        lambda: [event.code for event in Events(client.events()).of(ConnectionLost, since=since)],
        has_item(int(CloseCode.GOING_AWAY)),
        within_s=context.settings.wait_timeout_s,
        what="the client to hear that the server is going away (code 1001)",
    )


@then("the gateway accepted the renewed access on the live connection")
def gateway_accepted_renewal(context: Context) -> None:
    """Waits until the gateway accepts the client's renewed access token on the open connection, and checks
    that no token expired at the gateway.
    """
    journal = context.services.gateway_journal
    wait_for(
        lambda: [record.kind for record in Records(journal).of(GATEWAY_TOKEN_RECORDS)],
        has_item(GatewayTokenRenewed.kind),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to accept the renewed token",
    )
    check(
        [record.kind for record in Records(journal).of(GatewayTokenExpired)],
        empty(),
        what="tokens that expired at the gateway",
    )


# -- access at the gateway ---------------------------------------------------------------------------------


@step("the auth service hands out {flaw:TokenKind}")
def auth_hands_out_flawed_tokens(context: Context, flaw: str | None) -> None:
    """Makes the auth service sign people in with the kind of access token named: a well-formed one, or one
    with a flaw ("a token whose claims were edited after signing", "an empty access token"…).
    """
    context.world.hand_out_flawed_tokens(flaw)


@step("something asks the gateway for a realtime connection {kind:PresentedToken}")
def ask_gateway_bare(context: Context, kind: str | None) -> None:
    """Asks the gateway for a realtime connection the way a bare WebSocket client would, presenting no token
    or the last token of that kind the client was given.
    """
    token = None if kind is None else context.world.issued(kind)[-1]
    context.world.tokens.gateway_answer = context.services.gateway.probe(token)


@then("the gateway turns the client away, because {reason}")
def gateway_turns_client_away(context: Context, reason: str) -> None:
    """Waits until the gateway refuses the client's connection and checks the reason it recorded."""
    wait_for(
        lambda: _refusal_reasons(context),
        has_item(reason),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to turn the client away",
    )


@then("the gateway refuses it as unauthorised, because {reason}")
def gateway_refuses_request(context: Context, reason: str) -> None:
    """Checks that the gateway answered the bare request with 401 Unauthorized, for the reason given."""
    check(context.world.tokens.gateway_answer, equal_to(401), what="the gateway's answer (an HTTP status)")
    check(_refusal_reasons(context), equal_to([reason]), what="the reasons the gateway recorded")


@then("the client does not knock on the gateway again")
def client_does_not_retry_gateway(context: Context) -> None:
    """Checks that for a while (twice the longest retry pause) the gateway sees no further attempt from the
    client after turning it away once."""
    journal = context.services.gateway_journal
    holds_throughout(
        lambda: Records(journal).count((GatewayHandshakeRefused, GatewayConnectionOpened)),
        equal_to(1),
        during_s=2 * context.settings.backoff_max_ms / 1000,
        what="the gateway to see exactly one attempt from the client",
    )


@then("the gateway opened no session")
def gateway_opened_no_session(context: Context) -> None:
    """Checks that the gateway holds no session and never started one."""
    check(context.services.gateway.sessions(), empty(), what="the sessions the gateway holds")
    kinds = [record.kind for record in Records(context.services.gateway_journal)]
    check(kinds, is_not(has_item(GatewaySessionStarted.kind)), what="what the gateway did")


def _refusal_reasons(context: Context) -> list[str]:
    return [record.reason for record in Records(context.services.gateway_journal).of(GatewayHandshakeRefused)]


@step("the auth service is down")
def auth_service_down(context: Context) -> None:
    """Stops the auth service: its address refuses every connection until it comes back. Reads the same after
    Given, When or Then.
    """
    context.services.auth.stop()


@step("the auth service comes back")
def auth_service_back(context: Context) -> None:
    """Starts the auth service again at the same address, remembering every account and token."""
    context.services.auth.start()
