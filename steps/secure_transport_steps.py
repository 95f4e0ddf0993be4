"""Steps about encryption: services over TLS, clients that do or do not trust the test certificate authority,
and certificates the client refuses."""

from urllib.parse import urlparse

from behave import given, then
from behave.runner import Context
from hamcrest import contains_string, equal_to, greater_than_or_equal_to, has_length, not_none

from support.drivers.events import AuthFailed, ErrorClassified, ReconnectScheduled, TokenAcquired
from support.harness import observations, parameter_types
from support.harness.queries import Events, Records
from support.harness.waiting import check, holds_throughout
from support.services.records import AuthTokenRequested, GatewayConnectionOpened, TlsHandshake

parameter_types.register()

# The services' journals by the names scenarios use for them.
JOURNALS = {"auth service": "auth_journal", "gateway": "gateway_journal", "avatar service": "avatar_journal"}
CERTIFICATE_UNTRUSTED = "certificate_untrusted"


@given("the realtime services are running with encryption")
def services_running_encrypted(context: Context) -> None:
    """Checks that the mock services are running over TLS: sign-in at an https:// address, the realtime
    connection at a wss:// one, and a test certificate authority made for the run that clients can trust.
    """
    services = context.services
    check(services.loop.running, equal_to(True), what="whether the mock services are running")
    endpoints = services.endpoints
    check(
        (urlparse(endpoints.auth_url).scheme, urlparse(endpoints.gateway_url).scheme),
        equal_to(("https", "wss")),
        what="the kinds of address the services are at (sign-in, realtime)",
    )
    check(endpoints.ca_file, not_none(), what="the test certificate authority's certificate file")


@given("the gateway shows a certificate from an unknown authority")
def gateway_shows_impostor_certificate(context: Context) -> None:
    """Makes the gateway show, from now on in the scenario, a certificate for its own address issued by an
    authority that nobody trusts, as an impostor or a misconfigured server would.
    """
    context.services.gateway.show_untrusted_certificate()


@then("the client signed in and connected over encrypted connections")
def client_used_encryption(context: Context) -> None:
    """Checks that the client was given https:// and wss:// addresses, that the auth service saw a TLS
    handshake and a sign-in, and that every connection the gateway opened had a TLS handshake of its own.
    """
    services = context.services
    endpoints = services.endpoints
    check(
        (urlparse(endpoints.auth_url).scheme, urlparse(endpoints.gateway_url).scheme),
        equal_to(("https", "wss")),
        what="the kinds of address the client was given (sign-in, realtime)",
    )
    auth, gateway = Records(services.auth_journal), Records(services.gateway_journal)
    check(auth.count(TlsHandshake), greater_than_or_equal_to(1), what="TLS handshakes at the auth service")
    check(auth.count(AuthTokenRequested), greater_than_or_equal_to(1), what="sign-ins at the auth service")
    opened = gateway.count(GatewayConnectionOpened)
    check(opened, greater_than_or_equal_to(1), what="connections the gateway opened")
    handshakes = f"TLS handshakes at the gateway (it opened {opened} connection(s))"
    check(gateway.count(TlsHandshake), greater_than_or_equal_to(opened), what=handshakes)


# A refused certificate ends the TLS handshake before any request or session exists, so no service can
# journal it: the client's own report is the only place it shows (its attempts are counted by the next step).
@then(
    "the client gives up because the {who:Service}'s certificate is not trusted, which is not worth retrying"
)
def client_gives_up_on_certificate(context: Context, who: str) -> None:
    """Waits until the client gives up, and checks that it said a certificate is not trusted and classified
    that, once, as not worth retrying. For the auth service it must also have reported it as its one sign-in
    error; for the gateway it must have signed in first, so the refusal was the gateway's.
    """
    world = context.world
    world.await_state("failed", what="the client to give up")
    events = world.client.events()
    check(
        observations.final_reason(events),
        contains_string("certificate is not trusted"),
        what="why it gave up",
    )
    seen = Events(events)
    check(
        [(e.classification, e.retryable) for e in seen.of(ErrorClassified)],
        equal_to([(CERTIFICATE_UNTRUSTED, False)]),
        what="how the client classified what went wrong (classification, worth retrying)",
    )
    auth_errors = [(e.error, e.retryable) for e in seen.of(AuthFailed)]
    if who == "auth service":
        check(
            auth_errors,
            equal_to([(CERTIFICATE_UNTRUSTED, False)]),
            what="the sign-in errors the client reported (error, worth retrying)",
        )
    elif who == "gateway":
        check(auth_errors, equal_to([]), what="the sign-in errors the client reported")
        check(seen.of(TokenAcquired), has_length(1), what="the client's sign-ins")
    else:
        raise ValueError(f"unknown server {who!r}; say the auth service or the gateway")


@then("the client does not try the {server:Service} again")
def client_does_not_try_again(context: Context, server: str) -> None:
    """Checks that for a while (twice the longest retry pause) the named service ("auth service", "gateway"…)
    has seen exactly one TLS handshake from the client, and the client schedules no retry.
    """
    journal, client = getattr(context.services, JOURNALS[server]), context.world.client
    holds_throughout(
        lambda: (
            Records(journal).count(TlsHandshake),
            Events(client.events()).count(ReconnectScheduled),
        ),
        equal_to((1, 0)),
        during_s=2 * context.settings.backoff_max_ms / 1000,
        what=f"the {server} to see exactly one TLS handshake, and the client to schedule no retry",
    )
