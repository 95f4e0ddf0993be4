@allure.label.epic:Client_coordination @area.configuration
Feature: The client's configuration changes while it runs
  An application can change how its client behaves without restarting it: how often it checks its
  connection, how many times it retries, when it renews its access, how much it logs. Each part of the
  client takes its own settings, says what changed, and the change takes effect at once. An update with
  anything wrong in it is refused as a whole, with the reason, and the client carries on as it was.

  Background:
    Given the realtime services are running
    And a client with a valid API key
    And the client is ready and subscribed to "alerts"

  @critical @allure.label.story:Updates_reach_every_part
  Scenario: One update reaches every part it names, and each part reports what changed
    When the application changes the client's configuration:
      | part    | setting            | to                |
      | auth    | refresh threshold  | 80 percent        |
      | session | heartbeat interval | 2 times the usual |
      | session | retry limit        | 5                 |
      | logging | level              | debug             |
      | audio   | sample rate        | 16000             |
      | audio   | buffer size        | 8192              |
    Then each part named in the update reported its changes once, with the values before and after
    And the client's configuration now holds the new values

  @normal @allure.label.story:Heartbeat_pace
  Scenario: A longer heartbeat interval changes how often the gateway hears from the client
    When the application sets the client's heartbeat interval to 3 times the usual
    Then the gateway hears the client's heartbeat every 3 usual intervals

  @normal @allure.label.story:Retry_limit
  Scenario: A lower retry limit makes the client give up sooner
    When the application sets the client's retry limit to 2
    And the network to the gateway goes down
    Then the client gives up after 2 retries

  @normal @allure.label.story:Renewal_threshold
  Scenario: A lower renewal threshold makes the client renew its access sooner
    When the application sets the client's refresh threshold to 50 percent
    Then the client renews its access once 50 percent of its lifetime has passed

  @minor @allure.label.story:Log_level
  Scenario: Turning the client's logging up to debug shows detail that was not logged before
    Given the client's log holds no debug detail from the client
    When the application sets the client's logging level to debug
    Then the client's log now holds debug detail from the client

  @critical @allure.label.story:Invalid_updates
  Scenario Outline: An update with <what is wrong> is refused as a whole, and the client carries on as it was
    When the application changes the client's configuration:
      | part   | setting   | to      |
      | session | retry limit | 5     |
      | <part> | <setting> | <value> |
    Then the update is refused, saying "<reason>"
    And the client reported the refusal once, with the same reason, and no change
    And the client's configuration is as it was
    And the gateway hears the client's heartbeat at the usual pace

    Examples:
      | what is wrong                              | part    | setting            | value               | reason                                 |
      | a negative heartbeat interval              | session | heartbeat interval | -1 times the usual  | must be positive                       |
      | a heartbeat interval given in words        | session | heartbeat interval | "fast"              | must be a whole number                 |
      | a renewal threshold past the token's end   | auth    | refresh threshold  | 150 percent         | must be between 0 and 1                |
      | a log level that does not exist            | logging | level              | chatty              | must be one of                         |
      | a setting the session does not have        | session | colour             | blue                | has no setting 'colour'                |
      | a part the client does not have            | video   | frame rate         | 30                  | has no part called 'video'             |
      | an audio sample rate no device uses        | audio   | sample rate        | 12345               | sample_rate must be one of             |
