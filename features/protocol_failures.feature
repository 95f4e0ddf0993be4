@allure.label.epic:Resilience @area.protocol_failures
Feature: Protocol failures
  When one side breaks the protocol's rules — a message too big for the other side, a frame that is not
  what it should be, a message of an unknown kind — the side at fault is told plainly, the client recovers
  on its own and nothing else breaks. The client and the gateway agree on a protocol version both speak,
  or part clearly when there is none; and messages arrive complete whether or not they are compressed.

  Background:
    Given the realtime services are running

  @critical @allure.label.story:Oversized_messages
  Scenario: A message too big for the gateway is refused; its sender is told, and nothing else breaks
    Given a client with a valid API key
    And another client is ready and subscribed to "orders"
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    When the application sends 2 messages on "orders"
    And the application sends a message too big for the gateway on "orders"
    And the application sends 2 messages on "orders"
    Then the client is told the message was too big for the gateway
    And the client becomes ready again
    And the client resumed the same session
    And the gateway received each of the 4 messages on "orders" exactly once
    And the other client receives every message sent on "orders", intact and in order
    And the client has no messages waiting for acknowledgement
    And the client never sends the message that was too big again
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

  @critical @allure.label.story:Oversized_messages
  Scenario: A message too big for the client is turned down; the client resumes and says what it missed
    Given a client with a valid API key
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    And the client has received some messages on "prices"
    When the server sends a message too big for the client on "prices"
    Then the client hangs up because "a message was too big"
    And the client becomes ready again
    And the client resumed the same session
    And the gateway does not send the message that was too big again
    And the client reports that one message is missing
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

  @critical @allure.label.story:Unusable_frames
  Scenario Outline: A frame the client cannot use is reported, and the client resumes without loss: <frame>
    Given a client with a valid API key
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    And the client has received some messages on "prices"
    When the server sends <frame> instead of a message
    Then the client reports a protocol error, saying "<what is wrong>"
    And the client hangs up because "<why it hangs up>"
    And the client becomes ready again
    And the client resumed the same session
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

    Examples:
      | frame                                 | what is wrong       | why it hangs up                           |
      | a binary frame                        | binary data         | a kind of data that cannot be accepted    |
      | a text frame that is not JSON         | not valid JSON      | a message whose data did not fit its kind |
      | JSON that is not an object            | not an object       | a message whose data did not fit its kind |
      | a message without its sequence number | needs 'seq'         | a protocol error                          |

  @normal @allure.label.story:Unknown_messages
  Scenario: Messages of a kind the client does not know are ignored, logged once, and the stream carries on
    Given a client with a valid API key
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    When the server sends 3 messages of a kind the client does not know
    Then the client ignores all 3, saying "unknown message type"
    And the client logged a single warning about them
    And the client never lost its connection
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

  @critical @allure.label.story:Protocol_versions
  Scenario Outline: The client and the gateway agree on the newest protocol version both speak: <agreed>
    Given the gateway speaks <versions>
    And a client with a valid API key
    And the client is ready and subscribed to "prices"
    When the server pushes 10 messages on "prices"
    Then the client receives messages 1 to 10 on "prices", each once and in order
    And the client and the gateway agreed on <agreed>

    Examples:
      | versions                | agreed    |
      | version 2 and version 1 | version 2 |
      | only version 1          | version 1 |

  @critical @allure.label.story:Protocol_versions
  Scenario: A gateway that speaks none of the client's protocol versions turns it away clearly, once
    Given the gateway speaks only version 3
    And a client with a valid API key
    When the client connects
    Then the client gives up, saying "no protocol version in common"
    And the gateway turns the client away, because it speaks none of the client's protocol versions
    And the client does not knock on the gateway again
    And the client never got a session

  @normal @allure.label.story:Compression
  Scenario Outline: Messages arrive complete and in order both ways, compressed or not: <gateway> and <client>
    Given the gateway <gateway> compression
    And a client with a valid API key that <client> compression
    And another client is ready and subscribed to "orders"
    And the client is ready and subscribed to "prices"
    When the server pushes 20 messages on "prices", some highly compressible and some not
    And the application sends 20 messages on "orders", some highly compressible and some not
    Then the client receives every message sent on "prices", intact and in order
    And the other client receives every message sent on "orders", intact and in order
    And the client's connection <was or was not> compressed

    Examples:
      | gateway | client         | was or was not |
      | accepts | offers         | was            |
      | accepts | does not offer | was not        |
      | refuses | offers         | was not        |
