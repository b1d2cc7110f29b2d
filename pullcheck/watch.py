"""Follow a pod until its images are pulled: `kubectl pullcheck pod NAME --watch`.

Watches, never a poll: one on the pod (field selector on its name) and one on its events (field selector
on its UID), each in a thread feeding one queue. A normal run costs four requests: GET the pod, LIST its
events, WATCH both from the versions read. A watch the server ends (timeoutSeconds) is reopened from the
last resourceVersion seen (bookmarks included); one whose version expired (410) is listed again first.

Recovery is decided per container from the pod and its events alone (`container_pulls`, reusable by a
`scan --watch`): a pull success event newer than the last failure, a container that runs or ran, or a
waiting reason the kubelet only reaches after the pull (CreateContainerConfigError, CrashLoopBackOff...).
ContainerCreating proves nothing: a fresh replacement pod sits in it before its first pull.

When the pod goes (deleted, marked for deletion in a rollout, or Failed), its replacement is followed:
a StatefulSet recreates the same name (seen on the same watch, with a new UID); other controllers make a
pod with a new name, found by listing, then watching, pods with the owner's selector (the Deployment's,
across its ReplicaSets, when the owner is a Deployment's ReplicaSet).
"""
from __future__ import annotations

import queue
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

from pullcheck.containers import PULL_WAITING_REASONS, ContainerView, container_views
from pullcheck.errors import EXIT_OK, EXIT_PROBLEM, ClusterError, UsageError
from pullcheck.kube.client import ApiError, Forbidden, KubeClient, NotFound, namespaced
from pullcheck.kube.watchstream import WatchStream, list_with_version
from pullcheck.snapshot import controller_ref
from pullcheck.timeutil import event_times, format_time, parse_time

# Container pull status.
PULLED = "pulled"          # the image is on the node: pulled, already present, or the container ran
FAILING = "failing"        # the kubelet reports a pull error (ErrImagePull, ImagePullBackOff, ...)
WAITING = "waiting"        # not pulled yet, and no error: not scheduled, ContainerCreating, pulling

# Watch outcomes.
RECOVERED = "recovered"
TIMEOUT = "timeout"
GONE = "gone"              # deleted, and nothing replaced it
FAILED = "failed"          # phase Failed, and nothing replaced it

# Waiting reasons the kubelet sets before it has the image; any other waiting reason comes after the pull.
_BEFORE_PULL_REASONS = frozenset({"ContainerCreating", "PodInitializing"})
# Where a pod's controller lives: (group/version, plural); "" is the core group.
_OWNER_RESOURCES = {"ReplicaSet": ("apps/v1", "replicasets"), "DaemonSet": ("apps/v1", "daemonsets"),
                    "Job": ("batch/v1", "jobs"), "ReplicationController": ("", "replicationcontrollers")}
_REVISION_ANNOTATION = "deployment.kubernetes.io/revision"

WATCH_WINDOW = 300         # seconds per watch request; the server may end it sooner, then we reopen
PROGRESS_TICK = 1.0        # the status line's countdown refresh
EVENT_GRACE = 2.0          # once recovered, how long to wait for the status or the Pulled event to catch up

Progress = Callable[[str, bool], None]
"""progress(text, keep): keep=False replaces the status line (empty text clears it); True prints a note."""


# -- what the pod and its events say ------------------------------------------------------------------
@dataclass(frozen=True)
class PullRecord:
    """One occurrence of a kubelet image event (an aggregated event seen again counts again)."""

    pod: str
    container: str
    kind: str                      # pulling | pulled | already-present | pull-failed
    image: Optional[str]
    message: str
    count: int
    at: Optional[datetime]
    node: Optional[str]
    seconds: Optional[float] = None                  # pulled: the pull itself
    seconds_including_waiting: Optional[float] = None
    size_bytes: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return {"pod": self.pod, "container": self.container, "kind": self.kind, "image": self.image,
                "count": self.count, "at": format_time(self.at), "node": self.node, "seconds": self.seconds,
                "secondsIncludingWaiting": self.seconds_including_waiting, "sizeBytes": self.size_bytes,
                "message": self.message}


@dataclass
class ContainerPull:
    """Where one container's image pull stands, from the pod status and the pod's events."""

    name: str
    kind: str                      # container | init | ephemeral
    image: str
    state: str                     # ImagePullBackOff, Running, Terminated (Completed), ContainerCreating, ...
    status: str                    # pulled | failing | waiting
    failures: int = 0              # failed pulls (sum of the `Failed to pull image` event counts)
    first_failure: Optional[datetime] = None
    last_failure: Optional[datetime] = None
    error: Optional[str] = None    # the runtime's error of the latest failure
    pulling_since: Optional[datetime] = None         # a pull started after the last failure, no result yet
    success: Optional[PullRecord] = None             # the newest pull success after the last failure
    blocked: Optional[str] = None  # past the pull, yet not started: "CreateContainerConfigError: ..."

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "image": self.image, "state": self.state,
                "status": self.status, "failedPulls": self.failures,
                "firstFailure": format_time(self.first_failure), "lastFailure": format_time(self.last_failure),
                "error": self.error, "pullingSince": format_time(self.pulling_since),
                "pull": self.success.to_dict() if self.success else None, "blocked": self.blocked}


def container_pulls(pod: dict, events: Optional[List[dict]], container: Optional[str] = None) -> List[ContainerPull]:
    """Every container's pull status (or only `container`'s), init containers first, as the spec lists them."""
    node = (pod.get("spec") or {}).get("nodeName")
    pod_name = (pod.get("metadata") or {}).get("name", "")
    return [_container_pull(view, pod_name, node) for view in container_views(pod, events)
            if container is None or view.name == container]


def all_pulled(pulls: List[ContainerPull]) -> bool:
    return bool(pulls) and all(c.status == PULLED for c in pulls)


def pull_record(event: dict, pod_name: str, node: Optional[str] = None) -> Optional[PullRecord]:
    """The pull fact an event records, or None for events about anything else."""
    from pullcheck.kubelet_messages import parse_kubelet_message

    path = ((event.get("involvedObject") or {}).get("fieldPath")) or ""
    if "{" not in path or event.get("reason") not in ("Pulling", "Pulled", "Failed"):
        return None
    message = event.get("message") or ""
    parsed = parse_kubelet_message(message, event.get("reason"))
    if parsed.kind not in ("pulling", "pulled", "already-present", "pull-failed"):
        return None
    source = event.get("source") or {}
    return PullRecord(pod=pod_name, container=path[path.index("{") + 1:].rstrip("}"), kind=parsed.kind,
                      image=parsed.image, message=message, count=int(event.get("count") or 1),
                      at=event_times(event)[1], node=source.get("host") or event.get("reportingInstance") or node,
                      seconds=parsed.pull_seconds, seconds_including_waiting=parsed.pull_seconds_including_waiting,
                      size_bytes=parsed.image_size_bytes)


def _container_pull(view: ContainerView, pod_name: str, node: Optional[str]) -> ContainerPull:
    from pullcheck.kubelet_messages import parse_kubelet_message

    failed = [e for e in view.events_with("Failed") if parse_kubelet_message(e.message, e.reason).kind == "pull-failed"]
    result = ContainerPull(name=view.name, kind=view.kind, image=view.image, state=_state_name(view), status=WAITING)
    if failed:
        result.failures = sum(e.count for e in failed)
        result.first_failure = min((e.first for e in failed if e.first), default=None)
        result.last_failure = max((e.last for e in failed if e.last), default=None)
        result.error = parse_kubelet_message(failed[-1].message, failed[-1].reason).error
    elif view.waiting_reason in PULL_WAITING_REASONS and view.waiting_message:
        parsed = parse_kubelet_message(view.waiting_message, view.waiting_reason)
        result.error = parsed.error if parsed.kind in ("backoff", "pull-failed", "other") else None
    result.success = _latest_success(view, result.last_failure, pod_name, node)
    pulling = view.events_with("Pulling")
    if pulling and pulling[-1].last and result.success is None and \
            (result.last_failure is None or pulling[-1].last > result.last_failure):
        result.pulling_since = pulling[-1].last
    result.status, result.blocked = _status(view, result.success)
    return result


def _latest_success(view: ContainerView, last_failure: Optional[datetime], pod_name: str,
                    node: Optional[str]) -> Optional[PullRecord]:
    """The newest `Successfully pulled` / `already present` event not older than the last failure
    (whole-second timestamps: a success in the failure's second came after it, the back-off is >= 10 s)."""
    for event in reversed(view.events_with("Pulled")):
        if last_failure is not None and (event.last is None or event.last < last_failure):
            return None
        record = pull_record(event.raw, pod_name, node)
        if record is not None and record.kind in ("pulled", "already-present"):
            return record
    return None


def _status(view: ContainerView, success: Optional[PullRecord]) -> Tuple[str, Optional[str]]:
    """(status, blocked): the pull status and, for a container past its pull that does not start, why."""
    waiting = view.waiting_reason
    if waiting in PULL_WAITING_REASONS:
        return (PULLED if success else FAILING), None
    terminated = view.terminated or {}
    if view.running or view.image_id or terminated.get("startedAt") or terminated.get("containerID"):
        return PULLED, None
    if waiting and waiting not in _BEFORE_PULL_REASONS:
        detail = view.waiting_message
        return PULLED, f"{waiting}: {detail}" if detail else waiting
    return (PULLED if success else WAITING), None


def _state_name(view: ContainerView) -> str:
    if view.waiting_reason:
        return view.waiting_reason
    if view.running:
        return "Running"
    if view.terminated is not None:
        reason = view.terminated.get("reason")
        return f"Terminated ({reason})" if reason else "Terminated"
    return "Waiting" if view.status else "NotStarted"


# -- the outcome ----------------------------------------------------------------------------------------
@dataclass
class FollowedPod:
    name: str
    uid: str
    node: Optional[str]
    owner: Optional[str]           # "ReplicaSet web-7d4b9c"
    reason: Optional[str]          # why it was followed: None (asked for), deleted, terminating, failed, recreated
    followed_at: datetime

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "uid": self.uid, "node": self.node, "owner": self.owner,
                "replaced": self.reason, "followedAt": format_time(self.followed_at)}


@dataclass
class WatchOutcome:
    namespace: str
    outcome: str                   # recovered | timeout | gone | failed
    already: bool                  # recovered before the watch began (nothing was watched)
    started_at: datetime
    seconds: float                 # how long it watched
    timeout: float
    pods: List[FollowedPod]        # the pod asked for, then each replacement
    containers: List[ContainerPull]                  # the last pod's, at the end
    pull_events: List[PullRecord] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)   # replacements followed, events not readable, ...
    reason: Optional[str] = None   # gone / failed: what happened to the pod; timeout: what it waited for

    @property
    def pod(self) -> FollowedPod:
        return self.pods[-1]

    @property
    def ended_at(self) -> datetime:
        from datetime import timedelta

        return self.started_at + timedelta(seconds=self.seconds)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.outcome == RECOVERED else EXIT_PROBLEM

    def to_dict(self) -> Dict[str, Any]:
        from pullcheck.report import SCHEMA_VERSION

        return {"apiVersion": SCHEMA_VERSION, "kind": "PodWatch", "namespace": self.namespace,
                "pod": self.pods[0].name, "outcome": self.outcome, "alreadyRecovered": self.already,
                "reason": self.reason, "startedAt": format_time(self.started_at),
                "watchedSeconds": round(self.seconds, 1), "timeoutSeconds": self.timeout,
                "pods": [p.to_dict() for p in self.pods], "containers": [c.to_dict() for c in self.containers],
                "pullEvents": [r.to_dict() for r in self.pull_events], "notes": list(self.notes)}


# -- entry point ------------------------------------------------------------------------------------------
def watch_pod(client: KubeClient, namespace: str, name: str, *, container: Optional[str] = None,
              timeout: float = 600, progress: Optional[Progress] = None,
              now: Callable[[], float] = time.time, watch_seconds: int = WATCH_WINDOW) -> WatchOutcome:
    """Follow pod NAME until every container's image is pulled, the timeout passes, or the pod goes with
    nothing to replace it. Raises UsageError (no such pod or container) and ClusterError (API failures).
    `progress` (only for a terminal) gets the status line and notes; `now` is the wall clock (for the
    back-off estimate); `watch_seconds` caps each watch request."""
    return _Session(client, namespace, name, container, timeout, progress, now, watch_seconds).run()


class _Finished(Exception):
    def __init__(self, outcome: str, reason: Optional[str] = None) -> None:
        super().__init__(outcome)
        self.outcome = outcome
        self.reason = reason


@dataclass
class _Family:
    """Where a replacement can come from: pods matching `selector` that `kind` `name` (uid) controls,
    directly or, for a Deployment, through any of its ReplicaSets; `node` for a DaemonSet's pod."""

    kind: str
    name: str
    uid: str
    selector: str
    node: Optional[str] = None


class _Session:
    def __init__(self, client: KubeClient, namespace: str, name: str, container: Optional[str], timeout: float,
                 progress: Optional[Progress], now: Callable[[], float], watch_seconds: int) -> None:
        self.client, self.namespace, self.name, self.container = client, namespace, name, container
        self.timeout, self.progress, self.now, self.watch_seconds = timeout, progress, now, watch_seconds
        self.pods_path = namespaced(namespace, "pods")
        self.events_path = namespaced(namespace, "events")
        self.sink: "queue.Queue[tuple]" = queue.Queue()
        self.streams: Dict[str, WatchStream] = {}
        self.pod: dict = {}
        self.events: Dict[str, dict] = {}
        self.events_version = ""
        self.events_readable = True
        self.records: List[PullRecord] = []
        self._recorded: set = set()
        self.followed: List[FollowedPod] = []
        self.notes: List[str] = []
        self.leaving: Optional[str] = None      # terminating | deleted | failed: the current pod is going
        self.family: Optional[_Family] = None
        self.waiting_for: Optional[str] = None  # what the status line says while the pod is going
        self._replica_sets: Dict[str, Optional[dict]] = {}
        self._shown = ""
        self._pulled_at: Optional[float] = None
        self.live = False
        self.started_at = self._wall()
        self.started = time.monotonic()
        self.deadline = self.started + timeout

    # -- run
    def run(self) -> WatchOutcome:
        try:
            pod = self._read_pod()
            self._follow(pod, None)
            if self._pulls_done() and not _terminating(pod):
                return self._outcome(RECOVERED, already=True)
            self.live = True
            self._start("pod", self.pods_path, {"fieldSelector": f"metadata.name={self.name}"},
                        pod["metadata"].get("resourceVersion", ""))
            if self.events_readable:
                self._start("events", self.events_path, self._events_query(), self.events_version)
            self._on_pod("event", {"type": "MODIFIED", "object": pod})     # already going, or Failed?
            self._loop()
        except _Finished as done:
            return self._outcome(done.outcome, reason=done.reason)
        finally:
            for stream in self.streams.values():
                stream.stop()
            if self.progress is not None:
                self.progress("", False)
        raise AssertionError("unreachable")

    def _loop(self) -> None:
        while True:
            waited = self._wait_time()
            if waited is None:
                raise _Finished(RECOVERED)
            if waited <= 0:
                if self.leaving == "deleted":
                    raise _Finished(GONE, self._gone_reason())
                raise _Finished(TIMEOUT, self.waiting_for if self.leaving else None)
            self._show_status()
            try:
                role, stream, kind, payload = self.sink.get(timeout=waited)
            except queue.Empty:
                continue
            if self.streams.get(role) is stream:
                self._dispatch(role, kind, payload)

    def _wait_time(self) -> Optional[float]:
        """Seconds to wait for the next item; None once recovered (after a short wait for the lagging source,
        see _settling); <= 0 at the deadline."""
        remaining = self.deadline - time.monotonic()
        if self.leaving is None and self._pulls_done():
            if self._pulled_at is None:
                self._pulled_at = time.monotonic()
            grace = self._pulled_at + EVENT_GRACE - time.monotonic()
            if not self._settling() or grace <= 0 or remaining <= 0:
                return None
            return min(grace, remaining)
        self._pulled_at = None
        return min(remaining, PROGRESS_TICK) if self.progress is not None and remaining > 0 else remaining

    def _settling(self) -> bool:
        """Recovered, but one source lags the other: the status runs and the Pulled event is still on its
        way, or the Pulled event came and the status still shows the pull error."""
        return any((self.events_readable and c.failures and c.success is None) or
                   (c.success is not None and c.state in PULL_WAITING_REASONS) for c in self._pulls())

    # -- reads
    def _read_pod(self) -> dict:
        try:
            pod = self.client.get(namespaced(self.namespace, "pods", self.name))
        except NotFound:
            raise UsageError(f'pod "{self.name}" not found in namespace "{self.namespace}"') from None
        except ApiError as exc:
            raise ClusterError(f"cannot read pod {self.name}: {exc.message}") from None
        if self.container:
            names = [c.get("name") for key in ("initContainers", "containers", "ephemeralContainers")
                     for c in (pod.get("spec") or {}).get(key) or ()]
            if self.container not in names:
                raise UsageError(f'pod {self.name} has no container "{self.container}"')
        return pod

    def _events_query(self) -> dict:
        return {"fieldSelector": f"involvedObject.uid={self.pod['metadata'].get('uid', '')}"}

    def _pulls(self) -> List[ContainerPull]:
        return container_pulls(self.pod, list(self.events.values()), self.container)

    def _pulls_done(self) -> bool:
        return all_pulled(self._pulls())

    # -- following a pod
    def _follow(self, pod: dict, reason: Optional[str], note: Optional[str] = None) -> None:
        """Make `pod` the one followed: read its events, and (once live) watch it and them."""
        meta = pod["metadata"]
        renamed = meta["name"] != self.name
        self.pod, self.name, self.events = pod, meta["name"], {}
        self.leaving = self.family = self.waiting_for = None
        self._stop("candidates")
        ref = controller_ref(pod)
        self.followed.append(FollowedPod(name=meta["name"], uid=meta.get("uid", ""),
                                         node=(pod.get("spec") or {}).get("nodeName"),
                                         owner=f"{ref['kind']} {ref['name']}" if ref else None, reason=reason,
                                         followed_at=self._wall()))
        if note:
            self._note(note)
        if self.events_readable:
            try:
                items, self.events_version = list_with_version(self.client, self.events_path, self._events_query())
            except Forbidden as exc:
                self._events_unreadable(exc)
            except ApiError as exc:
                raise ClusterError(f"cannot list the events of pod {self.name}: {exc.message}") from None
            else:
                for event in items:
                    self._add_event(event)
        if self.live:
            if renamed:
                self._start("pod", self.pods_path, {"fieldSelector": f"metadata.name={self.name}"},
                            meta.get("resourceVersion", ""))
            if self.events_readable:
                self._start("events", self.events_path, self._events_query(), self.events_version)

    def _dispatch(self, role: str, kind: str, payload: Any) -> None:
        if kind == "error":
            if role == "events" and isinstance(payload, Forbidden):
                self._events_unreadable(payload)
                self._stop("events")
                return
            what = {"pod": f"pod {self.name}", "events": f"the events of pod {self.name}"}.get(role, "pods")
            raise ClusterError(f"watching {what} failed: {getattr(payload, 'message', payload)}")
        items = payload if kind == "sync" else [payload]
        if role == "events":
            for item in items:
                obj = item if kind == "sync" else item.get("object") or {}
                if kind == "sync" or item.get("type") in ("ADDED", "MODIFIED"):
                    self._add_event(obj)       # DELETED: the event expired; what it said still holds
        elif role == "pod":
            self._on_pod(kind, payload)
        else:
            objects = payload if kind == "sync" else [payload.get("object") or {}]
            if kind == "sync" or payload.get("type") in ("ADDED", "MODIFIED"):
                self._consider(objects)

    def _on_pod(self, kind: str, payload: Any) -> None:
        if kind == "sync":
            found = [p for p in payload if p.get("metadata", {}).get("name") == self.name]
            if not found:
                self._leaving("deleted")
                return
            event_type, obj = "MODIFIED", found[0]
        else:
            event_type, obj = payload.get("type"), payload.get("object") or {}
        uid = obj.get("metadata", {}).get("uid")
        current = self.pod["metadata"].get("uid")
        if event_type == "DELETED":
            if uid == current:
                self._leaving("deleted")
            return
        if uid != current:
            ref = controller_ref(obj)
            by = f"recreated by {ref['kind']} {ref['name']}" if ref else "recreated"
            self._follow(obj, self.leaving or "deleted", f"following replacement {self.name} ({by}, new uid {uid})")
            return
        self.pod = obj
        self.followed[-1].node = (obj.get("spec") or {}).get("nodeName")
        if _terminating(obj):
            self._leaving("terminating")
        elif (obj.get("status") or {}).get("phase") == "Failed" and not self._pulls_done():
            self._leaving("failed")

    def _add_event(self, event: dict) -> None:
        meta = event.get("metadata") or {}
        key = meta.get("uid") or meta.get("name", "")
        self.events[key] = event
        record = pull_record(event, self.name, (self.pod.get("spec") or {}).get("nodeName"))
        if record is not None and (key, record.count, record.at) not in self._recorded:
            self._recorded.add((key, record.count, record.at))
            self.records.append(record)

    def _events_unreadable(self, exc: ApiError) -> None:
        self.events_readable = False
        self._note(f"cannot read the pod's events ({exc.message}): following its status only, so pull times "
                   "and retry estimates are missing")

    # -- replacement
    def _leaving(self, why: str) -> None:
        """The followed pod is going: find what replaces it, or end (gone/failed) when nothing will."""
        first = self.leaving is None
        if first or why == "deleted":
            self.leaving = why
        ref = controller_ref(self.pod)
        if ref is None:
            if why == "terminating":
                self.waiting_for = "being deleted; nothing will replace it (no controller)"
                if first:
                    self._note(f"pod {self.name} is being deleted and has no controller to replace it")
                return
            raise _Finished(GONE if why == "deleted" else FAILED, self._end_reason(why, "it has no controller "
                                                                                          "to replace it"))
        if ref["kind"] == "StatefulSet":
            self.waiting_for = f"going; waiting for StatefulSet {ref['name']} to recreate it"
            if first:
                self._note(f"pod {self.name} is going: waiting for StatefulSet {ref['name']} to recreate it")
            return
        if not first:
            return
        family = self._family(ref)
        if family is None:
            self.waiting_for = "being deleted"
            if why != "terminating":
                raise _Finished(GONE if why == "deleted" else FAILED,
                                self._end_reason(why, f"its replacement cannot be found ({ref['kind']} {ref['name']})"))
            return
        self.family = family
        try:
            items, version = list_with_version(self.client, self.pods_path, {"labelSelector": family.selector})
        except ApiError as exc:
            raise ClusterError(f"cannot list the pods of {family.kind} {family.name}: {exc.message}") from None
        if not self._consider(items):
            self.waiting_for = f"going; waiting for {family.kind} {family.name} to create a replacement"
            self._note(f"pod {self.name} is going: waiting for {family.kind} {family.name} to create a replacement")
            self._start("candidates", self.pods_path, {"labelSelector": family.selector}, version)

    def _consider(self, pods: List[dict]) -> bool:
        """Follow the best replacement among `pods`; False when none qualifies."""
        best = self._best_replacement(pods)
        if best is None:
            return False
        ref = controller_ref(best) or {}
        old_ref = controller_ref(self.pod) or {}
        if ref.get("name") == old_ref.get("name"):
            why = f"same {ref.get('kind')} {ref.get('name')}"
        elif ref.get("kind") == "ReplicaSet":
            why = f"new ReplicaSet {ref.get('name')}"
        else:
            why = f"{ref.get('kind')} {ref.get('name')}"
        self._follow(best, self.leaving, f"following replacement {best['metadata']['name']} ({why})")
        return True

    def _best_replacement(self, pods: List[dict]) -> Optional[dict]:
        """A pod of the same family created after the one going (a pod of the same controller: strictly
        after, so sibling replicas created with it do not count); the newest Deployment revision first."""
        family = self.family
        if family is None:
            return None
        seen = {p.uid for p in self.followed}
        old_created = parse_time(self.pod["metadata"].get("creationTimestamp"))
        old_controller = (controller_ref(self.pod) or {}).get("uid")
        ranked = []
        for pod in pods:
            meta = pod.get("metadata") or {}
            ref = controller_ref(pod)
            if ref is None or meta.get("uid") in seen or _terminating(pod):
                continue
            revision = self._revision_in(family, ref)
            if revision is None:
                continue
            if family.node and _target_node(pod) not in (None, family.node):
                continue
            created = parse_time(meta.get("creationTimestamp"))
            if created and old_created and (created < old_created or
                                            (created == old_created and ref.get("uid") == old_controller)):
                continue
            ranked.append(((-revision, created.timestamp() if created else 0.0, meta.get("name", "")), pod))
        return min(ranked, key=lambda pair: pair[0])[1] if ranked else None

    def _revision_in(self, family: _Family, ref: dict) -> Optional[int]:
        """The Deployment revision of a pod's controller when it belongs to the family (0 outside
        Deployments), None when it does not."""
        if family.kind != "Deployment":
            return 0 if ref.get("uid") == family.uid else None
        if ref.get("kind") != "ReplicaSet":
            return None
        replica_set = self._replica_set(ref["name"])
        parent = controller_ref(replica_set) if replica_set else None
        if not parent or parent.get("kind") != "Deployment" or parent.get("uid") != family.uid:
            return None
        annotation = (replica_set.get("metadata", {}).get("annotations") or {}).get(_REVISION_ANNOTATION, "0")
        return int(annotation) if str(annotation).isdigit() else 0

    def _replica_set(self, name: str) -> Optional[dict]:
        if name not in self._replica_sets:
            try:
                self._replica_sets[name] = self.client.get(namespaced(self.namespace, "replicasets", name,
                                                                      group="apps/v1"))
            except (ApiError, ClusterError):
                self._replica_sets[name] = None
        return self._replica_sets[name]

    def _family(self, ref: dict) -> Optional[_Family]:
        kind, name = ref["kind"], ref["name"]
        if kind not in _OWNER_RESOURCES:
            self._note(f"cannot look for a replacement made by {kind} {name}")
            return None
        group, plural = _OWNER_RESOURCES[kind]
        try:
            owner = self.client.get(namespaced(self.namespace, plural, name, group=group))
        except (ApiError, ClusterError) as exc:
            self._note(f"cannot read {kind} {name}: {exc.message}")
            return None
        if kind == "ReplicaSet":
            self._replica_sets[name] = owner
        parent = controller_ref(owner)
        if kind == "ReplicaSet" and parent and parent.get("kind") == "Deployment":
            try:
                deployment = self.client.get(namespaced(self.namespace, "deployments", parent["name"], group="apps/v1"))
            except (ApiError, ClusterError) as exc:
                self._note(f"cannot read Deployment {parent['name']}: {exc.message}; looking in ReplicaSet {name} only")
            else:
                return _Family("Deployment", parent["name"], deployment["metadata"].get("uid", ""),
                               label_selector_text((deployment.get("spec") or {}).get("selector") or {}))
        node = (self.pod.get("spec") or {}).get("nodeName") if kind == "DaemonSet" else None
        return _Family(kind, name, owner["metadata"].get("uid", ""),
                       label_selector_text((owner.get("spec") or {}).get("selector") or {}), node)

    def _end_reason(self, why: str, detail: str) -> str:
        if why == "failed":
            status = self.pod.get("status") or {}
            said = ": ".join(part for part in (status.get("reason"), status.get("message")) if part)
            return f"failed ({said or 'phase Failed'}); {detail}"
        return f"was deleted; {detail}"

    def _gone_reason(self) -> str:
        family = self.family
        if family is None:
            return "was deleted and not replaced"
        return f"was deleted; {family.kind} {family.name} created no replacement within the timeout"

    # -- streams, notes, status
    def _start(self, role: str, path: str, query: dict, version: str) -> None:
        self._stop(role)
        stream = WatchStream(role, self.client, path, query, version, self.sink, self.deadline, self.watch_seconds)
        self.streams[role] = stream
        stream.start()

    def _stop(self, role: str) -> None:
        stream = self.streams.pop(role, None)
        if stream is not None:
            stream.stop()

    def _note(self, text: str) -> None:
        self.notes.append(text)
        if self.progress is not None:
            self.progress(text, True)
            self._shown = ""

    def _show_status(self) -> None:
        if self.progress is None:
            return
        from pullcheck.watch_render import status_line

        line = status_line(self.name, self._pulls(), self._wall(), node=(self.pod.get("spec") or {}).get("nodeName"),
                           waiting_for=self.waiting_for if self.leaving else None)
        if line != self._shown:
            self.progress(line, False)
            self._shown = line

    def _wall(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    def _outcome(self, outcome: str, *, already: bool = False, reason: Optional[str] = None) -> WatchOutcome:
        return WatchOutcome(namespace=self.namespace, outcome=outcome, already=already, started_at=self.started_at,
                            seconds=time.monotonic() - self.started, timeout=self.timeout, pods=self.followed,
                            containers=self._pulls() if self.pod else [], pull_events=self.records,
                            notes=self.notes, reason=reason)


def _terminating(pod: dict) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def _target_node(pod: dict) -> Optional[str]:
    """The node a pod runs on or is pinned to (a DaemonSet pins with a metadata.name node affinity)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for match in term.get("matchFields") or ():
            if match.get("key") == "metadata.name" and match.get("values"):
                return match["values"][0]
    return None


def label_selector_text(selector: dict) -> str:
    """A LabelSelector (matchLabels, matchExpressions; or a ReplicationController's plain map) as the
    `labelSelector` query parameter."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
