"""The plain snapshot of everything `pod` reads, from a cluster or from a saved capture.

Snapshots hold the API's own JSON (dicts): parsing only what we use is faster than building client
model objects, and a capture file round-trips without loss. Secrets are the exception: only their
decoded, value-free form (pullcheck.secrets.DecodedSecret) is kept, so nothing downstream can leak one.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pullcheck.containers import default_pull_policy
from pullcheck.errors import UsageError
from pullcheck.timeutil import format_time, latest_timestamp, parse_time

BUNDLE_API_VERSION = "pullcheck/v1"
BUNDLE_KIND = "PodBundle"


@dataclass
class Skipped:
    """A check that could not run, and why (RBAC, not in the capture, ...)."""

    check: str
    reason: str


@dataclass
class SecretLookup:
    """What we learnt about one image pull secret referenced by the pod or its service account."""

    name: str
    status: str                      # found | missing | forbidden | error | unknown
    decoded: Any = None              # pullcheck.secrets.DecodedSecret when found
    redacted: dict | None = None     # pullcheck.secrets.redact_secret() of it: what a bundle stores
    found_in: tuple[str, ...] = ()   # other namespaces holding a secret of this name
    elsewhere: str = "not checked"   # checked | forbidden | not checked
    detail: str = ""


@dataclass
class Owner:
    kind: str
    name: str


@dataclass
class TemplateContainer:
    name: str
    kind: str            # container | init
    image: str
    pull_policy: str     # as the API server defaults it when the template leaves it out


@dataclass
class Revision:
    """One revision of a workload's pod template, as `kubectl rollout undo` would restore it.

    Only what a pull depends on is kept (images, pull policies, pull secret names, service account,
    node selector and tolerations: where its pods can land): never env values or anything else a template
    may hold.
    """

    number: int
    name: str                                   # the ReplicaSet or ControllerRevision holding it
    containers: list[TemplateContainer]
    pull_secrets: list[str]                     # the template's imagePullSecrets names
    service_account: str
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict] = field(default_factory=list)
    ready_replicas: int | None = None           # ReplicaSets only: its pods that are Ready now
    created: str | None = None

    @classmethod
    def from_template(cls, number: int, name: str, template: dict, *, ready_replicas: int | None = None,
                      created: str | None = None) -> "Revision":
        spec = template.get("spec") or {}
        containers = [TemplateContainer(name=c.get("name", ""), kind=kind, image=c.get("image", ""),
                                        pull_policy=c.get("imagePullPolicy") or default_pull_policy(c.get("image", "")))
                      for key, kind in (("initContainers", "init"), ("containers", "container"))
                      for c in spec.get(key) or () if isinstance(c, dict)]
        secrets = [r["name"] for r in spec.get("imagePullSecrets") or () if isinstance(r, dict) and r.get("name")]
        return cls(number=number, name=name, containers=containers, pull_secrets=secrets,
                   service_account=spec.get("serviceAccountName") or spec.get("serviceAccount") or "default",
                   node_selector=dict(spec.get("nodeSelector") or {}),
                   tolerations=[t for t in spec.get("tolerations") or () if isinstance(t, dict)],
                   ready_replicas=ready_replicas, created=created)

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.number, "name": self.name, "created": self.created,
                "readyReplicas": self.ready_replicas, "serviceAccount": self.service_account,
                "imagePullSecrets": list(self.pull_secrets), "nodeSelector": dict(self.node_selector),
                "tolerations": list(self.tolerations),
                "containers": [{"name": c.name, "type": c.kind, "image": c.image, "imagePullPolicy": c.pull_policy}
                               for c in self.containers]}

    @classmethod
    def from_dict(cls, doc: dict) -> "Revision":
        return cls(number=int(doc["revision"]), name=doc.get("name", ""),
                   containers=[TemplateContainer(name=c.get("name", ""), kind=c.get("type", "container"),
                                                 image=c.get("image", ""), pull_policy=c.get("imagePullPolicy", ""))
                               for c in doc.get("containers") or ()],
                   pull_secrets=list(doc.get("imagePullSecrets") or ()),
                   service_account=doc.get("serviceAccount") or "default",
                   node_selector=dict(doc.get("nodeSelector") or {}), tolerations=list(doc.get("tolerations") or ()),
                   ready_replicas=doc.get("readyReplicas"), created=doc.get("created"))


@dataclass
class RolloutHistory:
    """The revisions of the pod's Deployment (its ReplicaSets) or StatefulSet/DaemonSet (its
    ControllerRevisions), oldest first."""

    kind: str
    name: str
    source: str                              # replicasets | controllerrevisions
    revisions: list[Revision]
    pod_revision: int | None = None          # the revision this pod was created from
    replicas: int | None = None              # desired replicas (Deployment, StatefulSet)

    @property
    def current(self) -> Revision | None:
        return self.revisions[-1] if self.revisions else None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "source": self.source, "podRevision": self.pod_revision,
                "replicas": self.replicas, "revisions": [r.to_dict() for r in self.revisions]}

    @classmethod
    def from_dict(cls, doc: dict) -> "RolloutHistory":
        revisions = sorted((Revision.from_dict(r) for r in doc.get("revisions") or ()), key=lambda r: r.number)
        return cls(kind=doc["kind"], name=doc["name"], source=doc.get("source", ""), revisions=revisions,
                   pod_revision=doc.get("podRevision"), replicas=doc.get("replicas"))


def controller_ref(obj: dict) -> dict | None:
    """The ownerReference marked controller (else the first usable one), as the workload to act on."""
    refs = [r for r in obj.get("metadata", {}).get("ownerReferences") or () if r.get("kind") and r.get("name")]
    return next((r for r in refs if r.get("controller")), refs[0] if refs else None)


@dataclass
class PodSnapshot:
    pod: dict
    events: list[dict] | None                 # None: could not be read
    service_account: dict | None = None
    service_account_status: str = "unknown"   # found | missing | forbidden | unknown
    secrets: dict[str, SecretLookup] = field(default_factory=dict)
    nodes: list[dict] | None = None           # None: could not be read
    owner: Owner | None = None
    skipped: list[Skipped] = field(default_factory=list)
    source: str = "cluster"                   # "cluster" or "capture FILE"
    observed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    revisions: RolloutHistory | None = None   # read only for a pull problem of a Deployment/StatefulSet/DaemonSet

    @property
    def name(self) -> str:
        return self.pod.get("metadata", {}).get("name", "")

    @property
    def namespace(self) -> str:
        return self.pod.get("metadata", {}).get("namespace") or "default"

    @property
    def node_name(self) -> str | None:
        return (self.pod.get("spec") or {}).get("nodeName")

    def node(self, name: str | None = None) -> dict | None:
        wanted = name or self.node_name
        for node in self.nodes or ():
            if node.get("metadata", {}).get("name") == wanted:
                return node
        return None


# -- capture files ---------------------------------------------------------------------------------
def load_capture(path: str, *, name: str | None = None) -> PodSnapshot:
    """Read `kubectl get pod -o json|yaml`, `kubectl get pod,events -o json` (a List) or a saved bundle."""
    doc = _read_document(path)
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: expected a Pod, a List or a pullcheck bundle, got {type(doc).__name__}")
    if doc.get("kind") == BUNDLE_KIND:
        return _from_bundle(doc, path, name)
    if doc.get("kind") == "Pod":
        pods, events = [doc], []
    elif doc.get("kind", "").endswith("List") or "items" in doc:
        items = [i for i in doc.get("items") or () if isinstance(i, dict)]
        pods = [i for i in items if i.get("kind") == "Pod"]
        events = [i for i in items if i.get("kind") == "Event"]
    else:
        raise UsageError(f"{path}: kind {doc.get('kind')!r} is not a Pod, a List or a pullcheck bundle")
    pod = _choose_pod(pods, name, path)
    uid = pod.get("metadata", {}).get("uid")
    events = [e for e in events if _event_is_about(e, pod, uid)]
    skipped = [Skipped("service account and pull secrets", "not in the capture (save one with `pod NAME --save`)"),
               Skipped("node", "not in the capture")]
    if not events:
        skipped.append(Skipped("events", "no events in the capture"))
    return PodSnapshot(pod=pod, events=events if events else None, skipped=skipped, source=f"capture {path}",
                       observed_at=_capture_time(pod, events))


def _read_document(path: str) -> Any:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file") from None
    try:
        return json.loads(text)
    except ValueError as json_error:
        if text.lstrip().startswith(("{", "[")):
            raise UsageError(f"{path} is not valid JSON: {json_error}") from None
    import yaml  # only for YAML captures

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is neither JSON nor YAML: {' '.join(str(exc).split())[:160]}") from None


def _choose_pod(pods: list[dict], name: str | None, path: str) -> dict:
    if not pods:
        raise UsageError(f"{path} contains no Pod")
    if name:
        for pod in pods:
            if pod.get("metadata", {}).get("name") == name:
                return pod
        raise UsageError(f"{path} has no pod named {name} (it has: "
                         + ", ".join(p.get("metadata", {}).get("name", "?") for p in pods) + ")")
    if len(pods) > 1:
        raise UsageError(f"{path} holds {len(pods)} pods; name one: "
                         + ", ".join(p.get("metadata", {}).get("name", "?") for p in pods))
    return pods[0]


def _event_is_about(event: dict, pod: dict, uid: str | None) -> bool:
    obj = event.get("involvedObject") or event.get("regarding") or {}
    if obj.get("kind") != "Pod":
        return False
    if uid and obj.get("uid"):
        return obj["uid"] == uid
    return obj.get("name") == pod.get("metadata", {}).get("name")


def _capture_time(pod: dict, events: list[dict]) -> datetime:
    """A plain `kubectl get` capture has no timestamp: the newest time it mentions is the best bound."""
    latest = latest_timestamp([pod] + list(events))
    return latest or datetime.now(timezone.utc)


def _from_bundle(doc: dict, path: str, name: str | None) -> PodSnapshot:
    from pullcheck.secrets import decode_pull_secret

    if doc.get("apiVersion") != BUNDLE_API_VERSION:
        raise UsageError(f"{path}: unsupported bundle version {doc.get('apiVersion')!r}")
    pod = doc.get("pod")
    if not isinstance(pod, dict):
        raise UsageError(f"{path}: the bundle has no pod")
    if name and pod.get("metadata", {}).get("name") != name:
        raise UsageError(f"{path} holds pod {pod.get('metadata', {}).get('name')}, not {name}")
    secrets: dict[str, SecretLookup] = {}
    for entry in doc.get("secrets") or ():
        redacted = entry.get("secret")
        decoded = decode_pull_secret(redacted) if isinstance(redacted, dict) else None
        secrets[entry["name"]] = SecretLookup(
            name=entry["name"], status=entry.get("status", "unknown"), decoded=decoded, redacted=redacted,
            found_in=tuple(entry.get("foundIn") or ()), elsewhere=entry.get("elsewhere", "not checked"),
            detail=entry.get("detail", ""))
    owner = doc.get("owner")
    history = doc.get("rolloutHistory")
    return PodSnapshot(
        pod=pod,
        events=doc.get("events"),
        service_account=doc.get("serviceAccount"),
        service_account_status=doc.get("serviceAccountStatus", "unknown"),
        secrets=secrets,
        nodes=doc.get("nodes"),
        owner=Owner(owner["kind"], owner["name"]) if owner else None,
        skipped=[Skipped(s["check"], s["reason"]) for s in doc.get("skipped") or ()],
        source=f"capture {path}",
        observed_at=parse_time(doc.get("capturedAt")) or datetime.now(timezone.utc),
        revisions=RolloutHistory.from_dict(history) if isinstance(history, dict) else None,
    )


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
REDACTED = "<redacted by pullcheck>"


def shareable_pod(pod: dict) -> dict:
    """A copy of the pod fit to share: literal env values (often credentials) and the last-applied
    annotation (a second copy of the spec) are removed; nothing a pull diagnosis needs is lost."""
    copy = json.loads(json.dumps(pod))
    annotations = copy.get("metadata", {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = REDACTED
    spec = copy.get("spec") or {}
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or ():
            for env in container.get("env") or ():
                if "value" in env:
                    env["value"] = REDACTED
    return copy


def save_bundle(snapshot: PodSnapshot, path: str) -> None:
    """Write the snapshot as a bundle. Secrets go in as registry hosts and usernames only; the rollout
    history as images, pull policies and secret names only (never a template's env values)."""
    secrets = []
    for lookup in snapshot.secrets.values():
        secrets.append({"name": lookup.name, "status": lookup.status, "foundIn": list(lookup.found_in),
                        "elsewhere": lookup.elsewhere, "detail": lookup.detail, "secret": lookup.redacted})
    doc = {
        "apiVersion": BUNDLE_API_VERSION,
        "kind": BUNDLE_KIND,
        "capturedAt": format_time(snapshot.observed_at),
        "pod": shareable_pod(snapshot.pod),
        "events": snapshot.events,
        "serviceAccount": snapshot.service_account,
        "serviceAccountStatus": snapshot.service_account_status,
        "secrets": secrets,
        "nodes": snapshot.nodes,
        "owner": {"kind": snapshot.owner.kind, "name": snapshot.owner.name} if snapshot.owner else None,
        "skipped": [{"check": s.check, "reason": s.reason} for s in snapshot.skipped],
        "rolloutHistory": snapshot.revisions.to_dict() if snapshot.revisions else None,
    }
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, sort_keys=False)
            fh.write("\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
