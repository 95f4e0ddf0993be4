"""Steps about what the client and the services write in their logs: the shape of each line, the correlation
id that ties one journey together across them, secrets redacted from details, and levels by environment."""

import json

from behave import given, then, when
from behave.runner import Context
from hamcrest import (
    all_of,
    contains_string,
    empty,
    equal_to,
    greater_than,
    has_entries,
    has_length,
    only_contains,
)

from support.areas import structured_logging as log_lines
from support.harness.secret_scan import scan
from support.harness.waiting import check

JOURNEY = ("client", "auth service", "gateway")
PLANTED_MESSAGE = "details for the record"
ERROR_MESSAGE = "an error the client ran into"


@given("the client logs for the {environment} environment, at {level}")
def client_logs_for_environment(context: Context, environment: str, level: str) -> None:
    """Sets up the client's logging as an application running in that environment would (test, production or
    development), at the environment's own level ("its default level") or at the one named ("the info
    level"), writing JSON lines that the scenario keeps."""
    sink = log_lines.LogSink(environment, log_lines.chosen_level(level), log_lines.logger_of("client"))
    context.log_sink = sink
    context.add_cleanup(sink.close)


@when("a line is logged with {secret}, {where}, among ordinary details")
def line_logged_with_secret(context: Context, secret: str, where: str) -> None:
    """Logs one line as the client would, whose details carry a made-up secret of that kind (an API key, a
    password, a token, an authorization header, a client secret, a card number) at that place (at the top,
    two levels down, in a list, in a link's query string, in a sentence), among ordinary details."""
    context.planted = planted = log_lines.plant_secret(secret, where, context.world.faker)
    context.world.secrets.append(planted.secret)
    log_lines.log_details(log_lines.logger_of("client"), PLANTED_MESSAGE, planted.details)


@when("the client logs an error it ran into, with a password in the error's message")
def client_logs_error(context: Context) -> None:
    """Has the client log, at error level, an error it raised and caught, whose message carries a made-up
    password."""
    password = context.world.faker.password(length=16)
    context.world.secrets.append(password)
    context.error_secret = password
    log_lines.log_caught_error(
        log_lines.logger_of("client"), ERROR_MESSAGE, f"sign-in failed: password={password}"
    )


@then("the line shows the error's name, its message with the password redacted, and where it was raised")
def error_line_shown(context: Context) -> None:
    """Finds the line about the error and checks its `error` field: the error's name, its message with the
    password as [REDACTED], and its stack naming the function that raised it."""
    entries = log_lines.lines_with_message(log_lines.parse(context.world.logs.json_lines()), ERROR_MESSAGE)
    check(len(entries), equal_to(1), what="the number of lines logged about the error")
    entry = entries[0]
    check(entry["level"], equal_to("ERROR"), what="the level of the line about the error")
    error = entry.get("error") or {}
    check(
        (error.get("name"), error.get("message")),
        equal_to(("ConnectionError", "sign-in failed: password=[REDACTED]")),
        what="the error's name and message as the line shows them",
    )
    check(
        str(error.get("stack", "")),
        all_of(contains_string("Traceback"), contains_string("in log_caught_error")),
        what="the error's stack as the line shows it",
    )
    check(
        context.error_secret in json.dumps(entry), equal_to(False), what="whether the password shows anywhere"
    )


@then("the client, the auth service and the gateway each wrote log lines")
def each_wrote_lines(context: Context) -> None:
    """Checks that the scenario's log holds lines from each of the client, the auth service and the
    gateway."""
    entries = log_lines.parse(context.world.logs.json_lines())
    counts = {who: len(log_lines.written_by(entries, who)) for who in JOURNEY}
    check(counts, has_entries(dict.fromkeys(JOURNEY, greater_than(0))), what="the number of lines by writer")


@then(
    "every log line is one JSON object with a UTC time, a level, its writer, a message, a journey and details"
)
def every_line_well_formed(context: Context) -> None:
    """Checks every line logged during the scenario, by anyone: one JSON object with exactly the fields
    timestamp (ISO 8601, UTC), level, component, message, correlation_id and data (and error, when an error
    was logged)."""
    entries = log_lines.parse(context.world.logs.json_lines())
    problems = [
        f"line {n}: {'; '.join(p)}" for n, e in enumerate(entries, 1) if (p := log_lines.shape_problems(e))
    ]
    check(len(entries), greater_than(0), what="the number of log lines")
    check(problems, empty(), what="the shape of the log lines")


@then("the client's, the auth service's and the gateway's log lines all carry the client's correlation id")
def journey_lines_correlated(context: Context) -> None:
    """Checks that the client, the auth service and the gateway each logged lines during the scenario, and
    that every one of them carries the correlation id the client sent with its sign-in and connection."""
    wanted = context.world.accounts.correlation_ids["the client"]
    entries = log_lines.parse(context.world.logs.json_lines())
    for who in JOURNEY:
        check(
            log_lines.correlation_ids(log_lines.written_by(entries, who)),
            all_of(has_length(greater_than(0)), only_contains(equal_to(wanted))),
            what=f"the correlation ids on the {who}'s log lines",
        )


@then("the report's log shows the client's correlation id on each of those lines")
def report_log_correlated(context: Context) -> None:
    """Checks the scenario's "Log" attachment as people read it: each line of the client, the auth service
    and the gateway shows the client's correlation id in its own column."""
    wanted = context.world.accounts.correlation_ids["the client"]
    for who in JOURNEY:
        check(
            log_lines.readable_correlation_ids(context.world.logs.lines(), who),
            all_of(has_length(greater_than(0)), only_contains(equal_to(wanted))),
            what=f"the correlation ids the report's log shows for the {who}",
        )


@then("the line shows the secret as redacted and every ordinary detail as it was")
def planted_line_redacted(context: Context) -> None:
    """Finds the line logged with the secret and checks its details: the secret masked as [REDACTED] where
    it was, every other detail exactly as logged."""
    entries = log_lines.lines_with_message(log_lines.parse(context.world.logs.json_lines()), PLANTED_MESSAGE)
    check(len(entries), equal_to(1), what="the number of lines logged with the secret")
    check(entries[0]["data"], equal_to(context.planted.shown), what="the details the line shows")


@then("the secret itself is nowhere in the line")
def secret_nowhere(context: Context) -> None:
    """Looks for the secret, whole, in part or base64-encoded, in the line as written and as the report's log
    shows it."""
    logs = context.world.logs
    written = [line for line in logs.json_lines() if PLANTED_MESSAGE in line]
    shown = [line for line in logs.lines() if PLANTED_MESSAGE in line]
    check((len(written), len(shown)), equal_to((1, 1)), what="how often the line was written and shown")
    texts = {"the JSON line": written[0], "the report's log line": shown[0]}
    check([str(f) for f in scan(texts, [context.planted.secret])], empty(), what="where the secret showed up")


@then("the client's log holds lines at the {written} levels, and no others")
def levels_written(context: Context, written: str) -> None:
    """Checks the levels of the lines the client wrote with the logging set up for its environment: each
    level named, and no other."""
    levels = {entry["level"] for entry in log_lines.parse(context.log_sink.lines())}
    check(
        sorted(levels),
        equal_to(sorted(log_lines.level_names(written))),
        what="the levels of the client's lines",
    )
