"""Steps of token safekeeping (features/token_safekeeping.feature): checking tokens, keeping them on
disk, logging out, and making sure no secret is ever written down."""

import logging

from behave import given, step, then
from behave.runner import Context
from hamcrest import empty, equal_to, greater_than, greater_than_or_equal_to, has_length, is_not, none

from realtime_protocol import fingerprint
from support.drivers.events import AuthCleanup, TokenChecked, TokenRestored
from support.harness import observations, parameter_types
from support.harness.queries import Events, Records
from support.harness.secret_scan import scan, scan_bytes
from support.harness.waiting import check, wait_for
from support.services.records import AuthTokenRequested, AuthTokenRevoked

parameter_types.register()

# -- arranging -------------------------------------------------------------------------------------------


@given("everything the client and the services log is kept, down to the finest detail")
def keep_every_log_line(context: Context) -> None:
    """Keeps every log line, debug detail included, that the client, the services and the HTTP and WebSocket
    libraries under them write during the scenario."""
    context.world.logs.set_level(logging.DEBUG)


@step("the client is restarted")
def client_restarted(context: Context) -> None:
    """Shuts the client down and creates it again, as a restarted application would: same API key, same token
    store."""
    context.world.restart_client()


@step("the user logs out")
def user_logs_out(context: Context) -> None:
    """Has the user log out: the client gives its tokens back to the auth service and forgets them; the step
    returns when the client says it is closed."""
    context.world.mark("shutdown")
    context.world.client.logout()


@step('the server pushes a message carrying a password on "{channel}"')
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


@then('the client found the access token {usable:TokenVerdict}, for the reason "{reason:TokenCheck}"')
def client_checked_token(context: Context, usable: bool, reason: str) -> None:
    """Waits until the client checks the shape of the access token it was given, and checks its verdict
    ("usable" or "unusable") and reason."""
    client = context.world.client
    checked = wait_for(
        lambda: Events(client.events()).of(TokenChecked),
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to check the access token it was given",
    )[0]
    verdict = (checked.valid, checked.reason)
    check(verdict, equal_to((usable, reason)), what="the client's verdict on the token (usable, reason)")


@then("the client's stored tokens show no token in readable form")
def stored_tokens_unreadable(context: Context) -> None:
    """Reads the client's token store file byte for byte and checks it holds something, but none of the tokens
    the client was given, whole or in part, plain or base64-encoded."""
    stored = check(context.world.tokens.stored(), is_not(none()), what="the client's token store file")
    check(len(stored), greater_than(0), what="the size of the client's token store file")
    findings = scan_bytes(stored, context.world.issued(), "the token store file")
    check([str(finding) for finding in findings], empty(), what="the tokens readable in the token store")


@then("the restarted client took up its stored access instead of signing in again")
def restarted_client_took_up_tokens(context: Context) -> None:
    """Checks that the restarted client said it took up stored tokens, and that the API key was used to sign
    in only once in the whole scenario."""
    restored = Events(context.world.client.events()).of(TokenRestored)
    check(len(restored), equal_to(1), what="the number of times the restarted client took up stored tokens")
    sign_ins = Records(context.services.auth_journal).of(AuthTokenRequested, grant_type="api_key")
    check(len(sign_ins), equal_to(1), what="the number of sign-ins with the API key")


@then("the client reported clearing its access token, refresh token and stored tokens at logout")
def client_cleared_tokens(context: Context) -> None:
    """Checks the client's one clean-up report: the user logged out, and the access token, refresh token and
    stored tokens were cleared."""
    cleanups = Events(context.world.client.events()).of(AuthCleanup)
    check(
        [(event.reason, event.tokens_cleared) for event in cleanups],
        equal_to([("user_logout", ["access_token", "refresh_token", "stored_tokens"])]),
        what="the client's clean-up reports (reason, what was cleared)",
    )


@then("the client keeps no tokens on disk any more")
def no_tokens_on_disk(context: Context) -> None:
    """Checks that the client's token store file is gone."""
    check(context.world.tokens.stored(), none(), what="the client's token store file")


@then("the auth service revoked the client's tokens")
def auth_revoked_tokens(context: Context) -> None:
    """Checks that the auth service revoked the client's last refresh token and last access token."""
    last_refresh, last_access = context.world.issued("refresh")[-1], context.world.issued("access")[-1]
    revoked = [record.token for record in Records(context.services.auth_journal).of(AuthTokenRevoked)]
    check(
        revoked,
        equal_to([fingerprint(last_refresh), fingerprint(last_access)]),
        what="the tokens the auth service revoked (by fingerprint)",
    )


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
