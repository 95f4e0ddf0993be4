"""Steps of channel access (features/channel_access.feature): who may read and post on which channel."""

from behave import given, step, then
from behave.runner import Context
from hamcrest import (
    empty,
    equal_to,
    greater_than_or_equal_to,
    has_item,
    has_items,
    has_length,
)

from support.areas import channel_access
from support.drivers.events import PublishRefused, PublishResent, Subscribed
from support.harness import observations, parameter_types
from support.harness.matchers import each_exactly_once, no_problems
from support.harness.people import channel_names, read_grants
from support.harness.queries import Events, Records
from support.harness.waiting import check, wait_for
from support.services.records import (
    GatewayPublish,
    GatewayPublishAccepted,
    GatewayPublishRefused,
    GatewaySubscribeRefused,
)

parameter_types.register()

# -- reading and posting rights ----------------------------------------------------------------------------


@given("{people:d} people, each allowed to read some of {channels:d} channels")
def people_with_read_grants(context: Context, people: int, channels: int) -> None:
    """Makes up that many people and that many channels. Each person may read a random choice of the channels
    (drawn from the scenario's seed) and post on none; every channel has people who may read it and people
    who may not.
    """
    world = context.world
    world.crowd.channels = channel_names(channels)
    for grant in read_grants(people, world.crowd.channels, world.rng):
        person = world.new_person("subscriber", read=grant)
        world.crowd.people[person.name] = person


@given("everyone's client is ready")
def everyones_client_is_ready(context: Context) -> None:
    """Creates a client for each person made up so far, tells them all to connect at once, and waits until
    every one of them is ready.
    """
    world = context.world
    world.create_crowd(list(world.crowd.people.values()))
    world.crowd.connect()
    world.crowd.await_ready()


@step("everyone's client asks to follow every channel")
def everyone_follows_every_channel(context: Context) -> None:
    """Has every person's client subscribe to every channel, allowed or not, and waits until the gateway has
    answered each request: confirmed, or refused.
    """
    world = context.world
    for name in world.crowd.people:
        for channel in world.crowd.channels:
            world.clients[name].subscribe(channel)
    wanted = {name: len(world.crowd.channels) for name in world.crowd.people}
    wait_for(
        lambda: channel_access.still_in_flight(
            {
                name: channel_access.subscription_answers(events)
                for name, events in context.world.crowd.events().items()
            },
            wanted,
        ),
        no_problems("clients still waiting for answers"),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to answer every request to follow a channel",
    )


@then("everyone receives messages 1 to {count:d} of each channel they may read, each once and in order")
def everyone_receives_what_they_may_read(context: Context, count: int) -> None:
    """Waits until each person has received messages 1 to N of every channel they may read, each exactly once
    and in order.
    """
    world = context.world
    wait_for(
        lambda: channel_access.missing_deliveries(
            world.crowd.people, _deliveries(context), world.crowd.channels, count
        ),
        no_problems("problems"),
        within_s=context.settings.wait_timeout_s,
        what="every message to reach everyone allowed to read it",
    )


@then("no one receives a single message from a channel they may not read")
def no_one_receives_forbidden_messages(context: Context) -> None:
    """Waits until every client has received everything the gateway sent its session, then checks that no
    person received even one message from a channel they may not read (naming who got what, from where).
    """
    world = context.world
    sessions = {name: world.clients[name].session_id or "" for name in world.crowd.people}
    sent = context.services.gateway.messages_sent(list(sessions.values()))
    wait_for(
        lambda: channel_access.still_in_flight(
            {
                name: channel_access.highest_seq(events)
                for name, events in context.world.crowd.events().items()
            },
            {name: sent.get(session, 0) for name, session in sessions.items()},
        ),
        no_problems("clients still receiving"),
        within_s=context.settings.wait_timeout_s,
        what="everything the gateway sent to arrive",
    )
    check(
        channel_access.leaks(world.crowd.people, _deliveries(context)),
        no_problems("leaks"),
        what="what people received from channels they may not read",
    )


@then("the gateway refused every request to follow a channel that was not allowed")
def gateway_refused_forbidden_subscriptions(context: Context) -> None:
    """Checks that the gateway refused exactly the requests to follow a channel the person may not read, and
    holds no subscription to such a channel.
    """
    world = context.world
    person_of = {world.clients[name].session_id: name for name in world.crowd.people}
    journal = context.services.gateway_journal
    refused = {
        (person_of.get(record.session, "someone unknown"), record.channel)
        for record in Records(journal).of(GatewaySubscribeRefused)
    }
    forbidden = channel_access.forbidden_pairs(world.crowd.people, world.crowd.channels)
    check(refused, equal_to(forbidden), what="the requests the gateway refused (person, channel)")
    held = {
        (name, channel)
        for name in world.crowd.people
        for channel in context.services.gateway.subscriptions(world.clients[name].session_id or "")
    }
    check(held & forbidden, empty(), what="subscriptions the gateway holds to forbidden channels")


@given("a client signed in as a {profile:Profile}")
def client_signed_in_as(context: Context, profile: str) -> None:
    """Creates the client under test for a new person with the rights of a kind of account in
    fixtures/accounts.json: "member" (reads and posts everywhere), "reader" (reads everywhere, posts nowhere).
    """
    context.world.create_client(context.world.new_api_key(profile=profile))


@given('a {profile:Profile} is listening on "{channel}"')
def someone_listening(context: Context, profile: str, channel: str) -> None:
    """Creates a second client, "the <kind of account>", for a new person with those rights, connects it and
    waits until the gateway confirms its subscription to the channel.
    """
    world = context.world
    listener = world.create_client(world.new_api_key(profile=profile), name=f"the {profile}")
    listener.connect()
    listener.subscribe(channel)
    wait_for(
        lambda: [event.channel for event in Events(listener.events()).of(Subscribed)],
        has_item(channel),
        within_s=context.settings.wait_timeout_s,
        what=f"the {profile} to be listening on {channel!r}",
    )


@then('the gateway refuses the message, because the client may not post on "{channel}"')
def gateway_refuses_the_post(context: Context, channel: str) -> None:
    """Waits until the gateway records refusing each message the application sent on the channel, and checks
    that it accepted none of them.
    """
    sent, journal = context.world.messages.published.get(channel, []), context.services.gateway_journal
    wait_for(
        lambda: [record.id for record in Records(journal).of(GatewayPublishRefused, channel=channel)],
        has_items(*sent),
        within_s=context.settings.wait_timeout_s,
        what=f"the gateway to refuse the message on {channel!r}",
    )
    accepted = [record.id for record in Records(journal).of(GatewayPublishAccepted)]
    check(
        [message_id for message_id in sent if message_id in accepted], empty(), what="the messages accepted"
    )


@then("the client reports the message refused")
def client_reports_refused(context: Context) -> None:
    """Waits until the client tells the application that each message it sent was refused, as forbidden, with
    the channel and a reason.
    """
    client = context.world.client
    sent = [message_id for ids in context.world.messages.published.values() for message_id in ids]
    refused = wait_for(
        lambda: Events(client.events()).of(PublishRefused),
        has_length(len(sent)),
        within_s=context.settings.wait_timeout_s,
        what="the client to report the message refused",
    )
    check([event.id for event in refused], equal_to(sent), what="the messages reported refused")
    check(
        [(event.code, bool(event.reason)) for event in refused],
        equal_to([("forbidden", True)] * len(sent)),
        what="why each message was refused (code, and whether a reason was given)",
    )


@then('the {profile:Profile} receives messages 1 to {count:d} on "{channel}" and nothing else')
def listener_receives_only(context: Context, profile: str, count: int, channel: str) -> None:
    """Waits until the second client ("the <kind of account>") has received messages 1 to N on the channel,
    and checks that it received nothing else there: in particular no message another client was refused.
    """
    listener = context.world.clients[f"the {profile}"]
    expected = [{"n": number} for number in range(1, count + 1)]
    wait_for(
        lambda: observations.delivered_numbers(listener.events(), channel),
        has_length(greater_than_or_equal_to(count)),
        within_s=context.settings.wait_timeout_s,
        what=f"{count} messages to reach the {profile} on {channel!r}",
    )
    check(observations.delivered(listener.events(), channel), equal_to(expected), what="what it received")


@then("the client did not send the refused message again")
def refused_not_resent(context: Context) -> None:
    """Checks that the gateway saw each refused message exactly once, even across a reconnect, and that the
    client never resent it.
    """
    world, journal = context.world, context.services.gateway_journal
    sent = [message_id for ids in world.messages.published.values() for message_id in ids]
    seen = [record.id for record in Records(journal).of(GatewayPublish) if record.id in sent]
    check(seen, each_exactly_once(sent), what="how often the gateway saw each refused message")
    resent = [event.id for event in Events(world.client.events()).of(PublishResent)]
    check(resent, empty(), what="the messages the client sent again")


def _deliveries(context: Context) -> dict[str, dict[str, list[object]]]:
    return {name: channel_access.received(events) for name, events in context.world.crowd.events().items()}
