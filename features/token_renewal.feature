@allure.label.epic:Access_security @area.token_renewal
Feature: Access is renewed safely
  An access token lasts minutes; a session lasts hours. The client renews its access in the background
  with a refresh token that works only once. It never asks for the same renewal twice at the same time,
  and when renewal is refused it says it has to sign in again instead of asking over and over.

  Background:
    Given the realtime services are running
    And a client with a valid API key

  @blocker @allure.label.story:Refresh_token_rotation
  Scenario: A refresh token works once; showing a spent one again ends the whole sign-in
    Given the client is ready and subscribed to "alerts"
    When the client's access nears the end of its lifetime
    Then the auth service gave the client a new refresh token in exchange for the old one
    When someone presents the client's spent refresh token again
    Then the auth service refuses it, saying "The refresh token has already been used"
    And the auth service no longer accepts the client's current refresh token either
    And the client reports that its access has ended and it must sign in again
    And the client signed in again with its API key, just once
    And the client never lost its connection

  @critical @allure.label.story:One_renewal_at_a_time
  Scenario Outline: <callers> parts of the client needing fresh access at once cause a single renewal
    Given the client is ready and subscribed to "alerts"
    When <callers> parts of the client have their access refused at the same moment and ask for fresh access
    Then the auth service was asked to renew the client's access just once
    And all <callers> of them were given the same fresh access

    Examples:
      | callers |
      | 2       |
      | 10      |
      | 50      |

  @critical @allure.label.story:Renewal_refused
  Scenario: A refused renewal is reported once, and the client signs in again instead of asking again
    Given the client is ready and subscribed to "alerts"
    And the auth service will answer the next renewal request with a refusal of the refresh token
    Then the client reports that its access has ended and it must sign in again
    And the client reported one auth error: 401, invalid_grant, not worth retrying
    And the client signed in again with its API key, just once
    And the client never lost its connection

  @critical @allure.label.story:Expiry_during_a_session
  Scenario: Access that runs out mid-session is renewed once, and the same session carries on without loss
    Given the client is ready and subscribed to "alerts"
    And the auth service is down
    When the client's access runs out and the gateway closes the connection for it
    And the server pushes 5 messages on "alerts"
    And the auth service comes back
    Then the client becomes ready again
    And the client resumed the same session
    And the client receives messages 1 to 5 on "alerts", each once and in order
    And the client renewed its access just once

  @critical @allure.label.story:Expiry_while_offline
  Scenario: Access that runs out while the client is offline is renewed on its way back, and the session carries on
    Given the client is ready and subscribed to "alerts"
    When the network to the gateway goes down
    And the client's access runs out while it is offline
    And the network comes back
    Then the client becomes ready again
    And the client resumed the same session

  @critical @allure.label.story:Expiry_during_a_session
  Scenario: Access that runs out mid-session and cannot be renewed ends in failure, with the reason
    Given the client is ready and subscribed to "alerts"
    When the client's account is closed at the auth service
    And the client's access runs out and the gateway closes the connection for it
    Then the client gives up, saying "The API key is not recognised"

