"""Probing many nodes (`node --all`, `-l`) and comparing the pod's node with a healthy one, against the
fake API server. A thread plays the kubelet of every node: it moves each probe pod along and sets
the log that node's probe would print. Every test ends with no probe pod left."""
from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
from typing import Callable, Dict, Iterable, List, Optional

import pytest
import yaml

from pullcheck.errors import ClusterError, UsageError
from pullcheck.kube.client import KubeClient
from pullcheck.kube.config import load
from pullcheck.node import podspec
from pullcheck.node.compare import choose_node, compare_probe
from pullcheck.node.fleet import FleetProgress, FleetReport, NodeOutcome, build_grid, fleet_probe
from pullcheck.node.fleet_render import render_fleet
from pullcheck.node.records import parse_records
from pullcheck.node.report import build_report
from pullcheck.node.runner import Interrupted, ProbeResult
from tests.fakeapi import FakeCluster, captured_pod
from tests.fakeapi.capture import synthesized_node
from tests.fakeapi.status import ApiError as FakeApiError
from tests.test_node_runner import RUNNING, SUCCEEDED, container_status, probe_pods, record

NAMESPACE = podspec.DEFAULT_NAMESPACE
IMAGE = "registry.pullcheck.test/app:v9"
REGISTRY = "registry.pullcheck.test"
PROXY = "https_proxy=http://10.0.0.9:3128"
PULL_OK = "via ctr\nexit 0\nseconds 1"
PULL_VIA_PROXY_REFUSED = (
    f'via ctr\nexit 1\nseconds 0\n\nctr: failed to resolve reference "{IMAGE}": failed to do request: Head '
    f'"https://{REGISTRY}/v2/app/manifests/v9": proxyconnect tcp: dial tcp 10.0.0.9:3128: connect: connection refused')


def probe_log(node: str, *, image: str = IMAGE, pull: str = PULL_OK, proxy: str = "") -> str:
    """What probe.sh prints on a containerd node; `proxy`: the runtime's proxy variables."""
    return "".join([
        record("probe", "start", "info", f"version 1 on {node}"),
        record("arch", "node", "info", "x86_64"),
        record("runtime", "containerd", "ok", "pid 812\nconfig /etc/containerd/config.toml"),
        record("containerd-config", "/etc/containerd/config.toml", "info", 'config_path = "/etc/containerd/certs.d"'),
        record("runtime-proxy", "containerd", "info", proxy),
        record("etc-environment-proxy", "/etc/environment", "info", ""),
        record("proxy-compare", "containerd", "info" if proxy else "ok",
               "the runtime has proxy variables that /etc/environment does not set" if proxy
               else "no proxy variables, in the runtime or in /etc/environment"),
        record("image-fs", "/var/lib/containerd", "ok", "12.0 GiB available, 40% used, on /"),
        record("dns", REGISTRY, "ok", f"10.0.0.5       {REGISTRY}"),
        record("https", REGISTRY, "ok", "via curl\nexit 0\nhttp_status 401"),
        record("pull", image, "fail" if "exit 1" in pull else "ok", pull),
        record("probe", "end", "ok", ""),
    ])


def add_node(cluster: FakeCluster, name: str, *, labels: Optional[Dict[str, str]] = None, ready: bool = True,
             cordoned: bool = False, images: Iterable[str] = (), arch: str = "amd64") -> None:
    node = synthesized_node(name, [captured_pod("debug-node")], [])
    node["metadata"]["labels"].update(labels or {}, **{"kubernetes.io/arch": arch})
    node["status"]["nodeInfo"]["architecture"] = arch
    node["status"]["images"] = [{"names": [image], "sizeBytes": 1000} for image in images]
    if not ready:
        for condition in node["status"]["conditions"]:
            if condition["type"] == "Ready":
                condition.update(status="Unknown", reason="NodeStatusUnknown",
                                 message="Kubelet stopped posting node status.")
    if cordoned:
        node["spec"]["unschedulable"] = True
    cluster.create(node)


class FleetKubelet(threading.Thread):
    """The kubelet of every node: a new probe pod goes Running (or into `stuck[node]`'s status); after
    `hold` seconds it gets its node's log from `logs` and Succeeded, unless its node is in `hang`.
    `signal_at=(n, signum)` sends the signal to this process once n probe pods are running.
    Records the most probe pods alive at once and the node of each pod it saw."""

    def __init__(self, cluster: FakeCluster, logs: Dict[str, str], *, hold: float = 0.15,
                 hang: Iterable[str] = (), stuck: Optional[Dict[str, dict]] = None,
                 signal_at: Optional[tuple] = None) -> None:
        super().__init__(daemon=True)
        self.cluster, self.logs, self.hold = cluster, logs, hold
        self.hang, self.stuck, self.signal_at = set(hang), stuck or {}, signal_at
        self.max_alive = 0
        self.nodes_seen: List[str] = []
        self.error: Optional[BaseException] = None
        self.finish = threading.Event()

    def run(self) -> None:
        started: Dict[str, float] = {}
        finished = set()
        try:
            while not self.finish.is_set():
                pods = probe_pods(self.cluster)
                self.max_alive = max(self.max_alive, len(pods))
                for pod in pods:
                    name, node = pod["metadata"]["name"], pod["spec"]["nodeName"]
                    if name not in started:
                        started[name] = time.monotonic()
                        self.nodes_seen.append(node)
                        self._status(name, self.stuck.get(node, RUNNING))
                    elif name not in finished and node not in self.hang | set(self.stuck) \
                            and time.monotonic() - started[name] >= self.hold:
                        self.cluster.set_log(name, podspec.CONTAINER, self.logs[node], NAMESPACE)
                        self._status(name, SUCCEEDED)
                        finished.add(name)
                if self.signal_at and len(started) >= self.signal_at[0]:
                    os.kill(os.getpid(), self.signal_at[1])
                    self.signal_at = None
                time.sleep(0.01)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _status(self, name: str, status: dict) -> None:
        try:
            self.cluster.modify("Pod", name, lambda pod: pod.update(status=dict(status)), NAMESPACE)
        except FakeApiError:      # deleted meanwhile
            pass


@pytest.fixture
def cluster(fake_cluster: FakeCluster) -> FakeCluster:
    return fake_cluster


@pytest.fixture
def client(cluster: FakeCluster) -> KubeClient:
    return KubeClient(load(str(cluster.kubeconfig), None, None), timeout=10)


def fleet(cluster: FakeCluster, client: KubeClient, logs: Dict[str, str], *, kubelet_options: Optional[dict] = None,
          **options: object):
    """Run fleet_probe with a FleetKubelet; returns (text, exit code, kubelet)."""
    kubelet = FleetKubelet(cluster, logs, **(kubelet_options or {}))
    kubelet.start()
    arguments = dict(all_nodes=False, selector=None, images=[IMAGE], registries=[], probe_image=None,
                     namespace=None, timeout=20, parallel=3, dry_run=False, output="table", color=False)
    arguments.update(options)
    try:
        text, code = fleet_probe(lambda: client, **arguments)
    finally:
        kubelet.finish.set()
        kubelet.join(5)
        assert kubelet.error is None, kubelet.error
        assert probe_pods(cluster) == []
    return text, code, kubelet


def test_the_matrix_names_the_one_node_that_differs(cluster: FakeCluster, client: KubeClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("node-a", "node-b", "node-c", "node-d"):
        add_node(cluster, name)
    logs = {name: probe_log(name) for name in ("node-a", "node-b", "node-d")}
    logs["node-c"] = probe_log("node-c", pull=PULL_VIA_PROXY_REFUSED, proxy=PROXY)
    terminal = io.StringIO()          # stands in for stderr on a terminal
    monkeypatch.setattr(FleetProgress, "on_stderr", classmethod(lambda cls: cls(terminal)))
    text, code, kubelet = fleet(cluster, client, logs, all_nodes=True)
    assert code == 1
    shown = terminal.getvalue()
    assert shown.startswith("\r\x1b[Kpullcheck: probing 4 nodes: 0 done, 0 failed")
    assert shown.endswith("\r\x1b[Kpullcheck: probing 4 nodes: 4 done, 1 failed\n")
    assert sorted(kubelet.nodes_seen) == ["node-a", "node-b", "node-c", "node-d"]      # one pod per node
    assert cluster.requests.count(verb="create", resource="pods") == 4
    assert cluster.requests.count(verb="delete", resource="pods") == 4
    lines = text.splitlines()
    assert lines[0].startswith("Node probe of all nodes: 4 node(s), 3 in parallel, ")
    header = next(line for line in lines if line.startswith("CHECK"))
    assert header.split() == ["CHECK", "node-a", "node-b", "node-c", "node-d"]
    pull_row = next(line for line in lines if line.startswith(f"pull {IMAGE}"))
    assert pull_row.split()[2:] == ["ok", "ok", "fail", "ok"]
    proxy_row = next(line for line in lines if line.startswith("proxy"))
    assert proxy_row.split()[1:] == ["A", "A", "B", "A"]
    differs = lines[lines.index("Differs between nodes:") + 1:]
    assert differs[0] == f"- pull {IMAGE}: fail (proxy) on node-c; ok on node-a, node-b, node-d"
    assert differs[1].startswith(f'    node-c: failed to resolve reference "{IMAGE}": failed to do request: Head ')
    assert differs[2:4] == ["- proxy: B on node-c; A on node-a, node-b, node-d",
                            f"    B only: runtime-proxy containerd: {PROXY}"]
    assert not any(line.startswith(("- dns", "- https", "- disk", "- mirrors", "- arch")) for line in differs)
    assert lines[-1] == "4 node(s): 4 probed (1 with failed checks)"


def test_json_output(cluster: FakeCluster, client: KubeClient) -> None:
    for name in ("node-a", "node-b"):
        add_node(cluster, name)
    logs = {"node-a": probe_log("node-a"), "node-b": probe_log("node-b", pull=PULL_VIA_PROXY_REFUSED, proxy=PROXY)}
    text, code, _ = fleet(cluster, client, logs, all_nodes=True, output="json")
    doc = json.loads(text)
    assert code == 1 and doc["kind"] == "NodeFleetProbe" and doc["target"] == "all nodes"
    assert doc["summary"] == {"nodes": 2, "probed": 2, "errors": 0, "skipped": 0, "withFailedChecks": 1}
    assert [n["state"] for n in doc["nodes"]] == ["probed", "probed"]
    assert doc["grid"]["cells"]["node-b"][f"pull {IMAGE}"] == {"status": "fail", "cause": "proxy"}
    assert doc["grid"]["cells"]["node-b"]["proxy"] == {"status": "info", "variant": "B"}
    assert [d["column"] for d in doc["grid"]["differs"]] == [f"pull {IMAGE}", "proxy"]


def test_label_selector_skips_not_ready_and_cordoned_nodes_unless_named(cluster: FakeCluster,
                                                                         client: KubeClient) -> None:
    add_node(cluster, "blue-1", labels={"pool": "blue"})
    add_node(cluster, "blue-2", labels={"pool": "blue"}, ready=False)
    add_node(cluster, "blue-3", labels={"pool": "blue"}, cordoned=True)
    add_node(cluster, "green-1", labels={"pool": "green"})
    logs = {name: probe_log(name) for name in ("blue-1", "blue-2", "blue-3", "green-1")}
    started = time.monotonic()
    text, code, kubelet = fleet(cluster, client, logs, selector="pool=blue")
    assert time.monotonic() - started < 10          # no waiting for the NotReady node's timeout
    assert code == 0 and kubelet.nodes_seen == ["blue-1"]
    assert cluster.requests.filter(verb="list", resource="nodes")[0].param("labelSelector") == "pool=blue"
    assert text.splitlines()[0].startswith("Node probe of nodes matching -l pool=blue: 3 node(s)")
    assert "- blue-2: skipped: NotReady (NodeStatusUnknown); name it to probe it anyway" in text
    assert "- blue-3: skipped: cordoned (unschedulable); name it to probe it anyway" in text
    assert text.splitlines()[-1] == "3 node(s): 1 probed, 2 skipped: all checks passed"

    text, code, kubelet = fleet(cluster, client, logs, names=["blue-2", "blue-3"])
    assert code == 0 and sorted(kubelet.nodes_seen) == ["blue-2", "blue-3"]
    assert "blue-2 is NotReady (NodeStatusUnknown)" in text          # the runner's warning, shown

    with pytest.raises(UsageError, match="no nodes match -l pool=red"):
        fleet(cluster, client, logs, selector="pool=red")
    with pytest.raises(UsageError, match=r"-l pool in \(: "):
        fleet(cluster, client, logs, selector="pool in (")
    with pytest.raises(UsageError, match="exactly one of them"):
        fleet(cluster, client, logs, all_nodes=True, selector="pool=blue")


def test_concurrency_is_bounded(cluster: FakeCluster, client: KubeClient) -> None:
    names = [f"node-{i}" for i in range(6)]
    for name in names:
        add_node(cluster, name)
    started = time.monotonic()
    text, code, kubelet = fleet(cluster, client, {n: probe_log(n) for n in names}, all_nodes=True, parallel=2,
                                kubelet_options={"hold": 0.4})
    assert code == 0 and sorted(kubelet.nodes_seen) == names
    assert kubelet.max_alive == 2                       # never more than --parallel, and really parallel
    assert time.monotonic() - started >= 3 * 0.4         # three rounds of two
    assert "every probed node gives the same results" in text


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Interrupted)])
def test_one_interrupt_deletes_every_pod_in_flight(cluster: FakeCluster, client: KubeClient, signum: int,
                                                    raised: type) -> None:
    names = [f"node-{i}" for i in range(5)]
    for name in names:
        add_node(cluster, name)
    handler = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    with pytest.raises(raised):
        fleet(cluster, client, {}, all_nodes=True, parallel=3, timeout=60,
              kubelet_options={"hang": names, "signal_at": (3, signum)})
    assert time.monotonic() - started < 8                 # not the 60 s --timeout
    assert probe_pods(cluster) == []                      # checked by fleet() too, right after the raise
    assert cluster.requests.count(verb="create", resource="pods") == 3      # nothing started after it
    assert signal.getsignal(signal.SIGTERM) is handler


def test_probe_errors_and_exit_codes(cluster: FakeCluster, client: KubeClient) -> None:
    for name in ("node-a", "node-b", "node-c"):
        add_node(cluster, name)
    stuck = container_status({"waiting": {"reason": "ErrImagePull", "message": "dial tcp: i/o timeout"}})
    text, code, _ = fleet(cluster, client, {"node-a": probe_log("node-a")}, all_nodes=True, timeout=2,
                          kubelet_options={"stuck": {"node-b": stuck}, "hang": ["node-c"]})
    assert code == 1
    assert "- node-b: the probe failed: node node-b cannot pull the probe image" in text
    assert "    hint: give an image the node can pull (a mirror of busybox) with --probe-image" in text
    assert "- node-c: the probe failed: the probe did not finish within --timeout 2s (probe pod running on " \
           "node node-c)" in text
    assert text.splitlines()[-1] == "3 node(s): 1 probed, 2 could not be probed"
    assert cluster.requests.count(verb="delete", resource="pods") == 3

    cluster.faults.forbid(verb="create", resource="pods")
    text, code, _ = fleet(cluster, client, {}, all_nodes=True)
    assert code == 3
    assert "- node-a: the probe failed: not allowed to create the probe pod in namespace kube-system" in text
    assert text.splitlines()[-1] == "3 node(s): 0 probed, 3 could not be probed: no probe could run"


def test_dry_run_prints_one_manifest_per_node(cluster: FakeCluster, client: KubeClient) -> None:
    add_node(cluster, "node-a")
    add_node(cluster, "node-b", ready=False)
    add_node(cluster, "node-c")
    text, code, _ = fleet(cluster, client, {}, all_nodes=True, dry_run=True)
    assert code == 0 and text.startswith("# node node-b skipped: NotReady (NodeStatusUnknown)")
    pods = list(yaml.safe_load_all(text))
    assert [p["spec"]["nodeName"] for p in pods] == ["node-a", "node-c"]
    assert pods[0]["spec"]["containers"][0]["command"][5:] == [
        "pullcheck-probe", "--registry", REGISTRY, "--image", IMAGE, "--pull-timeout", "5"]
    assert cluster.requests.count(verb="create") == 0


def report_for(node: str, log: str):
    return build_report(ProbeResult(node=node, pod=f"pullcheck-{node}-abc", namespace=NAMESPACE,
                                    probe_image="busybox", output=parse_records(log), seconds=1.0))


def test_many_nodes_are_rows_when_node_columns_do_not_fit() -> None:
    names = [f"worker-{i:02d}.example.internal" for i in range(12)]
    reports = [report_for(n, probe_log(n, pull=PULL_VIA_PROXY_REFUSED if n.startswith("worker-07") else PULL_OK))
               for n in names]
    report = FleetReport("all nodes", [NodeOutcome(r.node, "probed", report=r) for r in reports], 5, 3.0)
    lines = render_fleet(report, "table", color=False, width=100).splitlines()
    header = next(line for line in lines if line.startswith("NODE"))
    assert header.split() == ["NODE", "ARCH", "RUNTIME", "DNS1", "HTTPS1", "PULL1", "PROXY", "MIRRORS", "DISK"]
    row = next(line for line in lines if line.startswith("worker-07"))
    assert row.split()[1:] == ["x86_64", "containerd", "ok", "ok", "fail", "same", "same", "ok"]
    assert f"  PULL1      pull {IMAGE}" in lines
    assert max(len(line) for line in lines[:lines.index("Columns:")]) <= 100
    assert f"- pull {IMAGE}: fail (proxy) on worker-07.example.internal; ok on the other 11 nodes" in lines
    legend = next(line for line in lines if line.startswith("Cells: "))
    assert legend == "Cells: ok passed; fail failed; same the same settings on every node"
    wide = render_fleet(report, "wide", color=False, width=100).splitlines()
    assert next(line for line in wide if line.startswith("worker-07")).split()[5] == "fail:proxy"


# ---------------------------------------------------------------------------------------------- compare
POD_IMAGE = "127.0.0.1:5103/busybox:1.35"      # the connection-refused capture's image, on node vm
OWNER_UID = "8f0c7a4e-4a8e-4a55-9a43-1f1b2b7c0001"
PULL_REFUSED = (f'via ctr\nexit 1\nseconds 0\n\nctr: failed to resolve reference "{POD_IMAGE}": failed to do '
                f'request: Head "https://127.0.0.1:5103/v2/busybox/manifests/1.35": dial tcp 127.0.0.1:5103: '
                f'connect: connection refused')


def owned(pod: dict) -> None:
    pod["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4f",
                                           "uid": OWNER_UID, "controller": True, "blockOwnerDeletion": True}]


def add_sibling(cluster: FakeCluster, name: str, node: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "rig-cases"},
           "spec": {"nodeName": node, "containers": [{"name": "app", "image": POD_IMAGE}]},
           "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": True, "image": POD_IMAGE,
                                                                 "state": {"running": {}}}]}}
    owned(pod)
    cluster.create(pod)


@pytest.fixture
def pod_cluster(fake_cluster_factory: Callable[..., FakeCluster]) -> FakeCluster:
    cluster = fake_cluster_factory("connection-refused")
    cluster.modify("Pod", "connection-refused", owned, "rig-cases")
    add_node(cluster, "node-b", images=[POD_IMAGE])                       # cached
    add_node(cluster, "node-c", images=[POD_IMAGE])                       # cached, and a healthy sibling
    add_node(cluster, "node-d", images=[POD_IMAGE], ready=False)          # cached, sibling, but NotReady
    add_node(cluster, "node-e")                                           # nothing
    add_node(cluster, "node-f", images=[POD_IMAGE], arch="arm64")         # cached, other architecture
    add_sibling(cluster, "web-6d4f-aaaaa", "node-c")
    add_sibling(cluster, "web-6d4f-bbbbb", "node-d")
    return cluster


def diagnosed(client: KubeClient):
    from pullcheck.diagnose import diagnose_pod
    from pullcheck.kube.gather import gather_pod

    snapshot = gather_pod(client, "rig-cases", "connection-refused")
    return snapshot, diagnose_pod(snapshot)


def test_compare_chooses_a_cached_node_running_the_owner_fine(pod_cluster: FakeCluster) -> None:
    from pullcheck.node.command import node_request

    client = KubeClient(load(str(pod_cluster.kubeconfig), None, None), timeout=10)
    snapshot, report = diagnosed(client)
    request = node_request("vm", images=[POD_IMAGE], registries=(), probe_image=None, namespace=None, timeout=20)
    logs = {"vm": probe_log("vm", image=POD_IMAGE, pull=PULL_REFUSED, proxy=PROXY),
            "node-c": probe_log("node-c", image=POD_IMAGE)}
    kubelet = FleetKubelet(pod_cluster, logs)
    kubelet.start()
    try:
        text, code = compare_probe(client, snapshot, report, request, output="table", color=False)
        doc = json.loads(compare_probe(client, snapshot, report, request, output="json", color=False)[0])
    finally:
        kubelet.finish.set()
        kubelet.join(5)
    assert kubelet.error is None and probe_pods(pod_cluster) == []
    assert code == 1 and sorted(kubelet.nodes_seen) == ["node-c", "node-c", "vm", "vm"]
    assert text.startswith("Pod rig-cases/connection-refused")
    section = text[text.index("Node comparison: vm (the pod's node) and node-c"):].splitlines()
    assert section[1] == (f"node-c chosen: Ready and schedulable; has {POD_IMAGE} in its image cache (node status); "
                          "runs 1 other pod(s) of ReplicaSet/web-6d4f fine; same architecture (amd64)")
    assert section[3].split() == ["CHECK", "vm", "node-c"]
    assert next(line for line in section if line.startswith("pull")).split()[2:] == ["fail", "ok", "differs"]
    assert "    vm only: runtime-proxy containerd: https_proxy=http://10.0.0.9:3128" in section
    assert section[-1] == (f"- {POD_IMAGE}: the same pull works on node node-c and fails on node vm "
                           "(connection-refused): node vm's network or runtime config differs (see: proxy)")
    comparison = doc["nodeComparison"]
    assert doc["kind"] == "PodDiagnosis" and comparison["choice"]["node"] == "node-c"
    assert comparison["podNode"]["report"]["node"] == "vm"
    assert [d["column"] for d in comparison["grid"]["differs"]] == [f"pull {POD_IMAGE}", "proxy"]


def test_compare_choice_order(pod_cluster: FakeCluster) -> None:
    nodes = [pod_cluster.get("Node", name) for name in ("vm", "node-b", "node-c", "node-d", "node-e", "node-f")]

    def pick(cached: set, siblings: Dict[str, int]):
        return choose_node(nodes, "vm", cached, siblings, "ReplicaSet/web-6d4f", [POD_IMAGE])

    cached = {"node-b", "node-c", "node-d", "node-f"}
    assert pick(cached, {"node-c": 1, "node-d": 1}).node == "node-c"        # cache + healthy sibling
    assert pick(cached, {"node-d": 2}).node == "node-b"                      # NotReady never; cache, same arch
    assert pick(set(), {"node-e": 1}).node == "node-e"                       # a healthy sibling
    fallback = pick(set(), {})
    assert fallback.node == "node-b" and fallback.reason.endswith(
        "no other node is known to hold the image, so this compares the nodes' settings, not a known-good pull")
    assert pick({"node-f"}, {}).reason.startswith(
        f"Ready and schedulable; has {POD_IMAGE} in its image cache (node status); architecture arm64, not amd64")
    alone = choose_node(nodes[:1] + nodes[3:4], "vm", cached, {}, "ReplicaSet/web-6d4f", [POD_IMAGE])
    assert alone.node is None and alone.reason == \
        "no other Ready, schedulable Linux node (node-d: NotReady (NodeStatusUnknown))"


def test_compare_when_the_pod_node_probe_cannot_run(pod_cluster: FakeCluster) -> None:
    from pullcheck.node.command import node_request

    client = KubeClient(load(str(pod_cluster.kubeconfig), None, None), timeout=10)
    snapshot, report = diagnosed(client)
    request = node_request("vm", images=[POD_IMAGE], registries=(), probe_image=None, namespace=None, timeout=20)
    stuck = container_status({"waiting": {"reason": "ErrImagePull", "message": "dial tcp: i/o timeout"}})
    kubelet = FleetKubelet(pod_cluster, {"node-c": probe_log("node-c", image=POD_IMAGE)}, stuck={"vm": stuck})
    kubelet.start()
    try:
        text, code = compare_probe(client, snapshot, report, request, output="table", color=False)
        pod_cluster.faults.forbid(verb="create", resource="pods")
        with pytest.raises(ClusterError, match="the probe could not run on node vm: not allowed to create"):
            compare_probe(client, snapshot, report, request, output="table", color=False)
    finally:
        kubelet.finish.set()
        kubelet.join(5)
    assert kubelet.error is None and probe_pods(pod_cluster) == []
    assert code == 3
    assert "node vm: the probe failed: node vm cannot pull the probe image" in text
    probe_image = podspec.choose_probe_image(pod_cluster.get("Node", "vm"))
    assert text.splitlines()[-1] == (f"- the probe could not run on node vm (node vm cannot pull the probe image "
                                     f"{probe_image}: dial tcp: i/o timeout) but ran on node node-c: what stops it "
                                     "is specific to node vm")


def test_grid_differences_are_empty_for_identical_nodes() -> None:
    grid = build_grid([report_for(n, probe_log(n)) for n in ("a", "b", "c")])
    assert grid.differences() == []
    assert [c.label for c in grid.columns] == ["arch", "runtime", f"dns {REGISTRY}", f"https {REGISTRY}",
                                               f"pull {IMAGE}", "proxy", "mirrors", "disk"]
