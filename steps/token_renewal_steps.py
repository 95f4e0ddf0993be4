"""Steps of token renewal (features/token_renewal.feature): renewal and refresh-token rotation."""

from behave import step, then
from behave.runner import Context
from hamcrest import (
    equal_to,
    greater_than,
    greater_than_or_equal_to,
    has_entries,
    has_length,
    is_not,
    none,
)

from realtime_protocol import CloseCode, fingerprint
from support.drivers.events import ConnectionLost, TokenAcquired, TokenExpired, TokenRefreshed
from support.harness.queries import Events, Records
from support.harness.waiting import check, holds_throughout, wait_for
from support.services.records import AuthTokenRefreshed, AuthTokenRequested

# -- arranging -------------------------------------------------------------------------------------------


@step("someone presents the client's spent refresh token again")
def present_spent_refresh_token(context: Context) -> None:
    """Asks the auth service for new tokens with the first refresh token the client was given (already
    exchanged by the client), as an attacker who copied it would."""
    spent = context.world.issued("refresh")[0]
    context.world.present_refresh_token(spent)


@step("{callers:d} parts of the client have their access refused at the same moment and ask for fresh access")
def many_ask_for_fresh_access(context: Context, callers: int) -> None:
    """Has that many parts of the application, all at the same moment, tell the client their access token was
    refused and ask for a fresh one, as calls made with one token that all fail together would."""
    context.world.mark("fresh access asked")
    context.world.tokens.fresh_access = context.world.client.need_fresh_access(callers)


@step("the client's access runs out and the gateway closes the connection for it")
def access_runs_out(context: Context) -> None:
    """Waits (up to the token's lifetime, plus the usual wait) until the gateway closes the client's
    connection, and checks it did so because the access token expired."""
    client, settings = context.world.client, context.settings
    wait_for(
        lambda: [event.code for event in Events(client.events()).of(ConnectionLost)],
        has_length(greater_than_or_equal_to(1)),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the gateway to close the client's connection",
    )
    lost = Events(client.events()).of(ConnectionLost)[0]
    check(lost.code, equal_to(int(CloseCode.TOKEN_EXPIRED)), what="the close code the client saw")
    context.world.disrupt()


@step("the client's account is closed at the auth service")
def account_closed(context: Context) -> None:
    """Closes the client's account at the auth service: its API key is no longer recognised and every refresh
    token it holds is revoked."""
    context.services.auth.close_account(context.world.accounts.api_keys["the client"])


@then("the auth service gave the client a new refresh token in exchange for the old one")
def refresh_token_rotated(context: Context) -> None:
    """Checks that the client's renewal exchanged its first refresh token for a different, new one."""
    spent, *later = context.world.issued("refresh")
    check(len(later), greater_than(0), what="the number of new refresh tokens the client was given")
    exchanges = [
        (record.previous_refresh, record.refresh)
        for record in Records(context.services.auth_journal).of(AuthTokenRefreshed)
    ]
    check(
        exchanges[:1],
        equal_to([(fingerprint(spent), fingerprint(later[0]))]),
        what="the first exchange of refresh tokens (old for new, by fingerprint)",
    )


@then('the auth service refuses it, saying "{description}"')
def auth_refused(context: Context, description: str) -> None:
    """Checks that the auth service answered the last bare token request with 401 invalid_grant and the
    description given."""
    answer = check(context.world.tokens.auth_answer, is_not(none()), what="the auth service's answer")
    check(
        (answer.status, answer.error, answer.description),
        equal_to((401, "invalid_grant", description)),
        what="the auth service's answer (status, error, description)",
    )


@then("the auth service no longer accepts the client's current refresh token either")
def current_refresh_token_revoked(context: Context) -> None:
    """Presents the client's newest refresh token and checks that the auth service refuses it as revoked."""
    current = context.world.issued("refresh")[-1]
    answer = context.world.present_refresh_token(current)
    check(
        (answer.status, answer.error, answer.description),
        equal_to((401, "invalid_grant", "The refresh token has been revoked")),
        what="the auth service's answer to the client's current refresh token",
    )


@then("the client reports that its access has ended and it must sign in again")
def client_must_sign_in_again(context: Context) -> None:
    """Waits (up to the token's lifetime, plus the usual wait) until the client reports that its access
    expired because renewal failed, and that it has to sign in again."""
    client, settings = context.world.client, context.settings
    expired = wait_for(
        lambda: Events(client.events()).of(TokenExpired),
        has_length(greater_than_or_equal_to(1)),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the client to report that its access ended",
    )
    check(
        expired[0].facts(),
        has_entries(reason="refresh_failed", requires_reauth=True),
        what="what the client said about its ended access",
    )


@then("the client signed in again with its API key, just once")
def signed_in_again_once(context: Context) -> None:
    """Waits until the client has signed in with its API key a second time, then checks for a while (twice the
    longest retry pause) that it does not do so again."""
    journal, settings = context.services.auth_journal, context.settings

    def sign_ins() -> int:
        return Records(journal).count(AuthTokenRequested, grant_type="api_key")

    wait_for(sign_ins, equal_to(2), within_s=settings.wait_timeout_s, what="the client to sign in again")
    holds_throughout(
        sign_ins,
        equal_to(2),
        during_s=2 * settings.backoff_max_ms / 1000,
        what="the client to have signed in twice in all (once at the start, once again)",
    )


@then("the auth service was asked to renew the client's access just once")
def renewed_once_at_auth(context: Context) -> None:
    """Checks that the auth service received exactly one renewal request since the parts of the client
    asked."""
    since = context.world.since("fresh access asked")
    renewals = Records(context.services.auth_journal).of(
        AuthTokenRequested, since=since, grant_type="refresh_token"
    )
    check(len(renewals), equal_to(1), what="the number of renewal requests the auth service received")


@then("all {callers:d} of them were given the same fresh access")
def all_got_same_fresh_access(context: Context, callers: int) -> None:
    """Checks that every caller got an answer, all the same token, and that it is not the refused one."""
    got = context.world.tokens.fresh_access
    check(len(got), equal_to(callers), what="the number of callers that got access")
    check(len(set(got)), equal_to(1), what="the number of different tokens the callers got")
    first = Events(context.world.client.events()).first(TokenAcquired)
    check(
        got[0],
        is_not(equal_to(first.token if first else None)),
        what="the token the callers got (it must be newer than the refused one)",
    )


@then("the client renewed its access just once")
def client_renewed_once(context: Context) -> None:
    """Checks that the client reported exactly one renewal of its access."""
    refreshed = Events(context.world.client.events()).of(TokenRefreshed)
    check(len(refreshed), equal_to(1), what="the number of times the client renewed its access")
