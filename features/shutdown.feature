@allure.label.epic:Core_journeys @journey.shutdown
Feature: Graceful shutdown
  Shutting down is orderly on both sides. When the application stops the client, it cleans up in a
  fixed order, closes normally, flushes or reports what it had not yet delivered, never reconnects and
  leaves nothing running. When the gateway goes away for a restart, the client comes back to it and
  carries on without losing anything.

  Background:
    Given the realtime services are running
    And a client with a valid API key
    And the client is ready and subscribed to "prices"

  @critical @smoke @allure.label.story:Orderly_shutdown
  Scenario: The client shuts down in order and leaves nothing behind
    When the application shuts the client down
    Then the client reported, in this order:
      | step                 |
      | disconnecting        |
      | audio:cleanup        |
      | logger:cleanup       |
      | session:cleanup      |
      | auth:cleanup         |
      | disconnected         |
    And the gateway saw the client close normally
    And the client makes no attempt to reconnect afterwards
    And nothing of the client is left running

  @critical @allure.label.story:In_flight_messages
  Scenario: Messages still in flight are delivered before the client closes
    When the application sends 5 messages on "orders"
    And the application shuts the client down
    Then the gateway received each of the 5 messages on "orders" exactly once
    And the client reported no undelivered messages

  @normal @allure.label.story:In_flight_messages
  Scenario: Messages that cannot be delivered are reported at shutdown, not lost silently
    When the network to the gateway goes down
    And the client notices the connection is lost
    And the application sends 2 messages on "orders"
    And the application shuts the client down
    Then the client reported 2 undelivered messages
    And nothing of the client is left running

  @critical @fixture.services.fresh @allure.label.story:Server_restart
  Scenario: The gateway restarts gracefully and the client carries on without loss
    Given the server is streaming messages on "prices"
    And the client has received some messages on "prices"
    When the gateway shuts down for a restart, keeping its sessions
    Then the client is told the server is going away
    When the gateway comes back
    Then the client becomes ready again
    And the client resumed the same session
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order
