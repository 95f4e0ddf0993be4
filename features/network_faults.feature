@allure.label.epic:Resilience @area.network_faults
Feature: Come through network faults without losing a message
  Real networks do more than go down: they blip, stay down for a while, flap on and off, slow down, throttle,
  go silent without closing, reset connections, cut them after a few bytes, or close them late. Whatever the
  network does, the client either stays connected or reconnects by itself and resumes its session; once the
  network is back it is ready again within a bound set by its own retry and connect timings; and the stream
  it was receiving arrives complete, each message once and in order.

  Durations are the real ones; the suite runs them on its own, faster, time scale.

  Background:
    Given the realtime services are running
    And a client with a valid API key
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    And the client has received some messages on "prices"

  @critical @allure.label.story:Link_broken
  Scenario Outline: <interruption>: the client reconnects by itself and nothing is lost or repeated
    When the network suffers <fault>
    Then once the network is back, the client is ready <recovery>
    And the client reconnected and resumed the same session
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

    Examples:
      | interruption               | fault                                                                   | recovery                                      |
      | Brief blip                 | the network drops for 1 s                                               | within a retry pause                          |
      | Extended outage            | the network drops for 30 s                                              | within a retry pause                          |
      | Intermittent, on and off   | the network goes off and on every 5 s for 60 s                          | within a retry pause                          |
      | Half-open: bytes dropped   | a half-open link for 30 s                                               | within a connection timeout and a retry pause |
      | Connection reset by peer   | connections reset by peer after 5 s, for 30 s                           | within a retry pause                          |
      | Data cut after a few bytes | connections cut after 200 bytes, for 30 s                               | within a retry pause                          |
      | Slow close                 | connections cut after 200 bytes with the close held back 10 s, for 30 s | within a connection timeout and a retry pause |

  @normal @allure.label.story:Link_degraded
  Scenario Outline: <interruption>: the client stays connected and nothing is lost or repeated
    When the network suffers <fault>
    Then once the network is back, the client is ready at once
    And the client stayed connected throughout
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order

    Examples:
      | interruption                 | fault                                                     |
      | High latency with jitter     | a latency of 2 s ± 500 ms for 20 s                        |
      | Bandwidth throttled          | the bandwidth throttled to 2 KB/s for 45 s                |
      | Fragmented into small pieces | the stream sliced into 50-byte pieces 1 ms apart for 20 s |
