"""Steps about messages: subscribing, what the server pushes, what the application sends, and what
arrived where."""

from collections.abc import Callable, Sized

from behave import given, step, then
from behave.runner import Context
from hamcrest import equal_to, greater_than_or_equal_to, has_item, has_length

from support.drivers.events import MessageDelivered, PublishResent
from support.harness import observations, parameter_types
from support.harness.matchers import each_exactly_once, numbered_exactly_once_in_order
from support.harness.queries import Events, Records
from support.harness.waiting import check, wait_for
from support.services.records import GatewayPublishAccepted

parameter_types.register()

# Enough messages to show a stream is flowing, few enough to arrive in a fraction of a second.
SOME_MESSAGES = 5


@given('the client is ready and subscribed to "{channel}"')
def client_ready_and_subscribed(context: Context, channel: str) -> None:
    """Connects the client, waits until it is ready, then subscribes it to the channel and waits until the
    gateway confirms the subscription.
    """
    context.world.connect_and_subscribe(context.world.client, channel)


@given('the server is streaming messages on "{channel}"')
def server_is_streaming(context: Context, channel: str) -> None:
    """Starts the server streaming numbered messages on the channel, at the suite's stream rate, until it is
    told to stop.
    """
    context.services.gateway.start_stream(channel)


@step('the client subscribes to "{channel}"')
def client_subscribes(context: Context, channel: str) -> None:
    """Subscribes the client, already connected, to the channel too, and waits until the gateway confirms
    the subscription.
    """
    context.world.subscribe(context.world.client, channel)


@step("the server pushes {count:d} messages on {channels:Channels}")
def server_pushes(context: Context, count: int, channels: str | None) -> None:
    """Has the server publish that many messages, numbered from 1, on the channel named in quotes, or on
    each channel the scenario made up ("each channel").
    """
    for channel in context.world.crowd.channels if channels is None else [channels]:
        context.services.gateway.push(channel, count)


@step('the server streams messages on "{channel}" for a while')
def server_streams_for_a_while(context: Context, channel: str) -> None:
    """Streams numbered messages on the channel until the client has received at least 20 of them, then stops
    the stream.
    """
    context.services.gateway.start_stream(channel)
    client = context.world.client
    _at_least(
        context,
        4 * SOME_MESSAGES,
        lambda: observations.delivered_numbers(client.events(), channel),
        f"the stream on {channel!r} to reach the client",
    )
    context.world.messages.streamed[channel] = context.services.gateway.stop_stream(channel)


@step('the server stops streaming on "{channel}"')
def server_stops_streaming(context: Context, channel: str) -> None:
    """Stops the server's stream on the channel and remembers how many messages it sent."""
    context.world.messages.streamed[channel] = context.services.gateway.stop_stream(channel)


@given('the client has received some messages on "{channel}"')
def client_has_received_some(context: Context, channel: str) -> None:
    """Waits until the client has received at least 5 messages on the channel."""
    client = context.world.client
    _at_least(
        context,
        SOME_MESSAGES,
        lambda: observations.delivered_numbers(client.events(), channel),
        f"some messages to arrive on {channel!r}",
    )


def _at_least(context: Context, count: int, arrived: Callable[[], Sized], what: str) -> None:
    wait_for(
        arrived,
        has_length(greater_than_or_equal_to(count)),
        within_s=context.settings.wait_timeout_s,
        what=what,
    )


@then('the client receives {messages:Messages} on "{channel}", each once and in order')
def client_receives_numbered(context: Context, messages: int | None, channel: str) -> None:
    """Waits until the client has received messages 1 to N on the channel, or every message the server
    streamed on it (up to when the stream stopped), each exactly once and in order, and no others.
    """
    count = context.world.messages.streamed[channel] if messages is None else messages
    client = context.world.client
    wait_for(
        lambda: observations.delivered_numbers(client.events(), channel),
        numbered_exactly_once_in_order(count),
        within_s=context.settings.wait_timeout_s,
        what=f"all {count} messages on {channel!r} to arrive",
    )


@then('the client receives new messages on "{channel}"')
def client_receives_new(context: Context, channel: str) -> None:
    """Waits until the client receives at least 5 new messages on the channel after the network (or the
    gateway) came back.
    """
    client, since = context.world.client, context.world.since("network restored")
    _at_least(
        context,
        SOME_MESSAGES,
        lambda: Events(client.events()).of(MessageDelivered, since=since, channel=channel),
        f"new messages to arrive on {channel!r}",
    )


@step('the application sends {count:MessageCount} on "{channel}"')
def application_sends(context: Context, count: int, channel: str) -> None:
    """Has the application send that many messages ("a message", "5 messages") on the channel through the
    client; does not wait for them to arrive or be answered.
    """
    context.world.publish(channel, count)


@then('the gateway received each of the {count:d} messages on "{channel}" exactly once')
def gateway_received_each_once(context: Context, count: int, channel: str) -> None:
    """Checks that the application sent that many messages on the channel, and waits until the gateway has
    accepted each of them exactly once: none lost, none twice.
    """
    sent = context.world.messages.published.get(channel, [])
    check(sent, has_length(count), what=f"the messages the application sent on {channel!r}")
    journal = context.services.gateway_journal
    wait_for(
        lambda: [record.id for record in Records(journal).of(GatewayPublishAccepted, channel=channel)],
        each_exactly_once(sent),
        within_s=context.settings.wait_timeout_s,
        what=f"the gateway to receive the messages on {channel!r}",
    )


@then("the client has no messages waiting for acknowledgement")
def client_has_nothing_pending(context: Context) -> None:
    """Waits until the client has no messages left waiting for the gateway to acknowledge them."""
    client = context.world.client
    wait_for(
        lambda: client.pending,
        equal_to(0),
        within_s=context.settings.wait_timeout_s,
        what="every message to be acknowledged",
    )


@then("the client sent the {count:d} messages again")
def client_resent(context: Context, count: int) -> None:
    """Checks that exactly that many of the messages the application sent were sent again by the client."""
    resent = {event.id for event in Events(context.world.client.events()).of(PublishResent)}
    sent = [message_id for ids in context.world.messages.published.values() for message_id in ids]
    check(
        [message_id for message_id in sent if message_id in resent],
        has_length(count),
        what="the messages the client sent again",
    )


@then('the gateway still has the client subscribed to "{channel}"')
@then('the gateway has the client subscribed to "{channel}" again')
def gateway_has_subscription(context: Context, channel: str) -> None:
    """Waits until the gateway has the client's session subscribed to the channel."""
    client, services = context.world.client, context.services
    wait_for(
        lambda: services.gateway.subscriptions(client.session_id or ""),
        has_item(channel),
        within_s=context.settings.wait_timeout_s,
        what=f"the gateway to have the client's session subscribed to {channel!r}",
    )
