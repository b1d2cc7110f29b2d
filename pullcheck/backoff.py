"""The kubelet's image pull back-off, per pod and image.

The kubelet keys the back-off by pod UID and image (`<uid>_<image>`), starts at 10 s, doubles after
every failed pull and caps at 300 s (kubelet.go: backOffPeriod, MaxContainerBackOff; flowcontrol.Backoff).
An entry idle for more than twice the cap (600 s) starts again from 10 s. The retry itself happens on
the next pod sync after the back-off window, so real retries land a few seconds later than computed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

INITIAL_SECONDS = 10
CAP_SECONDS = 300
RESET_AFTER_SECONDS = 2 * CAP_SECONDS


def delay_after(failures: int) -> int:
    """Seconds the kubelet waits after the Nth consecutive failed pull (N >= 1)."""
    if failures < 1:
        return 0
    delay = INITIAL_SECONDS
    for _ in range(failures - 1):
        delay *= 2
        if delay >= CAP_SECONDS:
            return CAP_SECONDS
    return delay


@dataclass(frozen=True)
class BackoffState:
    failures: int
    delay_seconds: int          # the current back-off window
    next_retry: datetime        # earliest moment the kubelet retries
    at_cap: bool                # the window has reached 300 s
    reset: bool                 # idle so long that the next failure starts again at 10 s


def state(failures: int, last_failure: datetime, now: datetime) -> BackoffState | None:
    """Where the kubelet is in its back-off after `failures` failed pulls, the last at `last_failure`."""
    if failures < 1:
        return None
    delay = delay_after(failures)
    idle = (now - last_failure).total_seconds()
    return BackoffState(failures=failures, delay_seconds=delay,
                        next_retry=last_failure + timedelta(seconds=delay),
                        at_cap=delay >= CAP_SECONDS, reset=idle > RESET_AFTER_SECONDS)
