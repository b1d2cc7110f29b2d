"""`pod NAME --on-node --compare`: the node probe on the pod's node and, at the same time, on one
healthy node, side by side. The same pull working there and failing on the pod's node points at the
pod's node (its network or runtime settings); failing on both points away from it.

The healthy node is Ready, schedulable, Linux and not the pod's node, chosen in this order:
1. it has the image(s) in its cache (node.status.images) and runs other pods of the pod's owner fine;
2. it has the image(s) in its cache;
3. it runs other pods of the owner fine (the kubelet lists at most 50 images per node, so a node
   running the image may not list it);
4. the pod's node's architecture; then by name.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pullcheck.errors import EXIT_CLUSTER, ClusterError, UsageError
from pullcheck.kube.client import ApiError, KubeClient, cluster_scoped, namespaced
from pullcheck.node.fleet import (FleetProgress, Grid, NodeOutcome, build_grid, run_probes,
                                  skip_reason)
from pullcheck.node.runner import ProbeRequest, read_node
from pullcheck.report import PodReport
from pullcheck.snapshot import PodSnapshot, controller_ref


@dataclass(frozen=True)
class Choice:
    node: Optional[str]         # None: no node fits
    reason: str                 # why this node (or why none)


@dataclass
class NodeComparison:
    images: List[str]
    target: NodeOutcome                 # the pod's node
    choice: Choice
    other: Optional[NodeOutcome]        # the comparison node; None when none fits
    conclusions: List[str]

    @property
    def exit_code(self) -> int:
        """The pod's node decides: 3 when its probe could not run, else its report's code."""
        return EXIT_CLUSTER if self.target.report is None else self.target.report.exit_code

    def grid(self) -> Grid:
        return build_grid([o.report for o in (self.target, self.other) if o is not None and o.report is not None])

    def to_dict(self) -> Dict[str, Any]:
        return {"images": self.images, "podNode": self.target.to_dict(),
                "comparisonNode": self.other.to_dict() if self.other else None,
                "choice": {"node": self.choice.node, "reason": self.choice.reason},
                "grid": self.grid().to_dict(), "conclusions": self.conclusions}


# ------------------------------------------------------------------------------------------ choice
def node_arch(node: Dict[str, Any]) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    return labels.get("kubernetes.io/arch") or ((node.get("status") or {}).get("nodeInfo") or {}).get(
        "architecture") or ""


def cached_on(report: PodReport, images: Sequence[str]) -> Optional[set]:
    """Nodes whose status.images hold every one of `images`, from the pod diagnosis (None: unknown)."""
    holders: Optional[set] = None
    for image in images:
        caches = [c.node_cache for c in report.containers if c.image.written == image]
        if not caches or any(cache is None for cache in caches):
            return None
        nodes = set().union(*(cache.nodes_with_image for cache in caches))
        holders = nodes if holders is None else holders & nodes
    return holders


def running_siblings(client: KubeClient, snapshot: PodSnapshot) -> Tuple[Dict[str, int], str]:
    """Nodes running other ready pods of the pod's controller (same template, so the same images), and a
    note when this could not be learnt."""
    ref = controller_ref(snapshot.pod)
    if ref is None or not ref.get("uid"):
        return {}, "the pod has no owner, so no sibling pods to learn from"
    try:
        pods = list(client.list(namespaced(snapshot.namespace, "pods"), {"fieldSelector": "status.phase=Running"}))
    except (ApiError, ClusterError) as exc:
        return {}, f"cannot list pods in {snapshot.namespace} to find the owner's healthy pods: " \
                   f"{getattr(exc, 'message', exc)}"
    uid = (snapshot.pod.get("metadata") or {}).get("uid")
    counts: Counter = Counter()
    for pod in pods:
        node = (pod.get("spec") or {}).get("nodeName")
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if pod["metadata"].get("uid") == uid or not node or not statuses:
            continue
        if (controller_ref(pod) or {}).get("uid") == ref["uid"] and all(s.get("ready") for s in statuses):
            counts[node] += 1
    return dict(counts), ""


def choose_node(nodes: Sequence[Dict[str, Any]], pod_node: str, cached: Optional[set], siblings: Dict[str, int],
                owner: str, images: Sequence[str]) -> Choice:
    """The healthy node to compare with, and why (see the module docstring for the order)."""
    by_name = {n["metadata"]["name"]: n for n in nodes}
    arch = node_arch(by_name.get(pod_node, {}))
    others = [name for name in sorted(by_name) if name != pod_node]
    fit = [name for name in others if skip_reason(by_name[name]) is None]
    if not fit:
        unfit = "; ".join(f"{name}: {skip_reason(by_name[name])}" for name in others)
        return Choice(None, "no other Ready, schedulable Linux node" + (f" ({unfit})" if unfit else ""))
    in_cache = cached or set()

    def rank(name: str) -> Tuple[bool, bool, bool, bool, str]:
        has, runs = name in in_cache, siblings.get(name, 0) > 0
        return not (has and runs), not has, not runs, node_arch(by_name[name]) != arch, name

    best = min(fit, key=rank)
    reasons = ["Ready and schedulable"]
    if best in in_cache:
        reasons.append(f"has {', '.join(images)} in its image cache (node status)")
    if siblings.get(best):
        reasons.append(f"runs {siblings[best]} other pod(s) of {owner} fine")
    best_arch = node_arch(by_name[best])
    reasons.append(f"same architecture ({arch})" if best_arch == arch
                   else f"architecture {best_arch or 'unknown'}, not {arch or 'unknown'}: "
                        "a platform-specific failure can differ")
    if best not in in_cache and not siblings.get(best):
        known = "no other node is known to hold the image" if cached is not None else \
            "the nodes' image caches are unknown"
        reasons.append(f"{known}, so this compares the nodes' settings, not a known-good pull")
    return Choice(best, "; ".join(reasons))


# ------------------------------------------------------------------------------------------ conclusions
def _pull(outcome: NodeOutcome, image: str):  # -> Optional[NodeCheck]
    return next((c for c in outcome.report.checks if c.check == "pull" and c.subject == image), None)


def conclude(images: Sequence[str], target: NodeOutcome, other: Optional[NodeOutcome], choice: Choice,
             settings: Sequence[str]) -> List[str]:
    """What the two probes say together, per image; `settings`: labels of the non-pull checks whose
    outcome differs between the nodes."""
    from pullcheck.node.command import node_conclusions

    a = target.node
    if target.report is None:
        if other is not None and other.report is not None:
            return [f"the probe could not run on node {a} ({target.reason}) but ran on node {other.node}: "
                    f"what stops it is specific to node {a}"]
        return [f"the probe could not run on node {a}: {target.reason}"]
    if other is None:
        return node_conclusions(target.report, images) + [f"no comparison: {choice.reason}"]
    b = other.node
    if other.report is None:
        return node_conclusions(target.report, images) + [f"node {b} could not be probed for comparison: "
                                                          f"{other.reason}"]
    see = f" (see: {', '.join(settings)})" if settings else \
        ": none of the settings the probe reads differ, so look at what it cannot see (firewall rules, " \
        "routes, security groups, the runtime's state)"
    lines = []
    for image in images:
        on_a, on_b = _pull(target, image), _pull(other, image)
        unpulled = [node for node, check in ((a, on_a), (b, on_b))
                    if check is None or check.status not in ("ok", "fail")]
        if unpulled:
            lines.append(f"{image}: not pulled on node {' and '.join(unpulled)} (no pull tool, or the probe did not "
                         "get that far): nothing to compare")
        elif (on_a.status, on_a.cause) == (on_b.status, on_b.cause):
            (line,) = node_conclusions(target.report, [image])
            lines.append(f"{line}; node {b} gives the same answer, so it is not specific to node {a}")
        elif on_b.status == "ok":
            lines.append(f"{image}: the same pull works on node {b} and fails on node {a} "
                         f"({on_a.cause or 'unclassified'}): node {a}'s network or runtime config differs{see}")
        elif on_a.status == "ok":
            lines.append(f"{image}: pulls on node {a} but not on node {b} ({on_b.cause or 'unclassified'}): node "
                         f"{a} can pull it now, so the pod's failure is its configuration (pull secrets, name, "
                         f"policy) or was transient; node {b} has a problem of its own")
        else:
            lines.append(f"{image}: fails on both nodes, differently: {a} {on_a.cause or 'unclassified'}, "
                         f"{b} {on_b.cause or 'unclassified'}{see}")
    return lines


# ------------------------------------------------------------------------------------------ entry point
def compare_probe(client: KubeClient, snapshot: PodSnapshot, report: PodReport, request: ProbeRequest, *, output: str,
                  color: bool, compare_node: Optional[str] = None,
                  progress: Optional[FleetProgress] = None) -> Tuple[str, int]:
    """Probe the pod's node (`request`, as for --on-node) and a healthy node in parallel; returns (the pod
    diagnosis with both probes side by side, exit code). `compare_node` overrides the choice."""
    comparison = compare_nodes(client, snapshot, report, request, compare_node=compare_node,
                               progress=progress or FleetProgress.on_stderr())
    from pullcheck.node.fleet_render import render_comparison

    return render_comparison(report, comparison, output, color=color), max(report.exit_code, comparison.exit_code)


def compare_nodes(client: KubeClient, snapshot: PodSnapshot, report: PodReport, request: ProbeRequest, *,
                  compare_node: Optional[str], progress: FleetProgress) -> NodeComparison:
    images = list(request.images)
    nodes, unreadable = _nodes(client, snapshot)
    by_name = {n["metadata"]["name"]: n for n in nodes}
    for name in (request.node, compare_node):
        if name and name not in by_name:
            by_name[name] = read_node(client, name)
    if compare_node:
        if compare_node == request.node:
            raise UsageError(f"--compare-with {compare_node} is the pod's own node")
        unfit = skip_reason(by_name[compare_node])
        choice = Choice(compare_node, "named on the command line" + (f" (warning: {unfit})" if unfit else ""))
    elif unreadable:
        choice = Choice(None, unreadable)
    else:
        siblings, note = running_siblings(client, snapshot)
        choice = choose_node(list(by_name.values()), request.node, cached_on(report, images), siblings,
                             report.owner or "the pod's owner", images)
        if note and choice.node:
            choice = Choice(choice.node, f"{choice.reason} ({note})")
    requests = [request] + ([replace(request, node=choice.node)] if choice.node else [])
    progress.note(f"comparing node {request.node} with node {choice.node}: {choice.reason}" if choice.node
                  else f"no node to compare with: {choice.reason}")
    outcomes = run_probes(client, requests, by_name, parallel=len(requests), progress=progress)
    target, other = outcomes[0], outcomes[1] if len(outcomes) > 1 else None
    if target.report is None and (other is None or other.report is None):
        raise ClusterError(f"the probe could not run on node {target.node}: {target.reason}", hint=target.hint)
    settings: List[str] = []
    if other is not None and target.report is not None and other.report is not None:
        grid = build_grid([target.report, other.report])
        settings = [d.column.label for d in grid.differences() if d.column.aspect.name != "pull"]
    return NodeComparison(images, target, choice, other, conclude(images, target, other, choice, settings))


def _nodes(client: KubeClient, snapshot: PodSnapshot) -> Tuple[List[Dict[str, Any]], str]:
    """The cluster's nodes (from the snapshot when it holds them), and why they could not be read."""
    if snapshot.nodes is not None:
        return list(snapshot.nodes), ""
    try:
        return list(client.list(cluster_scoped("nodes"), page_size=200)), ""
    except (ApiError, ClusterError) as exc:
        return [], f"cannot list nodes to choose one: {getattr(exc, 'message', exc)}"
