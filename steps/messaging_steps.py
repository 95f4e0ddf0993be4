"""Steps about messages: subscribing, what the server pushes, what the application sends, and what
arrived where."""

from behave import given, then, when
from behave.runner import Context
from hamcrest import equal_to, greater_than_or_equal_to, has_item, has_length

from support import observations
from support.matchers import each_exactly_once, numbered_exactly_once_in_order
from support.waiting import check, wait_for

# Enough messages to show a stream is flowing, few enough to arrive in a fraction of a second.
SOME_MESSAGES = 5


@given('the client is ready and subscribed to "{channel}"')
def client_ready_and_subscribed(context: Context, channel: str) -> None:
    client, within_s = context.world.client, context.settings.wait_timeout_s
    client.connect()
    context.world.await_state("ready", what="the client to be ready")
    client.subscribe(channel)
    wait_for(
        lambda: [event.data.get("channel") for event in observations.named(client.events(), "subscribed")],
        has_item(channel),
        within_s=within_s,
        what=f"the gateway to confirm the subscription to {channel!r}",
    )


@given('the server is streaming messages on "{channel}"')
def server_is_streaming(context: Context, channel: str) -> None:
    context.services.start_stream(channel)


@when('the server pushes {count:d} messages on "{channel}"')
def server_pushes(context: Context, count: int, channel: str) -> None:
    context.services.push(channel, count)


@when('the server streams messages on "{channel}" for a while')
def server_streams_for_a_while(context: Context, channel: str) -> None:
    context.services.start_stream(channel)
    client = context.world.client
    wait_for(
        lambda: observations.delivered_numbers(client.events(), channel),
        has_length(greater_than_or_equal_to(4 * SOME_MESSAGES)),
        within_s=context.settings.wait_timeout_s,
        what=f"the stream on {channel!r} to reach the client",
    )
    context.world.streamed[channel] = context.services.stop_stream(channel)


@when('the server stops streaming on "{channel}"')
def server_stops_streaming(context: Context, channel: str) -> None:
    context.world.streamed[channel] = context.services.stop_stream(channel)


@given('the client has received some messages on "{channel}"')
def client_has_received_some(context: Context, channel: str) -> None:
    client = context.world.client
    wait_for(
        lambda: observations.delivered_numbers(client.events(), channel),
        has_length(greater_than_or_equal_to(SOME_MESSAGES)),
        within_s=context.settings.wait_timeout_s,
        what=f"some messages to arrive on {channel!r}",
    )


@then('the client receives messages 1 to {count:d} on "{channel}", each once and in order')
def client_receives_numbered(context: Context, count: int, channel: str) -> None:
    _receives_exactly(context, channel, count)


@then('the client receives every streamed message on "{channel}", each once and in order')
def client_receives_whole_stream(context: Context, channel: str) -> None:
    _receives_exactly(context, channel, context.world.streamed[channel])


def _receives_exactly(context: Context, channel: str, count: int) -> None:
    client = context.world.client
    wait_for(
        lambda: observations.delivered_numbers(client.events(), channel),
        numbered_exactly_once_in_order(count),
        within_s=context.settings.wait_timeout_s,
        what=f"all {count} messages on {channel!r} to arrive",
    )


@then('the client receives new messages on "{channel}"')
def client_receives_new(context: Context, channel: str) -> None:
    client, since = context.world.client, context.world.since("network restored")
    wait_for(
        lambda: [
            e
            for e in observations.named_since(client.events(), "message", since)
            if e.data.get("channel") == channel
        ],
        has_length(greater_than_or_equal_to(SOME_MESSAGES)),
        within_s=context.settings.wait_timeout_s,
        what=f"new messages to arrive on {channel!r}",
    )


@when('the application sends {count:d} messages on "{channel}"')
def application_sends(context: Context, count: int, channel: str) -> None:
    context.world.publish(channel, count)


@then('the gateway received each of the {count:d} messages on "{channel}" exactly once')
def gateway_received_each_once(context: Context, count: int, channel: str) -> None:
    sent = context.world.published.get(channel, [])
    check(sent, has_length(count), what=f"the messages the application sent on {channel!r}")
    journal = context.services.gateway_journal
    wait_for(
        lambda: [entry.detail["id"] for entry in journal.entries("publish accepted", channel=channel)],
        each_exactly_once(sent),
        within_s=context.settings.wait_timeout_s,
        what=f"the gateway to receive the messages on {channel!r}",
    )


@then("the client has no messages waiting for acknowledgement")
def client_has_nothing_pending(context: Context) -> None:
    client = context.world.client
    wait_for(
        lambda: client.pending,
        equal_to(0),
        within_s=context.settings.wait_timeout_s,
        what="every message to be acknowledged",
    )


@then("the client sent the {count:d} messages again")
def client_resent(context: Context, count: int) -> None:
    resent = {
        event.data.get("id") for event in observations.named(context.world.client.events(), "publish:resent")
    }
    sent = [message_id for ids in context.world.published.values() for message_id in ids]
    check(
        [message_id for message_id in sent if message_id in resent],
        has_length(count),
        what="the messages the client sent again",
    )


@then('the gateway still has the client subscribed to "{channel}"')
@then('the gateway has the client subscribed to "{channel}" again')
def gateway_has_subscription(context: Context, channel: str) -> None:
    client, services = context.world.client, context.services
    wait_for(
        lambda: services.gateway_subscriptions(client.session_id or ""),
        has_item(channel),
        within_s=context.settings.wait_timeout_s,
        what=f"the gateway to have the client's session subscribed to {channel!r}",
    )
