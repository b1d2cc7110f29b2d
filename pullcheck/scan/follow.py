"""`scan --watch`: follow the failing pods of a scan (and the workloads they belong to) until they pull.

One watch on the pods of the scope (the scan's namespace and label selector), kept open across server
timeouts by WatchStream. Tracked: every pod the scan found failing, and every pod of the same workloads,
so a rollout's replacement pods are followed as they appear and old failing pods that go away are
counted as replaced. A pod's state comes from its status alone (watch.container_pulls with no events):
failing while a container waits on a pull error, pulled once every container has its image, waiting in
between. Done when no tracked pod fails or waits; else the timeout says what still fails.
"""
from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from pullcheck.errors import EXIT_OK, EXIT_PROBLEM, ClusterError
from pullcheck.kube.client import ApiError, KubeClient, cluster_scoped, namespaced
from pullcheck.kube.watchstream import WatchStream
from pullcheck.scan.collect import workload_of
from pullcheck.scan.report import ScanReport
from pullcheck.timeutil import format_time, human_duration
from pullcheck.watch import FAILING, PULLED, all_pulled, container_pulls

RECOVERED = "recovered"
TIMEOUT = "timeout"
WATCH_WINDOW = 300
PROGRESS_TICK = 1.0

Progress = Callable[[str, bool], None]


@dataclass
class TrackedPod:
    namespace: str
    name: str
    workload: Optional[str]             # "Deployment/web"
    state: str                          # failing | waiting | pulled (pullcheck.watch statuses)
    reason: str = ""                    # the failing container's waiting reason
    initially_failing: bool = False
    pulled_at: Optional[datetime] = None


@dataclass
class ScopeWatch:
    scan: ScanReport
    outcome: str
    started: datetime
    ended: datetime
    pods: dict[tuple[str, str], TrackedPod] = field(default_factory=dict)
    replaced: list[str] = field(default_factory=list)      # initially failing pods that went away
    replaced_workloads: list[Optional[str]] = field(default_factory=list)
    synced: bool = False                                    # the first list of the scope has been read

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.outcome == RECOVERED else EXIT_PROBLEM

    def counts(self) -> dict[str, int]:
        out = {"failing": 0, "waiting": 0, "pulled": 0}
        for pod in self.pods.values():
            out[pod.state] = out.get(pod.state, 0) + 1
        return out

    def summary_line(self) -> str:
        counts = self.counts()
        recovered = [p for p in self.pods.values() if p.initially_failing and p.state == PULLED]
        if self.outcome == RECOVERED:
            parts = [f"{len(recovered)} pulled in place"] if recovered else []
            if self.replaced:
                parts.append(f"{len(self.replaced)} replaced by pods that pulled")
            new = [p for p in self.pods.values() if not p.initially_failing and p.state == PULLED and p.pulled_at]
            if new:
                parts.append(f"{len(new)} new pod(s) pulled")
            if not self.scan.groups:
                return "nothing was failing"
            return (f"recovered after {human_duration(self.seconds)}: the {self.scan.failing_pods} failing pod(s) "
                    f"pull again ({', '.join(parts) or 'no failing pod left'})")
        failing = sorted(f"{p.namespace}/{p.name} ({p.reason})" for p in self.pods.values() if p.state == FAILING)
        shown = ", ".join(failing[:5]) + (f" (+{len(failing) - 5} more)" if len(failing) > 5 else "")
        return (f"not recovered within {human_duration(self.seconds)} (--timeout): {counts['failing']} pod(s) still "
                f"failing, {counts['waiting']} waiting, {len(recovered) + len(self.replaced)} recovered"
                + (f"; failing: {shown}" if failing else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": "pullcheck/v1", "kind": "ScanWatch", "outcome": self.outcome,
                "startedAt": format_time(self.started), "endedAt": format_time(self.ended),
                "seconds": round(self.seconds, 1), "summary": self.summary_line(), "counts": self.counts(),
                "replaced": self.replaced,
                "pods": [{"namespace": p.namespace, "name": p.name, "workload": p.workload, "state": p.state,
                          "reason": p.reason or None, "initiallyFailing": p.initially_failing}
                         for p in sorted(self.pods.values(), key=lambda p: (p.namespace, p.name))],
                "scan": self.scan.to_dict()}


def follow_scope(client: KubeClient, report: ScanReport, *, timeout: float, progress: Optional[Progress] = None,
                 window: int = WATCH_WINDOW, clock: Callable[[], float] = time.monotonic) -> ScopeWatch:
    started = datetime.now(timezone.utc)
    result = ScopeWatch(scan=report, outcome=RECOVERED, started=started, ended=started)
    failing = {(p.namespace, p.name): p for g in report.groups for p in g.pods}
    workloads = {(p.namespace, p.owner) for p in failing.values() if p.owner}
    for (namespace, name), entry in failing.items():
        result.pods[(namespace, name)] = TrackedPod(namespace, name, entry.owner, FAILING, entry.state,
                                                    initially_failing=True)
    if not failing:
        return result
    path = namespaced(report.namespace, "pods") if report.namespace else cluster_scoped("pods")
    query = {"labelSelector": report.selector} if report.selector else {}
    deadline = clock() + timeout
    sink: "queue.Queue[tuple]" = queue.Queue()
    stream = WatchStream("pods", client, path, query, "", sink, deadline, window)
    stream.start()
    try:
        while not _done(result):
            left = deadline - clock()
            if left <= 0:
                result.outcome = TIMEOUT
                break
            try:
                _, _, kind, payload = sink.get(timeout=min(PROGRESS_TICK, left))
            except queue.Empty:
                _show(progress, result, clock() - (deadline - timeout))
                continue
            if kind == "error":
                raise ClusterError(payload.message if isinstance(payload, ApiError) else str(payload))
            if kind == "sync":
                seen = set()
                for pod in payload:
                    seen.add(_key(pod))
                    _update(result, workloads, pod, deleted=False)
                for key in [k for k in result.pods if k not in seen]:
                    _gone(result, key)
                result.synced = True
            else:
                _update(result, workloads, payload.get("object") or {}, deleted=payload.get("type") == "DELETED")
            _show(progress, result, clock() - (deadline - timeout))
    finally:
        stream.stop()
        if progress:
            progress("", False)
    result.ended = datetime.now(timezone.utc)
    return result


def _key(pod: dict) -> tuple[str, str]:
    meta = pod.get("metadata") or {}
    return meta.get("namespace", "default"), meta.get("name", "")


def _update(result: ScopeWatch, workloads: set, pod: dict, *, deleted: bool) -> None:
    key = _key(pod)
    owner = workload_of(pod)
    workload = f"{owner.kind}/{owner.name}" if owner else None
    if key not in result.pods and (key[0], workload) not in workloads:
        return
    if deleted or (pod.get("metadata") or {}).get("deletionTimestamp"):
        _gone(result, key)
        return
    pulls = container_pulls(pod, None)
    known = result.pods.get(key)
    tracked = known or TrackedPod(key[0], key[1], workload, "waiting")
    bad = next((c for c in pulls if c.status == FAILING), None)
    if bad is not None:
        tracked.state, tracked.reason = FAILING, bad.state
    elif all_pulled(pulls):
        if (known is not None and known.state != PULLED) or (known is None and result.synced):
            tracked.pulled_at = datetime.now(timezone.utc)    # it got its images while we watched
        tracked.state, tracked.reason = PULLED, ""
    else:
        tracked.state, tracked.reason = "waiting", ""
    result.pods[key] = tracked


def _gone(result: ScopeWatch, key: tuple[str, str]) -> None:
    tracked = result.pods.pop(key, None)
    if tracked is not None and tracked.initially_failing and tracked.state != PULLED:
        result.replaced.append(f"{key[0]}/{key[1]}")
        result.replaced_workloads.append(f"{key[0]} {tracked.workload}" if tracked.workload else None)


def _done(result: ScopeWatch) -> bool:
    """Every tracked pod has its images, and each failing pod that went away was replaced by a pod of its
    workload that pulled while we watched (a bare pod that went away is simply gone)."""
    if not all(p.state == PULLED for p in result.pods.values()):
        return False
    needed: dict[str, int] = {}
    for workload in result.replaced_workloads:
        if workload:
            needed[workload] = needed.get(workload, 0) + 1
    for workload, count in needed.items():
        pulled = sum(1 for p in result.pods.values()
                     if p.pulled_at and not p.initially_failing and f"{p.namespace} {p.workload}" == workload)
        if pulled < count:
            return False
    return True


def _show(progress: Optional[Progress], result: ScopeWatch, elapsed: float) -> None:
    if progress is None:
        return
    counts = result.counts()
    progress(f"watching {len(result.pods)} pod(s): {counts['failing']} failing, {counts['waiting']} waiting, "
             f"{counts['pulled']} pulled, {len(result.replaced)} replaced ({human_duration(elapsed)})", False)
