@allure.label.epic:Avatar @area.avatar
Feature: A talking avatar alongside the voice
  A client can show a talking avatar from the avatar service next to its realtime session. The avatar
  follows the voice: while the voice speaks, the avatar speaks in sync with it. The avatar is an extra:
  when the avatar service is down or too slow, the client says so, carries on with voice only and keeps
  its realtime session, and the avatar can be started again once the service is back. When the client
  shuts down it closes its avatar session at the avatar service.

  Background:
    Given the realtime services are running
    And a client with a valid API key that can show an avatar
    And the client is ready and subscribed to "prices"

  @critical @smoke @allure.label.story:Avatar_session
  Scenario Outline: Starting an avatar gives a live avatar session in the quality and background asked for
    When the client starts the avatar "<avatar>" in <quality> quality with a <background> background
    Then the client reports a live avatar session for "<avatar>" with a stream to watch
    And the avatar service has that session live in <quality> quality with a <background> background

    Examples:
      | avatar       | quality | background  |
      | Anna_public  | high    | transparent |
      | Tyler_casual | medium  | office      |
      | Ruby_demo    | low     | green       |

  @critical @allure.label.story:Voice_coordination
  Scenario: The avatar speaks in sync with the voice and falls silent with it
    Given the client has started the avatar "Anna_public"
    When the client starts speaking with the voice "warm_narrator"
    Then the client reports the avatar speaking in sync with the voice "warm_narrator"
    And the avatar service shows the avatar speaking in sync with the voice "warm_narrator"
    When the client stops speaking
    Then the client reports the avatar no longer speaking
    And the avatar service shows the avatar silent

  @critical @allure.label.story:Voice_only_fallback
  Scenario Outline: While the avatar service is <trouble>, the client goes on with voice only and keeps its session
    Given the avatar service is <trouble>
    When the client starts the avatar "Anna_public" in high quality with a transparent background
    Then the client reports an avatar error it can recover from, falling back to voice only
    And the client is still ready with the same session
    When the server pushes 5 messages on "prices"
    Then the client receives messages 1 to 5 on "prices", each once and in order
    When the avatar service works normally again
    And the client starts the avatar "Anna_public" in high quality with a transparent background
    Then the client reports a live avatar session for "Anna_public" with a stream to watch

    Examples:
      | trouble            |
      | unavailable        |
      | too slow to answer |

  @normal @allure.label.story:Voice_only_fallback
  Scenario: The avatar service failing mid-conversation leaves the voice speaking alone
    Given the client has started the avatar "Anna_public"
    And the avatar service is unavailable
    When the client starts speaking with the voice "warm_narrator"
    Then the client reports an avatar error it can recover from, falling back to voice only
    And the client is still ready with the same session

  @critical @allure.label.story:Avatar_cleanup
  Scenario: Shutting down closes the avatar session at the avatar service, once
    Given the client has started the avatar "Anna_public"
    When the application shuts the client down
    Then the avatar service has the avatar session closed, saying why
    And the client reported its avatar cleaned up once
    And nothing of the client is left running
