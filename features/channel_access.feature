@allure.label.epic:Access_security @area.channel_access
Feature: Each person hears only the channels they may read, and posts only where they may post
  An account's rights say which channels it may read and which it may post to. The gateway keeps to them
  for every person at once: a message reaches everyone who may read its channel and no one else, and a
  post to a channel the sender may only read is refused, delivered to no one, and not sent again.

  Background:
    Given the realtime services are running

  @blocker @allure.label.story:Reading_rights
  Scenario Outline: Among <people> people and <channels> channels, not one message reaches someone who may not read it
    Given <people> people, each allowed to read some of <channels> channels
    And everyone's client is ready
    When everyone's client asks to follow every channel
    And the server pushes 5 messages on each channel
    Then everyone receives messages 1 to 5 of each channel they may read, each once and in order
    And no one receives a single message from a channel they may not read
    And the gateway refused every request to follow a channel that was not allowed

    Examples:
      | people | channels |
      | 5      | 2        |
      | 24     | 8        |

  @blocker @allure.label.story:Posting_rights
  Scenario: A message to a channel its sender may only read is refused, reaches no one and is not sent again
    Given a client signed in as a reader
    And the client is ready and subscribed to "announcements"
    And a member is listening on "announcements"
    When the application sends a message on "announcements"
    Then the gateway refuses the message, because the client may not post on "announcements"
    And the client reports the message refused
    And the client has no messages waiting for acknowledgement
    When the server pushes 3 messages on "announcements"
    Then the member receives messages 1 to 3 on "announcements" and nothing else
    And the client receives messages 1 to 3 on "announcements", each once and in order
    When the gateway shuts down for a restart, keeping its sessions
    And the gateway comes back
    Then the client becomes ready again
    And the client did not send the refused message again
