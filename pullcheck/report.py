"""What `pod` and `explain` conclude: plain dataclasses, and their documented JSON form.

render.py formats these and computes nothing; `to_dict()` is the stable JSON/YAML schema
(apiVersion pullcheck/v1) described in the README.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pullcheck.errors import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE
from pullcheck.timeutil import format_time

SCHEMA_VERSION = "pullcheck/v1"

# Container pull status values.
FAILING = "failing"            # the kubelet cannot pull the image
STUCK = "stuck"                # a pull has been running far too long with no result
PULLING = "pulling"            # a pull is in progress, not (yet) a failure
RECOVERED = "recovered"        # earlier pulls failed, the image is now pulled
OK = "ok"
PROBLEM_STATUSES = frozenset({FAILING, STUCK})


@dataclass
class Evidence:
    source: str     # where it was seen: "event Failed x3 (kubelet, 2m ago)", "secret rig-auth-creds", ...
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "text": self.text}


@dataclass
class NextStep:
    why: str
    command: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"why": self.why, "command": self.command}


@dataclass
class Verdict:
    """A cause with its matrix row, candidates (when ambiguous), evidence and next steps."""

    cause: str
    row: Any                                   # pullcheck.matrix.MatrixRow
    rule: str | None
    summary: str                               # one line, in the situation's own names
    candidates: list[Any] = field(default_factory=list)    # pullcheck.matrix.Candidate
    evidence: list[Evidence] = field(default_factory=list)
    next_steps: list[NextStep] = field(default_factory=list)
    settled_by: str | None = None              # what context changed the matrix's first answer

    def to_dict(self) -> dict[str, Any]:
        row = self.row
        return {
            "cause": self.cause,
            "summary": self.summary,
            "rule": self.rule,
            "settledBy": self.settled_by,
            "matrix": {
                "title": row.title,
                "likelihood": row.likelihood,
                "split": [{"what": what, "percent": pct} for what, pct in row.split],
                "immediateAction": row.immediate_action,
                "successRate": row.success_rate,
                "timeToResolution": row.time_to_resolution,
            },
            "candidates": [{"cause": c.cause, "likelihood": c.likelihood, "settledBy": c.settled_by}
                           for c in self.candidates],
            "evidence": [e.to_dict() for e in self.evidence],
            "nextSteps": [s.to_dict() for s in self.next_steps],
        }


@dataclass
class ImageInfo:
    written: str
    normalized: str | None = None
    registry: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    invalid: str | None = None        # the reference grammar's complaint, when it is invalid

    def to_dict(self) -> dict[str, Any]:
        return {"written": self.written, "normalized": self.normalized, "registry": self.registry,
                "repository": self.repository, "tag": self.tag, "digest": self.digest, "invalid": self.invalid}


@dataclass
class SecretMatch:
    """One pull secret as the audit sees it for one image."""

    name: str
    source: str                # pod | serviceaccount | pod+serviceaccount
    status: str                # found | missing | forbidden | error | unknown
    type: str | None = None
    registries: list[str] = field(default_factory=list)   # "host (user)" - never values
    matches: bool | None = None                           # has credentials for this image's registry
    used_by_kubelet: bool = False                          # listed in the pod's own imagePullSecrets

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "status": self.status, "type": self.type,
                "registries": self.registries, "matchesImage": self.matches, "usedByKubelet": self.used_by_kubelet}


@dataclass
class NodeCache:
    on_pod_node: bool | None            # None: unknown (nodes unreadable or pod not scheduled)
    nodes_with_image: list[str] = field(default_factory=list)
    nodes_total: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"onPodNode": self.on_pod_node, "nodesWithImage": self.nodes_with_image, "nodesTotal": self.nodes_total}


@dataclass
class ProbeSection:
    """A registry probe of one image from this workstation (`pod --probe`, `image REF`).

    credentials: where the credentials offered came from ("secret ns/name (user u)"), never values;
    kubelet_credentials: they are exactly the ones the kubelet offers, so auth answers speak for it.
    """

    image: str                          # host/repository:tag or @digest, as probed
    platform: str | None                # the node's, when known
    credentials: list[str]
    credentials_from: str               # pod | secret | none
    kubelet_credentials: bool
    cause: str | None                   # None: pullable from here
    steps: list[Any]                    # pullcheck.registry.StepResult
    suggestions: list[str]
    elapsed: float
    notes: list[str] = field(default_factory=list)

    @property
    def failed_step(self) -> Any:
        return next((s for s in self.steps if s.status == "failed"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "image": self.image, "platform": self.platform, "pullable": self.cause is None, "cause": self.cause,
            "credentials": {"from": self.credentials_from, "sources": self.credentials,
                            "sameAsKubelet": self.kubelet_credentials},
            "elapsedSeconds": round(self.elapsed, 3),
            "steps": [{"step": s.step, "status": s.status, "cause": s.cause, "summary": s.summary,
                       "evidence": list(s.evidence)} for s in self.steps],
            "suggestions": self.suggestions,
            "notes": self.notes,
        }


@dataclass
class ImageCheck:
    """`image REF...`: one probe per reference (None for an invalid one)."""

    images: list[tuple[ImageInfo, ProbeSection | None]]

    @property
    def exit_code(self) -> int:
        if any(info.invalid for info, _ in self.images):
            return EXIT_USAGE
        return EXIT_PROBLEM if any(p is None or p.cause for _, p in self.images) else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {"apiVersion": SCHEMA_VERSION, "kind": "ImageCheck",
                "images": [{"image": info.to_dict(), "pullable": bool(probe and probe.cause is None),
                            "cause": "invalid-reference" if info.invalid else probe.cause if probe else None,
                            "probe": probe.to_dict() if probe else None} for info, probe in self.images]}


@dataclass
class ContainerReport:
    name: str
    kind: str
    image: ImageInfo
    pull_policy: str
    state: str                          # waiting reason, Running, Terminated, ...
    status: str                         # FAILING | STUCK | PULLING | RECOVERED | OK
    message: str | None = None          # the error text the verdict rests on
    message_source: str | None = None
    message_at: datetime | None = None
    attempts: int = 0
    first_failure: datetime | None = None
    last_failure: datetime | None = None
    backoff: Any = None                 # pullcheck.backoff.BackoffState
    verdict: Verdict | None = None
    secrets: list[SecretMatch] = field(default_factory=list)
    node_cache: NodeCache | None = None
    notes: list[str] = field(default_factory=list)
    probe: ProbeSection | None = None   # with --probe, for failing containers

    def to_dict(self) -> dict[str, Any]:
        backoff = None
        if self.backoff is not None:
            backoff = {"failures": self.backoff.failures, "delaySeconds": self.backoff.delay_seconds,
                       "nextRetryAt": None if self.backoff.reset else format_time(self.backoff.next_retry),
                       "atCap": self.backoff.at_cap, "stale": self.backoff.reset}
        return {
            "name": self.name, "type": self.kind, "image": self.image.to_dict(), "pullPolicy": self.pull_policy,
            "state": self.state, "status": self.status,
            "message": {"text": self.message, "source": self.message_source, "at": format_time(self.message_at)},
            "attempts": self.attempts, "firstFailure": format_time(self.first_failure),
            "lastFailure": format_time(self.last_failure), "backoff": backoff,
            "cause": self.verdict.cause if self.verdict else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "pullSecrets": [s.to_dict() for s in self.secrets],
            "nodeCache": self.node_cache.to_dict() if self.node_cache else None,
            "notes": self.notes,
            "probe": self.probe.to_dict() if self.probe else None,
        }


# Rollback verdicts ("Stop the bleeding").
SAFE = "safe"                  # every image is cached where it can run (or provably pullable) and its secrets exist
RISKY = "risky"                # offered with the risk stated
NOT_OFFERED = "not-offered"    # no previous revision, the same failing image, or a pull secret gone
UNCHECKED = "unchecked"        # the rollout history could not be read

# When an action helps, for the cause found.
NOW = "now"
AFTER_FIX = "after-fix"
NOT_FOR_THIS_CAUSE = "not-for-this-cause"


@dataclass
class RollbackImage:
    """One container's image in the revision a rollback restores."""

    container: str
    kind: str                           # container | init
    image: str                          # in the restored revision
    current: str | None                 # in the workload's current revision (None: not there)
    pull_policy: str
    nodes_with_image: list[str] = field(default_factory=list)
    nodes_considered: int | None = None  # ready, schedulable nodes matching its nodeSelector; None: not read
    risk: str | None = None             # why it may not start; None: no known risk
    note: str = ""

    @property
    def changed(self) -> bool:
        return self.image != self.current

    def to_dict(self) -> dict[str, Any]:
        return {"container": self.container, "type": self.kind, "image": self.image, "current": self.current,
                "changed": self.changed, "pullPolicy": self.pull_policy, "cachedOn": self.nodes_with_image,
                "nodesConsidered": self.nodes_considered, "risk": self.risk, "note": self.note}


@dataclass
class RollbackSecret:
    """A pull secret the restored revision's pods would get (from the template or the service account)."""

    name: str
    source: str                         # template | serviceaccount
    status: str                         # found | missing | forbidden | error | unknown | not read
    registries: list[str] = field(default_factory=list)   # "host (user)": never values

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "status": self.status, "registries": self.registries}


@dataclass
class RollbackOption:
    """`kubectl rollout undo` to one revision: what it changes and whether that is safe."""

    to_revision: int | None
    from_revision: int | None
    verdict: str                        # SAFE | RISKY | NOT_OFFERED | UNCHECKED
    summary: str
    changes: list[str] = field(default_factory=list)     # "web: reg/shop/web:1.4.2 -> :1.4.1"
    reasons: list[str] = field(default_factory=list)     # what blocks it, its risks, or why it is safe
    images: list[RollbackImage] = field(default_factory=list)
    secrets: list[RollbackSecret] = field(default_factory=list)
    steps: list[NextStep] = field(default_factory=list)   # empty when not offered

    def to_dict(self) -> dict[str, Any]:
        return {"toRevision": self.to_revision, "fromRevision": self.from_revision, "verdict": self.verdict,
                "summary": self.summary, "changes": self.changes, "reasons": self.reasons, "images": [i.to_dict() for i in self.images],
                "pullSecrets": [s.to_dict() for s in self.secrets], "steps": [s.to_dict() for s in self.steps]}


@dataclass
class BleedingAction:
    """Deleting the pod, restarting or scaling the workload: when it helps, when not, and its cost."""

    action: str                         # delete-pod | rollout-restart | scale-to-zero-and-back
    when: str                           # NOW | AFTER_FIX | NOT_FOR_THIS_CAUSE
    helps: str
    does_not_help: str
    cost: str
    step: NextStep

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "when": self.when, "helps": self.helps, "doesNotHelp": self.does_not_help,
                "cost": self.cost, "why": self.step.why, "command": self.step.command}


@dataclass
class StopTheBleeding:
    """Ways to get the workload serving again while the cause is being fixed. Commands are printed only."""

    workload: str                       # "Deployment/web"
    history_source: str | None          # replicasets | controllerrevisions; None: not read
    current_revision: int | None
    pod_revision: int | None
    rollbacks: list[RollbackOption] = field(default_factory=list)
    actions: list[BleedingAction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"workload": self.workload, "historyFrom": self.history_source,
                "currentRevision": self.current_revision, "podRevision": self.pod_revision,
                "rollbacks": [r.to_dict() for r in self.rollbacks], "actions": [a.to_dict() for a in self.actions],
                "notes": self.notes}


@dataclass
class PodReport:
    namespace: str
    name: str
    phase: str
    node: str | None
    node_platform: str | None           # "linux/amd64"
    owner: str | None                   # "Deployment/web"
    service_account: str
    source: str
    observed_at: datetime
    containers: list[ContainerReport] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)      # pod-level pull-secret findings
    other_problems: list[str] = field(default_factory=list)  # non-pull issues seen (CrashLoopBackOff, ...)
    skipped: list[Any] = field(default_factory=list)         # pullcheck.snapshot.Skipped
    stop_the_bleeding: StopTheBleeding | None = None         # owned by a Deployment/StatefulSet/DaemonSet

    @property
    def problem(self) -> bool:
        return any(c.status in PROBLEM_STATUSES for c in self.containers)

    @property
    def exit_code(self) -> int:
        return EXIT_PROBLEM if self.problem else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": SCHEMA_VERSION,
            "kind": "PodDiagnosis",
            "pod": {"namespace": self.namespace, "name": self.name, "phase": self.phase, "node": self.node,
                    "nodePlatform": self.node_platform, "owner": self.owner, "serviceAccount": self.service_account},
            "source": self.source,
            "observedAt": format_time(self.observed_at),
            "problem": self.problem,
            "containers": [c.to_dict() for c in self.containers],
            "findings": self.findings,
            "otherProblems": self.other_problems,
            "skipped": [{"check": s.check, "reason": s.reason} for s in self.skipped],
            "stopTheBleeding": self.stop_the_bleeding.to_dict() if self.stop_the_bleeding else None,
        }


@dataclass
class Explanation:
    """`explain MESSAGE`: the verdict part of a pod report, for a message with no pod around it."""

    message: str
    verdict: Verdict
    image: ImageInfo | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.verdict.cause == "unknown" else EXIT_PROBLEM

    def to_dict(self) -> dict[str, Any]:
        out = {"apiVersion": SCHEMA_VERSION, "kind": "Explanation", "message": self.message,
               "image": self.image.to_dict() if self.image else None}
        out.update(self.verdict.to_dict())
        return out
