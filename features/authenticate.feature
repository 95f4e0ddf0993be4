@allure.label.epic:Core_journeys @journey.authenticate
Feature: Authenticate
  Before it can talk in realtime, the client exchanges its API key for access at the auth service.
  A key that is wrong must fail at once and clearly; an auth service that is briefly unwell must not
  stop the client from getting in.

  Background:
    Given the realtime services are running

  @critical @smoke @allure.label.story:Sign_in
  Scenario: A valid API key yields a session
    Given a client with a valid API key
    When the client connects
    Then the client becomes ready
    And the client has a session
    And the client was given an access token

  @critical @allure.label.story:Sign_in
  Scenario: An API key the auth service does not know fails at once, with a clear reason
    Given a client with an API key the auth service does not recognise
    When the client connects
    Then the client gives up, saying "The API key is not recognised"
    And the client asked the auth service for access only once
    And the client never reached the gateway

  @normal @allure.label.story:Auth_service_trouble
  Scenario Outline: A brief auth outage (<trouble>) is retried until the service recovers
    Given a client with a valid API key
    And the auth service will answer the next <failures> sign-in requests with <trouble>
    When the client connects
    Then the client becomes ready
    And the client asked the auth service for access <attempts> times
    And the client reported <failures> auth errors, each marked as worth retrying

    Examples:
      | trouble                 | failures | attempts |
      | a server error          | 1        | 2        |
      | a server error          | 3        | 4        |
      | service unavailable     | 2        | 3        |
      | a reply that comes late | 1        | 2        |

  @normal @allure.label.story:Auth_service_trouble
  Scenario: When the auth service says "too many requests", the client waits as long as it was asked
    Given a client with a valid API key
    And the auth service will answer the next sign-in request with too many requests, asking for a pause
    When the client connects
    Then the client becomes ready
    And the client waited at least the requested pause before asking again
