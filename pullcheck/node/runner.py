"""Run the node probe: create the probe pod, wait for it with a watch, read its log, and delete it.

The pod is deleted on every way out (success, error, --timeout, Ctrl-C, SIGTERM), with grace 0:
a graceful delete of a pod on a NotReady node would leave it Terminating until the node returns.
With pull credentials (ProbeRequest.credentials, see pullcheck.node.credentials) a Secret owned by
the pod is created right after it and deleted first, on the same ways out.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from pullcheck.errors import ClusterError, UsageError
from pullcheck.kube.client import (METADATA_ONLY_LIST, ApiError, Forbidden, KubeClient, NotFound, cluster_scoped,
                                   namespaced)
from pullcheck.node import podspec
from pullcheck.node.records import ProbeOutput, parse_records

# Waiting reasons that mean the probe container itself will not start.
_STUCK_REASONS = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                  "CreateContainerConfigError", "CreateContainerError", "RunContainerError")
_DEADLINE_SLACK = 60     # activeDeadlineSeconds = --timeout + this: only a backstop if we die
PRIVILEGED_NAMESPACE_HINT = ("run the probe in a namespace that allows privileged pods: --probe-namespace NS "
                             "(label it pod-security.kubernetes.io/enforce=privileged)")


class ProbeError(ClusterError):
    """The probe could not run or finish (exit code 3, like other cluster-side failures)."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM while probing: handled like Ctrl-C (the CLI exits 130)."""


@dataclass(frozen=True)
class ProbeRequest:
    node: str
    images: Sequence[str] = ()
    registries: Sequence[str] = ()
    namespace: str = podspec.DEFAULT_NAMESPACE
    probe_image: Optional[str] = None
    timeout: int = 180                  # whole run: create, start, probe, logs
    pull_timeout: int = 60              # each pull / HTTP check on the node
    # pullcheck.node.credentials.NodeCredentials: pull with them (through a Secret); None: anonymously
    credentials: Optional[Any] = field(default=None, repr=False, compare=False)


@dataclass
class ProbeResult:
    node: str
    pod: str
    namespace: str
    probe_image: str
    output: ProbeOutput
    warnings: List[str] = field(default_factory=list)
    seconds: float = 0.0
    credentials_secret: Optional[str] = None      # name of the (deleted) Secret that held the pull credentials


def node_warnings(node: Dict[str, Any]) -> List[str]:
    """Node states that make the probe fail or mislead: NotReady, cordoned."""
    warnings = []
    name = node["metadata"]["name"]
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True":
        reason = (ready or {}).get("reason") or "no Ready condition"
        warnings.append(f"node {name} is NotReady ({reason}): its kubelet may never start the probe pod")
    if (node.get("spec") or {}).get("unschedulable"):
        warnings.append(f"node {name} is cordoned (unschedulable); the probe pod is pinned to it and runs anyway")
    return warnings


def read_node(client: KubeClient, name: str) -> Dict[str, Any]:
    try:
        return client.get(cluster_scoped("nodes", name))
    except NotFound:
        raise UsageError(f"node {name} not found") from None
    except Forbidden as exc:
        raise ClusterError(f"not allowed to read node {name}: {exc.message}",
                           hint="the probe needs get on nodes (see the README's ClusterRole)") from None


def build_pod(request: ProbeRequest, node: Dict[str, Any]) -> Dict[str, Any]:
    name = podspec.probe_pod_name(request.node)
    return podspec.probe_pod(
        name=name, node=request.node, namespace=request.namespace,
        image=podspec.choose_probe_image(node, request.probe_image), script=podspec.probe_script(),
        args=podspec.probe_args(request.images, request.registries, request.pull_timeout),
        deadline_seconds=request.timeout + _DEADLINE_SLACK,
        credentials_secret=podspec.credentials_secret_name(name) if request.credentials is not None else None)


def run_probe(client: KubeClient, request: ProbeRequest, *, node: Optional[Dict[str, Any]] = None,
              progress: Callable[[str], None] = lambda message: None) -> ProbeResult:
    """Probe one node; raises ProbeError/ClusterError with a one-line reason when it cannot."""
    started = time.monotonic()
    node = node if node is not None else read_node(client, request.node)
    warnings = node_warnings(node)
    for warning in warnings:
        progress(f"warning: {warning}")
    pod = build_pod(request, node)
    name, namespace = pod["metadata"]["name"], request.namespace
    image = pod["spec"]["containers"][0]["image"]
    secret = podspec.credentials_secret_name(name) if request.credentials is not None else None
    with sigterm_raises(), _always_deleted(client, namespace, name, progress, secret, warnings):
        progress(f"creating probe pod {namespace}/{name} on node {request.node} (image {image})")
        created = _create(client, pod, namespace)
        if secret is not None:
            progress(f"creating Secret {namespace}/{secret} with the pull credentials, owned by the probe pod")
            _create_credentials(client, request, created, secret)
        deadline = started + request.timeout
        _wait_for_end(client, created, deadline, request, image, progress)
        progress("reading the probe's log")
        text = _read_log(client, namespace, name)
    output = parse_records(text)
    if request.credentials is not None:
        output = output.scrubbed(request.credentials.secret_values())
        warnings.extend(request.credentials.notes)
    if not output.complete:
        warnings.append("the probe's output is incomplete (no closing record): some checks are missing")
    return ProbeResult(node=request.node, pod=name, namespace=namespace, probe_image=image, output=output,
                       warnings=warnings, seconds=time.monotonic() - started, credentials_secret=secret)


def _create(client: KubeClient, pod: Dict[str, Any], namespace: str) -> Dict[str, Any]:
    try:
        return client.create(namespaced(namespace, "pods"), pod)
    except Forbidden as exc:
        if "violates PodSecurity" in exc.message:
            raise ProbeError(f"Pod Security admission rejected the probe pod in namespace {namespace}: "
                             f"{exc.message}", hint=PRIVILEGED_NAMESPACE_HINT) from None
        raise ProbeError(f"not allowed to create the probe pod in namespace {namespace}: {exc.message}",
                         hint="the probe needs create, get, watch, delete on pods and get on pods/log "
                              "in the probe namespace (see the README's Role)") from None
    except NotFound as exc:
        raise ProbeError(f"cannot create the probe pod: {exc.message}",
                         hint="choose an existing namespace with --probe-namespace") from None
    except ApiError as exc:
        raise ProbeError(f"the API server refused the probe pod: {exc.message}") from None


def _create_credentials(client: KubeClient, request: ProbeRequest, pod: Dict[str, Any], name: str) -> None:
    """Create the credentials Secret, owned by the (just created) probe pod. Nothing of it is kept."""
    meta = pod["metadata"]
    namespace = meta["namespace"]
    try:
        client.create(namespaced(namespace, "secrets"), podspec.credentials_secret(
            name=name, namespace=namespace, node=request.node, pod_name=meta["name"], pod_uid=meta["uid"],
            content=request.credentials.secret_file(request.images)))
    except Forbidden as exc:
        raise ProbeError(f"not allowed to create secrets in namespace {namespace} (--with-credentials needs create "
                         f"and delete on secrets there): {exc.message}",
                         hint="grant the probe's Role create and delete on secrets (see the README's Role)") from None
    except ApiError as exc:
        raise ProbeError(f"the API server refused the credentials Secret {namespace}/{name}: {exc.message}") from None


def _wait_for_end(client: KubeClient, pod: Dict[str, Any], deadline: float, request: ProbeRequest, image: str,
                  progress: Callable[[str], None]) -> None:
    """Watch the pod until its container terminated; raise on a stuck start, deletion or the deadline."""
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    version = pod["metadata"].get("resourceVersion", "")
    last_phase = ""
    current = pod
    while True:
        if _finished(current, image, request):
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            phase = (current.get("status") or {}).get("phase") or "Pending"
            raise ProbeError(f"the probe did not finish within --timeout {request.timeout}s "
                             f"(probe pod {phase.lower()} on node {request.node})",
                             hint="a slow registry or pull: raise --timeout; a NotReady node: check its kubelet")
        query = {"fieldSelector": f"metadata.name={name}"}
        if version:
            query["resourceVersion"] = version
        events = client.watch(namespaced(namespace, "pods"), query, seconds=max(1, int(remaining)))
        try:
            for event in events:
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    version = ""          # expired resourceVersion: start again from the current state
                    current = client.get(namespaced(namespace, "pods", name))
                    break
                if kind == "DELETED":
                    raise ProbeError(f"the probe pod {namespace}/{name} was deleted before it finished")
                if kind == "BOOKMARK":
                    continue
                current = obj
                version = obj["metadata"].get("resourceVersion", version)
                phase = (obj.get("status") or {}).get("phase") or ""
                if phase and phase != last_phase:
                    progress(f"probe pod {phase.lower()}")
                    last_phase = phase
                if _finished(current, image, request) or time.monotonic() >= deadline:
                    break
        except Forbidden as exc:
            raise ProbeError(f"not allowed to watch the probe pod: {exc.message}",
                             hint="the probe needs watch on pods in the probe namespace") from None
        finally:
            events.close()


def _finished(pod: Dict[str, Any], image: str, request: ProbeRequest) -> bool:
    """True once the probe container terminated; raises when it cannot start."""
    status = pod.get("status") or {}
    for cstatus in status.get("containerStatuses") or []:
        state = cstatus.get("state") or {}
        if state.get("terminated"):
            return True
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in _STUCK_REASONS:
            detail = waiting.get("message") or waiting.get("reason")
            if waiting["reason"] in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"):
                raise ProbeError(f"node {request.node} cannot pull the probe image {image}: {detail}",
                                 hint="give an image the node can pull (a mirror of busybox) with --probe-image")
            raise ProbeError(f"the probe container cannot start: {detail}")
    if status.get("phase") == "Failed":
        why = ": ".join(part for part in (status.get("reason"), status.get("message")) if part) or "phase Failed"
        raise ProbeError(f"node {request.node} rejected the probe pod: {why}")
    return False


def _read_log(client: KubeClient, namespace: str, name: str) -> str:
    try:
        return client.text(namespaced(namespace, "pods", name) + "/log", {"container": podspec.CONTAINER})
    except Forbidden as exc:
        raise ProbeError(f"not allowed to read the probe pod's log: {exc.message}",
                         hint="the probe needs get on pods/log in the probe namespace") from None
    except ApiError as exc:
        raise ProbeError(f"cannot read the probe pod's log: {exc.message}") from None


@contextmanager
def _always_deleted(client: KubeClient, namespace: str, name: str, progress: Callable[[str], None],
                    secret: Optional[str] = None, warnings: Optional[List[str]] = None) -> Iterator[None]:
    """Delete the credentials Secret (if any), then the pod, however the block ends; a Secret that
    cannot be deleted is left to the garbage collector (it is owned by the pod) with a warning."""
    try:
        yield
    finally:
        try:
            if secret is not None:
                try:
                    if delete_credentials_secret(client, namespace, secret):
                        progress(f"deleted Secret {namespace}/{secret}")
                except (ApiError, ClusterError) as exc:
                    warning = (f"could not delete the credentials Secret {namespace}/{secret} "
                               f"({getattr(exc, 'message', exc)}): it goes with the probe pod (ownerReference); "
                               "`kubectl pullcheck cleanup` removes leftovers")
                    progress(f"warning: {warning}")
                    if warnings is not None:
                        warnings.append(warning)
        finally:
            delete_probe_pod(client, namespace, name)
            progress(f"deleted probe pod {namespace}/{name}")


def delete_probe_pod(client: KubeClient, namespace: str, name: str) -> bool:
    """Delete one probe pod now; False when it was not there (never created, or already gone)."""
    try:
        client.delete(namespaced(namespace, "pods", name), {"gracePeriodSeconds": 0})
        return True
    except NotFound:
        return False


def delete_credentials_secret(client: KubeClient, namespace: str, name: str) -> bool:
    """Delete one credentials Secret now; False when it was not there."""
    try:
        client.delete(namespaced(namespace, "secrets", name))
        return True
    except NotFound:
        return False


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into an exception so the finally blocks (pod deletion) run; main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)      # a second SIGTERM must not cut the cleanup short
        raise Interrupted("terminated")

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cleanup(client: KubeClient, namespace: Optional[str] = None) -> List[str]:
    """Delete leftover probe pods (by label) in one namespace, or in all (None); returns ns/name."""
    path = namespaced(namespace, "pods") if namespace else "/api/v1/pods"
    deleted = []
    for pod in list(client.list(path, {"labelSelector": podspec.PROBE_SELECTOR})):
        meta = pod["metadata"]
        if delete_probe_pod(client, meta["namespace"], meta["name"]):
            deleted.append(f"{meta['namespace']}/{meta['name']}")
    return deleted


def cleanup_credentials(client: KubeClient, namespace: Optional[str] = None) -> List[str]:
    """Delete leftover credentials Secrets (by label) in one namespace, or in all (None); returns ns/name.
    Lists metadata only, so no secret value is ever fetched. Without list on secrets there is nothing
    to find: [] (the garbage collector deletes each with its probe pod anyway)."""
    path = namespaced(namespace, "secrets") if namespace else "/api/v1/secrets"
    deleted = []
    try:
        found = list(client.list(path, {"labelSelector": podspec.CREDENTIALS_SELECTOR}, accept=METADATA_ONLY_LIST))
    except Forbidden:
        return []
    for secret in found:
        meta = secret["metadata"]
        if delete_credentials_secret(client, meta["namespace"], meta["name"]):
            deleted.append(f"{meta['namespace']}/{meta['name']}")
    return deleted
