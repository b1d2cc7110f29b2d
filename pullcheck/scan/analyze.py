"""From a scope's data to a ScanReport: diagnose each failing pod as `pod` would, then group.

Each failing pod goes through the same diagnosis as `kubectl pullcheck pod` (same matrix, same verdicts),
with what a scan knows: its events, its node, its owner and the pull secrets it names (the service
account's are not read: the kubelet uses only the pod's own list). Grouping is by cause and
image; each group says which workloads, which nodes fail and which run or cache the same image (a node-
level problem shows as "fails on node-a, runs on node-b"), and the scope: only new pods (a rollout or
scale-up) or pods that ran before and cannot pull again (rotated credentials, a deleted tag, an outage).
"""
from __future__ import annotations

from pullcheck.diagnose import diagnose_pod
from pullcheck.report import PROBLEM_STATUSES
from pullcheck.scan.collect import ScopeData
from pullcheck.scan.report import MIXED, NEW_PODS, RAN_BEFORE, Group, PodEntry, Rollout, ScanReport
from pullcheck.snapshot import PodSnapshot, SecretLookup


def analyze(data: ScopeData) -> ScanReport:
    report = ScanReport(namespace=data.namespace, selector=data.selector, observed_at=data.observed_at,
                        pods_seen=data.pods_seen, nodes_total=len(data.nodes) if data.nodes is not None else None,
                        skipped=list(data.skipped), api_requests=data.requests)
    nodes_by_name = {(n.get("metadata") or {}).get("name"): n for n in data.nodes or ()}
    groups: dict[tuple[str, str], Group] = {}
    for pod in data.failing:
        uid = (pod.get("metadata") or {}).get("uid", "")
        pod_report = diagnose_pod(_snapshot(pod, data, nodes_by_name, uid))
        owner = data.owners.get(uid)
        for container in pod_report.containers:
            if container.status not in PROBLEM_STATUSES or container.verdict is None:
                continue
            key = (container.verdict.cause, container.image.normalized or container.image.written)
            group = groups.get(key)
            if group is None:
                row = container.verdict.row
                group = groups[key] = Group(cause=container.verdict.cause, title=row.title, family=row.family,
                                            image=container.image, summary=container.verdict.summary,
                                            next_steps=list(container.verdict.next_steps))
            group.pods.append(PodEntry(
                namespace=pod_report.namespace, name=pod_report.name, container=container.name,
                node=pod_report.node, owner=f"{owner.kind}/{owner.name}" if owner else None,
                state=container.state, since=container.first_failure or _started(pod),
                ran_before=_ran_before(pod, container.name), attempts=container.attempts))
            if owner:
                workload = f"{owner.kind} {pod_report.namespace}/{owner.name}"
                group.workloads[workload] = group.workloads.get(workload, 0) + 1
    ordered = sorted(groups.values(), key=lambda g: (-g.pod_count, g.cause, g.image.written))
    _place(ordered, data)
    report.groups = ordered
    return report


def _snapshot(pod: dict, data: ScopeData, nodes_by_name: dict, uid: str) -> PodSnapshot:
    """What a scan knows of one pod. Only its own node is passed: the cluster-wide image cache is
    computed once per group here, not once per container against every node."""
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = nodes_by_name.get(node_name)
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    secrets = {r["name"]: data.secrets.get((namespace, r["name"])) or SecretLookup(name=r["name"], status="unknown")
               for r in (pod.get("spec") or {}).get("imagePullSecrets") or () if isinstance(r, dict) and r.get("name")}
    return PodSnapshot(pod=pod, events=data.events.get(uid, []), secrets=secrets,
                       nodes=[node] if node is not None else None, owner=data.owners.get(uid),
                       source="cluster", observed_at=data.observed_at)


def _started(pod: dict):
    from pullcheck.timeutil import parse_time

    status = pod.get("status") or {}
    return parse_time(status.get("startTime")) or parse_time((pod.get("metadata") or {}).get("creationTimestamp"))


def _ran_before(pod: dict, container: str) -> bool:
    """The container ran at least once: restarted, or holds a last terminated state."""
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or ():
            if cs.get("name") == container:
                return bool(cs.get("restartCount")) or bool((cs.get("lastState") or {}).get("terminated"))
    return False


def _place(groups: list[Group], data: ScopeData) -> None:
    """Nodes, scope and rollouts of each group, from the healthy pods and the nodes' image lists."""
    wanted = {name for g in groups for name in _image_names(g)}
    caching: dict[str, set[str]] = {}
    for node in data.nodes or ():
        node_name = (node.get("metadata") or {}).get("name", "")
        for image in (node.get("status") or {}).get("images") or ():
            for name in image.get("names") or ():
                if name in wanted:
                    caching.setdefault(name, set()).add(node_name)
    running: dict[str, set[str]] = {}
    serving: dict[tuple[str, str, str], dict[str | None, int]] = {}
    for healthy in data.healthy:
        for image in healthy.running_images:
            if healthy.node:
                running.setdefault(image, set()).add(healthy.node)
        if healthy.owner and healthy.owner.kind == "Deployment" and healthy.running_images:
            per = serving.setdefault((healthy.namespace, "Deployment", healthy.owner.name), {})
            per[healthy.template_hash] = per.get(healthy.template_hash, 0) + 1
    failing_hashes = _failing_template_hashes(data)
    for group in groups:
        names = _image_names(group)
        group.nodes_failing = sorted({p.node for p in group.pods if p.node})
        group.nodes_running_image = sorted(set().union(*(running.get(n, set()) for n in names)))
        group.nodes_caching_image = sorted(set().union(*(caching.get(n, set()) for n in names)))
        ran = {p.ran_before for p in group.pods}
        group.scope = MIXED if len(ran) == 2 else RAN_BEFORE if ran == {True} else NEW_PODS
        for workload in group.workloads:
            kind, _, ns_name = workload.partition(" ")
            namespace, _, name = ns_name.partition("/")
            if kind != "Deployment":
                continue
            hashes = failing_hashes.get((namespace, name), set())
            older = sum(n for h, n in serving.get((namespace, kind, name), {}).items() if h not in hashes)
            if older:
                group.rollouts.append(Rollout(workload=workload, failing_hashes=sorted(h for h in hashes if h),
                                              serving_pods=older))


def _image_names(group: Group) -> set[str]:
    """The names an image goes by in pod specs and node image lists."""
    image = group.image
    names = {image.written}
    if image.normalized:
        names.add(image.normalized)
    if image.registry and image.repository and image.digest:
        names.add(f"{image.registry}/{image.repository}@{image.digest}")
    return names


def _failing_template_hashes(data: ScopeData) -> dict[tuple[str, str], set]:
    hashes: dict[tuple[str, str], set] = {}
    for pod in data.failing:
        meta = pod.get("metadata") or {}
        owner = data.owners.get(meta.get("uid", ""))
        if owner and owner.kind == "Deployment":
            hashes.setdefault((meta.get("namespace", "default"), owner.name), set()).add(
                (meta.get("labels") or {}).get("pod-template-hash"))
    return hashes
