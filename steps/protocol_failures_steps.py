"""Steps about protocol failures: messages too big for one side, frames the client cannot use, messages of
unknown kinds, protocol versions and compression."""

from behave import given, step, then
from behave.runner import Context
from hamcrest import (
    all_of,
    contains_string,
    equal_to,
    greater_than_or_equal_to,
    has_entries,
    has_item,
    has_length,
    not_none,
    only_contains,
)

from realtime_protocol import CloseCode, describe_close_code
from support.areas import protocol_failures as protocol
from support.drivers.events import (
    FrameIgnored,
    MessageGap,
    ProtocolNegotiated,
    PublishRefused,
    PublishResent,
    UnusableFrame,
)
from support.harness import observations, parameter_types
from support.harness.parameter_types import Worded
from support.harness.queries import Events, Records
from support.harness.waiting import check, holds_throughout, wait_for
from support.services.records import GatewayMessageDropped, GatewayProtocolAgreed

parameter_types.register()

OTHER_CLIENT = "the other client"
# Mixed payloads: big enough for compression to matter, small enough to stay under every size limit.
MIXED_PAYLOAD_CHARS = 4096

# -- setting the scene --------------------------------------------------------------------------------------


@given('another client is ready and subscribed to "{channel}"')
def other_client_ready_and_subscribed(context: Context, channel: str) -> None:
    """Creates a second client, of another made-up person, connects it and waits until it is ready and the
    gateway has confirmed its subscription to the channel.
    """
    world = context.world
    other = world.create_client(world.new_api_key(), name=OTHER_CLIENT)
    world.connect_and_subscribe(other, channel, whose="the other client's")


@given("the gateway speaks {versions:ProtocolVersions}")
def gateway_speaks(context: Context, versions: tuple[str, ...]) -> None:
    """Makes the gateway speak only the protocol versions named ("version 2 and version 1", "only version 1"),
    until the scenario ends; by default it speaks versions 2 and 1.
    """
    context.services.gateway.speak(versions)


@given("the gateway {accepts:GatewayCompression} compression")
def gateway_compression(context: Context, accepts: bool) -> None:
    """Makes the gateway accept compression when a client offers it ("accepts", the default) or turn it down
    ("refuses"), until the scenario ends.
    """
    context.services.gateway.accept_compression(accepts)


# -- what goes wrong ----------------------------------------------------------------------------------------


@step('the application sends a message too big for the gateway on "{channel}"')
def application_sends_oversized(context: Context, channel: str) -> None:
    """Has the application send one message on the channel that is bigger than the gateway accepts (the
    `gateway_max_message_bytes` setting); the moment is marked as the disruption.
    """
    world = context.world
    world.disrupt()
    payload = protocol.oversized(world.rng, context.settings.gateway_max_message_bytes)
    world.messages.oversized.append(world.client.publish(channel, payload))


@step('the server sends a message too big for the client on "{channel}"')
def server_sends_oversized(context: Context, channel: str) -> None:
    """Has the server publish one message on the channel that is bigger than clients accept (the
    `max_message_bytes` setting); the moment is marked as the disruption.
    """
    context.world.disrupt()
    limit = context.settings.max_message_bytes
    context.services.gateway.publish_too_big(channel, protocol.oversized(context.world.rng, limit), limit)


@step("the server sends {frame:UnusableFrame} instead of a message")
def server_sends_unusable_frame(context: Context, frame: Worded[str | bytes]) -> None:
    """Has the gateway send every connected client, as it is, a frame it cannot use: "a binary frame", "a text
    frame that is not JSON", "JSON that is not an object" or "a message without its sequence number"; the
    moment is marked as the disruption.
    """
    context.world.disrupt()
    sent_to = context.services.gateway.send_odd_frame(frame.value, frame.words)
    check(sent_to, equal_to(1), what="the number of clients the odd frame went to")


@step("the server sends {count:d} messages of a kind the client does not know")
def server_sends_unknown_kind(context: Context, count: int) -> None:
    """Has the gateway send every connected client that many messages of a type no version of the protocol
    has, as a newer gateway might.
    """
    context.world.disrupt()
    for _ in range(count):
        context.services.gateway.send_odd_frame(protocol.UNKNOWN_FRAME, "a message of an unknown kind")


@step('the server pushes {count:d} messages on "{channel}", some highly compressible and some not')
def server_pushes_mixed(context: Context, count: int, channel: str) -> None:
    """Has the server publish that many numbered messages of about 4 KB on the channel, alternately one phrase
    over and over (compresses well) and random data (does not compress).
    """
    payloads = protocol.mixed_payloads(context.world.rng, count, MIXED_PAYLOAD_CHARS)
    context.world.messages.sent_data.setdefault(channel, []).extend(payloads)
    context.services.gateway.push_data(channel, payloads)


@step('the application sends {count:d} messages on "{channel}", some highly compressible and some not')
def application_sends_mixed(context: Context, count: int, channel: str) -> None:
    """Has the application send that many numbered messages of about 4 KB on the channel, alternately one
    phrase over and over and random data; does not wait for them to arrive.
    """
    world = context.world
    world.publish_data(channel, protocol.mixed_payloads(world.rng, count, MIXED_PAYLOAD_CHARS))


# -- what the client and the gateway did about it -----------------------------------------------------------


@then("the client is told the message was too big for the gateway")
def client_told_too_big(context: Context) -> None:
    """Waits until the client reports the message that was too big for the gateway as refused for good, by its
    id, because it was too big.
    """
    world = context.world
    oversized = check(world.messages.oversized, has_length(1), what="the messages too big for the gateway")[0]
    refused = wait_for(
        lambda: [event.facts() for event in Events(world.client.events()).of(PublishRefused)],
        has_item(has_entries(id=oversized)),
        within_s=context.settings.wait_timeout_s,
        what="the client to report the message that was too big as refused",
    )
    check(refused, has_length(1), what="the messages the client reported refused")
    reported = Events(world.client.events()).of(PublishRefused)
    check(reported[0].code, equal_to("too_big"), what="why the client says the message was refused")


@then("the client never sends the message that was too big again")
def client_never_resends_oversized(context: Context) -> None:
    """Checks, for a while (twice the longest retry pause), that the client never sent the message that was
    too big again and that the gateway closed a connection over a message too big only once.
    """
    world, journal = context.world, context.services.gateway_journal
    too_big = describe_close_code(CloseCode.MESSAGE_TOO_BIG)

    def resent_and_closes() -> tuple[list[str], int]:
        resent = [event.id for event in Events(world.client.events()).of(PublishResent)]
        closes = protocol.closes_seen(journal.entries()).count(too_big)
        return [message_id for message_id in resent if message_id in world.messages.oversized], closes

    holds_throughout(
        resent_and_closes,
        equal_to(([], 1)),
        during_s=2 * context.settings.backoff_max_ms / 1000,
        what="the message that was too big never to be sent again (resent, and connections closed over it)",
    )


@then('{client} receives every message sent on "{channel}", intact and in order')
def receives_intact(context: Context, client: str, channel: str) -> None:
    """Waits until the client named ("the client" or "the other client") has received every message sent on
    the channel, each exactly as it was sent, once, in the order sent, and nothing else.
    """
    world = context.world
    driver = check(world.clients.get(client), not_none(), what=f"the client called {client!r}")
    expected = protocol.digests(world.messages.sent_data.get(channel, []))
    wait_for(
        lambda: protocol.digests(observations.delivered(driver.events(), channel)),
        equal_to(expected),
        within_s=context.settings.wait_timeout_s,
        what=f"{client} to receive all {len(expected)} messages sent on {channel!r}, intact and in order",
    )


@then('the client hangs up because "{words}"')
def client_hangs_up(context: Context, words: str) -> None:
    """Waits until the client closes the connection itself over what it received, with the close code whose
    meaning contains the words, as a failure worth retrying; and checks that the gateway saw that code.
    """
    world, within_s = context.world, context.settings.wait_timeout_s
    hang_ups = wait_for(
        lambda: protocol.own_hang_ups(world.client.events(), world.since("disruption")),
        has_length(greater_than_or_equal_to(1)),
        within_s=within_s,
        what="the client to close the connection itself",
    )
    check(
        [(describe_close_code(hang_up.close_code), hang_up.retryable) for hang_up in hang_ups],
        equal_to([(describe_close_code(hang_ups[0].close_code), True)]),
        what="how the client closed the connection (the close code, and whether it would retry)",
    )
    check(describe_close_code(hang_ups[0].close_code), contains_string(words), what="the client's close code")
    wait_for(
        lambda: protocol.closes_seen(context.services.gateway_journal.entries()),
        has_item(contains_string(words)),
        within_s=within_s,
        what=f"the gateway to see the client close the connection because {words}",
    )


@then("the gateway does not send the message that was too big again")
def gateway_drops_oversized(context: Context) -> None:
    """Waits until the gateway, when the client resumes, drops the message that was too big for the client
    instead of sending it again, and checks it dropped only that one.
    """
    journal = context.services.gateway_journal
    dropped = wait_for(
        lambda: Records(journal).of(GatewayMessageDropped),
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the gateway to drop the message that was too big for the client",
    )
    check(
        [record.reason for record in dropped],
        equal_to(["too big for the client"]),
        what="the messages the gateway dropped",
    )


@then("the client reports that one message is missing")
def client_reports_one_missing(context: Context) -> None:
    """Waits until the client reports one gap in the numbered messages it received, of exactly one message:
    the one the gateway dropped.
    """
    journal, client = context.services.gateway_journal, context.world.client
    dropped = [record.seq for record in Records(journal).of(GatewayMessageDropped)]
    check(dropped, has_length(1), what="the messages the gateway dropped")
    wait_for(
        lambda: [(event.expected, event.received) for event in Events(client.events()).of(MessageGap)],
        equal_to([(dropped[0], dropped[0] + 1)]),
        within_s=context.settings.wait_timeout_s,
        what="the client to report the one message it missed (as expected, received)",
    )


@then('the client reports a protocol error, saying "{words}"')
def client_reports_protocol_error(context: Context, words: str) -> None:
    """Waits until the client reports one protocol error about what the gateway sent, whose reason contains
    the words.
    """
    world = context.world
    errors = wait_for(
        lambda: Events(world.client.events()).of(UnusableFrame, since=world.since("disruption")),
        has_length(greater_than_or_equal_to(1)),
        within_s=context.settings.wait_timeout_s,
        what="the client to report a protocol error",
    )
    check(
        [event.reason for event in errors],
        all_of(has_length(1), only_contains(contains_string(words))),
        what="the protocol errors the client reported",
    )


@then('the client ignores all {count:d}, saying "{words}"')
def client_ignores(context: Context, count: int, words: str) -> None:
    """Waits until the client has reported ignoring that many frames, and checks that each reason contains the
    words.
    """
    world = context.world
    ignored = wait_for(
        lambda: Events(world.client.events()).of(FrameIgnored, since=world.since("disruption")),
        has_length(count),
        within_s=context.settings.wait_timeout_s,
        what=f"the client to ignore {count} frames",
    )
    check(
        [event.reason for event in ignored],
        only_contains(contains_string(words)),
        what="why the client ignored them",
    )


@then("the client logged a single warning about them")
def client_warned_once(context: Context) -> None:
    """Checks that the client's log holds exactly one warning about the frames it ignored (the rest are logged
    only at debug level).
    """
    check(
        protocol.warnings_about(context.world.logs.lines(), "ignored a frame"),
        has_length(1),
        what="the client's warnings about the frames it ignored",
    )


@then("the client and the gateway agreed on {version:ProtocolVersion}")
def agreed_on_version(context: Context, version: str) -> None:
    """Checks that the client reported speaking the named protocol version ("version 1") with the gateway, and
    that the gateway recorded the same.
    """
    negotiated = Events(context.world.client.events()).of(ProtocolNegotiated)
    agreed = Records(context.services.gateway_journal).of(GatewayProtocolAgreed)
    check(
        [protocol.version_in_words(event.subprotocol) for event in negotiated],
        equal_to([version]),
        what="the protocol version the client reported",
    )
    check(
        [protocol.version_in_words(record.subprotocol) for record in agreed],
        equal_to([version]),
        what="the protocol version the gateway recorded",
    )


@then("the client's connection {compressed:Compressed} compressed")
def connection_compressed(context: Context, compressed: bool) -> None:
    """Checks that the client reported its connection compressed ("was") or not ("was not"), and notes it for
    the scenario's story.
    """
    world = context.world
    negotiated = [event.compression for event in Events(world.client.events()).of(ProtocolNegotiated)]
    world.report.findings.append(
        f"Compression on the client's connection: {negotiated[-1] if negotiated else 'none'}"
    )
    check(
        [name is not None for name in negotiated],
        equal_to([compressed]),
        what="whether the client's connection was compressed",
    )
