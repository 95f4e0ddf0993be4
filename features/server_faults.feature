@allure.label.epic:Resilience @area.server_faults
Feature: Server faults
  When the gateway restarts, with a warning or killed without one, or is updated one node at a time behind a
  load balancer, a crowd of clients each receiving a stream comes back: almost all of them, soon, each to the
  session it had, with every message of its stream once and in order. The limits are those of production,
  stated in production seconds; the suite runs them on its own, faster, time scale.

  Background:
    Given the realtime services are running
    And a crowd of clients, each ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    And every client of the crowd has received some messages on "prices"

  @critical @allure.label.story:Server_restart
  Scenario Outline: The gateway restarts <restart> and the crowd comes back without loss
    When the gateway restarts <restart>
    Then every client of the crowd lost its connection because <reason>
    And the crowd settles, with each client's downtime in the report
    And at least <reconnected> of the crowd reconnected
    And their average downtime was under <downtime> seconds of production time
    When the server stops streaming on "prices"
    Then each client that came back resumed its own session and received every streamed message on "prices", each once and in order

    Examples:
      | restart                                           | reason                                       | reconnected | downtime |
      | with a warning that the service is restarting     | the service is restarting                    | 95%         | 10       |
      | with a warning that it is going away              | the server is going away                     | 95%         | 10       |
      | at once, its process killed without a close frame | the connection dropped without a close frame | 95%         | 10       |

  @critical @fixture.services.two_gateways @allure.label.story:Rolling_update
  Scenario Outline: A rolling update across two gateway nodes moves the crowd without loss, warning that <warning>
    When gateway node A is taken out for an update, warning its clients that <warning>
    Then every client of the crowd lost its connection because <warning>
    And the crowd settles on gateway node B, with each client's downtime in the report
    And at least <reconnected> of the crowd reconnected
    And their average downtime was under <downtime> seconds of production time
    When gateway node A is back, updated
    And gateway node B is taken out for an update, warning its clients that <warning>
    Then every client of the crowd lost its connection because <warning>
    And the crowd settles on gateway node A, with each client's downtime in the report
    And at least <reconnected> of the crowd reconnected
    And their average downtime was under <downtime> seconds of production time
    When gateway node B is back, updated
    And the server stops streaming on "prices"
    Then each client that came back resumed its own session and received every streamed message on "prices", each once and in order

    Examples:
      | warning                   | reconnected | downtime |
      | the service is restarting | 90%         | 5        |
      | the server is going away  | 90%         | 5        |
