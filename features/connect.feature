@allure.label.epic:Core_journeys @journey.connect
Feature: Connect
  Connecting goes through its stages in a fixed order, each once, and ends with a live session on
  which the server's messages arrive.

  Background:
    Given the realtime services are running
    And a client with a valid API key

  @critical @smoke @allure.label.story:Connection_stages
  Scenario: Connecting goes through each stage once, in order
    When the client connects
    Then the client becomes ready
    And the client went through these stages in order, once each:
      | stage          |
      | connecting     |
      | authenticating |
      | connected      |
      | ready          |
    And the client has a session
    And the gateway knows the client's session

  @critical @allure.label.story:Message_delivery
  Scenario: Messages the server pushes arrive, each once and in order
    Given the client is ready and subscribed to "prices"
    When the server pushes 50 messages on "prices"
    Then the client receives messages 1 to 50 on "prices", each once and in order

  @normal @allure.label.story:Message_delivery
  Scenario: A ready client follows another channel too, and hears both
    Given the client is ready and subscribed to "prices"
    When the client subscribes to "alerts"
    And the server pushes 5 messages on "alerts"
    And the server pushes 5 messages on "prices"
    Then the client receives messages 1 to 5 on "alerts", each once and in order
    And the client receives messages 1 to 5 on "prices", each once and in order

  @normal @allure.label.story:Message_delivery
  Scenario: A live stream is delivered while the client is connected
    Given the client is ready and subscribed to "prices"
    When the server streams messages on "prices" for a while
    Then the client receives every streamed message on "prices", each once and in order

  @critical @allure.label.story:Access_renewal
  Scenario: The client renews its access before it runs out, without interrupting the session
    Given the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    When the client's access nears the end of its lifetime
    Then the client renewed its access in good time
    And the gateway accepted the renewed access on the live connection
    And the client never lost its connection
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order
