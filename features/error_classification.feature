@allure.label.epic:Resilience @area.error_classification
Feature: Every failure is told apart and acted on
  Whatever stops the client from connecting, or ends its session, the client says what it was, whether it
  is worth trying again and how soon, and then does exactly that. A failure that asking again cannot fix
  (refused credentials, a broken rule, an untrusted certificate) ends in failure with no further attempt.
  One that may pass is retried, never sooner than the pause the gateway asked for, and after a longer
  pause when the gateway says it is overloaded.

  Background:
    Given the realtime services are running

  @critical @allure.label.story:Opening_failures
  Scenario Outline: The gateway cannot be reached: <what goes wrong>
    Given the client's first connection will fail because <what goes wrong>
    And a client with a valid API key
    When the client connects
    Then the client classifies it as <classification>, <worth retrying>
    And the client's earliest retry is <earliest retry>

    Examples:
      | what goes wrong                                           | classification     | worth retrying | earliest retry       |
      | nothing is listening at the gateway's address             | connection_refused | worth retrying | at once              |
      | the gateway's host takes the connection but never answers | timeout            | worth retrying | at once              |
      | the gateway's name does not exist                         | name_not_resolved  | worth retrying | after a longer pause |

  @critical @allure.label.story:Opening_failures
  Scenario Outline: The gateway turns the connection away: <what goes wrong>
    Given the client's first connection will fail because <what goes wrong>
    And a client with a valid API key
    When the client connects
    Then the client classifies it as <classification>, <worth retrying>
    And the client's earliest retry is <earliest retry>
    And the client ends up <in the end>

    Examples:
      | what goes wrong                                                   | classification | worth retrying     | earliest retry                   | in the end |
      | the gateway refuses the credentials                               | handshake_401  | not worth retrying | never                            | failed     |
      | the gateway forbids this user                                     | handshake_403  | not worth retrying | never                            | failed     |
      | the gateway says there are too many requests and asks for a pause | handshake_429  | worth retrying     | after the pause it was asked for | ready      |
      | the gateway fails with an internal error                          | handshake_500  | worth retrying     | at once                          | ready      |
      | a proxy in front of the gateway cannot reach it                   | handshake_502  | worth retrying     | at once                          | ready      |
      | the gateway is unavailable for the moment                         | handshake_503  | worth retrying     | after a longer pause             | ready      |

  @critical @allure.label.story:Session_endings
  Scenario Outline: The session ends because <what goes wrong>
    Given the client's first session will fail because <what goes wrong>
    And a client with a valid API key
    When the client connects
    Then the client classifies it as <classification>, <worth retrying>
    And the client's earliest retry is <earliest retry>
    And the client ends up <in the end>

    Examples:
      | what goes wrong                                          | classification     | worth retrying     | earliest retry       | in the end |
      | the gateway is going away                                | closed_1001        | worth retrying     | at once              | ready      |
      | the connection drops without a goodbye                   | connection_dropped | worth retrying     | at once              | ready      |
      | the gateway sees a protocol error                        | closed_1002        | not worth retrying | never                | failed     |
      | the gateway sees a breach of its policy                  | closed_1008        | not worth retrying | never                | failed     |
      | the gateway got a message too big to handle              | closed_1009        | worth retrying     | at once              | ready      |
      | the gateway hits an internal error                       | closed_1011        | worth retrying     | at once              | ready      |
      | the gateway is restarting                                | closed_1012        | worth retrying     | at once              | ready      |
      | the gateway says it is overloaded and to try again later | closed_1013        | worth retrying     | after a longer pause | ready      |
      | the gateway could not understand a message               | closed_4000        | not worth retrying | never                | failed     |
      | the client's access has expired                          | token_expired      | worth retrying     | at once              | ready      |
      | the user is no longer allowed in                         | closed_4003        | not worth retrying | never                | failed     |
      | a newer connection took the session over                 | closed_4009        | not worth retrying | never                | failed     |

  @blocker @fixture.services.tls @allure.label.story:Opening_failures
  Scenario: A gateway certificate the client cannot trust is not worth retrying
    Given the gateway shows a certificate from an unknown authority
    And a client with a valid API key
    When the client connects
    Then the client classifies it as certificate_untrusted, not worth retrying
    And the client's earliest retry is never
