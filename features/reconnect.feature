@allure.label.epic:Core_journeys @journey.reconnect
Feature: Reconnect with state preserved
  After the network comes back, the client carries on where it left off: the same session, the same
  subscriptions, every message the server sent in the meantime delivered once and in order, and every
  message the application sent while offline delivered once. When that is no longer possible, the
  client starts afresh and tells the application that continuity was lost — never silently.

  Background:
    Given the realtime services are running
    And a client with a valid API key
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"

  @critical @smoke @allure.label.story:Session_resume
  Scenario: After a short outage the same session resumes and nothing is lost
    Given the client has received some messages on "prices"
    When the network to the gateway goes down
    And the client notices the connection is lost
    And the network comes back
    Then the client becomes ready again
    And the client resumed the same session
    And the gateway still has the client subscribed to "prices"
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

  @critical @allure.label.story:Offline_messages
  Scenario: Messages the application sends while offline are delivered once
    When the network to the gateway goes down
    And the client notices the connection is lost
    And the application sends 5 messages on "orders"
    And the network comes back
    Then the client becomes ready again
    And the gateway received each of the 5 messages on "orders" exactly once
    And the client has no messages waiting for acknowledgement

  @critical @allure.label.story:Offline_messages
  Scenario: A message whose acknowledgement was lost is not delivered twice
    When the network silently stops delivering anything from the gateway
    And the application sends 3 messages on "orders"
    Then the gateway received each of the 3 messages on "orders" exactly once
    When the client's heartbeat notices the silent link
    And the network comes back
    Then the client becomes ready again
    And the client sent the 3 messages again
    And the gateway received each of the 3 messages on "orders" exactly once

  @critical @allure.label.story:Session_resume
  Scenario: After the resume window has passed, a fresh session is made and the loss is reported
    Given the client has received some messages on "prices"
    When the network to the gateway goes down
    And the gateway gives up waiting for the client to resume
    And the network comes back
    Then the client becomes ready again
    And the client has a new session
    And the client was told just once that continuity was lost, because "the resume window has passed"
    And the gateway has the client subscribed to "prices" again
    And the client receives new messages on "prices"
