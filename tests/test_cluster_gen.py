"""The generated cluster of benchmarks/cluster_gen.py: shapes as the kubelet 1.36 captures, a consistent
object graph, determinism, and served whole by the fake API server to paginated clients and the real kubectl."""
from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

from benchmarks.cluster_gen import NODE_STATUS_MAX_IMAGES, GeneratedCluster, generate, load
from pullcheck.containers import PULL_WAITING_REASONS
from tests.fakeapi import CAPTURES, FakeCluster, run_kubectl

PODS = 200
Obj = Dict[str, Any]
PULLED = re.compile(r'^Successfully pulled image "[^"]+" in \d[\w.]*s \(\d[\w.]*s including waiting\)\. '
                    r"Image size: \d+ bytes\.$")
ALREADY_PRESENT = re.compile(r'^Container image "[^"]+" already present on machine and can be accessed by the pod$')


@pytest.fixture(scope="module")
def generated() -> GeneratedCluster:
    return generate(PODS, seed=7)


@pytest.fixture
def served(fake_cluster_factory: Callable[..., FakeCluster], generated: GeneratedCluster) -> FakeCluster:
    cluster = fake_cluster_factory()
    load(cluster, generate(PODS, seed=7))      # a fresh copy: the server keeps what it is given
    return cluster


def key(obj: Obj) -> str:
    return f"{obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"


def captured(case: str) -> Tuple[Obj, List[Obj]]:
    folder = CAPTURES / case
    return json.loads((folder / "pod.json").read_text()), json.loads((folder / "events.json").read_text())["items"]


def events_by_pod(generated: GeneratedCluster) -> Dict[str, List[Obj]]:
    found: Dict[str, List[Obj]] = {}
    for event in generated.events:
        found.setdefault(event["involvedObject"]["uid"], []).append(event)
    return found


def main_status(pod: Obj) -> Obj:
    return pod["status"]["containerStatuses"][0]


# ----- shapes
def test_five_percent_fail_by_whole_workloads_with_a_mix_of_causes(generated: GeneratedCluster) -> None:
    assert len(generated.pods) == PODS
    assert len(generated.failing) == round(PODS * 0.05)
    pods = {key(p): p for p in generated.pods}
    for name in generated.failing:
        waiting = main_status(pods[name])["state"]["waiting"]
        assert waiting["reason"] in PULL_WAITING_REASONS or waiting["reason"] == "ContainerCreating", waiting
    healthy = [p for k, p in pods.items() if k not in generated.failing]
    assert all("waiting" not in s["state"] for p in healthy for s in p["status"]["containerStatuses"])
    assert set(generated.scenarios) >= {"rollout", "credential-rotation", "node-local", "hanging-pull"}
    bigger = generate(10_000, seed=7)
    assert len(bigger.failing) == 500
    assert len(set(bigger.failing.values())) >= 10, Counter(bigger.failing.values())
    assert 4.5 <= len(bigger.events) / len(bigger.pods) <= 5.5


def test_statuses_and_events_have_the_captured_shapes(generated: GeneratedCluster) -> None:
    """Same keys as the captured objects, and the kubelet's message structure."""
    failing_pod, failing_events = captured("nonexistent-tag")
    running_pod, running_events = captured("success")
    scheduled_keys, kubelet_keys = set(failing_events[0]), set(failing_events[1])
    involved_keys = set(failing_events[1]["involvedObject"])
    by_pod = events_by_pod(generated)
    pods = {key(p): p for p in generated.pods}
    checked = Counter()
    for name, pod in pods.items():
        status = main_status(pod)
        events = by_pod.get(pod["metadata"]["uid"], [])
        for event in events:
            expected = scheduled_keys if event["reason"] == "Scheduled" else kubelet_keys
            assert set(event) == expected, (event["reason"], set(event) ^ expected)
            assert set(event["involvedObject"]) | {"fieldPath"} == involved_keys
            if event["reason"] != "Scheduled":
                assert event["source"] == {"component": "kubelet", "host": pod["spec"]["nodeName"]}
                assert event["reportingInstance"] == pod["spec"]["nodeName"]
                assert event["firstTimestamp"] <= event["lastTimestamp"] and event["count"] >= 1
        backing_off = "waiting" in status["state"] and status["state"]["waiting"]["reason"] == "ImagePullBackOff"
        if backing_off and generated.failing[name] in ("tag-not-found", "auth-missing", "dns", "rollout-tag-not-found",
                                                       "auth-rotated"):
            assert set(status) == set(failing_pod["status"]["containerStatuses"][0]) | (
                {"containerID"} if status["restartCount"] else set())
            image = pod["spec"]["containers"][0]["image"]
            failed = next(e for e in events if e["message"].startswith(f'Failed to pull image "{image}": '))
            error = failed["message"][len(f'Failed to pull image "{image}": '):]
            assert status["state"]["waiting"]["message"] == f'Back-off pulling image "{image}": ErrImagePull: {error}'
            reasons = [(e["reason"], e["message"]) for e in events]
            assert ("Failed", "Error: ErrImagePull") in reasons and ("Failed", "Error: ImagePullBackOff") in reasons
            assert ("BackOff", f'Back-off pulling image "{image}"') in reasons
            checked["failing"] += 1
        elif name not in generated.failing and pod["status"]["phase"] == "Running":
            assert set(status) == set(running_pod["status"]["containerStatuses"][0])
            pulled = [e["message"] for e in events if e["reason"] == "Pulled"]
            assert pulled and all(PULLED.match(m) or ALREADY_PRESENT.match(m) for m in pulled), pulled
            assert [e["reason"] for e in events][-2:] == ["Created", "Started"]
            checked["running"] += 1
    assert checked["failing"] >= 3 and checked["running"] >= 150, checked


def test_the_four_situations(generated: GeneratedCluster) -> None:
    pods = {key(p): p for p in generated.pods}
    rollouts: Dict[str, List[Obj]] = {}
    for name in generated.scenarios["rollout"]:
        rollouts.setdefault(pods[name]["metadata"]["ownerReferences"][0]["name"], []).append(pods[name])
    for new_rs, failing in rollouts.items():
        deployment, new_hash = new_rs.rsplit("-", 1)
        assert all(p["metadata"]["labels"]["pod-template-hash"] == new_hash for p in failing)
        old = [p for p in generated.pods if p["metadata"]["labels"].get("app") == deployment and p not in failing]
        assert old and all(key(p) not in generated.failing and p["status"]["phase"] == "Running" for p in old)
        assert all(p["metadata"]["labels"]["pod-template-hash"] != new_hash for p in old)
    for name in generated.scenarios["credential-rotation"]:
        status = main_status(pods[name])
        assert status["restartCount"] > 0 and "terminated" in status["lastState"]
        assert status["state"]["waiting"]["message"].endswith("401 Unauthorized")
        assert pods[name]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    for name in generated.scenarios["node-local"]:
        assert main_status(pods[name])["state"]["waiting"]["message"].endswith("i/o timeout")
    for name in generated.scenarios["hanging-pull"]:
        assert main_status(pods[name])["state"]["waiting"] == {"reason": "ContainerCreating"}


def test_owner_references_form_a_consistent_graph(generated: GeneratedCluster) -> None:
    by_kind: Dict[str, Dict[str, Obj]] = {}
    for obj in generated.objects:
        by_kind.setdefault(obj["kind"], {})[key(obj)] = obj
    owned = Counter()
    for obj in generated.objects:
        for ref in obj["metadata"].get("ownerReferences", []):
            owner = by_kind[ref["kind"]][f"{obj['metadata']['namespace']}/{ref['name']}"]
            assert owner["metadata"]["uid"] == ref["uid"] and ref["controller"] is True
            selector = owner["spec"].get("selector", {}).get("matchLabels", {})
            assert all(obj["metadata"]["labels"].get(k) == v for k, v in selector.items()), (key(obj), selector)
            owned[(obj["kind"], ref["kind"])] += 1
    assert owned[("Pod", "ReplicaSet")] and owned[("ReplicaSet", "Deployment")] and owned[("Pod", "DaemonSet")]
    assert owned[("Pod", "StatefulSet")] and owned[("Pod", "Job")] and owned[("Job", "CronJob")]
    assert all(p["metadata"].get("ownerReferences") for p in generated.pods)


def test_events_reference_existing_pods(generated: GeneratedCluster) -> None:
    pods = {key(p): p for p in generated.pods}
    names = set()
    for event in generated.events:
        involved = event["involvedObject"]
        pod = pods[f"{involved['namespace']}/{involved['name']}"]
        assert involved["uid"] == pod["metadata"]["uid"] and event["metadata"]["namespace"] == involved["namespace"]
        assert int(involved["resourceVersion"]) < int(pod["metadata"]["resourceVersion"])
        if "fieldPath" in involved:
            assert involved["fieldPath"] in {f"spec.containers{{{c['name']}}}" for c in pod["spec"]["containers"]}
        names.add(key(event))
    assert len(names) == len(generated.events)
    versions = [int(o["metadata"]["resourceVersion"]) for o in generated.objects]
    assert len(set(versions)) == len(versions)


def test_nodes_list_the_images_their_pods_run(generated: GeneratedCluster) -> None:
    nodes = {n["metadata"]["name"]: n for n in generated.nodes}
    assert len(nodes) == max(3, round(PODS / 30))
    for node in nodes.values():
        images = node["status"]["images"]
        assert 10 <= len(images) <= NODE_STATUS_MAX_IMAGES
        assert [i["sizeBytes"] for i in images] == sorted((i["sizeBytes"] for i in images), reverse=True)
    for pod in generated.pods:
        images = nodes[pod["spec"]["nodeName"]]["status"]["images"]
        listed = {name for image in images for name in image["names"]}
        if len(images) < NODE_STATUS_MAX_IMAGES:      # else the smallest may be cut off the list
            assert all(s["imageID"] in listed for s in pod["status"]["containerStatuses"] if "running" in s["state"])


def test_objects_share_no_nested_structure(generated: GeneratedCluster) -> None:
    """The objects are handed to the store uncopied, and tests change them: no dict or list may sit in two."""
    owners: Dict[int, str] = {}

    def walk(node: Any, owner: str) -> None:
        if isinstance(node, (dict, list)):
            assert owners.setdefault(id(node), owner) == owner, f"shared by {owners[id(node)]} and {owner}"
            for child in node.values() if isinstance(node, dict) else node:
                walk(child, owner)
    for obj in generated.objects:
        walk(obj, f"{obj['kind']} {key(obj)}")


def test_generation_is_deterministic(generated: GeneratedCluster) -> None:
    again = generate(PODS, seed=7)
    assert json.dumps(again.objects) == json.dumps(generated.objects)
    assert json.dumps(generate(PODS, seed=8).objects) != json.dumps(generated.objects)


# ----- served
def list_all(cluster: FakeCluster, path: str, limit: int, **query: str) -> Tuple[List[Obj], int]:
    """Every item of a collection, page by page; (items, pages)."""
    items: List[Obj] = []
    params = dict(query, limit=str(limit))
    pages = 0
    while True:
        with urllib.request.urlopen(f"{cluster.url}{path}?{urllib.parse.urlencode(params)}") as answer:
            page = json.loads(answer.read())
        pages += 1
        items.extend(page["items"])
        token = page["metadata"].get("continue")
        if not token:
            return items, pages
        params["continue"] = token


def test_paginated_lists_return_every_object(served: FakeCluster, generated: GeneratedCluster) -> None:
    pods, pages = list_all(served, "/api/v1/pods", 37)
    assert pages == -(-PODS // 37) and sorted(key(p) for p in pods) == sorted(key(p) for p in generated.pods)
    warnings, _ = list_all(served, "/api/v1/events", 25, fieldSelector="type=Warning,involvedObject.kind=Pod")
    assert sorted(key(e) for e in warnings) == sorted(key(e) for e in generated.events if e["type"] == "Warning")
    deployment_pods, _ = list_all(served, "/api/v1/pods", 10, labelSelector="pod-template-hash")
    assert len(deployment_pods) == sum(1 for p in generated.pods if "pod-template-hash" in p["metadata"]["labels"])


def test_kubectl_gets_every_pod_and_event(served: FakeCluster, generated: GeneratedCluster, tmp_path: Path) -> None:
    pods = run_kubectl(served, ["get", "pods", "-A", "-o", "json", "--chunk-size=60"], tmp_path)
    assert pods.returncode == 0, pods.stderr
    assert sorted(key(p) for p in json.loads(pods.stdout)["items"]) == sorted(key(p) for p in generated.pods)
    events = run_kubectl(served, ["get", "events", "-A", "-o", "json"], tmp_path)
    assert events.returncode == 0, events.stderr
    assert len(json.loads(events.stdout)["items"]) == len(generated.events)
