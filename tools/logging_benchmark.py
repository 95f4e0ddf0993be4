"""What structured logging costs, next to plain ``logging``, measured in one run on this machine.

Two cases, each timed for the structured logger (``JsonFormatter``, the client's ``CorrelatedLogger``, a
line's details passed with ``extra=``) and for a plain logger (``logging.Formatter``, the same details
formatted into the message), both writing through the same kind of handler into memory:

* a debug call made while debug is off (what a hot path pays for a line nobody sees);
* an info line written.

Each case runs ``--calls`` times per repeat, ``--repeats`` times, alternating plain and structured so both
meet the same machine; the table shows the median time per call and the ratio. It is a measurement, never
a test: the numbers depend on the machine and are only compared with each other.

    bin/benchmark-logging [--calls 20000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from realtime_protocol.structured_log import CorrelatedLogger, JsonFormatter

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class Measurement:
    case: str
    plain_ns: float  # median time per call
    structured_ns: float

    @property
    def ratio(self) -> float:
        return self.structured_ns / self.plain_ns if self.plain_ns else float("inf")


def _logger(name: str, formatter: logging.Formatter, stream: IO[str]) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # measured alone, whatever else the application's root logger does
    return logger


def _per_call_ns(calls: int, body: Callable[[int], None], stream: io.StringIO) -> float:
    stream.seek(0)
    stream.truncate()
    started = time.perf_counter_ns()
    for number in range(calls):
        body(number)
    return (time.perf_counter_ns() - started) / calls


def measure(calls: int, repeats: int) -> list[Measurement]:
    """Median nanoseconds per call of each case, plain and structured, from one run."""
    plain_stream, structured_stream = io.StringIO(), io.StringIO()
    plain = _logger("benchmark.plain", logging.Formatter(PLAIN_FORMAT), plain_stream)
    structured = CorrelatedLogger(
        _logger("benchmark.structured", JsonFormatter(), structured_stream), "c-0123456789abcdef"
    )

    def plain_debug(number: int) -> None:
        plain.debug("message received on %s, seq %d", "prices", number)

    def structured_debug(number: int) -> None:
        structured.debug("message received", extra={"channel": "prices", "seq": number})

    def plain_info(number: int) -> None:
        plain.info("message sent on %s, seq %d, by %s", "prices", number, "ada")

    def structured_info(number: int) -> None:
        structured.info("message sent", extra={"channel": "prices", "seq": number, "user": "ada"})

    cases = (
        ("debug call, filtered out", plain_debug, structured_debug),
        ("line written", plain_info, structured_info),
    )
    results = []
    try:
        for case, plain_body, structured_body in cases:
            plain_times, structured_times = [], []
            for _ in range(repeats):
                plain_times.append(_per_call_ns(calls, plain_body, plain_stream))
                structured_times.append(_per_call_ns(calls, structured_body, structured_stream))
            results.append(
                Measurement(case, statistics.median(plain_times), statistics.median(structured_times))
            )
    finally:
        for logger in (plain, structured.logger):
            logger.handlers.clear()
    return results


def table(measurements: Sequence[Measurement], calls: int, repeats: int) -> str:
    """The measurements side by side, for people."""
    rows = [
        f"Logging cost per call: median of {repeats} runs of {calls} calls each (lower is better)",
        "",
        f"{'case':<26}{'plain logging':>15}{'structured':>13}{'ratio':>9}",
    ]
    for item in measurements:
        rows.append(
            f"{item.case:<26}{item.plain_ns / 1000:>12.3f} µs{item.structured_ns / 1000:>10.3f} µs"
            f"{item.ratio:>8.1f}×"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="bin/benchmark-logging", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=_positive, default=20_000, help="calls per repeat (default 20000)")
    parser.add_argument("--repeats", type=_positive, default=7, help="repeats of each case (default 7)")
    arguments = parser.parse_args(argv)
    print(table(measure(arguments.calls, arguments.repeats), arguments.calls, arguments.repeats), file=out)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


if __name__ == "__main__":
    sys.exit(main())
