"""Build a cluster from a capture folder (tests/data/kubelet-1.36-containerd-1.6/<case>/: pod.json and
events.json, as `kubectl get -o json` wrote them from a real kubelet 1.36 + containerd 1.6 node).

The pod and its events are loaded exactly as captured, resourceVersions included. What the captures
do not contain is synthesized, and marked so here:
- the Namespace and its `default` ServiceAccount (creation time: 10 minutes before the first pod);
- the Node named by pod.spec.nodeName. Its shape and verbatim kubelet strings (labels, condition
  reasons and messages, daemonEndpoints, nodeInfo keys) follow what kubelet 1.36 writes; its values
  come from the captures where they exist: hostIP, the image list (every image a captured container
  ran, by digest, with the size from the `Pulled` events), containerd's version as this Debian build
  reports it (`ctr version` in debug-node/logs.txt: 1.6.20~ds1) and kubelet v1.36.2. Invented: uids,
  machine/boot ids, capacity, kernel version, podCIDR, creation time (an hour before the first pod).
  The sandbox (pause) image is left out of status.images: the captures do not show which one ran.
- debug-node/logs.txt becomes the debug container's log.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Tuple, Union

from . import clock
from .cluster import FakeCluster

Obj = Dict[str, Any]

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "kubelet-1.36-containerd-1.6"
KUBELET_VERSION = "v1.36.2"
RUNTIME_VERSION = "containerd://1.6.20~ds1"
_SIZE_RE = re.compile(r'image "([^"]+)" in .*Image size: (\d+) bytes')


def _stable_uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fakeapi:" + "/".join(parts)))


def _earlier(timestamp: str, **delta: float) -> str:
    return clock.rfc3339(clock.parse(timestamp) - _dt.timedelta(**delta))


def read_case(folder: Path) -> Tuple[Obj, List[Obj]]:
    pod = json.loads((folder / "pod.json").read_text())
    events = json.loads((folder / "events.json").read_text())["items"]
    return pod, events


def synthesized_namespace(name: str, created: str) -> Obj:
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "uid": _stable_uid("namespace", name), "creationTimestamp": created,
                         "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def synthesized_service_account(namespace: str, created: str) -> Obj:
    return {"kind": "ServiceAccount", "apiVersion": "v1",
            "metadata": {"name": "default", "namespace": namespace, "uid": _stable_uid("sa", namespace),
                         "creationTimestamp": created}}


def node_images(pods: Iterable[Obj], events: Iterable[Obj]) -> List[Obj]:
    """status.images as the kubelet reports CRI ListImages: one entry per image, names = repo digests
    then tags, largest first."""
    sizes: Dict[str, int] = {}
    for event in events:
        found = _SIZE_RE.search(event.get("message", ""))
        if event.get("reason") == "Pulled" and found:
            sizes[found.group(1)] = int(found.group(2))
    by_digest: Dict[str, Dict[str, Any]] = {}
    for pod in pods:
        spec_images = {c["name"]: c.get("image", "") for c in (pod.get("spec") or {}).get("containers") or []}
        for cstatus in (pod.get("status") or {}).get("containerStatuses") or []:
            image_id = cstatus.get("imageID") or ""
            if "@" not in image_id:
                continue
            digest = image_id.split("@", 1)[1]
            entry = by_digest.setdefault(digest, {"digests": set(), "tags": set(), "size": None})
            for tag in (cstatus.get("image", ""), spec_images.get(cstatus.get("name"), "")):
                if tag and "@" not in tag:
                    entry["tags"].add(tag)
                    entry["digests"].add(tag.rsplit(":", 1)[0] + "@" + digest)
                    entry["size"] = entry["size"] or sizes.get(tag)
    images = [{"names": sorted(e["digests"]) + sorted(e["tags"]), "sizeBytes": e["size"]}
              for e in by_digest.values() if e["size"]]
    return sorted(images, key=lambda image: -image["sizeBytes"])


def synthesized_node(name: str, pods: Sequence[Obj], events: Sequence[Obj], runtime_version: str = RUNTIME_VERSION
                     ) -> Obj:
    first_pod = min((p["metadata"]["creationTimestamp"] for p in pods), default=clock.rfc3339(clock.now()))
    last_seen = max([p["metadata"]["creationTimestamp"] for p in pods]
                    + [e.get("lastTimestamp") or e["metadata"]["creationTimestamp"] for e in events])
    created = _earlier(first_pod, hours=1)
    host_ip = next(((p.get("status") or {}).get("hostIP") for p in pods if (p.get("status") or {}).get("hostIP")),
                   "192.0.2.2")
    pod_ip = next(((p.get("status") or {}).get("podIP") for p in pods if (p.get("status") or {}).get("podIP")),
                  "10.244.0.1")
    pod_cidr = ".".join(pod_ip.split(".")[:3]) + ".0/24"

    def condition(kind: str, state: str, reason: str, message: str) -> Obj:
        return {"type": kind, "status": state, "lastHeartbeatTime": last_seen, "lastTransitionTime": created,
                "reason": reason, "message": message}
    resources = {"cpu": "2", "ephemeral-storage": "30787492Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                 "memory": "8131876Ki", "pods": "110"}
    allocatable = dict(resources, **{"ephemeral-storage": "28373752581", "memory": "8029476Ki"})
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {
            "name": name, "uid": _stable_uid("node", name), "creationTimestamp": created,
            "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
        "status": {
            "capacity": resources,
            "allocatable": allocatable,
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                          "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": host_ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, name + ".machine").hex,
                "systemUUID": _stable_uid("system", name),
                "bootID": _stable_uid("boot", name),
                "kernelVersion": "6.1.0-41-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": runtime_version,
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": "",
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
            "images": node_images(pods, events),
        },
    }


def _all_captured(captures_dir: Path) -> Tuple[List[Obj], List[Obj]]:
    pods: List[Obj] = []
    events: List[Obj] = []
    for folder in sorted(p for p in captures_dir.iterdir() if (p / "pod.json").is_file()):
        pod, case_events = read_case(folder)
        pods.append(pod)
        events.extend(case_events)
    return pods, events


def load_capture(cluster: FakeCluster, cases: Union[str, Path, Sequence[Union[str, Path]]],
                 captures_dir: Path = CAPTURES, runtime_version: str = RUNTIME_VERSION) -> List[Obj]:
    """Seed `cluster` with the pods and events of one or more capture cases (names under captures_dir,
    or folders), plus their namespaces, default ServiceAccounts and nodes. Returns the pods."""
    folders = [Path(c) if Path(c).is_dir() else captures_dir / str(c)
               for c in ([cases] if isinstance(cases, (str, Path)) else cases)]
    pods: List[Obj] = []
    objects: List[Obj] = []
    seen = set()
    for folder in folders:
        pod, events = read_case(folder)
        identity = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        if identity in seen:
            raise ValueError(f"two captures hold pod {identity[0]}/{identity[1]}: load them into separate clusters")
        seen.add(identity)
        pods.append(pod)
        objects.append(pod)
        objects.extend(events)
        logs = folder / "logs.txt"
        if logs.is_file():
            container = pod["spec"]["containers"][0]["name"]
            cluster.set_log(pod["metadata"]["name"], container, logs.read_text(), pod["metadata"]["namespace"])
    first_pod = min(p["metadata"]["creationTimestamp"] for p in pods)
    synthesized: List[Obj] = []
    for namespace in sorted({p["metadata"]["namespace"] for p in pods}):
        if cluster.get("Namespace", namespace) is None:
            synthesized.append(synthesized_namespace(namespace, _earlier(first_pod, minutes=10)))
        if cluster.get("ServiceAccount", "default", namespace) is None:
            synthesized.append(synthesized_service_account(namespace, _earlier(first_pod, minutes=10)))
    all_pods, all_events = _all_captured(captures_dir) if captures_dir.is_dir() else (pods, [])
    for node_name in sorted({p["spec"].get("nodeName") for p in pods if p["spec"].get("nodeName")}):
        if cluster.get("Node", node_name) is None:
            on_node = [p for p in all_pods if p["spec"].get("nodeName") == node_name] or pods
            synthesized.append(synthesized_node(node_name, on_node, all_events, runtime_version))
    cluster.seed(synthesized + objects)
    return pods


def case_names(captures_dir: Path = CAPTURES) -> List[str]:
    return sorted(p.name for p in captures_dir.iterdir() if (p / "pod.json").is_file())


def captured_pod(case: str, captures_dir: Path = CAPTURES) -> Obj:
    return read_case(captures_dir / case)[0]
