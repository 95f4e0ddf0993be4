"""Failures that are the machine's fault, not the product's or the suite's.

Raised when a service cannot start, a port cannot be bound or set-up times out. The report files these
under "Environment problems" and the main command exits with its own code, so nobody chases a product
defect that is really a busy or broken machine.
"""

from __future__ import annotations

ENVIRONMENT_PROBLEM = "Environment problem: "


class EnvironmentProblem(RuntimeError):
    def __init__(self, what: str, cause: BaseException | None = None) -> None:
        detail = f": {type(cause).__name__}: {cause}" if cause is not None else ""
        super().__init__(f"{ENVIRONMENT_PROBLEM}{what}{detail}")
