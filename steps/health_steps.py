"""Steps about health: what each service answers a monitor, and what the client says of itself and its
parts."""

from behave import then
from behave.runner import Context
from hamcrest import all_of, contains_string, equal_to, has_entries, has_entry, has_properties, not_none

from support.harness import observations, parameter_types
from support.harness.matchers import all_parts_up
from support.harness.waiting import wait_for

parameter_types.register()


@then("the {service:Service} reports itself {status:w}")
def service_reports(context: Context, service: str, status: str) -> None:
    """Waits until the service ("auth service", "gateway" or "avatar service") answers a health check with
    that status (up, degraded or down); a service that does not answer at all is down."""
    wait_for(
        lambda: context.services.health_of(service),
        has_properties(status=status),
        within_s=context.settings.wait_timeout_s,
        what=f"the {service} to report itself {status}",
    )


@then("the gateway reports itself degraded, because it cannot reach the revocation list")
def gateway_degraded_without_auth(context: Context) -> None:
    """Waits until the gateway's health check says it is degraded, with its revocation list check failing
    because the auth service cannot be reached."""
    wait_for(
        lambda: context.services.health_of("gateway"),
        has_properties(
            status="degraded",
            checks=has_entry("revocation list", contains_string("cannot be reached")),
        ),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to report itself degraded for want of the revocation list",
    )


@then("the client reports itself up, with its session and every part up")
def client_reports_up(context: Context) -> None:
    """Waits until the client says it is up: ready, with the session it has, and every part of it up."""
    client = context.world.client
    wait_for(
        lambda: dict(client.health()),
        all_of(
            has_entries(
                status="up", state="ready", session_id=all_of(not_none(), equal_to(client.session_id))
            ),
            all_parts_up(),
        ),
        within_s=context.settings.wait_timeout_s,
        what="the client to report itself up",
        seen=lambda health: observations.describe_health(health, client.events()),
    )


@then("the client reports itself degraded, its avatar on voice only because of the avatar service")
def client_reports_voice_only(context: Context) -> None:
    """Waits until the client says it is degraded, with its avatar degraded, on voice only, and the avatar
    service's failure as the avatar's last error; its realtime session is still ready."""
    wait_for(
        lambda: dict(context.world.client.health()),
        has_entries(
            status="degraded",
            state="ready",
            subsystems=has_entry(
                "avatar",
                has_entries(
                    status="degraded", mode="voice_only", last_error=contains_string("avatar service")
                ),
            ),
        ),
        within_s=context.settings.wait_timeout_s,
        what="the client to report itself degraded, on voice only",
        seen=lambda health: observations.describe_health(health, context.world.client.events()),
    )


@then("the client reports itself degraded, naming what went wrong")
def client_reports_degraded(context: Context) -> None:
    """Waits until the client says it is degraded and names the error behind it."""
    wait_for(
        lambda: dict(context.world.client.health()),
        has_entries(status="degraded", last_error=not_none()),
        within_s=context.settings.wait_timeout_s,
        what="the client to report itself degraded, saying why",
        seen=lambda health: observations.describe_health(health, context.world.client.events()),
    )
