@allure.label.epic:Self_test @allure.label.story:Deliberate_failure
Feature: A deliberately failing scenario
  Not part of the acceptance suite. A self-test runs it to prove that a product defect reaches the
  report as one: filed under product defects, told in plain English, with a timeline picture.

  Background:
    Given the realtime services are running
    And a client with a valid API key
    And the client is ready and subscribed to "prices"

  @normal
  Scenario: Pushed messages arrive in order
    When the server pushes 20 messages on "prices"
    Then the client receives messages 1 to 20 on "prices", each once and in order

  @critical @allure.issue:RT-42
  Scenario: Expecting more messages than the server ever sent
    When the server pushes 20 messages on "prices"
    Then the client receives messages 1 to 25 on "prices", each once and in order
