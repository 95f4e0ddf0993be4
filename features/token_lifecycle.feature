@allure.label.epic:Access_security @area.token_lifecycle
Feature: Sign-in failures are told apart
  When the auth service does not hand out access, the client must say exactly what went wrong and act
  on it: a key that is refused will not get better by asking again, while an overloaded or briefly
  unwell service, or one that answers too late, is worth asking again after a pause.

  Background:
    Given the realtime services are running
    And a client with a valid API key

  @critical @allure.label.story:Sign_in_failure_classes
  Scenario Outline: The client reports <trouble> as <status>, <error>, <retryable>
    Given the auth service will answer the next sign-in request with <trouble>
    When the client connects
    Then the client reported one auth error: <status>, <error>, <retryable>
    And the client ends up <outcome>
    And the client asked the auth service for access <attempts> times

    Examples:
      | trouble                               | status | error                   | retryable          | outcome | attempts |
      | a refusal of the key                  | 401    | invalid_client          | not worth retrying | failed  | 1        |
      | too many requests, asking for a pause | 429    | rate_limited            | worth retrying     | ready   | 2        |
      | a server error                        | 500    | server_error            | worth retrying     | ready   | 2        |
      | service unavailable                   | 503    | temporarily_unavailable | worth retrying     | ready   | 2        |
      | a reply that comes late               | none   | timeout                 | worth retrying     | ready   | 2        |
