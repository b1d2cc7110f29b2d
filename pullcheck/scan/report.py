"""What `scan` concludes: failing pods grouped by cause and image, and the documented JSON form.

The stable schema (apiVersion pullcheck/v1, kind ScanReport) is what `-o json|yaml` prints.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pullcheck.errors import EXIT_OK, EXIT_PROBLEM
from pullcheck.report import SCHEMA_VERSION, ImageInfo, NextStep, ProbeSection
from pullcheck.timeutil import format_time

# Scope of a group: which pods fail.
NEW_PODS = "new pods"              # none of them ever ran: a rollout, a scale-up, a new workload
RAN_BEFORE = "ran before"          # they ran and cannot pull again (restarts): rotated credentials, deleted tags
MIXED = "mixed"


@dataclass
class PodEntry:
    namespace: str
    name: str
    container: str
    node: str | None
    owner: str | None                  # "Deployment/web"
    state: str                         # ErrImagePull, ImagePullBackOff, ...
    since: datetime | None             # first failed pull seen (else the pod's start)
    ran_before: bool
    attempts: int

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "container": self.container, "node": self.node,
                "owner": self.owner, "state": self.state, "since": format_time(self.since),
                "ranBefore": self.ran_before, "attempts": self.attempts}


@dataclass
class Rollout:
    """A Deployment whose newest pods fail while pods of an older ReplicaSet still run."""

    workload: str                      # "Deployment shop/web"
    failing_hashes: list[str]
    serving_pods: int

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "failingTemplateHashes": self.failing_hashes,
                "podsOfOlderReplicaSetsRunning": self.serving_pods}


@dataclass
class Group:
    cause: str
    title: str
    family: str
    image: ImageInfo
    summary: str                       # the verdict's one line, for the first pod of the group
    pods: list[PodEntry] = field(default_factory=list)
    workloads: dict[str, int] = field(default_factory=dict)     # "Deployment shop/web" -> pods
    nodes_failing: list[str] = field(default_factory=list)
    nodes_running_image: list[str] = field(default_factory=list)
    nodes_caching_image: list[str] = field(default_factory=list)
    scope: str = NEW_PODS
    rollouts: list[Rollout] = field(default_factory=list)
    next_steps: list[NextStep] = field(default_factory=list)    # for the first pod, names filled in
    probe: ProbeSection | None = None

    @property
    def first_seen(self) -> datetime | None:
        return min((p.since for p in self.pods if p.since), default=None)

    @property
    def pod_count(self) -> int:
        return len({(p.namespace, p.name) for p in self.pods})

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause, "title": self.title, "family": self.family, "image": self.image.to_dict(),
            "summary": self.summary, "podCount": self.pod_count, "firstSeen": format_time(self.first_seen),
            "scope": self.scope, "workloads": [{"workload": w, "pods": n} for w, n in self.workloads.items()],
            "nodes": {"failing": self.nodes_failing, "runningImage": self.nodes_running_image,
                      "cachingImage": self.nodes_caching_image},
            "rollouts": [r.to_dict() for r in self.rollouts],
            "nextSteps": [s.to_dict() for s in self.next_steps],
            "probe": self.probe.to_dict() if self.probe else None,
            "pods": [p.to_dict() for p in self.pods],
        }


@dataclass
class ScanReport:
    namespace: str | None              # None: all namespaces
    selector: str | None
    observed_at: datetime
    pods_seen: int
    nodes_total: int | None
    groups: list[Group] = field(default_factory=list)
    skipped: list[Any] = field(default_factory=list)    # pullcheck.snapshot.Skipped
    api_requests: int = 0

    @property
    def scope_text(self) -> str:
        where = f"namespace {self.namespace}" if self.namespace else "all namespaces"
        return where + (f", pods matching {self.selector}" if self.selector else "")

    @property
    def failing_pods(self) -> int:
        return len({(p.namespace, p.name) for g in self.groups for p in g.pods})

    @property
    def workloads(self) -> set[str]:
        return {w for g in self.groups for w in g.workloads}

    @property
    def namespaces(self) -> set[str]:
        return {p.namespace for g in self.groups for p in g.pods}

    @property
    def nodes_failing(self) -> set[str]:
        return {n for g in self.groups for n in g.nodes_failing}

    @property
    def first_seen(self) -> datetime | None:
        return min((g.first_seen for g in self.groups if g.first_seen), default=None)

    @property
    def exit_code(self) -> int:
        return EXIT_PROBLEM if self.groups else EXIT_OK

    def by_registry(self) -> list[tuple[str, int, dict[str, int]]]:
        """(registry, failing pods, cause -> pods), most pods first."""
        pods: dict[str, set] = {}
        causes: dict[str, dict[str, int]] = {}
        for group in self.groups:
            registry = group.image.registry or "(invalid reference)"
            pods.setdefault(registry, set()).update((p.namespace, p.name) for p in group.pods)
            per = causes.setdefault(registry, {})
            per[group.cause] = per.get(group.cause, 0) + group.pod_count
        return sorted(((r, len(p), causes[r]) for r, p in pods.items()), key=lambda row: (-row[1], row[0]))

    def summary_line(self) -> str:
        """One line for the incident channel."""
        if not self.groups:
            return f"no image pull problems in {self.scope_text} ({self.pods_seen} pods checked)"
        parts = [f"{self.failing_pods} pod{'s' if self.failing_pods != 1 else ''} cannot pull images in "
                 f"{self.scope_text}"]
        facts = []
        if self.workloads:
            facts.append(f"{len(self.workloads)} workload{'s' if len(self.workloads) != 1 else ''}")
        bare = len({(p.namespace, p.name) for g in self.groups for p in g.pods if not p.owner})
        if bare:
            facts.append(f"{bare} bare pod{'s' if bare != 1 else ''}")
        if self.nodes_total:
            facts.append(f"on {len(self.nodes_failing)} of {self.nodes_total} nodes")
        if self.first_seen:
            facts.append(f"since {format_time(self.first_seen)}")
        causes = "; ".join(f"{g.pod_count} {g.cause} {g.image.normalized or g.image.written}"
                           for g in self.groups[:3])
        more = f"; +{len(self.groups) - 3} more" if len(self.groups) > 3 else ""
        return f"{parts[0]} ({', '.join(facts)}): {causes}{more}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": SCHEMA_VERSION, "kind": "ScanReport",
            "scope": {"namespace": self.namespace, "allNamespaces": self.namespace is None,
                      "labelSelector": self.selector},
            "observedAt": format_time(self.observed_at), "summary": self.summary_line(),
            "problem": bool(self.groups), "podsChecked": self.pods_seen, "failingPods": self.failing_pods,
            "nodesTotal": self.nodes_total, "firstSeen": format_time(self.first_seen),
            "groups": [g.to_dict() for g in self.groups],
            "registries": [{"registry": r, "failingPods": n, "causes": c} for r, n, c in self.by_registry()],
            "skipped": [{"check": s.check, "reason": s.reason} for s in self.skipped],
        }
