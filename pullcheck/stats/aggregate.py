"""Pull statistics built incrementally from events, and the alert thresholds they are judged by.

Feed every event to ``PullStatsBuilder.add`` as the list pages arrive, then call ``build``. Memory is
bounded by what is summarised, not by the events read: counters per registry and per node, one
(pull time, weight) pair per timed pull for the quantiles, and fixed-size heaps for the slowest pulls.

Counting rules (what the kubelet's events allow):

- attempts: the ``Pulling`` events' counts, or the pulls that ended (succeeded + failed) when more of
  those survive;
- failures: ``Failed to pull image`` events; back-offs, ``Error: ...`` restatements, cache hits,
  ErrImageNeverPull and InspectFailed are counted apart: no pull was attempted;
- an event that stands for N identical messages weighs N; an event merged by the recorder ("combined
  from similar events") weighs 1, since its count mixes messages that are lost;
- pull time is the kubelet's "including waiting" figure; medians and p95 are nearest-rank.

Counts are lower bounds: events expire (--event-ttl), and the kubelet's event recorder rate-limits and
merges what it sends about each pod.
"""
from __future__ import annotations

import heapq
import itertools
from array import array
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from pullcheck.reference import InvalidReference, parse
from pullcheck.stats.events import (ATTEMPT, BACK_OFF, CACHE_HIT, FAILURE, INSPECT_FAILED, NEVER_PULL, SUCCESS,
                                    PullObservation, parse_event)
from pullcheck.timeutil import event_times, format_time

API_VERSION = "pullcheck/v1"
KIND = "PullStats"
EVENT_RETENTION = "the API server keeps events for --event-ttl, 1h by default"
MIB = 1024 * 1024
SLOWEST_KEPT = 10          # slowest pulls reported
SLOW_FLAGS_KEPT = 20       # slow-pull flags named (the slowest); the rest are counted
UNKNOWN_NODE = "(unknown node)"
UNKNOWN_REGISTRY = "(no image named)"
INVALID_REGISTRY = "(invalid image name)"
_KINDS = (ATTEMPT, SUCCESS, FAILURE, CACHE_HIT, BACK_OFF, NEVER_PULL, INSPECT_FAILED)


@dataclass(frozen=True)
class Thresholds:
    """The seed's alert thresholds (issue #5).

    Image sizes follow the kubelet's own ``kubelet_image_pull_duration_seconds`` size buckets, whose
    "500MB" bound is 500 * 1024 * 1024 bytes; pull times are the kubelet's "including waiting" figure,
    the one that metric observes.
    """

    max_failure_rate: float = 0.05      # flag a registry failing more often than this ...
    min_attempts: int = 20              # ... over at least this many attempts (fewer prove little) ...
    min_failures: int = 5               # ... unless at least this many failed (5 of 9 is an outage, not noise)
    slow_pull_seconds: float = 120.0    # flag a pull slower than this ...
    small_image_bytes: int = 500 * MIB  # ... of an image smaller than this

    def to_dict(self) -> dict[str, Any]:
        return {"maxFailureRate": self.max_failure_rate, "minAttempts": self.min_attempts,
                "minFailures": self.min_failures,
                "slowPullSeconds": self.slow_pull_seconds, "smallImageBytes": self.small_image_bytes}


DEFAULT_THRESHOLDS = Thresholds()


def seconds_text(seconds: float) -> str:
    """350ms, 4.2s, 2m05s, 1h02m03s."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 59.95:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


def size_text(size_bytes: float) -> str:
    """Binary units, as the kubelet's image-size buckets count: 1.0 MiB, 734.2 MiB, 1.3 GiB."""
    if size_bytes < MIB:
        return f"{size_bytes / 1024:.1f} KiB"
    if size_bytes < 1024 * MIB:
        return f"{size_bytes / MIB:.1f} MiB"
    return f"{size_bytes / (1024 * MIB):.1f} GiB"


def limit_texts(thresholds: Thresholds) -> tuple[str, str]:
    """The slow-pull limits as people write them: ('2 min', '500 MiB')."""
    seconds, size = thresholds.slow_pull_seconds, thresholds.small_image_bytes
    took = f"{seconds / 60:g} min" if seconds % 60 == 0 else seconds_text(seconds)
    return took, (f"{size / MIB:g} MiB" if size % MIB == 0 else f"{size} bytes")


@lru_cache(maxsize=4096)
def registry_of(image: str | None) -> str:
    """The registry an image is pulled from (docker.io for short names), as the kubelet resolves it."""
    if not image:
        return UNKNOWN_REGISTRY
    try:
        ref = parse(image)
    except InvalidReference:
        return INVALID_REGISTRY
    return ref.registry or ref.api_host


@dataclass(frozen=True)
class Spread:
    """Nearest-rank median and 95th percentile, and the maximum, of weighted values."""

    median: float
    p95: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "p95": self.p95, "max": self.max}


@dataclass(frozen=True)
class GroupStats:
    """Pull counts and times of one registry, one node, or everything."""

    name: str
    attempts: int
    failures: int
    succeeded: int
    timed: int                  # successful pulls whose message carried a pull time
    cache_hits: int
    back_offs: int
    never_pull: int
    inspect_failed: int
    pull_seconds: Spread | None
    median_size_bytes: int | None

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.attempts if self.attempts else None

    def to_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "failures": self.failures, "failureRate": self.failure_rate,
                "succeeded": self.succeeded, "timed": self.timed, "cacheHits": self.cache_hits,
                "backOffs": self.back_offs, "neverPull": self.never_pull, "inspectFailed": self.inspect_failed,
                "pullSeconds": self.pull_seconds.to_dict() if self.pull_seconds else None,
                "medianSizeBytes": self.median_size_bytes}


@dataclass(frozen=True)
class PullRecord:
    """One successful pull as its Pulled event reports it (``occurrences`` identical ones)."""

    image: str
    registry: str
    node: str
    namespace: str
    pod: str
    at: datetime | None
    pull_seconds: float
    runtime_seconds: float | None
    size_bytes: int | None
    occurrences: int

    def to_dict(self) -> dict[str, Any]:
        return {"image": self.image, "registry": self.registry, "node": self.node, "namespace": self.namespace,
                "pod": self.pod, "time": format_time(self.at), "pullSeconds": self.pull_seconds,
                "runtimeSeconds": self.runtime_seconds, "sizeBytes": self.size_bytes,
                "occurrences": self.occurrences}


@dataclass(frozen=True)
class Flag:
    """A threshold exceeded: ``kind`` failure-rate (``details`` about the registry) or slow-pull
    (``details["pull"]``, the PullRecord as a dict)."""

    kind: str
    message: str
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, **self.details}


@dataclass(frozen=True)
class PullStats:
    namespace: str | None           # None: all namespaces
    observed_at: datetime
    events_read: int
    pull_events: int
    oldest_event: datetime | None
    newest_event: datetime | None
    total: GroupStats
    registries: list[GroupStats]
    nodes: list[GroupStats]
    slowest: list[PullRecord]
    flags: list[Flag]
    slow_pulls_flagged: int         # every pull over the slow-pull rule; flags name the slowest of them
    notes: list[str]
    thresholds: Thresholds

    @property
    def exit_code(self) -> int:
        """0 nothing flagged, 1 a threshold is exceeded."""
        return 1 if self.flags else 0

    @property
    def scope_text(self) -> str:
        return f"namespace {self.namespace}" if self.namespace is not None else "all namespaces"

    @property
    def reach_seconds(self) -> float | None:
        """How far back the events reach from observed_at."""
        if self.oldest_event is None:
            return None
        return max((self.observed_at - self.oldest_event).total_seconds(), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION, "kind": KIND,
            "scope": {"namespace": self.namespace, "allNamespaces": self.namespace is None},
            "observedAt": format_time(self.observed_at),
            "events": {"read": self.events_read, "aboutPulls": self.pull_events,
                       "oldest": format_time(self.oldest_event), "newest": format_time(self.newest_event),
                       "reachSeconds": None if self.reach_seconds is None else round(self.reach_seconds),
                       "retention": EVENT_RETENTION},
            "totals": self.total.to_dict(),
            "registries": [dict(registry=r.name, **r.to_dict()) for r in self.registries],
            "nodes": [dict(node=n.name, **n.to_dict()) for n in self.nodes],
            "slowestPulls": [p.to_dict() for p in self.slowest],
            "thresholds": self.thresholds.to_dict(),
            "flags": [f.to_dict() for f in self.flags],
            "slowPullsFlagged": self.slow_pulls_flagged,
            "notes": list(self.notes),
            "exitCode": self.exit_code,
        }


class _Sample:
    """Values with integer weights, kept compactly (two arrays) until the quantiles are asked for."""

    __slots__ = ("values", "weights")

    def __init__(self) -> None:
        self.values = array("d")
        self.weights = array("q")

    def add(self, value: float, weight: int) -> None:
        self.values.append(value)
        self.weights.append(weight)

    def spread(self) -> Spread | None:
        if not self.values:
            return None
        pairs = sorted(zip(self.values, self.weights))
        total = sum(self.weights)
        return Spread(median=_nearest_rank(pairs, total, 50), p95=_nearest_rank(pairs, total, 95),
                      max=pairs[-1][0])


def _nearest_rank(pairs: list[tuple[float, int]], total: int, percent: int) -> float:
    """The smallest value whose cumulative weight reaches percent% of the total."""
    wanted = max(1, -(-percent * total // 100))
    seen = 0
    for value, weight in pairs:
        seen += weight
        if seen >= wanted:
            return value
    return pairs[-1][0]


class _Tally:
    __slots__ = ("counts", "times", "sizes")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(_KINDS, 0)
        self.times = _Sample()
        self.sizes = _Sample()

    def record(self, observation: PullObservation, weight: int) -> None:
        self.counts[observation.kind] += weight
        if observation.pull_seconds is not None:
            self.times.add(observation.pull_seconds, weight)
        if observation.size_bytes is not None:
            self.sizes.add(observation.size_bytes, weight)

    def summary(self, name: str, attempts: int | None = None) -> GroupStats:
        """``attempts`` overrides the count from this tally's own events (the total is the sum of the
        registries' attempts, each estimated on its own)."""
        counts = self.counts
        sizes = self.sizes.spread()
        if attempts is None:
            attempts = max(counts[ATTEMPT], counts[SUCCESS] + counts[FAILURE])
        return GroupStats(
            name=name, attempts=attempts,
            failures=counts[FAILURE], succeeded=counts[SUCCESS], timed=sum(self.times.weights),
            cache_hits=counts[CACHE_HIT], back_offs=counts[BACK_OFF], never_pull=counts[NEVER_PULL],
            inspect_failed=counts[INSPECT_FAILED], pull_seconds=self.times.spread(),
            median_size_bytes=int(sizes.median) if sizes else None,
        )


class PullStatsBuilder:
    """Aggregates events one at a time; ``build`` summarises and judges them against the thresholds."""

    def __init__(self, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        self.thresholds = thresholds
        self.events_read = 0
        self.pull_events = 0
        self._oldest: datetime | None = None
        self._newest: datetime | None = None
        self._total = _Tally()
        self._registries: dict[str, _Tally] = {}
        self._nodes: dict[str, _Tally] = {}
        self._order = itertools.count()    # arrival order: among equal times the first seen are kept
        self._slowest: list[tuple[float, int, PullObservation]] = []
        self._slow_flagged: list[tuple[float, int, PullObservation]] = []
        self._slow_flagged_count = 0
        self._slow_unknown_size = 0
        self._combined_events = 0
        self._combined_hidden = 0

    def add(self, event: dict) -> None:
        """Take one event (a dict as the API server sends it); events not about pulls only widen the
        time window."""
        self.events_read += 1
        observation = parse_event(event)
        if observation is None:
            self._widen(*event_times(event))
            return
        self._widen(observation.first, observation.last)
        self.pull_events += 1
        weight = observation.occurrences
        if observation.combined:
            self._combined_events += 1
            self._combined_hidden += weight - 1
            weight = 1
        registry = registry_of(observation.image)
        node = observation.node or UNKNOWN_NODE
        self._total.record(observation, weight)
        tally = self._registries.get(registry)
        if tally is None:
            tally = self._registries[registry] = _Tally()
        tally.record(observation, weight)
        tally = self._nodes.get(node)
        if tally is None:
            tally = self._nodes[node] = _Tally()
        tally.record(observation, weight)
        if observation.pull_seconds is not None:
            self._timed_pull(observation, weight)

    def build(self, *, namespace: str | None, observed_at: datetime) -> PullStats:
        registries = sorted((t.summary(name) for name, t in self._registries.items()),
                            key=lambda g: (-g.attempts, g.name))
        nodes = sorted((t.summary(name) for name, t in self._nodes.items()),
                       key=lambda g: (g.pull_seconds is None, -(g.pull_seconds.p95 if g.pull_seconds else 0),
                                      -g.failures, g.name))
        flags = self._failure_rate_flags(registries) + [
            self._slow_pull_flag(record) for record in self._records(self._slow_flagged)]
        return PullStats(
            namespace=namespace, observed_at=observed_at, events_read=self.events_read,
            pull_events=self.pull_events, oldest_event=self._oldest, newest_event=self._newest,
            total=self._total.summary("all", attempts=sum(r.attempts for r in registries)),
            registries=registries, nodes=nodes,
            slowest=self._records(self._slowest), flags=flags, slow_pulls_flagged=self._slow_flagged_count,
            notes=self._notes(registries), thresholds=self.thresholds,
        )

    # -- while reading ---------------------------------------------------------------------------
    def _widen(self, first: datetime | None, last: datetime | None) -> None:
        if first is not None and (self._oldest is None or first < self._oldest):
            self._oldest = first
        if last is not None and (self._newest is None or last > self._newest):
            self._newest = last

    def _timed_pull(self, observation: PullObservation, weight: int) -> None:
        seconds = observation.pull_seconds
        assert seconds is not None
        _keep_largest(self._slowest, SLOWEST_KEPT, seconds, next(self._order), observation)
        limits = self.thresholds
        if seconds <= limits.slow_pull_seconds:
            return
        if observation.size_bytes is None:
            self._slow_unknown_size += weight
        elif observation.size_bytes < limits.small_image_bytes:
            self._slow_flagged_count += weight
            _keep_largest(self._slow_flagged, SLOW_FLAGS_KEPT, seconds, next(self._order), observation)

    # -- summarising -----------------------------------------------------------------------------
    @staticmethod
    def _records(heap: list[tuple[float, int, PullObservation]]) -> list[PullRecord]:
        ordered = sorted(heap, key=lambda entry: (-entry[0], -entry[1]))  # slowest first, then first seen
        return [PullRecord(image=o.image or "", registry=registry_of(o.image), node=o.node or UNKNOWN_NODE,
                           namespace=o.namespace, pod=o.pod, at=o.last, pull_seconds=seconds,
                           runtime_seconds=o.runtime_seconds, size_bytes=o.size_bytes, occurrences=o.occurrences)
                for seconds, _, o in ordered]

    def _enough_evidence(self, group: GroupStats) -> bool:
        limits = self.thresholds
        return group.attempts >= limits.min_attempts or group.failures >= limits.min_failures

    def _failure_rate_flags(self, registries: list[GroupStats]) -> list[Flag]:
        limits = self.thresholds
        flags = []
        for group in registries:
            rate = group.failure_rate
            if rate is None or rate <= limits.max_failure_rate or not self._enough_evidence(group):
                continue
            message = (f"registry {group.name}: {group.failures} of {group.attempts} pull attempts failed "
                       f"({rate:.1%}), above the {limits.max_failure_rate:.0%} alert threshold")
            flags.append(Flag("failure-rate", message, {"registry": group.name, "attempts": group.attempts,
                                                         "failures": group.failures, "failureRate": rate}))
        return flags

    def _slow_pull_flag(self, pull: PullRecord) -> Flag:
        assert pull.size_bytes is not None
        took, size = limit_texts(self.thresholds)
        repeated = f" ({pull.occurrences} pulls)" if pull.occurrences > 1 else ""
        message = (f"{pull.image} ({size_text(pull.size_bytes)}) took {seconds_text(pull.pull_seconds)} to pull"
                   f"{repeated} on node {pull.node} at {format_time(pull.at) or 'an unknown time'} "
                   f"(pod {pull.namespace}/{pull.pod}): over {took} for an image under {size}")
        return Flag("slow-pull", message, {"pull": pull.to_dict()})

    def _notes(self, registries: list[GroupStats]) -> list[str]:
        limits = self.thresholds
        notes = []
        for group in registries:
            rate = group.failure_rate
            if rate is not None and rate > limits.max_failure_rate and not self._enough_evidence(group):
                notes.append(f"registry {group.name}: {group.failures} of {group.attempts} pull attempts failed "
                             f"({rate:.1%}), too few to judge against the {limits.max_failure_rate:.0%} threshold "
                             f"(it needs {limits.min_attempts} attempts or {limits.min_failures} failures)")
        if self._slow_unknown_size:
            took, size = limit_texts(limits)
            notes.append(f"{self._slow_unknown_size} pull(s) took over {took}, but their kubelet did not report "
                         f"the image size (kubelets before 1.30 do not), so the under-{size} rule could not be "
                         "applied to them")
        untimed = self._total.counts[SUCCESS] - sum(self._total.times.weights)
        if untimed:
            notes.append(f"{untimed} successful pull(s) carry no pull time (kubelets before 1.20 did not "
                         "report one)")
        if self._combined_events:
            notes.append(f"{self._combined_events} event(s) were merged by the kubelet's event recorder "
                         f"(\"combined from similar events\"), hiding {self._combined_hidden} further "
                         "occurrence(s) whose messages are lost; each merged event is counted once, so "
                         "attempts and failures may be under-counted")
        return notes


def _keep_largest(heap: list[tuple[float, int, PullObservation]], size: int, seconds: float, order: int,
                  observation: PullObservation) -> None:
    """Keep the `size` slowest entries in a min-heap keyed (seconds, -order): on a tie the newest goes."""
    if len(heap) < size:
        heapq.heappush(heap, (seconds, -order, observation))
    elif seconds > heap[0][0]:
        heapq.heapreplace(heap, (seconds, -order, observation))
