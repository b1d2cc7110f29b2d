"""`kubectl pullcheck node NAME` and `cleanup`, behind the thin click commands in pullcheck.cli."""
from __future__ import annotations

import sys
from typing import Callable, List, Optional, Sequence, Tuple

from pullcheck.errors import UsageError
from pullcheck.kube.client import KubeClient
from pullcheck.node import podspec
from pullcheck.node.runner import ProbeRequest, build_pod, read_node, run_probe


def probe_registries(images: Sequence[str], registries: Sequence[str]) -> List[str]:
    """--registry hosts plus the registry of every --image (Docker Hub as its API host), in order."""
    from pullcheck.reference import DOCKER_HUB_API_HOST, parse

    hosts: List[str] = []
    for image in images:
        try:
            registry = parse(image).registry
        except ValueError as exc:
            raise UsageError(f"--image {image}: {exc}") from None
        hosts.append(DOCKER_HUB_API_HOST if registry == "docker.io" else registry)
    return list(dict.fromkeys(list(registries) + hosts))


def stderr_progress() -> Callable[[str], None]:
    """Progress lines on stderr when it is a terminal; silent otherwise (pipes and CI logs stay clean)."""
    if sys.stderr.isatty():
        return lambda message: print(f"pullcheck: {message}", file=sys.stderr, flush=True)
    return lambda message: None


def node_probe(client_factory: Callable[[], KubeClient], name: str, *, images: Sequence[str],
               registries: Sequence[str], probe_image: Optional[str], namespace: Optional[str], timeout: int,
               dry_run: bool, output: str, color: bool) -> Tuple[str, int]:
    """Run (or with dry_run, show) the node probe; returns (text for stdout, exit code)."""
    request = node_request(name, images=images, registries=registries, probe_image=probe_image,
                           namespace=namespace, timeout=timeout)
    if dry_run:
        node = {"metadata": {"name": name}} if probe_image else read_node(client_factory(), name)
        return podspec.manifests_yaml([build_pod(request, node)]), 0
    from pullcheck.node.report import render_node

    report = run_node_report(client_factory(), request)
    return render_node(report, output, color=color), report.exit_code


def node_request(name: str, *, images: Sequence[str], registries: Sequence[str], probe_image: Optional[str],
                 namespace: Optional[str], timeout: int) -> ProbeRequest:
    return ProbeRequest(node=name, images=tuple(images), registries=tuple(probe_registries(images, registries)),
                        namespace=namespace or podspec.DEFAULT_NAMESPACE, probe_image=probe_image,
                        timeout=timeout, pull_timeout=max(5, min(60, timeout - 15)))


def run_node_report(client: KubeClient, request: ProbeRequest):  # -> pullcheck.node.report.NodeReport
    from pullcheck.node.report import build_report

    return build_report(run_probe(client, request, progress=stderr_progress()))


_AUTH = ("auth-missing", "auth-rejected", "auth-or-not-found")
_REFERENCE = ("image-not-found", "tag-not-found", "platform-mismatch", "invalid-reference")


def node_conclusions(node_report, images: Sequence[str]) -> List[str]:
    """The decision point, per image: does a manual pull on the node work (a Kubernetes configuration
    problem: secrets, names, policy) or fail (infrastructure: network, registry, runtime)?"""
    pulls = {c.subject: c for c in node_report.checks if c.check == "pull"}
    lines = []
    for image in images:
        check = pulls.get(image)
        if check is None:
            lines.append(f"{image}: not pulled on node {node_report.node} (the probe did not get that far)")
        elif check.status == "ok":
            lines.append(f"{image}: pulls on node {node_report.node} through its own runtime (anonymously): the node, "
                         "its network and the registry are fine; the pod's configuration is what is wrong "
                         "(pull secrets, image name, pull policy)")
        elif check.cause in _REFERENCE:
            lines.append(f"{image}: the registry gives node {node_report.node} the same answer ({check.cause}): the "
                         "image reference itself is wrong (name, tag or platform), not the node or its network")
        elif check.cause in _AUTH:
            lines.append(f"{image}: node {node_report.node} reaches the registry, which wants credentials "
                         f"({check.cause}): the anonymous node pull says nothing about the pod's credentials")
        else:
            lines.append(f"{image}: fails on node {node_report.node} too ({check.cause or 'failed'}): an "
                         "infrastructure problem (network, registry, runtime), not the pod's configuration")
    return lines


def cleanup_probe_pods(client: KubeClient, namespace: Optional[str], all_namespaces: bool) -> str:
    from pullcheck.node.runner import cleanup, cleanup_credentials

    where = None if all_namespaces else (namespace or podspec.DEFAULT_NAMESPACE)
    deleted = [f"deleted secret {name}\n" for name in cleanup_credentials(client, where)]
    deleted += [f"deleted pod {name}\n" for name in cleanup(client, where)]
    return "".join(deleted) or "no probe pods found\n"


def pod_probe_targets(pod: dict) -> Tuple[str, List[str], List[str]]:
    """For `pod NAME --on-node`: the pod's node, its images (init, regular and ephemeral containers)
    and their registries."""
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    node = spec.get("nodeName")
    if not node:
        raise UsageError(f"pod {name} is not scheduled to a node yet: there is no node to probe")
    containers = (spec.get("initContainers") or []) + (spec.get("containers") or []) \
        + (spec.get("ephemeralContainers") or [])
    images = list(dict.fromkeys(c["image"] for c in containers if c.get("image")))
    return node, images, probe_registries(images, ())
