"""Someone asking the auth service for access over real HTTP, without a realtime client: to make a burst of
sign-ins as one caller and see exactly how each was answered.

The caller names itself with an OAuth ``client_id``, as the reference client does, so the auth service can
tell it from everyone else. API keys are sent, never kept or shown.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

TOKEN_PATH = "/oauth/token"


@dataclass(frozen=True)
class SignInAnswer:
    """How one sign-in was answered: the HTTP status, the OAuth error code and the pause asked for."""

    status: int
    error: str | None = None
    retry_after_s: float | None = None
    at: float = 0.0  # time.monotonic() when the answer arrived
    description: str | None = None  # the OAuth error_description, when refused

    def describe(self) -> str:
        words = str(self.status) + (f" {self.error}" if self.error else "")
        if self.retry_after_s is not None:
            words += f" (wait {self.retry_after_s * 1000:.0f} ms)"
        return words


@dataclass
class SignInCaller:
    auth_url: str
    client_id: str
    timeout_s: float
    ca_file: str | None = None  # over TLS, the test authority to trust besides the system's
    answers: list[SignInAnswer] = field(default_factory=list)  # every answer so far, oldest first

    def attempt(self, api_key: str) -> SignInAnswer:
        """Sign in once with ``api_key``."""
        return self.burst([api_key])[0]

    def burst(self, api_keys: Sequence[str]) -> list[SignInAnswer]:
        """Sign in with each key in turn, as fast as the service answers, over one connection."""
        return self._ask([{"grant_type": "api_key", "api_key": api_key} for api_key in api_keys])

    def present_refresh_token(self, refresh_token: str) -> SignInAnswer:
        """Ask for new tokens with ``refresh_token``, as anyone holding a copy of it could."""
        return self._ask([{"grant_type": "refresh_token", "refresh_token": refresh_token}])[0]

    def _ask(self, grants: Sequence[dict[str, str]]) -> list[SignInAnswer]:
        answers: list[SignInAnswer] = []
        trust = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        with httpx.Client(base_url=self.auth_url, timeout=self.timeout_s, verify=trust) as http:
            for grant in grants:
                answers.append(_answer(http.post(TOKEN_PATH, json={**grant, "client_id": self.client_id})))
        self.answers += answers
        return answers


def _answer(response: httpx.Response) -> SignInAnswer:
    arrived = time.monotonic()
    error: str | None = None
    description: str | None = None
    if response.status_code != 200:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = str(body["error"]) if body.get("error") else None
            description = str(body["error_description"]) if body.get("error_description") else None
    retry_after: float | None = None
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None  # an HTTP date: not something the suite's services send
    return SignInAnswer(response.status_code, error, retry_after, arrived, description)


def summarise_answers(answers: Sequence[SignInAnswer]) -> str:
    """The answers in order, runs of the same status and error counted: "5 answered 401 invalid_client,
    then 3 answered 429 rate_limited"; "none" when there were none."""
    runs: list[tuple[str, int]] = []
    for answer in answers:
        what = f"{answer.status}" + (f" {answer.error}" if answer.error else "")
        if runs and runs[-1][0] == what:
            runs[-1] = (what, runs[-1][1] + 1)
        else:
            runs.append((what, 1))
    return ", then ".join(f"{count} answered {what}" for what, count in runs) or "none"
