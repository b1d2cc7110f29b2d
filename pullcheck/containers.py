"""Per-container view of a pod: spec, status and the kubelet events about that container.

Events name their container in involvedObject.fieldPath (`spec.containers{web}`,
`spec.initContainers{setup}`, `spec.ephemeralContainers{debugger}`); pod-level events (no fieldPath,
e.g. FailedToRetrieveImagePullSecret) concern every container.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pullcheck.timeutil import event_times, parse_time

# The kubelet's image error reasons (pkg/kubelet/images/types.go) as they appear in container waiting states.
PULL_WAITING_REASONS = frozenset({
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable",
    "SignatureValidationFailed", "ImageInspectError",
})
IMAGE_EVENT_REASONS = frozenset({"Pulling", "Pulled", "Failed", "BackOff", "InspectFailed", "ErrImageNeverPull"})
STUCK_AFTER_SECONDS = 300     # a pull with no result for this long is treated as hung (huge images excepted)
STATUS_KEYS = ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses")


def pull_trouble(pod: dict, now: datetime) -> str | None:
    """From the pod's status alone: "failing" (a container waits on a pull error), "suspect" (a container
    without an image has waited in ContainerCreating / PodInitializing for over STUCK_AFTER_SECONDS since the
    pod started: maybe a hung pull, which the events settle) or None."""
    status = pod.get("status") or {}
    suspect = False
    for key in STATUS_KEYS:
        for cs in status.get(key) or ():
            reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
            if reason in PULL_WAITING_REASONS:
                return "failing"
            if reason in ("ContainerCreating", "PodInitializing") and not cs.get("imageID"):
                suspect = True
    if suspect:
        started = parse_time(status.get("startTime"))
        if started is not None and (now - started).total_seconds() > STUCK_AFTER_SECONDS:
            return "suspect"
    return None


_KINDS = (("initContainers", "initContainerStatuses", "init", "spec.initContainers"),
          ("containers", "containerStatuses", "container", "spec.containers"),
          ("ephemeralContainers", "ephemeralContainerStatuses", "ephemeral", "spec.ephemeralContainers"))


@dataclass
class TimedEvent:
    """An event with its parsed times, newest-last ordering helpers, and its count (>= 1)."""

    reason: str
    message: str
    count: int
    first: datetime | None
    last: datetime | None
    raw: dict


@dataclass
class ContainerView:
    name: str
    kind: str                       # container | init | ephemeral
    index: int                      # position in its spec list (for JSON patches)
    image: str
    pull_policy: str
    status: dict | None
    events: list[TimedEvent] = field(default_factory=list)   # oldest first

    @property
    def state(self) -> dict:
        return (self.status or {}).get("state") or {}

    @property
    def waiting_reason(self) -> str | None:
        return (self.state.get("waiting") or {}).get("reason")

    @property
    def waiting_message(self) -> str:
        return (self.state.get("waiting") or {}).get("message") or ""

    @property
    def running(self) -> bool:
        return "running" in self.state

    @property
    def terminated(self) -> dict | None:
        return self.state.get("terminated")

    @property
    def image_id(self) -> str:
        return (self.status or {}).get("imageID") or ""

    def events_with(self, *reasons: str) -> list[TimedEvent]:
        return [e for e in self.events if e.reason in reasons]


def default_pull_policy(image: str) -> str:
    """The API server's default: Always for :latest or no tag, else IfNotPresent (digests count as tags)."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    if ":" not in last or last.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def container_views(pod: dict, events: list[dict] | None) -> list[ContainerView]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    by_path: dict[str, list[TimedEvent]] = {}
    for raw in events or ():
        obj = raw.get("involvedObject") or raw.get("regarding") or {}
        path = obj.get("fieldPath")
        if path and raw.get("reason") in IMAGE_EVENT_REASONS:
            by_path.setdefault(path, []).append(_timed(raw))
    views = []
    for spec_key, status_key, kind, path_prefix in _KINDS:
        statuses = {s.get("name"): s for s in status.get(status_key) or ()}
        for index, c in enumerate(spec.get(spec_key) or ()):
            name = c.get("name", "")
            image = c.get("image", "")
            timed = sorted(by_path.get(f"{path_prefix}{{{name}}}", []), key=_sort_key)
            views.append(ContainerView(name=name, kind=kind, index=index, image=image,
                                       pull_policy=c.get("imagePullPolicy") or default_pull_policy(image),
                                       status=statuses.get(name), events=timed))
    return views


def pod_level_events(events: list[dict] | None, reason: str) -> list[TimedEvent]:
    """Events of the pod itself (no container fieldPath) with this reason, oldest first."""
    found = [_timed(e) for e in events or ()
             if e.get("reason") == reason and not (e.get("involvedObject") or {}).get("fieldPath")]
    return sorted(found, key=_sort_key)


def _timed(raw: dict) -> TimedEvent:
    first, last = event_times(raw)
    count = raw.get("count") or (raw.get("series") or {}).get("count") or 1
    return TimedEvent(reason=raw.get("reason", ""), message=raw.get("message") or raw.get("note") or "",
                      count=int(count), first=first, last=last, raw=raw)


def _sort_key(event: TimedEvent) -> tuple:
    moment = event.last or event.first
    return (moment is None, moment.timestamp() if moment else 0.0)
