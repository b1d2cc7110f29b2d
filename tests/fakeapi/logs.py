"""Container logs the tests set, served by `pods/{name}/log` the way the kubelet answers through the
API server: the container's state decides whether there are logs or an error
(kubelet validateContainerLogStatus), and `follow` streams until the test finishes the log or the
container stops.
"""
from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import clock, status

Obj = Dict[str, Any]
LogKey = Tuple[str, str, str]


class ContainerLog:
    def __init__(self) -> None:
        self.lines: List[Tuple[_dt.datetime, str]] = []
        self.finished = False


class LogBook:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._logs: Dict[LogKey, ContainerLog] = {}
        self._closed = False

    def _log(self, key: LogKey) -> ContainerLog:
        return self._logs.setdefault(key, ContainerLog())

    def set(self, namespace: str, pod: str, container: str, text: str, finished: bool = True) -> None:
        with self._lock:
            log = ContainerLog()
            log.lines = [(clock.now(), line) for line in text.splitlines(keepends=True)]
            log.finished = finished
            self._logs[(namespace, pod, container)] = log
            self._lock.notify_all()

    def append(self, namespace: str, pod: str, container: str, text: str) -> None:
        with self._lock:
            log = self._log((namespace, pod, container))
            log.finished = False
            log.lines.extend((clock.now(), line) for line in text.splitlines(keepends=True))
            self._lock.notify_all()

    def finish(self, namespace: str, pod: str, container: str) -> None:
        with self._lock:
            self._log((namespace, pod, container)).finished = True
            self._lock.notify_all()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def wake(self) -> None:
        """Let following readers re-check the pod (it may have stopped or gone)."""
        with self._lock:
            self._lock.notify_all()

    def stream(self, key: LogKey, query: Dict[str, str], follow: bool, still_running: Callable[[], bool],
               deadline: float) -> Iterator[bytes]:
        """The selected lines, then (with follow) new ones until finished, stopped or closed."""
        tail = int(query["tailLines"]) if query.get("tailLines") else None
        since = None
        if query.get("sinceSeconds"):
            since = clock.now() - _dt.timedelta(seconds=int(query["sinceSeconds"]))
        elif query.get("sinceTime"):
            since = clock.parse(query["sinceTime"])
        stamps = query.get("timestamps") in ("true", "1", "True", "t", "T", "TRUE")
        limit = int(query["limitBytes"]) if query.get("limitBytes") else None
        sent = 0

        def render(lines: List[Tuple[_dt.datetime, str]]) -> bytes:
            return b"".join(((clock.rfc3339_nano(at) + " ") if stamps else "").encode() + line.encode()
                            for at, line in lines)

        with self._lock:
            log = self._log(key)
            lines = [entry for entry in log.lines if since is None or entry[0] >= since]
            if tail is not None:
                lines = lines[-tail:] if tail > 0 else []
            position = len(log.lines)
        chunk = render(lines)
        while True:
            if limit is not None:
                chunk = chunk[:max(0, limit - sent)]
            if chunk:
                sent += len(chunk)
                yield chunk
            if not follow or (limit is not None and sent >= limit):
                return
            with self._lock:
                while (position == len(log.lines) and not log.finished and not self._closed
                       and still_running() and time.monotonic() < deadline):
                    self._lock.wait(0.25)
                if position == len(log.lines):
                    return
                chunk = render(log.lines[position:])
                position = len(log.lines)


def container_log_error(pod: Obj, container: str, previous: bool) -> Optional[status.ApiError]:
    """The kubelet's answer when a container has no logs to show, as the API server relays it (400)."""
    pod_name = (pod.get("metadata") or {}).get("name", "")
    pod_status = pod.get("status") or {}
    statuses = (pod_status.get("containerStatuses") or []) + (pod_status.get("initContainerStatuses") or []) \
        + (pod_status.get("ephemeralContainerStatuses") or [])
    cstatus = next((s for s in statuses if s.get("name") == container), None)
    if cstatus is None:
        return status.bad_request(f'container "{container}" in pod "{pod_name}" is not available')
    state = cstatus.get("state") or {}
    last_terminated = (cstatus.get("lastState") or {}).get("terminated")
    if previous:
        if not last_terminated or not last_terminated.get("containerID"):
            return status.bad_request(f'previous terminated container "{container}" in pod "{pod_name}" not found')
        return None
    if state.get("running"):
        return None
    if state.get("terminated"):
        if state["terminated"].get("containerID") or (last_terminated or {}).get("containerID"):
            return None
        return status.bad_request(f'container "{container}" in pod "{pod_name}" is terminated')
    if last_terminated:
        if last_terminated.get("containerID"):
            return None
        return status.bad_request(f'container "{container}" in pod "{pod_name}" is terminated')
    waiting = state.get("waiting")
    if waiting is not None:
        reason = waiting.get("reason", "")
        detail = {"ErrImagePull": "image can't be pulled",
                  "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
        return status.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start: {detail}')
    return status.bad_request(f'container "{container}" in pod "{pod_name}" is waiting to start - no logs yet')


def choose_container(pod: Obj, requested: str) -> str:
    """The API server's LogLocation checks: a container name is needed when there are several."""
    name = (pod.get("metadata") or {}).get("name", "")
    spec = pod.get("spec") or {}
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    init_containers = [c.get("name", "") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name", "") for c in spec.get("ephemeralContainers") or []]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        if not containers:
            raise status.bad_request(f"a container name must be specified for pod {name}")
        message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        if init_containers:
            message += f" or one of the init containers: [{' '.join(init_containers)}]"
        if ephemeral:
            message += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
        raise status.bad_request(message)
    if requested not in containers + init_containers + ephemeral:
        raise status.bad_request(f"container {requested} is not valid for pod {name}")
    return requested
