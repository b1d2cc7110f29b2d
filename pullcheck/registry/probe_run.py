"""Shared state and bookkeeping of one probe run; the step mixins build on it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from pullcheck.registry import model
from pullcheck.registry.challenge import Challenge
from pullcheck.registry.endpoint import Endpoint
from pullcheck.registry.transport import Authorization, Failure, Response, Session

# Outcomes of one manifest attempt.
FOUND = "found"
NOT_FOUND = "not-found"
DENIED = "denied"
TOKEN_REFUSED = "token-refused"
LIMITED = "rate-limited"
BLOCKED = "policy"
BROKEN = "error"


@dataclass
class Attempt:
    """One manifest request: anonymous or as one credential."""

    who: str                                   # "anonymous" or the credential's source
    credential: Optional[model.Credential]
    authorization: Optional[Authorization] = None
    outcome: str = ""
    status: Optional[int] = None
    codes: Tuple[str, ...] = ()
    line: str = ""
    response: Optional[Response] = None
    failure: Optional[Failure] = None
    limits: Optional[Dict[str, object]] = None


@dataclass
class ProbeState:
    """What the steps learned, for the steps after them."""

    endpoint: Optional[Endpoint] = None
    repository: str = ""
    scheme: str = "https"
    base_url: str = ""
    pins: Dict[str, List[str]] = field(default_factory=dict)
    challenge: Optional[Challenge] = None
    login_required: bool = False               # Basic auth demanded, or anonymous tokens refused
    credentials_checked: bool = False
    accepted: List[model.Credential] = field(default_factory=list)
    rejected: List[model.Credential] = field(default_factory=list)
    attempts: List[Attempt] = field(default_factory=list)
    found: Optional[Attempt] = None
    facts: Dict[str, object] = field(default_factory=dict)     # for advice


class ProbeRun:
    """One probe of one image: its inputs, budget, steps so far and what they learned."""

    def __init__(self, target: model.Target, credentials: Sequence[model.Credential],
                 options: model.ProbeOptions) -> None:
        self.target = target
        self.credentials = list(credentials)
        self.options = options
        self.started = time.monotonic()
        self.deadline = self.started + options.timeout
        self.steps: List[model.StepResult] = []
        self.state = ProbeState()
        self.session: Optional[Session] = None
        self._sent: List[Authorization] = []       # every Authorization made, for redaction

    def add(self, step: str, status: str, summary: str, evidence: Iterable[str] = (),
            cause: Optional[str] = None, **data) -> model.StepResult:
        result = model.StepResult(step=step, status=status, cause=cause, summary=self._redact(summary),
                                  evidence=tuple(self._redact(line) for line in evidence), data=data)
        self.steps.append(result)
        return result

    def _redact(self, text: str) -> str:
        """Remove any secret a hostile server might have echoed into text we show."""
        for authorization in self._sent:
            text = authorization.redact(text)
        for credential in self.credentials:
            basic = Authorization.basic(credential.username, credential.password, ("", "", 0))
            text = basic.redact(text)
            if len(credential.password) >= 4:
                text = text.replace(credential.password, "<redacted>")
        return text

    def step_deadline(self) -> float:
        return min(time.monotonic() + self.options.step_timeout, self.deadline)

    def out_of_time(self, step: str) -> bool:
        if time.monotonic() < self.deadline:
            return False
        self.add(step, model.SKIPPED, f"skipped: the probe's {self.options.timeout:g}s budget is spent")
        return True

    def fail(self, step: str, failure: Failure, **data) -> None:
        if failure.kind:
            self.state.facts["tls_kind"] = failure.kind
        self.add(step, model.FAILED, failure.summary, failure.evidence, cause=failure.cause, **data)
