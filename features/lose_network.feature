@allure.label.epic:Core_journeys @journey.lose_network
Feature: Lose the network
  Networks fail in two ways: loudly (the connection is cut) and silently (bytes stop flowing but
  nothing closes). The client must notice both quickly, say it is reconnecting, and keep trying with
  growing pauses rather than hammering the server.

  Background:
    Given the realtime services are running
    And a client with a valid API key
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"

  @critical @smoke @allure.label.story:Cut_connection
  Scenario: A cut connection is noticed at once and retried with growing pauses
    When the network to the gateway goes down
    Then the client notices the connection is lost within the bound for a cut connection
    And the client says it is reconnecting
    And the client retries at least 4 times, with pauses that grow

  @critical @allure.label.story:Silent_link
  Scenario: A silent, half-open link is found out by the heartbeat
    When the network silently stops delivering anything from the gateway
    Then the client's heartbeat notices within the bound for a silent link
    And the client says it is reconnecting
