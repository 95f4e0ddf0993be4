@allure.label.epic:Client_coordination @area.coordination
Feature: The parts of the client work as one
  The client is made of parts (its sign-in, its session with the gateway, its logger, and more) that start
  in a fixed order, the sign-in first, and shut down in the reverse order, each cleaning up once. When
  something breaks mid-session, the client recovers as a whole: however many of its parts fail together,
  there is one recovery, one new sign-in and one report of what was lost.

  Background:
    Given the realtime services are running
    And a client with a valid API key

  @critical @smoke @allure.label.story:Start_up_order
  Scenario: The client starts its parts in order, the sign-in first, before it first connects
    When the client connects
    Then the client becomes ready
    And the client started its parts in this order, each once, before connecting:
      | part    |
      | auth    |
      | session |
      | logger  |
      | audio   |

  @critical @allure.label.story:Shutdown_order
  Scenario: Every part of the client is cleaned up once, in the reverse of the order they started in
    Given the client is ready and subscribed to "prices"
    When the application shuts the client down
    Then the client cleaned up each part once, in the reverse of the start-up order, while disconnecting
    And nothing of the client is left running

  @critical @allure.label.story:Recovery
  Scenario: A sign-in revoked mid-session is recovered from once, and the same session carries on without loss
    Given the client is ready and subscribed to "alerts"
    And the auth service is down
    When the client's sign-in is revoked and the gateway drops the client for it
    And the server pushes 5 messages on "alerts"
    And the auth service comes back
    Then the client becomes ready again
    And the client recovered once, from a failure of its sign-in
    And the client signed in again with its API key, just once
    And the client resumed the same session
    And the client receives messages 1 to 5 on "alerts", each once and in order

  @critical @allure.label.story:Cascading_failures
  Scenario: Sign-in, connection and session failing together lead to one coordinated recovery
    Given the client is ready and subscribed to "alerts"
    And the auth service is down
    When the client's sign-in is revoked and the gateway drops the client for it
    And the gateway forgets every session
    And the network to the gateway goes down
    And the auth service comes back
    And the client finds the gateway out of reach
    And the network comes back
    Then the client becomes ready again
    And the client reported its sign-in, its connection and its session failing together, to be recovered by a full restart
    And the client recovered once, from failures of its sign-in, its connection and its session
    And the client signed in again with its API key, just once
    And the client has a new session
    And the gateway started just one new session for the client
    And the client was told just once that continuity was lost, because "the session is unknown to the server"
    And the gateway has the client subscribed to "alerts" again
