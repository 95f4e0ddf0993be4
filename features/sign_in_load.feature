@allure.label.epic:Access_security @area.sign_in_load
Feature: Signing in holds up under abuse and under a rush
  Someone trying key after wrong key is slowed down, and only they are: everyone else still gets in. And
  when hundreds of clients sign in at the same moment, every one of them gets in, with a session of its
  own; the report says how long it took.

  Background:
    Given the realtime services are running

  @critical @allure.label.story:Sign_in_throttling
  Scenario: A burst of failed sign-ins from one caller is throttled while other clients still get in
    Given a client with a valid API key
    When another caller makes twice the allowed number of sign-in attempts in a row, all with wrong keys
    Then that caller's attempts up to the limit are refused as unauthorised
    And its attempts after the limit are refused as too many requests, each with a pause to wait
    When the client connects
    Then the client becomes ready
    And the client was never asked to slow down
    And that caller is still refused as too many requests, even with a right key
    When that caller has waited the pause it was given
    Then that caller's right key is accepted again

  @normal @allure.label.story:Sign_in_rush
  Scenario: Hundreds of clients signing in at the same moment all get in, each with a session of its own
    Given a crowd of clients, each with a valid API key of its own
    When they all connect at the same moment
    And the rush settles, with its numbers in the report
    Then every one of them signed in and became ready
    And each of them has a session of its own
