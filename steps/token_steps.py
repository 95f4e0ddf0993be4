"""Steps about the life of tokens: renewal, refresh-token rotation, keeping tokens on disk, logging out, and
making sure no secret is ever written down."""

import logging

from behave import given, then, when
from behave.runner import Context
from hamcrest import (
    empty,
    equal_to,
    greater_than,
    greater_than_or_equal_to,
    has_entries,
    has_length,
    is_not,
    none,
)

from realtime_protocol import CloseCode, fingerprint
from support import observations
from support.secret_scan import scan, scan_bytes
from support.waiting import check, holds_throughout, wait_for

# -- arranging -------------------------------------------------------------------------------------------


@given("a client with a valid API key that keeps its tokens between runs")
def client_keeping_tokens(context: Context) -> None:
    """Creates the client under test with a new API key the auth service knows and a token store (a file in
    a temporary folder, with a key of its own) to keep its tokens in between runs."""
    context.world.create_client(context.world.new_api_key(), keep_tokens=True)


@given("the auth service is down")
def auth_service_down(context: Context) -> None:
    """Stops the auth service: its address refuses every connection until it comes back."""
    context.services.stop_auth()


@when("the auth service comes back")
def auth_service_back(context: Context) -> None:
    """Starts the auth service again at the same address, remembering every account and token."""
    context.services.start_auth()


@given("everything the client and the services log is kept, down to the finest detail")
def keep_every_log_line(context: Context) -> None:
    """Keeps every log line, debug detail included, that the client, the services and the HTTP and WebSocket
    libraries under them write during the scenario."""
    context.world.logs.set_level(logging.DEBUG)


# -- acting ----------------------------------------------------------------------------------------------


@when("someone presents the client's spent refresh token again")
def present_spent_refresh_token(context: Context) -> None:
    """Asks the auth service for new tokens with the first refresh token the client was given (already
    exchanged by the client), as an attacker who copied it would."""
    spent = context.world.issued("refresh")[0]
    context.world.present_refresh_token(spent)


@when("{callers:d} parts of the client have their access refused at the same moment and ask for fresh access")
def many_ask_for_fresh_access(context: Context, callers: int) -> None:
    """Has that many parts of the application, all at the same moment, tell the client their access token was
    refused and ask for a fresh one, as calls made with one token that all fail together would."""
    context.world.mark("fresh access asked")
    context.world.fresh_access = context.world.client.need_fresh_access(callers)


@when("the client's access runs out and the gateway closes the connection for it")
def access_runs_out(context: Context) -> None:
    """Waits (up to the token's lifetime, plus the usual wait) until the gateway closes the client's
    connection, and checks it did so because the access token expired."""
    client, settings = context.world.client, context.settings
    wait_for(
        lambda: [event.data.get("code") for event in observations.named(client.events(), "connection:lost")],
        has_length(greater_than_or_equal_to(1)),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the gateway to close the client's connection",
    )
    lost = observations.named(client.events(), "connection:lost")[0]
    check(lost.data.get("code"), equal_to(int(CloseCode.TOKEN_EXPIRED)), what="the close code the client saw")
    context.world.disrupt()


@when("the client's account is closed at the auth service")
def account_closed(context: Context) -> None:
    """Closes the client's account at the auth service: its API key is no longer recognised and every refresh
    token it holds is revoked."""
    context.services.close_account(context.world.api_keys["the client"])


@when("the client is restarted")
def client_restarted(context: Context) -> None:
    """Shuts the client down and creates it again, as a restarted application would: same API key, same token
    store."""
    context.world.restart_client()


@when("the user logs out")
def user_logs_out(context: Context) -> None:
    """Has the user log out: the step returns when the client says it is closed."""
    context.world.mark("shutdown")
    context.world.client.logout()


@when('the server pushes a message carrying a password on "{channel}"')
def push_password_message(context: Context, channel: str) -> None:
    """Has the server push one message on the channel whose data carries a made-up password, and waits until
    the client delivers it."""
    context.world.push_secret_message(channel)
    wait_for(
        lambda: observations.delivered(context.world.client.events(), channel),
        has_length(1),
        within_s=context.settings.wait_timeout_s,
        what=f"the client to deliver the message on {channel!r}",
    )


# -- checking --------------------------------------------------------------------------------------------


@then("the auth service gave the client a new refresh token in exchange for the old one")
def refresh_token_rotated(context: Context) -> None:
    """Checks that the client's renewal exchanged its first refresh token for a different, new one."""
    spent, *later = context.world.issued("refresh")
    check(len(later), greater_than(0), what="the number of new refresh tokens the client was given")
    exchanges = [
        (entry.detail.get("previous_refresh"), entry.detail.get("refresh"))
        for entry in context.services.auth_journal.entries("token refreshed")
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
    answer = check(context.world.auth_answer, is_not(none()), what="the auth service's answer")
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
        lambda: observations.named(client.events(), "token:expired"),
        has_length(greater_than_or_equal_to(1)),
        within_s=(settings.token_lifetime_ms + settings.wait_timeout_ms) / 1000,
        what="the client to report that its access ended",
    )
    check(
        dict(expired[0].data),
        has_entries(reason="refresh_failed", requires_reauth=True),
        what="what the client said about its ended access",
    )


@then("the client signed in again with its API key, just once")
def signed_in_again_once(context: Context) -> None:
    """Waits until the client has signed in with its API key a second time, then checks for a while (twice the
    longest retry pause) that it does not do so again."""
    journal, settings = context.services.auth_journal, context.settings

    def sign_ins() -> int:
        return len(journal.entries("token requested", grant_type="api_key"))

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
    renewals = [
        entry
        for entry in context.services.auth_journal.entries("token requested", grant_type="refresh_token")
        if entry.at >= since
    ]
    check(len(renewals), equal_to(1), what="the number of renewal requests the auth service received")


@then("all {callers:d} of them were given the same fresh access")
def all_got_same_fresh_access(context: Context, callers: int) -> None:
    """Checks that every caller got an answer, all the same token, and that it is not the refused one."""
    got = context.world.fresh_access
    check(len(got), equal_to(callers), what="the number of callers that got access")
    check(len(set(got)), equal_to(1), what="the number of different tokens the callers got")
    first = observations.first(context.world.client.events(), "token:acquired")
    check(
        got[0],
        is_not(equal_to(first.data.get("token") if first else None)),
        what="the token the callers got (it must be newer than the refused one)",
    )


@then("the client renewed its access just once")
def client_renewed_once(context: Context) -> None:
    """Checks that the client reported exactly one renewal of its access."""
    refreshed = observations.named(context.world.client.events(), "token:refreshed")
    check(len(refreshed), equal_to(1), what="the number of times the client renewed its access")


@then('the client found the access token {verdict}, for the reason "{reason}"')
def client_checked_token(context: Context, verdict: str, reason: str) -> None:
    """Waits until the client checks the shape of the access token it was given, and checks its verdict
    ("usable" or "unusable") and reason."""
    checked = wait_for(
        lambda: observations.named(context.world.client.events(), "token:checked"),
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to check the access token it was given",
    )[0]
    check(
        (checked.data.get("valid"), checked.data.get("reason")),
        equal_to((verdict == "usable", reason)),
        what="the client's verdict on the token (usable, reason)",
    )


@then("the client's stored tokens show no token in readable form")
def stored_tokens_unreadable(context: Context) -> None:
    """Reads the client's token store file byte for byte and checks it holds something, but none of the tokens
    the client was given, whole or in part, plain or base64-encoded."""
    stored = check(context.world.stored_tokens(), is_not(none()), what="the client's token store file")
    check(len(stored), greater_than(0), what="the size of the client's token store file")
    findings = scan_bytes(stored, context.world.issued(), "the token store file")
    check([str(finding) for finding in findings], empty(), what="the tokens readable in the token store")


@then("the restarted client took up its stored access instead of signing in again")
def restarted_client_took_up_tokens(context: Context) -> None:
    """Checks that the restarted client said it took up stored tokens, and that the API key was used to sign
    in only once in the whole scenario."""
    restored = observations.named(context.world.client.events(), "token:restored")
    check(len(restored), equal_to(1), what="the number of times the restarted client took up stored tokens")
    sign_ins = context.services.auth_journal.entries("token requested", grant_type="api_key")
    check(len(sign_ins), equal_to(1), what="the number of sign-ins with the API key")


@then("the client reported clearing its access token, refresh token and stored tokens at logout")
def client_cleared_tokens(context: Context) -> None:
    """Checks the client's one clean-up report: the user logged out, and the access token, refresh token and
    stored tokens were cleared."""
    cleanups = observations.named(context.world.client.events(), "auth:cleanup")
    check(
        [(event.data.get("reason"), event.data.get("tokens_cleared")) for event in cleanups],
        equal_to([("user_logout", ["access_token", "refresh_token", "stored_tokens"])]),
        what="the client's clean-up reports (reason, what was cleared)",
    )


@then("the client keeps no tokens on disk any more")
def no_tokens_on_disk(context: Context) -> None:
    """Checks that the client's token store file is gone."""
    check(context.world.stored_tokens(), none(), what="the client's token store file")


@then("the auth service revoked the client's tokens")
def auth_revoked_tokens(context: Context) -> None:
    """Checks that the auth service revoked the client's last refresh token and last access token."""
    last_refresh, last_access = context.world.issued("refresh")[-1], context.world.issued("access")[-1]
    revoked = [entry.detail.get("token") for entry in context.services.auth_journal.entries("token revoked")]
    check(
        revoked,
        equal_to([fingerprint(last_refresh), fingerprint(last_access)]),
        what="the tokens the auth service revoked (by fingerprint)",
    )


@when("something asks the gateway for a realtime connection with the client's last access token")
def probe_gateway_with_last_token(context: Context) -> None:
    """Asks the gateway for a realtime connection the way a bare WebSocket client would, presenting the last
    access token the client was given."""
    context.world.gateway_answer = context.services.probe_gateway(context.world.issued("access")[-1])


@then("the auth service refuses the client's last refresh token")
def last_refresh_refused(context: Context) -> None:
    """Presents the client's last refresh token to the auth service and checks it is refused (401
    invalid_grant)."""
    answer = context.world.present_refresh_token(context.world.issued("refresh")[-1])
    check((answer.status, answer.error), equal_to((401, "invalid_grant")), what="the auth service's answer")


@then("none of the scenario's secrets shows up in any log line or report attachment")
def no_secret_shows_up(context: Context) -> None:
    """Gathers every log line kept during the scenario and every attachment the report will show for it
    (before the report's own masking), and checks that none of the scenario's secrets (API keys, tokens,
    passwords, store keys) shows up in any of them, whole, in part or base64-encoded."""
    world = context.world
    lines = world.logs.lines()
    check(len(lines), greater_than(0), what="the number of log lines kept")
    texts = {f"log line {number}": line for number, line in enumerate(lines, 1)}
    texts |= {f"the {a.name!r} attachment": a.body for a in world.report_attachments(context.scenario.name)}
    check(
        [str(finding) for finding in scan(texts, [*world.issued(), *world.secrets])],
        empty(),
        what="where secrets showed up",
    )
