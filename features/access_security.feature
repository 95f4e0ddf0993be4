@allure.label.epic:Access_security @area.access_security
Feature: The gateway lets in only genuine, current access
  Whoever connects to the gateway must present an access token that the auth service signed, that is
  still valid and that is meant for this gateway. Anything else is turned away before a session exists,
  and a client turned away like this gives up at once instead of knocking again and again.

  Background:
    Given the realtime services are running

  @blocker @allure.label.story:Token_checks_at_the_gateway
  Scenario Outline: The gateway turns away <token>
    Given the auth service hands out <token>
    And a client with a valid API key
    When the client connects
    Then the gateway turns the client away, because <reason>
    And the client gives up, saying "the gateway refused the credentials"
    And the client does not knock on the gateway again
    And the gateway opened no session

    Examples:
      | token                                          | reason                                                     |
      | a token whose claims were edited after signing | the token's signature does not match                       |
      | a token that has already expired               | the token has expired                                      |
      | an unsigned token (algorithm "none")           | the token uses the algorithm 'none', which is not accepted |
      | a token from another issuer                    | the token comes from an unknown issuer                     |
      | a token meant for another service              | the token is for a different audience                      |
      | a token signed with someone else's key         | the token's signature does not match                       |

  @blocker @allure.label.story:Token_checks_at_the_gateway
  Scenario: A request for a realtime connection without any token is refused
    When something asks the gateway for a realtime connection without any token
    Then the gateway refuses it as unauthorised, because no token was presented
    And the gateway opened no session
