@allure.label.epic:Observability @area.structured_logging
Feature: Structured logs that can be searched, traced across services and trusted with secrets
  Everything the client and the services write down is one JSON object per line: when (in UTC), how
  severe, who wrote it, what happened, which journey it belongs to, and its details. One correlation id
  follows a journey from the client through the auth service and the gateway, so a failure can be traced
  across all three. Secrets in the details never show, wherever they sit. How much is written depends on
  where the client runs, unless someone chooses otherwise.

  Background:
    Given the realtime services are running

  @critical @allure.label.story:Line_format
  Scenario: Every line is one JSON object with a time, a level, its writer, a message, a journey and details
    Given a client with a valid API key
    When the client connects
    Then the client becomes ready
    And the client, the auth service and the gateway each wrote log lines
    And every log line is one JSON object with a UTC time, a level, its writer, a message, a journey and details

  @critical @allure.label.story:Correlation
  Scenario: One correlation id follows a journey through the client, the auth service and the gateway
    Given a client with a valid API key
    When the client connects
    Then the client becomes ready
    When the network to the gateway goes down
    And the client notices the connection is lost
    And the network comes back
    Then the client becomes ready again
    And the client's, the auth service's and the gateway's log lines all carry the client's correlation id
    And the report's log shows the client's correlation id on each of those lines

  @normal @allure.label.story:Errors
  Scenario: An error is written with its name, its message and where it was raised
    When the client logs an error it ran into, with a password in the error's message
    Then the line shows the error's name, its message with the password redacted, and where it was raised

  @blocker @allure.label.story:Redaction
  Scenario Outline: A secret in a line's details is redacted wherever it sits: <secret> <where>
    When a line is logged with <secret>, <where>, among ordinary details
    Then the line shows the secret as redacted and every ordinary detail as it was
    And the secret itself is nowhere in the line

    Examples:
      | secret                  | where                    |
      | an API key              | at the top               |
      | a password              | two levels down          |
      | a token                 | in a list                |
      | an authorization header | two levels down          |
      | a client secret         | at the top               |
      | a card number           | at the top               |
      | a card number           | in a sentence            |
      | an API key              | in a link's query string |
      | a token                 | in a link's query string |

  @normal @allure.label.story:Levels_by_environment
  Scenario Outline: How much the client writes depends on where it runs: <environment>, at <level>
    Given a client with an API key the auth service does not recognise
    And the client logs for the <environment> environment, at <level>
    When the client connects
    Then the client ends up failed
    And the client's log holds lines at the <written> levels, and no others

    Examples:
      | environment | level              | written                 |
      | test        | its default level  | error                   |
      | production  | its default level  | warning and error       |
      | development | its default level  | info, warning and error |
      | production  | the info level     | info, warning and error |
      | test        | the warning level  | warning and error       |
