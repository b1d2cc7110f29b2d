"""One Kubernetes event -> one image-pull observation, or None. Pure; stdlib only.

The kubelet writes these events about a pod's containers (pkg/kubelet/images/image_manager.go), one
event reason each, with wordings that changed across releases:

=================  ==========================================================================  ===========
reason             message                                                                     counts as
=================  ==========================================================================  ===========
Pulling            ``Pulling image "IMG"`` (very old kubelets: ``pulling image "IMG"``)         attempt
Pulled             ``Successfully pulled image "IMG" in D (T including waiting). Image size:   success
                   N bytes.`` (1.30+); ``... in D (T including waiting)`` (1.27-1.29);
                   ``... in T`` (1.20-1.26); ``Successfully pulled image "IMG"`` (older)
Pulled             ``Container image "IMG" already present on machine`` (and, with            cache hit
                   KubeletEnsureSecretPulledImages, ``... and can be accessed by the pod``)
Failed             ``Failed to pull image "IMG": ERROR``                                       failure
Failed             ``Error: ErrImagePull`` / ``Error: ImagePullBackOff``: a restatement of the  (ignored)
                   pull above or of a back-off, with no image: not counted again
BackOff            ``Back-off pulling image "IMG"`` (the waiting message of 1.32+ appends       back-off
                   ``: ErrImagePull: ERROR``; accepted here too)
ErrImageNeverPull  ``Container image "IMG" is not present with pull policy of Never``           never-pull
InspectFailed      ``Failed to apply default image tag "IMG": ...`` / ``Failed to inspect      inspect-failed
                   image "IMG": ...``
=================  ==========================================================================  ===========

D is the runtime's own pull time and T the time since the kubelet started the pull, including
waiting for its turn in the node's pull queue; before 1.27 the single duration was T. T is what the
kubelet's ``kubelet_image_pull_duration_seconds`` metric records, so it is *the* pull time here.
Durations are Go ``time.Duration`` strings, parsed exactly to nanoseconds.

The event recorder folds repeats of the same message into one event (``count``; ``series.count`` on
events.k8s.io objects), and once a pod has had 10 different messages for one reason within 10 minutes
it merges all further ones into a single event whose message starts with
``(combined from similar events): `` and whose count mixes every message of that reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pullcheck.timeutil import event_times

ATTEMPT = "attempt"
SUCCESS = "success"
FAILURE = "failure"
CACHE_HIT = "cache-hit"
BACK_OFF = "back-off"
NEVER_PULL = "never-pull"
INSPECT_FAILED = "inspect-failed"

COMBINED_PREFIX = "(combined from similar events): "

_IMAGE = r'"(?P<image>(?:[^"\\]|\\.)*)"'
_PULLING = re.compile(r"[Pp]ulling image " + _IMAGE + r"\Z")
_PULLED = re.compile(
    r"Successfully pulled image " + _IMAGE
    + r"(?: in (?P<took>[^\s(]+?)(?: \((?P<total>\S+) including waiting\))?"
    + r"(?:\. Image size: (?P<size>\d+) bytes\.)?)?\Z"
)
_ALREADY_PRESENT = re.compile(
    r"Container image " + _IMAGE + r" already present on machine(?: and can be accessed by the pod)?\Z")
_PULL_FAILED = re.compile(r"Failed to pull image " + _IMAGE + r": ")
_BACK_OFF = re.compile(r"Back-off pulling image " + _IMAGE + r"(?:\Z|: )")
_NEVER_PULL = re.compile(r"Container image " + _IMAGE + r" is not present with pull policy of Never\Z")
_INSPECT_FAILED = re.compile(r"Failed to (?:apply default image tag|inspect image) " + _IMAGE + r": ")

# Event reason -> the kubelet messages of that reason that concern a pull, and what each counts as.
# Only these reasons are looked at, so every other event costs one dictionary lookup.
MESSAGES_BY_REASON = {
    "Pulling": ((_PULLING, ATTEMPT),),
    "Pulled": ((_PULLED, SUCCESS), (_ALREADY_PRESENT, CACHE_HIT)),
    "Failed": ((_PULL_FAILED, FAILURE),),
    "BackOff": ((_BACK_OFF, BACK_OFF),),
    "ErrImageNeverPull": ((_NEVER_PULL, NEVER_PULL),),
    "InspectFailed": ((_INSPECT_FAILED, INSPECT_FAILED),),
}

# Go's time.Duration units in nanoseconds (time.ParseDuration accepts both micro signs).
_UNIT_NANOSECONDS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
                     "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


@dataclass(frozen=True)
class PullObservation:
    """What one kubelet pull event says.

    ``occurrences`` is how many times the kubelet reported it; when ``combined`` it counts every message
    of the event's reason for that pod, not only this one. ``pull_seconds`` is the pull time including
    waiting (T above), ``runtime_seconds`` the runtime's own part (D, 1.27+); both are None when the
    message has no duration, as ``size_bytes`` is before 1.30.
    """

    kind: str
    image: str | None
    node: str | None
    namespace: str
    pod: str
    occurrences: int
    combined: bool
    first: datetime | None
    last: datetime | None
    pull_seconds: float | None = None
    runtime_seconds: float | None = None
    size_bytes: int | None = None


def parse_go_duration_ns(text: str) -> int:
    """Nanoseconds in a Go ``time.Duration`` string (``1.234s``, ``2m3.5s``, ``350ms``, ``1h2m``, ``0``),
    following time.ParseDuration: an optional sign, then number-unit pairs, fractions truncated to the
    nanosecond. Raises ValueError for anything else."""
    body = text
    sign = 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise ValueError(f"not a Go duration: {text!r}")
    total, position = 0, 0
    while position < len(body):
        part = _DURATION_PART.match(body, position)
        if part is None or not (part.group(1) or part.group(2)):
            raise ValueError(f"not a Go duration: {text!r}")
        whole, fraction, unit = part.group(1), part.group(2) or "", _UNIT_NANOSECONDS[part.group(3)]
        total += int(whole or 0) * unit + int(fraction or 0) * unit // 10 ** len(fraction)
        position = part.end()
    return sign * total


def parse_go_duration_seconds(text: str) -> float:
    """Seconds in a Go duration string, rounded once from exact nanoseconds (``350ms`` is 0.35)."""
    return parse_go_duration_ns(text) / 1_000_000_000


def occurrences(event: dict) -> int:
    """How many times the event happened: ``count`` (core/v1), ``deprecatedCount`` or ``series.count``
    (events.k8s.io), at least 1."""
    series = event.get("series") or {}
    counts = (event.get("count"), event.get("deprecatedCount"), series.get("count"))
    return max([c for c in counts if isinstance(c, int)] + [1])


def parse_event(event: dict) -> PullObservation | None:
    """The pull observation in one core/v1 (or events.k8s.io/v1) event dict; None when the event is not
    about pulling an image."""
    patterns = MESSAGES_BY_REASON.get(event.get("reason") or "")
    if patterns is None:
        return None
    message = event.get("message")
    if message is None:
        message = event.get("note")
    if not isinstance(message, str):
        return None
    combined = message.startswith(COMBINED_PREFIX)
    if combined:
        message = message[len(COMBINED_PREFIX):]
    for pattern, kind in patterns:
        match = pattern.match(message)
        if match is not None:
            break
    else:
        return None
    involved = event.get("involvedObject") or event.get("regarding") or {}
    source = event.get("source") or event.get("deprecatedSource") or {}
    first, last = event_times(event)
    pull_seconds, runtime_seconds, size_bytes = _pull_figures(match) if kind == SUCCESS else (None, None, None)
    return PullObservation(
        kind=kind, image=match.group("image") or None,
        node=source.get("host") or event.get("reportingInstance") or None,
        namespace=involved.get("namespace") or (event.get("metadata") or {}).get("namespace") or "",
        pod=involved.get("name") or "", occurrences=occurrences(event), combined=combined, first=first, last=last,
        pull_seconds=pull_seconds, runtime_seconds=runtime_seconds, size_bytes=size_bytes,
    )


def _pull_figures(match: re.Match) -> tuple[float | None, float | None, int | None]:
    """(pull time including waiting, the runtime's part, image size) of a Successfully-pulled message."""
    took, total, size = match.group("took"), match.group("total"), match.group("size")
    try:
        pull = parse_go_duration_seconds(total if total is not None else took) if took is not None else None
        runtime = parse_go_duration_seconds(took) if total is not None else None
    except ValueError:  # not a duration after all: the pull is counted, not timed
        pull = runtime = None
    return pull, runtime, (int(size) or None) if size else None  # a size of 0 means the runtime did not say
