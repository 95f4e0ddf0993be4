@allure.label.epic:Access_security @area.secure_transport @fixture.services.tls
Feature: Secure transport
  Sign-in travels over HTTPS and the realtime connection over secure WebSockets, both with certificates
  from a certificate authority made for this run. A client that trusts that authority does everything it
  does in the clear: it signs in, connects, receives, rides out a network drop and shuts down cleanly. A
  client shown a certificate it cannot trust stops at once and says why, because asking again cannot make
  a certificate trustworthy.

  Background:
    Given the realtime services are running with encryption

  @critical @smoke @allure.label.story:Encrypted_journeys
  Scenario: A client that trusts the authority signs in, connects and receives messages, all encrypted
    Given a client with a valid API key that trusts the test certificate authority
    And the client is ready and subscribed to "prices"
    When the server pushes 20 messages on "prices"
    Then the client receives messages 1 to 20 on "prices", each once and in order
    And the client signed in and connected over encrypted connections

  @critical @allure.label.story:Encrypted_journeys
  Scenario: After a network drop the same session resumes, encrypted, and nothing is lost
    Given a client with a valid API key that trusts the test certificate authority
    And the client is ready and subscribed to "prices"
    And the server is streaming messages on "prices"
    And the client has received some messages on "prices"
    When the network to the gateway goes down
    Then the client notices the connection is lost within the bound for a cut connection
    When the network comes back
    Then the client becomes ready again
    And the client resumed the same session
    When the server stops streaming on "prices"
    Then the client receives every streamed message on "prices", each once and in order
    And the client signed in and connected over encrypted connections

  @critical @allure.label.story:Encrypted_journeys
  Scenario: The client delivers what it sent and shuts down cleanly over an encrypted connection
    Given a client with a valid API key that trusts the test certificate authority
    And the client is ready and subscribed to "prices"
    When the application sends 3 messages on "orders"
    And the application shuts the client down
    Then the gateway received each of the 3 messages on "orders" exactly once
    And the gateway saw the client close normally
    And the client makes no attempt to reconnect afterwards
    And nothing of the client is left running
    And the client signed in and connected over encrypted connections

  @blocker @allure.label.story:Untrusted_certificates
  Scenario: A client that does not trust the authority refuses to sign in, and does not try again
    Given a client with a valid API key that does not trust the test certificate authority
    When the client connects
    Then the client gives up because the auth service's certificate is not trusted, which is not worth retrying
    And the client does not try the auth service again
    And the client never got a session
    And the client never reached the gateway

  @blocker @allure.label.story:Untrusted_certificates
  Scenario: A gateway showing a certificate from an unknown authority is refused, and not tried again
    Given the gateway shows a certificate from an unknown authority
    And a client with a valid API key that trusts the test certificate authority
    When the client connects
    Then the client gives up because the gateway's certificate is not trusted, which is not worth retrying
    And the client does not try the gateway again
    And the client never got a session
    And the gateway opened no session
