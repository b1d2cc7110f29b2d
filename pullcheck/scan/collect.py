"""One read of a scope (a namespace, or the whole cluster) for `scan`, built for 10k+ pods.

Three paginated lists run at once: pods (label selector applied server-side), Warning events about pods
(the kubelet writes every pull failure, back-off and missing-secret complaint as a Warning, so healthy
pods' Normal events never cross the wire), and nodes. Pods are consumed as a stream: a failing pod is
kept whole, a healthy one only as the few facts the grouping needs (its node, the images it runs, its
owner and template hash), so memory follows the failing pods, not the cluster. Pods that have sat in
ContainerCreating past the stuck threshold may be hanging in a pull that never answers; only their
events (Normal `Pulling` included) are read one by one. Jobs are read only for failing pods owned by one,
to name the CronJob behind them, and the pull secrets only those failing pods name (once each), so
credential causes settle as they do in `pod` (values stay in memory, decoded, never printed).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from pullcheck.containers import STUCK_AFTER_SECONDS, pull_trouble
from pullcheck.kube.client import ApiError, KubeClient, cluster_scoped, namespaced
from pullcheck.snapshot import Owner, SecretLookup, Skipped, controller_ref

PAGE_SIZE = 500
WORKERS = 8


@dataclass
class HealthyPod:
    """What the grouping needs from a pod with no pull problem."""

    namespace: str
    node: str | None
    owner: Owner | None
    template_hash: str | None
    running_images: tuple[str, ...]          # images (as written in the spec) of its running containers


@dataclass
class ScopeData:
    namespace: str | None                    # None: all namespaces
    selector: str | None
    failing: list[dict] = field(default_factory=list)          # whole pod objects with a pull problem
    events: dict[str, list[dict]] = field(default_factory=dict)  # pod uid -> its events
    owners: dict[str, Owner] = field(default_factory=dict)      # pod uid -> workload owning it
    secrets: dict[tuple[str, str], SecretLookup] = field(default_factory=dict)   # (namespace, name) -> lookup
    healthy: list[HealthyPod] = field(default_factory=list)
    nodes: list[dict] | None = None
    pods_seen: int = 0
    events_seen: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    observed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    requests: int = 0


def collect(client: KubeClient, namespace: str | None, selector: str | None = None, *,
            log: Callable[[str], None] | None = None) -> ScopeData:
    data = ScopeData(namespace=namespace, selector=selector)
    pods_path = namespaced(namespace, "pods") if namespace else cluster_scoped("pods")
    events_path = namespaced(namespace, "events") if namespace else cluster_scoped("events")
    pod_query = {"labelSelector": selector} if selector else {}
    suspects: list[dict] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        events_f = pool.submit(_list_warnings, client, events_path)
        nodes_f = pool.submit(lambda: list(client.list(cluster_scoped("nodes"), page_size=PAGE_SIZE)))
        for pod in client.list(pods_path, pod_query, page_size=PAGE_SIZE):
            data.pods_seen += 1
            kind = pull_trouble(pod, data.observed_at)
            if kind == "failing":
                data.failing.append(pod)
            elif kind == "suspect":
                suspects.append(pod)
            else:
                data.healthy.append(_healthy(pod))
        wanted = {_uid(p) for p in data.failing}
        try:
            events, data.events_seen = events_f.result()
            for uid, items in events.items():
                if uid in wanted:
                    data.events[uid] = items
        except ApiError as exc:
            data.skipped.append(Skipped("events", _why(exc, "events")))
        try:
            data.nodes = nodes_f.result()
        except ApiError as exc:
            data.skipped.append(Skipped("nodes (spread, image cache)", _why(exc, "nodes")))
        for pod, items in zip(suspects, pool.map(lambda p: _pod_events(client, p), suspects)):
            if items is not None and _hanging_pull(items, data.observed_at):
                data.failing.append(pod)
                data.events[_uid(pod)] = items
            else:
                data.healthy.append(_healthy(pod))
        data.owners = _owners(client, pool, data.failing, data.skipped)
        data.secrets = _pull_secrets(client, pool, data.failing, data.skipped)
    if log:
        log(f"scan read {data.pods_seen} pods ({len(data.failing)} with pull problems), "
            f"{data.events_seen} warning events, {len(data.nodes or ())} nodes")
    data.requests = client.requests_made
    return data


def _list_warnings(client: KubeClient, path: str) -> tuple[dict[str, list[dict]], int]:
    """Warning events about pods, grouped by the pod's uid (not name: a StatefulSet pod's name is reused)."""
    by_uid: dict[str, list[dict]] = {}
    seen = 0
    query = {"fieldSelector": "type=Warning,involvedObject.kind=Pod"}
    for event in client.list(path, query, page_size=PAGE_SIZE):
        seen += 1
        uid = (event.get("involvedObject") or {}).get("uid")
        if uid:
            by_uid.setdefault(uid, []).append(event)
    return by_uid, seen


def _pod_events(client: KubeClient, pod: dict) -> list[dict] | None:
    meta = pod.get("metadata") or {}
    try:
        return list(client.list(namespaced(meta.get("namespace", "default"), "events"),
                                {"fieldSelector": f"involvedObject.uid={meta.get('uid', '')}"}))
    except ApiError:
        return None


def _hanging_pull(events: list[dict], now: datetime) -> bool:
    """The newest image event is a `Pulling` older than the stuck threshold."""
    from pullcheck.containers import IMAGE_EVENT_REASONS
    from pullcheck.timeutil import event_times

    image_events = [(event_times(e)[1] or event_times(e)[0], e.get("reason")) for e in events
                    if e.get("reason") in IMAGE_EVENT_REASONS]
    image_events = [(t, r) for t, r in image_events if t is not None]
    if not image_events:
        return False
    at, reason = max(image_events, key=lambda pair: pair[0])
    return reason == "Pulling" and (now - at).total_seconds() > STUCK_AFTER_SECONDS


def _healthy(pod: dict) -> HealthyPod:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    images = {c.get("name"): c.get("image", "") for c in spec.get("containers") or ()}
    running = tuple(images.get(cs.get("name"), "") for cs in status.get("containerStatuses") or ()
                    if "running" in (cs.get("state") or {}) and images.get(cs.get("name")))
    return HealthyPod(namespace=meta.get("namespace", "default"), node=spec.get("nodeName"),
                      owner=workload_of(pod), template_hash=(meta.get("labels") or {}).get("pod-template-hash"),
                      running_images=running)


def workload_of(pod: dict) -> Owner | None:
    """The workload behind a pod without a read: a ReplicaSet named `<deployment>-<pod-template-hash>`
    belongs to that Deployment (the controller names it so); Jobs are resolved later, by a read."""
    ref = controller_ref(pod)
    if ref is None:
        return None
    template_hash = ((pod.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")
    name = ref["name"]
    if ref["kind"] == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
        return Owner("Deployment", name[: -len(template_hash) - 1])
    return Owner(ref["kind"], name)


def _owners(client: KubeClient, pool: ThreadPoolExecutor, pods: Iterable[dict],
            skipped: list[Skipped]) -> dict[str, Owner]:
    owners: dict[str, Owner] = {}
    jobs: dict[tuple[str, str], list[str]] = {}
    for pod in pods:
        owner = workload_of(pod)
        if owner is None:
            continue
        owners[_uid(pod)] = owner
        if owner.kind == "Job":
            jobs.setdefault((pod["metadata"].get("namespace", "default"), owner.name), []).append(_uid(pod))
    reads = {key: pool.submit(_job_owner, client, *key) for key in jobs}
    forbidden = False
    for key, future in reads.items():
        try:
            cronjob = future.result()
        except ApiError as exc:
            forbidden = forbidden or exc.status == 403
            continue
        if cronjob:
            for uid in jobs[key]:
                owners[uid] = Owner("CronJob", cronjob)
    if forbidden:
        skipped.append(Skipped("CronJob owners", "forbidden: cannot get jobs; Job pods are shown by their Job"))
    return owners


def _pull_secrets(client: KubeClient, pool: ThreadPoolExecutor, pods: Iterable[dict],
                  skipped: list[Skipped]) -> dict[tuple[str, str], SecretLookup]:
    """Each secret named by a failing pod's imagePullSecrets, read once; a missing one is also looked
    for (metadata only) in other namespaces, as `pod` does."""
    from pullcheck.kube.gather import read_pull_secret, search_other_namespaces

    wanted = {(p["metadata"].get("namespace", "default"), ref["name"]) for p in pods
              for ref in (p.get("spec") or {}).get("imagePullSecrets") or () if isinstance(ref, dict) and ref.get("name")}
    reads = {key: pool.submit(read_pull_secret, client, *key) for key in sorted(wanted)}
    found = {key: future.result() for key, future in reads.items()}
    missing_names = sorted({name for (_, name), lookup in found.items() if lookup.status == "missing"})
    searches = dict(zip(missing_names, pool.map(lambda name: search_other_namespaces(client, name), missing_names)))
    for (_, name), lookup in found.items():
        if lookup.status == "missing":
            lookup.elsewhere, lookup.found_in = searches[name]
    if any(lookup.status == "forbidden" for lookup in found.values()):
        skipped.append(Skipped("pull secret contents", "forbidden: cannot get secrets; credential causes are "
                                                       "left as the kubelet's message puts them"))
    return found


def _job_owner(client: KubeClient, namespace: str, name: str) -> str | None:
    job = client.get(namespaced(namespace, "jobs", name, group="batch/v1"))
    ref = controller_ref(job)
    return ref["name"] if ref and ref.get("kind") == "CronJob" else None


def _uid(pod: dict) -> str:
    return (pod.get("metadata") or {}).get("uid", "")


def _why(exc: ApiError, what: str) -> str:
    if exc.status == 403:
        return f"forbidden: cannot list {what} in this scope"
    return f"{what} could not be read: {exc.message}"
