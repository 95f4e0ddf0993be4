@allure.label.epic:Resilience @area.backoff
Feature: Reconnect with backoff
  When the connection keeps failing, the client waits longer and longer between retries, up to a cap, each
  pause a little random so that many clients dropped together do not come back together. After a connection
  that lasted, it retries at once; a link that keeps dropping does not fool it into hurrying. It gives up
  after its last allowed retry and says so, and the application can cut a pause short whenever it wants.

  Background:
    Given the realtime services are running

  @critical @allure.label.story:Backoff_schedule
  Scenario Outline: Pauses between retries grow <growth> times up to <cap> times the first pause, ± <jitter> %
    Given clients back off <growth> times more on each retry, up to <cap> times the first pause, give or take <jitter> percent
    And a client with a valid API key
    And the client is ready
    When the network to the gateway goes down
    Then the client's first <retries> retries each wait as the policy says, with the schedule in the report

    Examples:
      | growth | cap | jitter | retries |
      | 2      | 8   | 20     | 6       |
      | 1.5    | 4   | 50     | 7       |
      | 3      | 5   | 0      | 5       |

  @critical @allure.label.story:Backoff_reset
  Scenario: After a connection that lasted, the first retry comes at once
    Given a client with a valid API key
    And the client is ready
    When the network to the gateway goes down
    And the client has retried 3 times
    And the network comes back
    Then the client becomes ready again
    When the connection stays up for longer than the stable time
    And the network to the gateway goes down
    Then the client's first retry after the drop comes at once: counting started over

  @critical @allure.label.story:Backoff_reset
  Scenario: A link that keeps dropping before the connection is stable does not make the client hurry
    Given a client with a valid API key
    And the client is ready
    When the link starts dropping every connection soon after it is ready
    Then the client reconnects 4 times, each connection dropped before it counted as stable
    And the client's retries keep counting up, with pauses that grow

  @critical @allure.label.story:Retry_limit
  Scenario Outline: After its last allowed retry the client gives up, says so, and tries no more (<limit> retries)
    Given clients give up after <limit> retries
    And a client with a valid API key
    And the client is ready
    When the gateway goes away and does not come back
    Then the client gives up after <limit> retries, saying how many attempts it made and the last error
    And the client ends up failed
    And the client makes no further attempt to reach the gateway, however long we wait

    Examples:
      | limit |
      | 0     |
      | 3     |

  @normal @allure.label.story:No_lockstep
  Scenario: Clients dropped at the same moment do not come back in lockstep
    Given clients pause long enough between retries for their jitter to show
    And a crowd of clients, all ready
    When the network to the gateway goes down
    And every client of the crowd has retried 2 times, with their spread in the report
    Then their first 2 retries spread out as the jitter allows, not in lockstep

  @normal @allure.label.story:Connect_now
  Scenario: Asking the client to connect while it waits to retry makes it try at once
    Given clients pause a long time between retries
    And a client with a valid API key
    And the client is ready
    When the network to the gateway goes down
    And the client is waiting a long pause before its next retry
    And the network comes back
    And the application asks the client to connect again
    Then the client tries again at once, long before its pause is over
    And the client becomes ready again
