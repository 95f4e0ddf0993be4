@allure.label.epic:Observability @area.health
Feature: Health of the services and the client
  Each service answers a monitor's question "how are you?" with up, degraded or down and the checks behind
  it, and so does the client, for itself and for each of its parts. Trouble shows as it happens, and so
  does its passing.

  Background:
    Given the realtime services are running

  @critical @smoke @allure.label.story:Service_health
  Scenario Outline: The <service> reports itself up when all is well
    Then the <service> reports itself up

    Examples:
      | service        |
      | auth service   |
      | gateway        |
      | avatar service |

  @critical @allure.label.story:Service_health
  Scenario: The gateway is degraded while it cannot reach the auth service, and up again after
    Given the auth service is down
    Then the auth service reports itself down
    And the gateway reports itself degraded, because it cannot reach the revocation list
    When the auth service comes back
    Then the gateway reports itself up

  @normal @allure.label.story:Service_health
  Scenario Outline: The avatar service reports itself <health> while it is <trouble>
    Given the avatar service is <trouble>
    Then the avatar service reports itself <health>
    When the avatar service works normally again
    Then the avatar service reports itself up

    Examples:
      | trouble            | health   |
      | unavailable        | down     |
      | too slow to answer | degraded |

  @critical @allure.label.story:Client_health
  Scenario: A ready client with an avatar is healthy, and so is each of its parts
    Given a client with a valid API key that can show an avatar
    And the client is ready and subscribed to "prices"
    And the client has started the avatar "Anna_public"
    Then the client reports itself up, with its session and every part up

  @critical @allure.label.story:Client_health
  Scenario: The client is degraded, on voice only, while the avatar service is down, and healthy again after
    Given a client with a valid API key that can show an avatar
    And the client is ready and subscribed to "prices"
    And the client has started the avatar "Anna_public"
    When the avatar service is unavailable
    And the client starts speaking with the voice "warm_narrator"
    Then the client reports itself degraded, its avatar on voice only because of the avatar service
    When the avatar service works normally again
    And the client starts the avatar "Anna_public" in high quality with a transparent background
    Then the client reports itself up, with its session and every part up

  @normal @allure.label.story:Client_health
  Scenario: A client that lost its connection is degraded until it is ready again
    Given a client with a valid API key
    And the client is ready and subscribed to "prices"
    When the network to the gateway goes down
    And the client notices the connection is lost
    Then the client reports itself degraded, naming what went wrong
    When the network comes back
    Then the client becomes ready again
    And the client reports itself up, with its session and every part up
