"""Failures the tests switch on: 403 for a (verb, resource, namespace) rule, any error status, 429 with
Retry-After for the first N matching requests, and slow answers."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from . import status
from .requestinfo import RequestInfo


@dataclass
class Match:
    """Request properties a rule needs; None matches anything. `resource` may name a subresource
    (`pods/log`)."""
    method: Optional[str] = None
    path: Optional[str] = None
    verb: Optional[str] = None
    resource: Optional[str] = None
    namespace: Optional[str] = None
    name: Optional[str] = None
    user: Optional[str] = None

    def matches(self, info: RequestInfo, user: str) -> bool:
        resource = info.resource if not info.subresource else f"{info.resource}/{info.subresource}"
        return all(want is None or want == have for want, have in (
            (self.method, info.method), (self.path, info.path), (self.verb, info.verb),
            (self.resource, resource), (self.namespace, info.namespace), (self.name, info.name),
            (self.user, user)))


@dataclass
class Rule:
    match: Match
    action: str                      # forbid | fail | throttle | delay
    times: Optional[int] = None      # None: every matching request
    code: int = 0
    reason: str = ""
    message: str = ""
    seconds: float = 0.0
    hits: int = 0


class Faults:
    """Ordered rules; the first matching forbid/fail/throttle answers, delays add up."""

    def __init__(self) -> None:
        self._rules: List[Rule] = []
        self._lock = threading.Lock()

    def _add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def forbid(self, verb: Optional[str] = None, resource: Optional[str] = None, namespace: Optional[str] = None,
               name: Optional[str] = None, user: Optional[str] = None, times: Optional[int] = None) -> Rule:
        """403 with the authorizer's message for matching requests."""
        return self._add(Rule(Match(verb=verb, resource=resource, namespace=namespace, name=name, user=user),
                              "forbid", times))

    def fail(self, code: int, message: str = "", reason: str = "", times: Optional[int] = None,
             **match: Any) -> Rule:
        """Any error status. Without a message: the usual one for the code and the request
        (404 NotFound and 409 Conflict name the request's object; 500 is an InternalError)."""
        return self._add(Rule(Match(**match), "fail", times, code=code, reason=reason, message=message))

    def throttle(self, times: int = 1, retry_after: int = 1, **match: Any) -> Rule:
        """429 Too Many Requests with Retry-After for the first `times` matching requests."""
        return self._add(Rule(Match(**match), "throttle", times, seconds=retry_after))

    def delay(self, seconds: float, times: Optional[int] = None, **match: Any) -> Rule:
        """Hold matching requests for `seconds` before answering (timeout tests)."""
        return self._add(Rule(Match(**match), "delay", times, seconds=seconds))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def evaluate(self, info: RequestInfo, user: str) -> Tuple[float, Optional[status.ApiError]]:
        """(seconds to wait, error to answer with or None)."""
        wait = 0.0
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.hits >= rule.times:
                    continue
                if not rule.match.matches(info, user):
                    continue
                rule.hits += 1
                if rule.action == "delay":
                    wait += rule.seconds
                    continue
                return wait, _error_for(rule, info, user)
        return wait, None


def _error_for(rule: Rule, info: RequestInfo, user: str) -> status.ApiError:
    group = info.group
    if rule.action == "forbid":
        return status.forbidden(user, info.verb, info.resource, info.subresource, group, info.namespace, info.name)
    if rule.action == "throttle":
        return status.too_many_requests(int(rule.seconds))
    if not rule.message:
        if rule.code == 404:
            return status.not_found(info.resource, group, info.name)
        if rule.code == 409:
            return status.conflict(info.resource, group, info.name)
        if rule.code == 500:
            return status.internal_error("etcdserver: request timed out")
    if rule.code == 500 and not rule.reason:
        return status.internal_error(rule.message)
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               409: "Conflict", 410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
               503: "ServiceUnavailable", 504: "Timeout"}
    return status.ApiError(rule.code, status.failure(rule.code, rule.reason or reasons.get(rule.code, ""),
                                                     rule.message or f"fake failure {rule.code}"))
