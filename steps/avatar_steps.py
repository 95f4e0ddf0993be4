"""Steps about the avatar: starting it at the avatar service, having it follow the voice, falling back to
voice only when the avatar service is in trouble, and closing it at shutdown."""

from behave import given, step, then
from behave.runner import Context
from hamcrest import (
    all_of,
    equal_to,
    has_entries,
    has_length,
    has_properties,
    instance_of,
    is_not,
    not_none,
    starts_with,
)

from support.areas.avatar import AvatarTrouble, avatar_events, cause_trouble, session_at_service
from support.drivers.events import (
    AvatarSessionCleanup,
    AvatarSessionCreated,
    AvatarSessionError,
    ConnectionLost,
    VoiceCoordination,
)
from support.harness import observations, parameter_types
from support.harness.queries import Events
from support.harness.waiting import check, wait_for

parameter_types.register()


@step(
    'the client starts the avatar "{avatar}" in {quality:AvatarQuality} quality '
    "with a {background} background"
)
def client_starts_avatar(context: Context, avatar: str, quality: str, background: str) -> None:
    """Has the client start an avatar session at the avatar service (quality: low, medium or high); returns
    when the client has its answer, or has given up on it."""
    context.world.mark("avatar asked for")
    context.world.client.start_avatar(avatar, quality, background)


@given('the client has started the avatar "{avatar}"')
def client_has_started_avatar(context: Context, avatar: str) -> None:
    """Has the client start an avatar session (medium quality, transparent background) and checks that it
    did."""
    created = context.world.client.start_avatar(avatar, "medium", "transparent")
    check(
        created, has_entries(avatar_id=avatar, status="active"), what="the avatar session the client started"
    )


@then('the client reports a live avatar session for "{avatar}" with a stream to watch')
def client_reports_avatar_session(context: Context, avatar: str) -> None:
    """Checks that, since it was last asked to start the avatar, the client reported one avatar session
    created: for that avatar, active, with a session id and a stream address."""
    created = avatar_events(
        context.world.client.events(), AvatarSessionCreated, context.world.since("avatar asked for")
    )
    check(created, has_length(1), what="the avatar sessions the client reported created")
    check(
        created[0].facts(),
        has_entries(
            avatar_id=avatar,
            status="active",
            session_id=all_of(instance_of(str), is_not(equal_to(""))),
            stream_url=starts_with("ws"),
        ),
        what="the avatar session the client reported",
    )


@then(
    "the avatar service has that session live in {quality:AvatarQuality} quality "
    "with a {background} background"
)
def service_has_session(context: Context, quality: str, background: str) -> None:
    """Checks that the avatar service knows the session the client reported, live, in that quality and with
    that background."""
    created = avatar_events(context.world.client.events(), AvatarSessionCreated)[-1]
    check(
        session_at_service(context.services, created.session_id),
        has_properties(status="active", quality=quality, background=background),
        what="the avatar service's record of the client's avatar session",
    )


@step('the client starts speaking with the voice "{voice}"')
def client_starts_speaking(context: Context, voice: str) -> None:
    """Has the client's voice start speaking with that voice; returns once the avatar, if any, has followed
    or given up."""
    context.world.client.start_speaking(voice)


@step("the client stops speaking")
def client_stops_speaking(context: Context) -> None:
    """Has the client's voice stop speaking; returns once the avatar, if any, has followed or given up."""
    context.world.mark("stopped speaking")
    context.world.client.stop_speaking()


@then('the client reports the avatar speaking in sync with the voice "{voice}"')
def client_reports_speaking(context: Context, voice: str) -> None:
    """Checks that the client reported coordinating its avatar with the voice: its avatar session, that
    voice, speaking, with sync required."""
    coordination = avatar_events(context.world.client.events(), VoiceCoordination)
    check(coordination, has_length(1), what="the voice coordinations the client reported")
    check(
        coordination[0].facts(),
        has_entries(
            avatar_session_id=_avatar_session_id(context), voice_id=voice, speaking=True, sync_required=True
        ),
        what="the voice coordination the client reported",
    )


@then("the client reports the avatar no longer speaking")
def client_reports_silent(context: Context) -> None:
    """Checks that after the voice stopped, the client reported its avatar coordinated to stop speaking."""
    since = context.world.since("stopped speaking")
    coordination = avatar_events(context.world.client.events(), VoiceCoordination, since)
    check(
        [event.speaking for event in coordination],
        equal_to([False]),
        what="whether the avatar was told to speak, after the voice stopped",
    )


@then("the avatar service shows the avatar {doing:AvatarActivity}")
def service_shows_activity(context: Context, doing: dict[str, object]) -> None:
    """Checks that the avatar service has the client's avatar doing that: 'speaking in sync with the voice
    "<voice>"' (speaking, in sync, with that voice) or "silent" (not speaking, the session still active)."""
    check(
        session_at_service(context.services, _avatar_session_id(context)),
        has_properties(**doing),
        what="the avatar service's record of the client's avatar",
    )


@step("the avatar service is {trouble:AvatarTrouble}")
def avatar_service_in_trouble(context: Context, trouble: AvatarTrouble) -> None:
    """Makes the avatar service misbehave until it works normally again: "unavailable" (every call answered
    503) or "too slow to answer" (every answer comes well after the client stops waiting)."""
    context.world.disrupt()
    cause_trouble(context.services, trouble, context.settings)


@step("the avatar service works normally again")
def avatar_service_recovers(context: Context) -> None:
    """Lifts the avatar service's trouble: it answers promptly and normally again."""
    context.services.avatar.recover()


@then("the client reports an avatar error it can recover from, falling back to voice only")
def client_reports_avatar_error(context: Context) -> None:
    """Checks that since the trouble began the client reported one avatar error, saying it can be recovered
    from and that the client goes on with voice only."""
    errors = avatar_events(
        context.world.client.events(), AvatarSessionError, context.world.since("disruption")
    )
    check(errors, has_length(1), what="the avatar errors the client reported")
    check(
        errors[0].facts(),
        has_entries(recoverable=True, fallback="voice_only", error=not_none()),
        what="the avatar error the client reported",
    )


@then("the client is still ready with the same session")
def client_still_ready(context: Context) -> None:
    """Checks that the client is ready, in the session it had before the trouble, and never lost its
    connection in between."""
    world = context.world
    check(
        world.client.state,
        equal_to("ready"),
        what="the client's state",
        seen=lambda state: observations.describe_client(world.client.events(), state),
    )
    check(world.client.session_id, equal_to(world.faults.session_before), what="the client's session")
    lost = Events(world.client.events()).of(ConnectionLost, since=world.since("disruption"))
    check(lost, has_length(0), what="the connections the client lost")


@then("the avatar service has the avatar session closed, saying why")
def service_has_session_closed(context: Context) -> None:
    """Waits until the avatar service has the client's avatar session closed, with the reason the client
    gave."""
    session_id = _avatar_session_id(context)
    wait_for(
        lambda: session_at_service(context.services, session_id),
        has_properties(
            status="closed", close_reason=all_of(instance_of(str), is_not(equal_to("unspecified")))
        ),
        within_s=context.settings.wait_timeout_s,
        what="the avatar service to have the client's avatar session closed, with a reason",
    )


@then("the client reported its avatar cleaned up once")
def client_reported_avatar_cleanup(context: Context) -> None:
    """Checks that the client reported cleaning up its avatar exactly once, naming the avatar session, and
    that the avatar service confirmed it closed."""
    cleanups = avatar_events(context.world.client.events(), AvatarSessionCleanup)
    check(cleanups, has_length(1), what="the avatar clean-ups the client reported")
    check(
        cleanups[0].facts(),
        has_entries(session_id=_avatar_session_id(context), closed_at_service=True),
        what="the avatar clean-up the client reported",
    )


def _avatar_session_id(context: Context) -> str:
    created = avatar_events(context.world.client.events(), AvatarSessionCreated)
    check(created, is_not(has_length(0)), what="the avatar sessions the client reported created")
    return str(created[-1].session_id)
