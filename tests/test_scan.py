"""`kubectl pullcheck scan` against the fake API server: workloads built from the real captured pods and
events (renamed, re-owned and spread over nodes), so every status and message is what kubelet 1.36 wrote."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from tests.fakeapi import dockerconfigjson_secret
from tests.fakeapi.capture import CAPTURES, read_case
from tests.test_pod_cli import PASSWORD, VENV_BIN, run

NS = "shop"


def _node(name: str, images: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                                                  "kubernetes.io/hostname": name}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"operatingSystem": "linux", "architecture": "amd64",
                                    "containerRuntimeVersion": "containerd://1.6.20"},
                       "images": [{"names": [i], "sizeBytes": 2_000_000} for i in images]}}


class World:
    """Builds pods from capture cases: `add(case, name, ...)` copies the case's pod and events."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.namespaces: set[str] = set()

    def namespace(self, name: str) -> None:
        if name not in self.namespaces:
            self.cluster.ensure_namespace(name)
            self.namespaces.add(name)

    def add(self, case: str, name: str, *, namespace: str = NS, node: str = "node-a", owner: tuple | None = None,
            labels: dict | None = None, image: str | None = None, ran_before: bool = False,
            secrets: list[str] | None = None) -> dict:
        self.namespace(namespace)
        pod, events = read_case(CAPTURES / case)
        pod, events = copy.deepcopy(pod), copy.deepcopy(events)
        old_image = pod["spec"]["containers"][0]["image"]
        uid = str(uuid.uuid4())
        meta = pod["metadata"]
        meta.update(name=name, namespace=namespace, uid=uid, labels=dict(labels or {}))
        meta.pop("resourceVersion", None)
        meta["ownerReferences"] = [{"apiVersion": "apps/v1" if owner[0] != "Job" else "batch/v1", "kind": owner[0],
                                    "name": owner[1], "uid": str(uuid.uuid4()), "controller": True}] if owner else []
        pod["spec"]["nodeName"] = node
        pod["spec"]["imagePullSecrets"] = [{"name": s} for s in secrets or []]
        if image:
            pod["spec"]["containers"][0]["image"] = image
        for status in pod["status"].get("containerStatuses") or ():
            if image:
                status["image"] = image
            if ran_before:
                status["restartCount"] = 3
                status["lastState"] = {"terminated": {"exitCode": 137, "reason": "Error",
                                                      "startedAt": "2026-11-22T01:00:00Z",
                                                      "finishedAt": "2026-11-22T02:20:00Z"}}
        self.cluster.create(pod)
        for number, event in enumerate(events):
            event["metadata"] = {"name": f"{name}.{number:04x}", "namespace": namespace}
            event["involvedObject"].update(name=name, namespace=namespace, uid=uid)
            event["source"] = {"component": "kubelet", "host": node}
            event["reportingInstance"] = node
            if image:
                event["message"] = event["message"].replace(old_image, image)
            self.cluster.create(event)
        return pod


@pytest.fixture
def world(fake_cluster_factory, tmp_path):
    cluster = fake_cluster_factory()
    for node, images in (("node-a", []), ("node-b", ["127.0.0.1:5100/busybox:1.35"]), ("node-c", [])):
        cluster.create(_node(node, images))
    built = World(cluster)
    built.namespace(NS)
    cluster.write_kubeconfig(tmp_path / "kc", namespace=NS)
    built.kubeconfig = str(tmp_path / "kc")
    return built


def scan_json(capsys, world, *args: str) -> tuple:
    code, out, err = run(capsys, "scan", "--kubeconfig", world.kubeconfig, "-o", "json", *args)
    return code, json.loads(out), err


def deployment_pods(world, case: str, deployment: str, template_hash: str, count: int, **kw) -> None:
    for i in range(count):
        world.add(case, f"{deployment}-{template_hash}-p{i}", owner=("ReplicaSet", f"{deployment}-{template_hash}"),
                  labels={"app": deployment, "pod-template-hash": template_hash}, **kw)


def test_groups_by_cause_and_image_with_workloads_nodes_and_secrets(world, capsys):
    world.cluster.create(dockerconfigjson_secret("rig-auth-wrongpass", NS, "127.0.0.1:5101", "testuser", PASSWORD))
    for i, node in enumerate(("node-a", "node-b", "node-c")):
        world.add("auth-wrong-password", f"web-5f7c9-p{i}", node=node, owner=("ReplicaSet", "web-5f7c9"),
                  labels={"app": "web", "pod-template-hash": "5f7c9"}, secrets=["rig-auth-wrongpass"])
    world.add("nonexistent-tag", "nightly-29001-abcde", owner=("Job", "nightly-29001"))
    world.cluster.create({"apiVersion": "batch/v1", "kind": "Job",
                          "metadata": {"name": "nightly-29001", "namespace": NS,
                                       "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                                            "name": "nightly", "uid": "u", "controller": True}]},
                          "spec": {"template": {"spec": {"containers": []}}}})
    world.add("success", "healthy-1", node="node-b")

    code, doc, _ = scan_json(capsys, world)
    assert code == 1
    assert doc["kind"] == "ScanReport" and doc["apiVersion"] == "pullcheck/v1"
    assert doc["podsChecked"] == 5 and doc["failingPods"] == 4 and doc["nodesTotal"] == 3
    groups = {g["cause"]: g for g in doc["groups"]}
    assert set(groups) == {"auth-rejected", "tag-not-found"}    # the secret exists: its credentials were refused
    auth = groups["auth-rejected"]
    assert auth["podCount"] == 3 and auth["image"]["normalized"] == "127.0.0.1:5101/private/busybox:1.35"
    assert auth["workloads"] == [{"workload": "Deployment shop/web", "pods": 3}]
    assert auth["nodes"]["failing"] == ["node-a", "node-b", "node-c"]
    assert auth["scope"] == "new pods"
    assert doc["groups"][0]["cause"] == "auth-rejected"       # most pods first
    tag = groups["tag-not-found"]
    assert tag["workloads"] == [{"workload": "CronJob shop/nightly", "pods": 1}]
    assert any("kubectl set image cronjob/nightly" in (step["command"] or "") for step in tag["nextSteps"])
    assert [r["registry"] for r in doc["registries"]] == ["127.0.0.1:5101", "127.0.0.1:5100"]
    assert doc["summary"].startswith("4 pods cannot pull images in namespace shop (2 workloads, on 3 of 3 nodes")
    assert PASSWORD not in json.dumps(doc)


def test_table_output_names_the_groups_and_ends_with_a_summary_line(world, capsys):
    deployment_pods(world, "nonexistent-tag", "api", "77aa1", 7)
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "Image pull problems in namespace shop"
    assert any(line.startswith("1 ") and "tag-not-found" in line and "Deployment shop/api" in line for line in lines)
    # first seen on 2026-11-22, over a day ago: the date is shown with the time
    assert any(line.startswith("1 ") and line.rstrip().endswith("11-22 02:21") for line in lines)
    assert "[1] tag-not-found: Manifest not found (tag or digest) (7 pods)" in out
    assert "(+2 more; -o wide lists all)" in out
    assert "kubectl pullcheck pod api-77aa1-p0 -n shop" in out
    assert lines[-1].startswith("Summary: 7 pods cannot pull images in namespace shop (1 workload")
    code, wide, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig, "-o", "wide")
    assert "shop/api-77aa1-p6" in wide


def test_rollout_only_the_new_replicaset_fails(world, capsys):
    deployment_pods(world, "success", "web", "old11", 3, node="node-b")
    deployment_pods(world, "nonexistent-tag", "web", "new22", 2)
    code, doc, _ = scan_json(capsys, world)
    (group,) = doc["groups"]
    assert group["rollouts"] == [{"workload": "Deployment shop/web", "failingTemplateHashes": ["new22"],
                                  "podsOfOlderReplicaSetsRunning": 3}]
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig)
    assert "the new ReplicaSet's pods fail while 3 pod(s) of an older ReplicaSet still run" in out


def test_pods_that_ran_before_and_fail_now_are_told_apart(world, capsys):
    world.add("nonexistent-repo", "worker-1", ran_before=True, owner=("StatefulSet", "worker"))
    world.add("nonexistent-repo", "worker-2", ran_before=True, owner=("StatefulSet", "worker"))
    code, doc, _ = scan_json(capsys, world)
    assert doc["groups"][0]["scope"] == "ran before"
    world.add("nonexistent-repo", "worker-3", owner=("StatefulSet", "worker"))
    code, doc, _ = scan_json(capsys, world)
    assert doc["groups"][0]["scope"] == "mixed"
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig)
    assert "new pods, and pods that ran before and cannot pull again" in out


def test_node_spread_names_nodes_where_the_same_image_runs_or_is_cached(world, capsys):
    world.add("dns-failure", "edge-a", node="node-a", image="127.0.0.1:5100/busybox:1.35")
    world.add("success", "edge-b", node="node-c")
    code, doc, _ = scan_json(capsys, world)
    (group,) = doc["groups"]
    assert group["nodes"] == {"failing": ["node-a"], "runningImage": ["node-c"], "cachingImage": ["node-b"]}
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig)
    assert "the same image runs on node-c: compare the nodes (kubectl pullcheck pod edge-a -n shop --on-node --compare)" \
        in out


def test_all_namespaces_and_label_selector_are_applied(world, capsys):
    world.add("nonexistent-tag", "a-1", namespace="team-a", labels={"tier": "front"})
    world.add("nonexistent-tag", "b-1", namespace="team-b", labels={"tier": "back"})
    code, doc, _ = scan_json(capsys, world)                  # namespace shop: nothing there
    assert code == 0 and doc["groups"] == [] and doc["summary"].startswith("no image pull problems in namespace shop")
    code, doc, _ = scan_json(capsys, world, "-A")
    assert code == 1 and doc["failingPods"] == 2 and doc["scope"]["allNamespaces"] is True
    assert doc["summary"].startswith("2 pods cannot pull images in all namespaces (2 bare pods, on 1 of 3 nodes")
    code, doc, _ = scan_json(capsys, world, "-A", "-l", "tier=front")
    assert [p["name"] for p in doc["groups"][0]["pods"]] == ["a-1"]
    listed = world.cluster.requests.filter(verb="list", resource="pods")
    assert any("labelSelector" in r.query for r in listed)


def test_a_hung_pull_is_found_by_reading_only_that_pods_events(world, capsys):
    world.add("timeout-http-hang", "slow-1")
    world.add("success", "fine-1")
    code, doc, _ = scan_json(capsys, world)
    assert code == 1 and doc["groups"][0]["cause"] == "network-timeout"
    per_pod = [r for r in world.cluster.requests.filter(verb="list", resource="events") if "involvedObject.uid" in
               json.dumps(r.query)]
    assert len(per_pod) == 1


def test_every_page_is_read_and_requests_do_not_grow_with_pods(world, capsys):
    healthy = read_case(CAPTURES / "success")[0]
    bulk = []
    for i in range(1100):
        pod = copy.deepcopy(healthy)
        pod["metadata"].update(name=f"bulk-{i:04d}", namespace=NS, uid=str(uuid.uuid4()))
        pod["metadata"].pop("resourceVersion", None)
        bulk.append(pod)
    world.cluster.seed(bulk)
    world.add("nonexistent-tag", "zz-last")          # after every healthy pod: on the last page
    code, doc, _ = scan_json(capsys, world)
    assert code == 1 and doc["podsChecked"] == 1101 and doc["failingPods"] == 1
    pages = world.cluster.requests.filter(verb="list", resource="pods")
    assert len(pages) == 3 and sum("continue" in r.query for r in pages) == 2
    assert world.cluster.requests.count(verb="list", resource="events") == 1
    assert len(world.cluster.requests.filter(verb="get")) == 0


def test_forbidden_events_are_a_skipped_check_and_forbidden_pods_a_cluster_error(world, capsys):
    world.add("nonexistent-tag", "t-1")
    world.cluster.faults.forbid(verb="list", resource="events")
    code, doc, _ = scan_json(capsys, world)
    assert code == 1 and doc["skipped"][0]["check"] == "events"
    world.cluster.faults.forbid(verb="list", resource="pods")
    code, out, err = run(capsys, "scan", "--kubeconfig", world.kubeconfig)
    assert code == 3 and out == ""
    assert err.startswith("error: cannot list pods in namespace shop:") and len(err.strip().splitlines()) == 1


def test_probe_runs_once_per_distinct_image(world, capsys):
    for i in range(3):
        world.add("connection-refused", f"r-{i}")
    code, doc, err = scan_json(capsys, world, "--probe", "--timeout", "5", "-v")
    (group,) = doc["groups"]
    assert group["probe"]["cause"] == "connection-refused"
    assert err.count("probe of 127.0.0.1:5103/busybox:1.35") == 1


def test_scan_through_the_real_kubectl(world):
    kubectl = shutil.which("kubectl", path=str(VENV_BIN))
    assert kubectl and shutil.which("kubectl-pullcheck", path=str(VENV_BIN))
    world.add("nonexistent-tag", "t-1")
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", KUBECONFIG=world.kubeconfig)
    proc = subprocess.run([kubectl, "pullcheck", "scan", "-n", NS], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("Summary: 1 pod cannot pull images in namespace shop")


# -- scan --watch -------------------------------------------------------------------------------------------
def _pulled(pod: dict) -> None:
    for status in pod["status"]["containerStatuses"]:
        status["state"] = {"running": {"startedAt": "2026-11-22T03:00:00Z"}}
        status["imageID"] = status["image"] + "@sha256:" + "ab" * 32
        status["ready"] = True
    pod["status"]["phase"] = "Running"


def _later(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread


def test_scan_watch_ends_when_the_failing_pods_pull(world, capsys):
    deployment_pods(world, "nonexistent-tag", "web", "aa11", 2)
    fixes = _later(0.5, lambda: [world.cluster.modify("Pod", f"web-aa11-p{i}", _pulled, namespace=NS)
                                 for i in range(2)])
    started = time.monotonic()
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig, "--watch", "--timeout", "20")
    fixes.join()
    assert code == 0 and time.monotonic() - started < 10
    assert "[1] tag-not-found" in out      # the scan comes first
    assert out.splitlines()[-1].startswith("recovered after ")
    assert "the 2 failing pod(s) pull again (2 pulled in place)" in out
    assert world.cluster.requests.count(verb="watch", resource="pods") >= 1


def test_scan_watch_follows_a_rollout_that_replaces_the_failing_pods(world, capsys):
    deployment_pods(world, "nonexistent-tag", "web", "bad01", 1)

    def roll_out() -> None:
        world.cluster.delete("Pod", "web-bad01-p0", namespace=NS)
        world.add("success", "web-good2-p0", owner=("ReplicaSet", "web-good2"),
                  labels={"app": "web", "pod-template-hash": "good2"})

    _later(0.5, roll_out).join(timeout=0)
    code, doc, _ = scan_json(capsys, world, "--watch", "--timeout", "20")
    assert code == 0 and doc["kind"] == "ScanWatch" and doc["scan"]["kind"] == "ScanReport"
    assert doc["replaced"] == ["shop/web-bad01-p0"]
    assert [p["name"] for p in doc["pods"]] == ["web-good2-p0"] and doc["pods"][0]["state"] == "pulled"


def test_scan_watch_times_out_with_what_still_fails(world, capsys):
    deployment_pods(world, "auth-no-secret", "api", "cc33", 2)
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig, "--watch", "--timeout", "1.5")
    assert code == 1
    assert out.splitlines()[-1].startswith("not recovered within ")
    assert "2 pod(s) still failing" in out and "shop/api-cc33-p0 (" in out


def test_scan_watch_with_nothing_failing_ends_at_once(world, capsys):
    world.add("success", "fine")
    code, out, _ = run(capsys, "scan", "--kubeconfig", world.kubeconfig, "--watch")
    assert code == 0 and out.splitlines()[-1] == "nothing was failing"
    code, _, err = run(capsys, "scan", "--kubeconfig", world.kubeconfig, "--watch", "--probe")
    assert code == 2 and "--watch cannot be combined with --probe" in err
