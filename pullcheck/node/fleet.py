"""`node --all` / `node -l SELECTOR` / `node A B ...`: the node probe on many nodes at once, and the
node x check grid that shows what differs between them.

The cluster does the work where it must happen: one probe pod per node, at most --parallel alive at
once (a 500-node cluster does not get 500 privileged pods and 500 pulls in the same second). Each
worker deletes its own pod; one interrupt (Ctrl-C, SIGTERM) makes the main thread delete every pod
in flight itself, because a worker blocked in a watch would not notice the interrupt. NotReady,
cordoned and non-Linux nodes are skipped with the reason (a probe pod there would only wait for
--timeout), unless the user names them.
"""
from __future__ import annotations

import re
import signal
import sys
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, TextIO, Tuple

from pullcheck.errors import EXIT_CLUSTER, EXIT_OK, EXIT_PROBLEM, ClusterError, PullcheckError, UsageError
from pullcheck.kube.client import ApiError, Forbidden, KubeClient, NotFound, cluster_scoped, namespaced
from pullcheck.node import podspec
from pullcheck.node.report import NodeCheck, NodeReport, build_report
from pullcheck.node.runner import ProbeRequest, sigterm_raises, build_pod, delete_probe_pod, read_node, run_probe

DEFAULT_PARALLEL = 5
ABORT_GRACE = 5.0            # seconds the workers get to finish after an interrupt, before a last sweep

PROBED, ERROR, SKIPPED = "probed", "error", "skipped"


# ------------------------------------------------------------------------------------------ selection
def natural_key(name: str) -> List[Any]:
    """Sort key that puts node-2 before node-10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def skip_reason(node: Dict[str, Any]) -> Optional[str]:
    """Why a node found by --all / -l is not probed (None: probe it)."""
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        return f"NotReady ({(ready or {}).get('reason') or 'no Ready condition'})"
    if (node.get("spec") or {}).get("unschedulable"):
        return "cordoned (unschedulable)"
    system = (status.get("nodeInfo") or {}).get("operatingSystem") \
        or (node.get("metadata") or {}).get("labels", {}).get("kubernetes.io/os") or "linux"
    if system != "linux":
        return f"{system} node: the probe is a Linux shell script"
    return None


def select_nodes(client: KubeClient, *, all_nodes: bool, selector: Optional[str], names: Sequence[str]
                 ) -> Tuple[List[Dict[str, Any]], List["NodeOutcome"], str]:
    """(nodes to probe, skipped nodes with their reason, a description of the target). Nodes named
    explicitly are probed whatever their state (the runner warns about NotReady/cordoned ones)."""
    if sum((bool(all_nodes), bool(selector), bool(names))) != 1:
        raise UsageError("name the nodes to probe: NAME..., --all or -l SELECTOR (exactly one of them)")
    if names:
        unique = list(dict.fromkeys(names))
        return [read_node(client, name) for name in unique], [], "nodes " + ", ".join(unique)
    query = {"labelSelector": selector} if selector else None
    target = f"nodes matching -l {selector}" if selector else "all nodes"
    try:
        found = list(client.list(cluster_scoped("nodes"), query, page_size=200))
    except Forbidden as exc:
        raise ClusterError(f"not allowed to list nodes: {exc.message}",
                           hint="probing many nodes needs list on nodes (see the README's ClusterRole)") from None
    except ApiError as exc:
        if selector and exc.status == 400:
            raise UsageError(f"-l {selector}: {exc.message}") from None
        raise ClusterError(f"cannot list nodes: {exc.message}") from None
    if not found:
        raise UsageError(f"no nodes match -l {selector}" if selector else "the cluster has no nodes")
    found.sort(key=lambda n: natural_key(n["metadata"]["name"]))
    probe, skipped = [], []
    for node in found:
        reason = skip_reason(node)
        if reason is None:
            probe.append(node)
        else:
            skipped.append(NodeOutcome(node["metadata"]["name"], SKIPPED,
                                       reason=f"{reason}; name it to probe it anyway"))
    return probe, skipped, target


# ------------------------------------------------------------------------------------------ running
class ProbeCancelled(Exception):
    """Raised in a worker once the run was interrupted: no new pod, no new watch."""


@dataclass
class _InFlight:
    namespace: str
    name: str
    answered: bool = False      # the create call returned (or failed): a NotFound now means gone


class PodTracker:
    """The client the workers share. It remembers every probe pod from just before its create call
    (the runner chooses pod names client-side) until a delete confirms it gone, so that one interrupt
    can delete all pods in flight; once stopped it refuses new pods and watches."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._live: Dict[str, _InFlight] = {}       # by the pod's API path
        self.stopped = False

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._client, attribute)

    def create(self, path: str, body: Dict[str, Any], query: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        if body.get("kind") != "Pod":     # e.g. the credentials Secret: owned by its pod, it goes with it
            if self.stopped:
                raise ProbeCancelled()
            return self._client.create(path, body, query)
        pod = _InFlight(body["metadata"]["namespace"], body["metadata"]["name"])
        with self._lock:
            if self.stopped:
                raise ProbeCancelled()
            self._live[namespaced(pod.namespace, "pods", pod.name)] = pod
        try:
            created = self._client.create(path, body, query)
        finally:
            pod.answered = True
        if self.stopped:        # interrupted while the create was in flight: the worker deletes it now
            raise ProbeCancelled()
        return created

    def watch(self, path: str, query: Optional[Dict[str, Any]] = None, *, seconds: int = 60) -> Iterator[dict]:
        if self.stopped:
            raise ProbeCancelled()
        return self._client.watch(path, query, seconds=seconds)

    def delete(self, path: str, query: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        try:
            answer = self._client.delete(path, query)
        except NotFound:
            self._forget(path, only_if_created=True)
            raise
        self._forget(path)
        return answer

    def _forget(self, path: str, only_if_created: bool = False) -> None:
        with self._lock:
            pod = self._live.get(path)
            # NotFound before the create was answered proves nothing: the pod may appear a moment later
            if pod is not None and (pod.answered or not only_if_created):
                del self._live[path]

    def stop(self) -> int:
        """Refuse new work; returns how many pods are in flight."""
        with self._lock:
            self.stopped = True
            return len(self._live)

    def delete_all(self) -> List[str]:
        """Delete every pod still in flight; returns namespace/name of those that could not be deleted."""
        with self._lock:
            pods = list(self._live.values())
        failed = []
        for pod in pods:
            try:
                delete_probe_pod(self, pod.namespace, pod.name)
            except (ApiError, PullcheckError):
                failed.append(f"{pod.namespace}/{pod.name}")
        return failed


@dataclass
class NodeOutcome:
    """One node of a fleet run: probed (report), error (the probe could not run or finish) or skipped."""

    node: str
    state: str
    report: Optional[NodeReport] = None
    reason: str = ""                    # error: what stopped the probe; skipped: why it was not tried
    hint: Optional[str] = None
    crash: Optional[BaseException] = field(default=None, repr=False, compare=False)

    def to_dict(self) -> Dict[str, Any]:
        doc: Dict[str, Any] = {"node": self.node, "state": self.state}
        if self.report is not None:
            doc["report"] = self.report.to_dict()
        else:
            doc["reason"] = self.reason
            if self.hint:
                doc["hint"] = self.hint
        return doc


class FleetProgress:
    """Progress on stderr: one status line rewritten in place ("probing 12 nodes: 7 done, 1 failed")
    and notes, only when stderr is a terminal; warnings always."""

    def __init__(self, stream: Optional[TextIO], warnings: Optional[TextIO] = None) -> None:
        self.stream = stream
        self.warnings = warnings if warnings is not None else stream
        self._status = ""

    @classmethod
    def on_stderr(cls) -> "FleetProgress":
        return cls(sys.stderr if sys.stderr.isatty() else None, sys.stderr)

    def status(self, text: str) -> None:
        if self.stream is not None and text != self._status:
            self.stream.write(f"\r\x1b[Kpullcheck: {text}")
            self.stream.flush()
            self._status = text

    def note(self, text: str) -> None:
        if self.stream is not None:
            self._line(self.stream, text)

    def warn(self, text: str) -> None:
        if self.warnings is not None:
            self._line(self.warnings, text)

    def close(self) -> None:
        if self.stream is not None and self._status:
            self.stream.write("\n")
            self.stream.flush()
            self._status = ""

    def _line(self, stream: TextIO, text: str) -> None:
        status = self._status
        if status and stream is self.stream:
            stream.write("\r\x1b[K")
        stream.write(f"pullcheck: {text}\n")
        if status and stream is self.stream:
            stream.write(f"pullcheck: {status}")
        stream.flush()


def tally(total: int, outcomes: Sequence[NodeOutcome]) -> str:
    failed = sum(1 for o in outcomes if o.report is None or o.report.exit_code != EXIT_OK)
    return f"probing {total} node{'s' if total != 1 else ''}: {len(outcomes)} done, {failed} failed"


def run_probes(client: KubeClient, requests: Sequence[ProbeRequest], nodes: Mapping[str, Dict[str, Any]], *,
               parallel: int, progress: FleetProgress) -> List[NodeOutcome]:
    """Probe every request's node, at most `parallel` at once; outcomes in request order. An interrupt
    deletes every pod in flight before it propagates; a bug in a worker is re-raised here."""
    tracker = PodTracker(client)
    pending = deque(requests)
    done: Dict[str, NodeOutcome] = {}
    changed = threading.Condition()

    def work() -> None:
        while True:
            with changed:
                if not pending or tracker.stopped:
                    return
                request = pending.popleft()
            outcome = _probe_one(tracker, request, nodes[request.node])
            with changed:
                done[request.node] = outcome
                changed.notify_all()

    workers = [threading.Thread(target=work, name=f"pullcheck-probe-{i}", daemon=True)
               for i in range(max(1, min(parallel, len(requests))))]
    with sigterm_raises():
        try:
            for worker in workers:
                worker.start()
            with changed:
                while len(done) < len(requests):
                    progress.status(tally(len(requests), list(done.values())))
                    changed.wait(0.2)        # a timeout keeps Ctrl-C deliverable
            progress.status(tally(len(requests), list(done.values())))
        except BaseException:
            _abort(tracker, workers, progress)
            raise
        finally:
            progress.close()
    crash = next((o.crash for o in done.values() if o.crash is not None), None)
    if crash is not None:
        raise crash
    return [done[r.node] for r in requests]


def _probe_one(client: PodTracker, request: ProbeRequest, node: Dict[str, Any]) -> NodeOutcome:
    try:
        return NodeOutcome(request.node, PROBED, report=build_report(run_probe(client, request, node=node)))
    except ProbeCancelled:
        return NodeOutcome(request.node, ERROR, reason="cancelled: the run was interrupted")
    except PullcheckError as exc:
        return NodeOutcome(request.node, ERROR, reason=exc.message, hint=exc.hint)
    except ApiError as exc:
        return NodeOutcome(request.node, ERROR, reason=f"API error {exc.status}: {exc.message}")
    except Exception as exc:  # a bug: the main thread re-raises it once every worker has cleaned up
        return NodeOutcome(request.node, ERROR, reason=f"internal error: {type(exc).__name__}", crash=exc)


def _abort(tracker: PodTracker, workers: Sequence[threading.Thread], progress: FleetProgress) -> None:
    with _signals_ignored():
        in_flight = tracker.stop()
        progress.close()
        if in_flight:
            progress.warn(f"interrupted: deleting {in_flight} probe pod(s) in flight")
        tracker.delete_all()
        deadline = time.monotonic() + ABORT_GRACE
        for worker in workers:
            if worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
        left = tracker.delete_all()     # pods whose create was answered after the first pass
        if left:
            progress.warn(f"could not delete {', '.join(left)}: run `kubectl pullcheck cleanup`")


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C / SIGTERM must not cut the deletion of the pods in flight short (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ------------------------------------------------------------------------------------------ report
@dataclass
class FleetReport:
    target: str                         # "all nodes", "nodes matching -l pool=blue", "nodes a, b"
    nodes: List[NodeOutcome]            # every node found, by name
    parallel: int
    seconds: float

    @property
    def probed(self) -> List[NodeReport]:
        return [o.report for o in self.nodes if o.report is not None]

    @property
    def exit_code(self) -> int:
        """3 when no probe could run, 1 when a check failed (or a probe could not run) on some node."""
        if not self.probed:
            return EXIT_CLUSTER
        if any(o.state == ERROR for o in self.nodes) or any(r.exit_code != EXIT_OK for r in self.probed):
            return EXIT_PROBLEM
        return EXIT_OK

    def grid(self) -> Grid:
        return build_grid(self.probed)

    def to_dict(self) -> Dict[str, Any]:
        from pullcheck.report import SCHEMA_VERSION

        counts = Counter(o.state for o in self.nodes)
        return {"apiVersion": SCHEMA_VERSION, "kind": "NodeFleetProbe", "target": self.target,
                "parallel": self.parallel, "seconds": round(self.seconds, 1),
                "summary": {"nodes": len(self.nodes), "probed": counts[PROBED], "errors": counts[ERROR],
                            "skipped": counts[SKIPPED],
                            "withFailedChecks": sum(1 for r in self.probed if r.exit_code != EXIT_OK)},
                "nodes": [o.to_dict() for o in self.nodes], "grid": self.grid().to_dict()}


# ------------------------------------------------------------------------------------------ grid
STATUS, CONFIG, VALUE = "status", "config", "value"


@dataclass(frozen=True)
class Aspect:
    """A column family of the grid: which probe checks feed it and how their outcomes compare.
    STATUS: pass/fail per subject; CONFIG: settings read from the node, compared by content;
    VALUE: a fact of the node (architecture, runtime), compared by value."""

    name: str
    header: str                 # short column header (nodes as rows)
    checks: Tuple[str, ...]
    per_subject: bool = False   # one column per registry / image
    kind: str = STATUS
    value_from: str = "detail"  # VALUE aspects: the record's detail or its subject


ASPECTS = (
    Aspect("arch", "ARCH", ("arch",), kind=VALUE),
    Aspect("runtime", "RUNTIME", ("runtime",), kind=VALUE, value_from="subject"),
    Aspect("dns", "DNS", ("dns",), per_subject=True),
    Aspect("https", "HTTPS", ("https",), per_subject=True),
    Aspect("pull", "PULL", ("pull",), per_subject=True),
    Aspect("proxy", "PROXY", ("proxy-compare", "runtime-proxy", "etc-environment-proxy"), kind=CONFIG),
    Aspect("mirrors", "MIRRORS", ("containerd-config", "hosts-toml", "crio-registries"), kind=CONFIG),
    Aspect("credential-provider", "CREDPROV", ("credential-provider",), kind=CONFIG),
    Aspect("disk", "DISK", ("image-fs",)),
)
# The https column already says when a registry answers plain HTTP (status info), so the http record adds nothing.
FOLDED_CHECKS = ("http",)
_SEVERITY = ("skip", "info", "ok", "warn", "fail")
_BY_CHECK = {check: aspect for aspect in ASPECTS for check in aspect.checks}


def aspect_of(check: str) -> Aspect:
    """The aspect a check belongs to; a check this table does not know gets its own pass/fail column."""
    return _BY_CHECK.get(check) or Aspect(check, check.upper(), (check,), per_subject=True)


@dataclass(frozen=True)
class Column:
    aspect: Aspect
    subject: str                # "" for node-wide aspects
    short: str                  # header when nodes are rows: PULL1, DNS2, PROXY

    @property
    def label(self) -> str:
        return column_label(self.aspect.name, self.subject)


def column_label(aspect: str, subject: str) -> str:
    return f"{aspect} {subject}".rstrip()


@dataclass(frozen=True)
class Cell:
    status: str                 # ok fail warn info skip; "-": the node did not report it
    cause: Optional[str] = None
    value: str = ""             # VALUE: the fact; CONFIG: the settings read, one per line
    summary: str = ""           # the node's own words, for the list of differences

    @property
    def outcome(self) -> Tuple[str, Optional[str], str]:
        return self.status, self.cause, self.value


MISSING = Cell("-", summary="not reported")


@dataclass(frozen=True)
class Difference:
    column: Column
    groups: List[Tuple[Cell, List[str]]]      # one cell per distinct outcome and its nodes, most common first


@dataclass
class Grid:
    nodes: List[str]
    columns: List[Column]
    cells: Dict[Tuple[str, str], Cell]        # (node, column label) -> cell
    _letters: Dict[str, Dict[str, str]] = field(default_factory=dict, repr=False)    # variants() by label

    def cell(self, node: str, column: Column) -> Cell:
        return self.cells.get((node, column.label), MISSING)

    def variants(self, column: Column) -> Dict[str, str]:
        """CONFIG columns: letter per distinct settings (A on most nodes); empty when all nodes agree."""
        if column.aspect.kind != CONFIG:
            return {}
        if column.label not in self._letters:
            counts = Counter(self.cell(n, column).value for n in self.nodes)
            ordered = sorted(counts, key=lambda value: -counts[value])     # stable: the first node's first on ties
            self._letters[column.label] = {value: chr(ord("A") + i) if i < 26 else f"V{i + 1}"
                                           for i, value in enumerate(ordered)} if len(counts) > 1 else {}
        return self._letters[column.label]

    def differences(self) -> List[Difference]:
        """The columns whose outcome is not the same on every node."""
        found = []
        for column in self.columns:
            groups: Dict[Tuple[str, Optional[str], str], Tuple[Cell, List[str]]] = {}
            for node in self.nodes:
                cell = self.cell(node, column)
                groups.setdefault(cell.outcome, (cell, []))[1].append(node)
            if len(groups) > 1:
                found.append(Difference(column, sorted(groups.values(), key=lambda group: -len(group[1]))))
        return found

    def to_dict(self) -> Dict[str, Any]:
        def cell_doc(cell: Cell, column: Column) -> Dict[str, Any]:
            doc: Dict[str, Any] = {"status": cell.status}
            if cell.cause:
                doc["cause"] = cell.cause
            if column.aspect.kind == VALUE:
                doc["value"] = cell.value
            variant = self.variants(column).get(cell.value)
            if variant:
                doc["variant"] = variant
            return doc

        return {"columns": [{"label": c.label, "check": c.aspect.name, "subject": c.subject, "short": c.short}
                            for c in self.columns],
                "cells": {node: {c.label: cell_doc(self.cell(node, c), c) for c in self.columns}
                          for node in self.nodes},
                "differs": [{"column": d.column.label,
                             "groups": [dict(cell_doc(cell, d.column), nodes=nodes) for cell, nodes in d.groups]}
                            for d in self.differences()]}


def build_grid(reports: Sequence[NodeReport]) -> Grid:
    """Columns in ASPECTS order (subjects in the order the probes reported them, unknown checks last)."""
    order = {aspect.name: i for i, aspect in enumerate(ASPECTS)}
    columns: Dict[Tuple[str, str], Aspect] = {}
    cells: Dict[Tuple[str, str], Cell] = {}
    for report in reports:
        grouped: Dict[Tuple[str, str], List[NodeCheck]] = {}
        for check in report.checks:
            if check.check in FOLDED_CHECKS:
                continue
            aspect = aspect_of(check.check)
            key = (aspect.name, check.subject if aspect.per_subject else "")
            columns.setdefault(key, aspect)
            grouped.setdefault(key, []).append(check)
        for (name, subject), checks in grouped.items():
            cells[(report.node, column_label(name, subject))] = _cell(columns[(name, subject)], checks)
    keys = sorted(columns, key=lambda k: (order.get(k[0], len(order)), k[0] if k[0] not in order else ""))
    numbered: Counter = Counter()
    made = []
    for name, subject in keys:
        aspect = columns[(name, subject)]
        if aspect.per_subject:
            numbered[name] += 1
            made.append(Column(aspect, subject, f"{aspect.header}{numbered[name]}"))
        else:
            made.append(Column(aspect, subject, aspect.header))
    return Grid([r.node for r in reports], made, cells)


def _cell(aspect: Aspect, checks: Sequence[NodeCheck]) -> Cell:
    worst = max(checks, key=lambda c: _SEVERITY.index(c.status) if c.status in _SEVERITY else 0)
    if aspect.kind == VALUE:
        value = worst.subject if aspect.value_from == "subject" else worst.detail.strip()
        return Cell(worst.status, value=value, summary=value)
    if aspect.kind == CONFIG:
        value = "\n".join(f"{c.check} {c.subject}: {line}".rstrip() for c in checks
                          for line in (c.detail.strip().splitlines() or ["(none)"]))
        return Cell(worst.status, value=value, summary=worst.summary)
    return Cell(worst.status, worst.cause, summary=worst.summary)


# ------------------------------------------------------------------------------------------ entry point
def fleet_probe(client_factory: Callable[[], KubeClient], *, all_nodes: bool, selector: Optional[str],
                names: Sequence[str] = (), images: Sequence[str], registries: Sequence[str],
                probe_image: Optional[str], namespace: Optional[str], timeout: int,
                parallel: int = DEFAULT_PARALLEL, dry_run: bool, output: str, color: bool) -> Tuple[str, int]:
    """Run (or with dry_run, show) the node probe on many nodes; returns (text for stdout, exit code)."""
    from pullcheck.node.command import node_request

    if parallel < 1:
        raise UsageError("--parallel must be at least 1")
    client = client_factory()
    targets, skipped, target = select_nodes(client, all_nodes=all_nodes, selector=selector, names=names)
    nodes = {n["metadata"]["name"]: n for n in targets}
    template = node_request("", images=images, registries=registries, probe_image=probe_image,
                            namespace=namespace, timeout=timeout)
    requests = [replace(template, node=name) for name in nodes]
    if dry_run:
        return dry_run_manifests(requests, nodes, skipped), EXIT_OK
    progress = FleetProgress.on_stderr()
    for outcome in skipped:
        progress.note(f"skipping node {outcome.node}: {outcome.reason}")
    started = time.monotonic()
    outcomes = run_probes(client, requests, nodes, parallel=parallel, progress=progress) if requests else []
    report = FleetReport(target=target, nodes=sorted(outcomes + skipped, key=lambda o: natural_key(o.node)),
                         parallel=parallel, seconds=time.monotonic() - started)
    from pullcheck.node.fleet_render import render_fleet

    return render_fleet(report, output, color=color), report.exit_code


def dry_run_manifests(requests: Sequence[ProbeRequest], nodes: Mapping[str, Dict[str, Any]],
                      skipped: Sequence[NodeOutcome]) -> str:
    """One YAML document per probe pod; skipped nodes as comments."""
    comments = "".join(f"# node {o.node} skipped: {o.reason}\n" for o in skipped)
    pods = [build_pod(request, nodes[request.node]) for request in requests]
    if not pods:
        return comments
    return comments + podspec.manifests_yaml(pods, explicit_start=True)
