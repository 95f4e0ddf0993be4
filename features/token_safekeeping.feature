@allure.label.epic:Access_security @area.token_safekeeping
Feature: Tokens are checked, kept safe and given back
  A token is a key to someone's account. The client checks the shape of every token before it shows it
  to anyone, keeps tokens on disk only in a form that can't be read, gives them back when the user logs
  out, and nothing the client or the services write down ever contains one.

  Background:
    Given the realtime services are running

  @critical @allure.label.story:Token_format_checks
  Scenario Outline: The client checks the shape of the access token it is given: <token>
    Given the auth service hands out <token>
    And a client with a valid API key
    When the client connects
    Then the client found the access token <verdict>, for the reason "<reason>"
    And the client ends up <outcome>

    Examples:
      | token                                     | verdict  | reason          | outcome |
      | an answer without any access token        | unusable | missing_token   | failed  |
      | an empty access token                     | unusable | empty_token     | failed  |
      | an access token that is not a token at all | unusable | malformed_token | failed  |
      | a well-formed access token                | usable   | valid_format    | ready   |

  @critical @allure.label.story:Tokens_kept_between_runs
  Scenario: Tokens kept between runs can't be read on disk, and a restarted client picks them up
    Given a client with a valid API key that keeps its tokens between runs
    When the client connects
    Then the client becomes ready
    And the client's stored tokens show no token in readable form
    When the client is restarted
    And the client connects
    Then the client becomes ready
    And the restarted client took up its stored access instead of signing in again

  @critical @allure.label.story:Logout
  Scenario: Logging out gives the tokens back and clears them everywhere
    Given a client with a valid API key that keeps its tokens between runs
    When the client connects
    Then the client becomes ready
    When the user logs out
    Then the client reported clearing its access token, refresh token and stored tokens at logout
    And the client keeps no tokens on disk any more
    And the auth service revoked the client's tokens
    And the auth service no longer accepts the client's current refresh token either
    And nothing of the client is left running
    When something asks the gateway for a realtime connection with the client's last access token
    Then the gateway refuses it as unauthorised, because the token has been revoked

  @blocker @allure.label.story:No_secrets_out
  Scenario: No secret shows up in any log line or report attachment
    Given everything the client and the services log is kept, down to the finest detail
    And a client with a valid API key that keeps its tokens between runs
    And the client is ready and subscribed to "account"
    When the server pushes a message carrying a password on "account"
    And the client's access nears the end of its lifetime
    And the user logs out
    Then none of the scenario's secrets shows up in any log line or report attachment
