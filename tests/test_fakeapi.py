"""The fake API server, proven through real clients: the `kubernetes` package and the kubectl binary."""
from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.fakeapi import (FakeCluster, captured_pod, case_names, dockerconfigjson_secret, load_capture, run_kubectl,
                           service_account)

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client as k8s  # noqa: E402
from kubernetes import watch as k8s_watch  # noqa: E402
from kubernetes.client.exceptions import ApiException  # noqa: E402

NS = "rig-cases"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PARTIAL_ONE = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


@pytest.fixture
def cluster(fake_cluster_factory: Any) -> FakeCluster:  # noqa: F811 - the imported fixture
    """The nonexistent-tag and auth-ok captures (rig-cases namespace, node `vm`)."""
    return fake_cluster_factory("nonexistent-tag", "auth-ok", namespace=NS)


def api_client(cluster: FakeCluster) -> Any:
    assert cluster.kubeconfig is not None
    return kubernetes.config.new_client_from_config(config_file=str(cluster.kubeconfig))


def core(cluster: FakeCluster) -> Any:
    return k8s.CoreV1Api(api_client(cluster))


def raw_get(cluster: FakeCluster, path: str, accept: str = "application/json", **query: Any) -> Any:
    """GET through the client's transport, returning (status, headers, decoded JSON or text)."""
    response = _transport_get(api_client(cluster), path, {"Accept": accept}, query)
    body = response.data
    try:
        return response.status, response.headers, json.loads(body)
    except ValueError:
        return response.status, response.headers, body.decode()


def _transport_get(api: Any, path: str, headers: Dict[str, str], query: Dict[str, Any], preload: bool = True) -> Any:
    """A GET through the client's own urllib3 pool and credentials (the same on every client release; its
    request-building API changed in 29)."""
    headers = dict(headers)
    token = (api.configuration.api_key or {}).get("authorization") or (api.configuration.api_key or {}).get(
        "BearerToken")
    if token:
        headers["Authorization"] = token if token.lower().startswith("bearer ") else f"Bearer {token}"
    return api.rest_client.pool_manager.request("GET", api.configuration.host + path, fields=list(query.items()),
                                                headers=headers, preload_content=preload)


def status_of(error: ApiException) -> Dict[str, Any]:
    return json.loads(error.body)


def make_pod(name: str, namespace: str = NS, labels: Dict[str, str] = None, node: str = "vm",
             phase: str = "Running", service_account: str = "default") -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "127.0.0.1:5100/busybox:1.35"}],
                     "nodeName": node, "serviceAccountName": service_account},
            "status": {"phase": phase, "containerStatuses": [
                {"name": "main", "ready": True, "restartCount": 0, "image": "127.0.0.1:5100/busybox:1.35",
                 "imageID": "", "state": {"running": {"startedAt": "2026-11-22T02:21:19Z"}}}]}}


# ----- discovery and reads

def test_version_and_discovery(cluster: FakeCluster) -> None:
    api = api_client(cluster)
    assert k8s.VersionApi(api).get_code().git_version == "v1.36.2"
    resources = {r.name: r for r in k8s.CoreV1Api(api).get_api_resources().resources}
    assert {"pods", "pods/log", "events", "secrets", "serviceaccounts", "nodes", "namespaces", "configmaps"} <= set(
        resources)
    assert resources["nodes"].namespaced is False and resources["pods"].short_names == ["po"]
    groups = {g.name for g in k8s.ApisApi(api).get_api_versions().groups}
    assert groups == {"apps", "batch", "events.k8s.io"}
    assert {r.name for r in k8s.AppsV1Api(api).get_api_resources().resources} == {
        "deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions"}


def test_get_pod_returns_the_captured_object(cluster: FakeCluster) -> None:
    status, headers, body = raw_get(cluster, f"/api/v1/namespaces/{NS}/pods/nonexistent-tag")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert body == captured_pod("nonexistent-tag")
    pod = core(cluster).read_namespaced_pod("nonexistent-tag", NS)
    assert pod.status.container_statuses[0].state.waiting.reason == "ImagePullBackOff"


def test_not_found_is_a_status(cluster: FakeCluster) -> None:
    with pytest.raises(ApiException) as caught:
        core(cluster).read_namespaced_pod("nope", NS)
    assert caught.value.status == 404
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "nope" not found', "reason": "NotFound", "details": {"name": "nope", "kind": "pods"},
        "code": 404}
    with pytest.raises(ApiException) as caught:
        k8s.AppsV1Api(api_client(cluster)).read_namespaced_deployment("web", NS)
    assert status_of(caught.value)["message"] == 'deployments.apps "web" not found'


def test_lists_across_namespaces_with_typed_list_shape(cluster: FakeCluster) -> None:
    cluster.create(make_pod("other", namespace="team-b"))
    pods = core(cluster).list_pod_for_all_namespaces()
    assert sorted((p.metadata.namespace, p.metadata.name) for p in pods.items) == [
        (NS, "auth-ok"), (NS, "nonexistent-tag"), ("team-b", "other")]
    _, _, body = raw_get(cluster, "/api/v1/pods")
    assert body["kind"] == "PodList" and body["apiVersion"] == "v1"
    assert body["metadata"]["resourceVersion"] == str(cluster.store.resource_version)
    assert all("kind" not in item and "apiVersion" not in item for item in body["items"])
    assert [p.metadata.name for p in core(cluster).list_namespaced_pod("team-b").items] == ["other"]


def test_node_namespace_and_service_account_are_synthesized(cluster: FakeCluster) -> None:
    api = core(cluster)
    node = api.read_node("vm")
    assert node.metadata.labels["kubernetes.io/hostname"] == "vm"
    assert node.metadata.labels["kubernetes.io/os"] == "linux" and node.metadata.labels["kubernetes.io/arch"] == "amd64"
    assert node.status.node_info.kubelet_version == "v1.36.2"
    assert node.status.node_info.container_runtime_version.startswith("containerd://1.6.20")
    assert [c.type for c in node.status.conditions] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    digest = "sha256:3e6651ae945385798bfb7cd613cce230e79258b293a9f87665dc5b8fe43d4060"
    assert node.status.images[0].names == [
        f"127.0.0.1:5100/busybox@{digest}", f"127.0.0.1:5101/private/busybox@{digest}",
        "127.0.0.1:5100/busybox:1.35", "127.0.0.1:5101/private/busybox:1.35"]
    assert node.status.images[0].size_bytes == 1032392
    assert [n.metadata.name for n in api.list_node().items] == ["vm"]
    assert api.read_namespace(NS).status.phase == "Active"
    assert api.read_namespaced_service_account("default", NS).metadata.uid


def test_every_capture_case_loads() -> None:
    for case in case_names():
        cluster = FakeCluster(namespace="")
        pods = load_capture(cluster, case)
        pod = pods[0]
        assert cluster.get("Pod", pod["metadata"]["name"], pod["metadata"]["namespace"]) == pod
        assert cluster.get("Node", pod["spec"]["nodeName"]) is not None
        assert cluster.list("Event", pod["metadata"]["namespace"])
    with pytest.raises(ValueError):
        load_capture(FakeCluster(), ["timeout-http-hang", "timeout-http-hang-after-close"])


# ----- pagination and selectors

def test_limit_and_continue_page_through_a_consistent_snapshot(fake_cluster: FakeCluster) -> None:  # noqa: F811
    for index in range(7):
        fake_cluster.create(make_pod(f"p{index}", namespace="default"))
    api = core(fake_cluster)
    first = api.list_namespaced_pod("default", limit=3)
    assert [p.metadata.name for p in first.items] == ["p0", "p1", "p2"]
    assert first.metadata.remaining_item_count == 4
    token = first.metadata._continue
    assert json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["start"] == "p2\x00"
    fake_cluster.create(make_pod("p3a", namespace="default"))     # after the snapshot: not in later pages
    second = api.list_namespaced_pod("default", limit=3, _continue=token)
    third = api.list_namespaced_pod("default", limit=3, _continue=second.metadata._continue)
    assert [p.metadata.name for p in second.items + third.items] == ["p3", "p4", "p5", "p6"]
    assert third.metadata._continue is None and third.metadata.remaining_item_count is None
    assert first.metadata.resource_version == second.metadata.resource_version == third.metadata.resource_version


def test_bad_and_expired_continue_tokens(fake_cluster: FakeCluster) -> None:  # noqa: F811
    for index in range(3):
        fake_cluster.create(make_pod(f"p{index}", namespace="default"))
    api = core(fake_cluster)
    with pytest.raises(ApiException) as caught:
        api.list_namespaced_pod("default", limit=1, _continue="not-a-token")
    assert caught.value.status == 400
    assert status_of(caught.value)["message"].startswith("invalid continue token: continue key is not valid")
    token = api.list_namespaced_pod("default", limit=1).metadata._continue
    fake_cluster.create(make_pod("late", namespace="default"))
    fake_cluster.compact()
    with pytest.raises(ApiException) as caught:
        api.list_namespaced_pod("default", limit=1, _continue=token)
    expired = status_of(caught.value)
    assert caught.value.status == 410 and expired["reason"] == "Expired"
    assert expired["message"].startswith("The provided continue parameter is too old")
    rest = api.list_namespaced_pod("default", _continue=expired["metadata"]["continue"])
    assert [p.metadata.name for p in rest.items] == ["p1", "p2"]


@pytest.mark.parametrize("selector, names", [
    ("app=web", ["a", "b"]), ("app==web", ["a", "b"]), ("app!=web", ["c", "d"]), ("tier in (front,back)", ["a", "c"]),
    ("tier notin (front)", ["b", "c", "d"]), ("tier", ["a", "c"]), ("!tier", ["b", "d"]),
    ("app=web,tier=front", ["a"]), ("", ["a", "b", "c", "d"]),
])
def test_label_selectors(fake_cluster: FakeCluster, selector: str, names: List[str]) -> None:  # noqa: F811
    for name, labels in (("a", {"app": "web", "tier": "front"}), ("b", {"app": "web"}),
                         ("c", {"app": "db", "tier": "back"}), ("d", {})):
        fake_cluster.create(make_pod(name, namespace="default", labels=labels))
    found = core(fake_cluster).list_namespaced_pod("default", label_selector=selector).items
    assert [p.metadata.name for p in found] == names


def test_field_selectors_per_kind(cluster: FakeCluster) -> None:
    api = core(cluster)
    cluster.create(make_pod("elsewhere", node="other-node", phase="Pending", service_account="builder"))

    def pods(selector: str) -> List[str]:
        return [p.metadata.name for p in api.list_pod_for_all_namespaces(field_selector=selector).items]
    assert pods("spec.nodeName=other-node") == ["elsewhere"]
    assert pods("status.phase=Running") == ["auth-ok"]
    assert pods("status.phase!=Running,metadata.namespace==rig-cases") == ["elsewhere", "nonexistent-tag"]
    assert pods("spec.serviceAccountName=builder") == ["elsewhere"]
    assert pods("metadata.name=auth-ok") == ["auth-ok"]

    def events(selector: str) -> List[str]:
        return [e.reason for e in api.list_namespaced_event(NS, field_selector=selector).items]
    assert set(events("involvedObject.name=nonexistent-tag,type=Warning")) == {"Failed"}
    assert events("involvedObject.name=nonexistent-tag,type=Normal,reason=BackOff") == ["BackOff"]
    assert events("involvedObject.kind=Pod,involvedObject.name=auth-ok,reason=Pulled") == ["Pulled"]
    assert events("involvedObject.name=auth-ok,source=default-scheduler") == []
    assert "Scheduled" in events("involvedObject.name=auth-ok,source=")
    assert "Failed" in events("involvedObject.fieldPath=spec.containers{main},involvedObject.name=nonexistent-tag")
    uid = captured_pod("auth-ok")["metadata"]["uid"]
    assert len(events(f"involvedObject.uid={uid}")) == 5

    cluster.create(dockerconfigjson_secret("pull", NS, "127.0.0.1:5101", "testuser", "testpass"))
    cluster.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": NS},
                    "type": "Opaque", "data": {}})
    found = api.list_namespaced_secret(NS, field_selector="type=kubernetes.io/dockerconfigjson").items
    assert [s.metadata.name for s in found] == ["pull"]


def test_unsupported_field_selector_is_the_real_400(cluster: FakeCluster) -> None:
    api = core(cluster)
    with pytest.raises(ApiException) as caught:
        api.list_pod_for_all_namespaces(field_selector="status.hostIP=192.0.2.2")
    assert caught.value.status == 400
    assert status_of(caught.value) == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                       "message": "field label not supported: status.hostIP",
                                       "reason": "BadRequest", "code": 400}
    with pytest.raises(ApiException) as caught:
        api.list_namespaced_config_map(NS, field_selector="data.key=x")
    assert status_of(caught.value)["message"] == (
        '"data.key" is not a known field selector: only "metadata.name", "metadata.namespace"')
    with pytest.raises(ApiException) as caught:
        api.list_node(field_selector="metadata.namespace=x")
    assert status_of(caught.value)["message"] == "field label not supported: metadata.namespace"


def test_events_k8s_io_v1_is_a_view_of_core_events(cluster: FakeCluster) -> None:
    response = k8s.EventsV1Api(api_client(cluster)).list_namespaced_event(
        NS, field_selector="regarding.name=nonexistent-tag,reason=Failed", _preload_content=False)
    body = json.loads(response.data)
    assert body["kind"] == "EventList" and body["apiVersion"] == "events.k8s.io/v1"
    assert any("nosuchtag: not found" in e["note"] for e in body["items"])
    assert all(e["deprecatedSource"]["component"] == "kubelet" for e in body["items"])
    # Kubelet events have no eventTime; the server writes null, which the typed EventsV1Event model rejects.
    assert all(e["eventTime"] is None and e["deprecatedCount"] >= 1 for e in body["items"])


# ----- metadata-only and table answers

def test_partial_object_metadata_hides_secret_values(cluster: FakeCluster) -> None:
    cluster.create(dockerconfigjson_secret("pull", NS, "127.0.0.1:5101", "testuser", "s3cret-value"))
    status, _, body = raw_get(cluster, f"/api/v1/namespaces/{NS}/secrets", accept=PARTIAL_LIST)
    assert status == 200 and body["kind"] == "PartialObjectMetadataList"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert body["items"][-1]["kind"] == "PartialObjectMetadata" and body["items"][-1]["metadata"]["name"] == "pull"
    assert all(set(item) == {"kind", "apiVersion", "metadata"} for item in body["items"])
    assert "s3cret" not in json.dumps(body) and ".dockerconfigjson" not in json.dumps(body)
    _, _, one = raw_get(cluster, f"/api/v1/namespaces/{NS}/secrets/pull", accept=PARTIAL_ONE)
    assert set(one) == {"kind", "apiVersion", "metadata"} and one["kind"] == "PartialObjectMetadata"
    _, _, fallback = raw_get(cluster, f"/api/v1/namespaces/{NS}/secrets/pull",
                             accept=PARTIAL_LIST + ",application/json")
    assert fallback["kind"] == "Secret"


def test_table_answer_for_kubectl_printing(cluster: FakeCluster) -> None:
    table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    _, _, table = raw_get(cluster, f"/api/v1/namespaces/{NS}/pods", accept=table_accept)
    assert table["kind"] == "Table" and [c["name"] for c in table["columnDefinitions"]][:5] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    rows = {row["cells"][0]: row["cells"] for row in table["rows"]}
    assert rows["nonexistent-tag"][1:4] == ["0/1", "ImagePullBackOff", 0]
    assert rows["auth-ok"][1:3] == ["1/1", "Running"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


# ----- writes

def test_create_fills_in_what_the_server_fills(cluster: FakeCluster) -> None:
    api = core(cluster)
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "pullcheck-probe-"},
            "spec": {"containers": [{"name": "probe", "image": "127.0.0.1:5100/busybox:1.35"}],
                     "nodeName": "vm", "restartPolicy": "Never"},
            "status": {"phase": "Running"}}
    created = api.create_namespaced_pod(NS, body)
    assert created.metadata.name.startswith("pullcheck-probe-") and len(created.metadata.name) == 21
    assert created.metadata.uid and created.metadata.creation_timestamp and created.metadata.resource_version
    assert created.status.phase == "Pending" and created.status.qos_class == "BestEffort"
    assert created.spec.service_account_name == "default" and created.spec.restart_policy == "Never"
    assert created.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert int(created.metadata.resource_version) == cluster.store.resource_version

    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod(NS, dict(body, metadata={"name": created.metadata.name}))
    assert caught.value.status == 409
    assert status_of(caught.value)["message"] == f'pods "{created.metadata.name}" already exists'
    assert status_of(caught.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod("missing", dict(body, metadata={"name": "x"}))
    assert caught.value.status == 404 and status_of(caught.value)["message"] == 'namespaces "missing" not found'


def test_delete_answers_like_each_registry(cluster: FakeCluster) -> None:
    api = core(cluster)
    deleted = api.delete_namespaced_pod("auth-ok", NS)
    assert deleted.metadata.name == "auth-ok" and deleted.metadata.deletion_timestamp is not None
    assert cluster.get("Pod", "auth-ok", NS) is None
    with pytest.raises(ApiException) as caught:
        api.delete_namespaced_pod("auth-ok", NS)
    assert caught.value.status == 404
    created = cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": NS}})
    answer = json.loads(api.delete_namespaced_config_map("cm", NS, _preload_content=False).data)
    assert answer == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                      "details": {"name": "cm", "kind": "configmaps", "uid": created["metadata"]["uid"]}}


def test_workload_kinds(cluster: FakeCluster) -> None:
    api = api_client(cluster)
    apps, batch = k8s.AppsV1Api(api), k8s.BatchV1Api(api)
    template = {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "127.0.0.1:5100/busybox:1.35"}]}}
    created = apps.create_namespaced_deployment(NS, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": template},
        "status": {"replicas": 5}})
    assert created.metadata.generation == 1 and created.status.replicas is None
    assert [d.metadata.name for d in apps.list_deployment_for_all_namespaces().items] == ["web"]
    for plural, list_kind in (("replicasets", "ReplicaSetList"), ("statefulsets", "StatefulSetList"),
                              ("daemonsets", "DaemonSetList")):
        assert raw_get(cluster, f"/apis/apps/v1/{plural}")[2]["kind"] == list_kind
    cluster.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "done", "namespace": NS},
                    "spec": {"template": dict(template, spec=dict(template["spec"], restartPolicy="Never"))},
                    "status": {"succeeded": 1}})
    assert [j.metadata.name for j in batch.list_job_for_all_namespaces(field_selector="status.successful=1").items] \
        == ["done"]
    with pytest.raises(ApiException) as caught:
        batch.list_namespaced_job(NS, field_selector="spec.suspend=true")
    assert status_of(caught.value)["message"] == 'field label "spec.suspend" not supported for batchv1.Job'
    assert batch.list_cron_job_for_all_namespaces().items == []
    answer = json.loads(apps.delete_namespaced_deployment("web", NS, _preload_content=False).data)
    assert answer["status"] == "Success" and answer["details"] == {
        "name": "web", "group": "apps", "kind": "deployments", "uid": created.metadata.uid}


def test_pods_need_their_service_account(cluster: FakeCluster) -> None:
    api = core(cluster)
    with pytest.raises(ApiException) as caught:
        api.create_namespaced_pod(NS, make_pod("builder-pod", service_account="builder"))
    assert caught.value.status == 403 and status_of(caught.value)["message"] == (
        'pods "builder-pod" is forbidden: error looking up service account rig-cases/builder: '
        'serviceaccount "builder" not found')
    cluster.create(service_account("builder", NS, image_pull_secrets=["regcred"]))
    assert api.create_namespaced_pod(NS, make_pod("builder-pod", service_account="builder")).metadata.uid
    assert api.read_namespaced_service_account("builder", NS).image_pull_secrets[0].name == "regcred"


def test_merge_patch_keeps_status(cluster: FakeCluster) -> None:
    patched = core(cluster).patch_namespaced_pod("auth-ok", NS, {"metadata": {"labels": {"probe": "yes"}},
                                                                 "status": {"phase": "Failed"}})
    assert patched.metadata.labels == {"rig-case": "auth-ok", "probe": "yes"}
    assert patched.status.phase == "Running"


# ----- pods/log

def test_pod_log_text_tail_and_container_choice(cluster: FakeCluster) -> None:
    api = core(cluster)
    cluster.set_log("auth-ok", "main", "started\nline 2\nline 3\n")
    assert api.read_namespaced_pod_log("auth-ok", NS) == "started\nline 2\nline 3\n"
    assert api.read_namespaced_pod_log("auth-ok", NS, container="main", tail_lines=1) == "line 3\n"
    stamped = api.read_namespaced_pod_log("auth-ok", NS, timestamps=True, limit_bytes=40)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z started\n", stamped) and len(stamped) <= 40
    _, headers, _ = raw_get(cluster, f"/api/v1/namespaces/{NS}/pods/auth-ok/log")
    assert headers["Content-Type"] == "text/plain"
    two = make_pod("two")
    two["spec"]["containers"].append({"name": "sidecar", "image": "127.0.0.1:5100/busybox:1.35"})
    cluster.create(two)
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod_log("two", NS)
    assert status_of(caught.value)["message"] == (
        "a container name must be specified for pod two, choose one of: [main sidecar]")
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod_log("auth-ok", NS, container="nope")
    assert status_of(caught.value)["message"] == "container nope is not valid for pod auth-ok"


def test_pod_log_of_a_container_that_cannot_pull(cluster: FakeCluster) -> None:
    with pytest.raises(ApiException) as caught:
        core(cluster).read_namespaced_pod_log("nonexistent-tag", NS)
    assert caught.value.status == 400
    assert status_of(caught.value)["message"] == (
        'container "main" in pod "nonexistent-tag" is waiting to start: trying and failing to pull image')


def test_followed_log_streams_until_finished(cluster: FakeCluster) -> None:
    cluster.set_log("auth-ok", "main", "one\n", finished=False)
    response = core(cluster).read_namespaced_pod_log("auth-ok", NS, follow=True, _preload_content=False)
    received: List[bytes] = []

    def read() -> None:
        for chunk in response.stream(64):
            received.append(chunk)

    def wait_for(text: bytes) -> None:
        deadline = time.monotonic() + 5
        while b"".join(received) != text and time.monotonic() < deadline:
            time.sleep(0.01)
    reader = threading.Thread(target=read)
    reader.start()
    wait_for(b"one\n")
    cluster.append_log("auth-ok", "main", "two\n")
    wait_for(b"one\ntwo\n")
    assert reader.is_alive()                     # still following
    cluster.finish_log("auth-ok", "main")
    reader.join(5)
    assert not reader.is_alive() and b"".join(received) == b"one\ntwo\n"


def test_debug_node_capture_log(fake_cluster_factory: Any) -> None:  # noqa: F811
    cluster = fake_cluster_factory("debug-node")
    text = core(cluster).read_namespaced_pod_log("node-debugger-vm-dwlwr", "default")
    assert "Version:  1.6.20~ds1" in text


# ----- watch

def _wait_for_request(cluster: FakeCluster, **match: Any) -> None:
    """Until the server has answered (so has taken its snapshot for) a matching request."""
    deadline = time.monotonic() + 5
    while not cluster.requests.count(**match) and time.monotonic() < deadline:
        time.sleep(0.01)


def _collect(stream: Any, out: List[Dict[str, Any]], stop_after: int) -> None:
    for event in stream:
        out.append(event)
        if len(out) >= stop_after:
            return


def test_watch_streams_added_modified_deleted(cluster: FakeCluster) -> None:
    api = core(cluster)
    start = api.list_namespaced_pod(NS).metadata.resource_version
    events: List[Dict[str, Any]] = []
    watcher = k8s_watch.Watch()
    thread = threading.Thread(target=_collect, args=(
        watcher.stream(api.list_namespaced_pod, NS, resource_version=start, timeout_seconds=5), events, 3))
    thread.start()
    _wait_for_request(cluster, verb="watch", resource="pods")
    cluster.modify("Pod", "nonexistent-tag", lambda pod: pod["status"]["containerStatuses"][0]["state"].update(
        {"waiting": {"reason": "ErrImagePull", "message": "rpc error"}}), NS)
    cluster.create(make_pod("fresh"))
    cluster.delete("Pod", "fresh", NS)
    thread.join(5)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("MODIFIED", "nonexistent-tag"), ("ADDED", "fresh"), ("DELETED", "fresh")]
    assert events[0]["object"].status.container_statuses[0].state.waiting.reason == "ErrImagePull"
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(start)
    assert watcher.resource_version == str(rvs[-1])


def test_watch_without_resource_version_lists_first_and_follows_selectors(cluster: FakeCluster) -> None:
    api = core(cluster)
    events: List[Dict[str, Any]] = []
    stream = k8s_watch.Watch().stream(api.list_namespaced_pod, NS, label_selector="rig-case=auth-ok",
                                      timeout_seconds=5)
    thread = threading.Thread(target=_collect, args=(stream, events, 2))
    thread.start()
    _wait_for_request(cluster, verb="watch", resource="pods")
    cluster.modify("Pod", "auth-ok", lambda pod: pod["metadata"]["labels"].update({"rig-case": "moved"}), NS)
    thread.join(5)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "auth-ok"), ("DELETED", "auth-ok")]


def test_watch_ends_at_timeout_seconds(cluster: FakeCluster) -> None:
    api = core(cluster)
    rv = api.list_namespaced_pod(NS).metadata.resource_version
    began = time.monotonic()
    events = list(k8s_watch.Watch().stream(api.list_namespaced_pod, NS, resource_version=rv, timeout_seconds=1))
    assert events == [] and 0.9 < time.monotonic() - began < 3


def test_watch_from_a_compacted_version_is_410(cluster: FakeCluster) -> None:
    api = core(cluster)
    rv = api.list_namespaced_pod(NS).metadata.resource_version
    cluster.create(make_pod("later"))
    cluster.compact()
    with pytest.raises(ApiException) as caught:
        list(k8s_watch.Watch().stream(api.list_namespaced_pod, NS, resource_version=rv, timeout_seconds=2))
    assert caught.value.status == 410 and "too old resource version" in caught.value.reason


def test_watch_framing_and_go_booleans(cluster: FakeCluster) -> None:
    api = api_client(cluster)
    response = _transport_get(api, f"/api/v1/namespaces/{NS}/pods", {}, {"watch": "1", "resourceVersion": "0"},
                              preload=False)
    assert response.status == 200 and response.headers["Transfer-Encoding"] == "chunked"
    first = response.readline()
    response.close()
    assert first.endswith(b"}\n") and first.startswith(b'{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1",')


def test_watch_list_sends_initial_events_then_a_bookmark(cluster: FakeCluster) -> None:
    response = core(cluster).list_namespaced_pod(
        NS, watch=True, send_initial_events=True, resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True, timeout_seconds=30, _preload_content=False)
    lines: List[Dict[str, Any]] = []
    while not lines or lines[-1]["type"] != "BOOKMARK":
        lines.append(json.loads(response.readline()))
    response.close()
    assert [e["type"] for e in lines] == ["ADDED", "ADDED", "BOOKMARK"]
    assert lines[0]["object"]["kind"] == "Pod" and lines[0]["object"]["apiVersion"] == "v1"
    assert lines[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


# ----- failures the tests switch on

def test_forbidden_has_the_authorizer_message(cluster: FakeCluster, tmp_path: Path) -> None:
    api = core(cluster)
    cluster.faults.forbid(verb="get", resource="pods", namespace=NS, name="auth-ok")
    cluster.faults.forbid(verb="list", resource="secrets")
    cluster.faults.forbid(verb="get", resource="pods/log")
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod("auth-ok", NS)
    assert caught.value.status == 403
    assert status_of(caught.value) == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "auth-ok" is forbidden: User "pullcheck-tester" cannot get resource "pods" in API group "" '
                   'in the namespace "rig-cases"',
        "reason": "Forbidden", "details": {"name": "auth-ok", "kind": "pods"}, "code": 403}
    assert api.read_namespaced_pod("nonexistent-tag", NS).metadata.name == "nonexistent-tag"
    with pytest.raises(ApiException) as caught:
        api.list_secret_for_all_namespaces()
    assert status_of(caught.value)["message"] == (
        'secrets is forbidden: User "pullcheck-tester" cannot list resource "secrets" in API group "" at the '
        "cluster scope")
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod_log("auth-ok", NS)
    assert 'cannot get resource "pods/log" in API group ""' in status_of(caught.value)["message"]
    cluster.faults.clear()
    cluster.faults.forbid(verb="list", resource="nodes", user="alice")
    alice_config = cluster.write_kubeconfig(tmp_path / "alice", token=cluster.add_user("alice"))
    alice = k8s.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(alice_config)))
    with pytest.raises(ApiException) as caught:
        alice.list_node()
    assert status_of(caught.value)["message"] == (
        'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope')
    assert api.list_node().items


def test_throttled_then_served(cluster: FakeCluster) -> None:
    """urllib3 under the Python client retries a 429 that has Retry-After, up to 3 times."""
    path = f"/api/v1/namespaces/{NS}/pods/auth-ok"
    cluster.faults.throttle(times=2, retry_after=0, path=path)
    api = core(cluster)
    assert api.read_namespaced_pod("auth-ok", NS).metadata.name == "auth-ok"
    assert [r.status for r in cluster.requests.filter(path=path)] == [429, 429, 200]
    cluster.faults.throttle(times=4, retry_after=0, path=path)
    with pytest.raises(ApiException) as caught:
        api.read_namespaced_pod("auth-ok", NS)
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "0"
    assert caught.value.body == "Too many requests, please try again later.\n"


def test_internal_error_and_slow_answers(cluster: FakeCluster) -> None:
    api = core(cluster)
    cluster.faults.fail(500, times=1, verb="list", resource="events")
    with pytest.raises(ApiException) as caught:
        api.list_namespaced_event(NS)
    assert caught.value.status == 500 and status_of(caught.value)["reason"] == "InternalError"
    assert api.list_namespaced_event(NS).items
    cluster.faults.delay(1.0, resource="nodes")
    import urllib3
    began = time.monotonic()
    # clients from 29 on let urllib3 retry the read 3 times (MaxRetryError); older ones raise at the first timeout
    # and honour a float only inside a (connect, read) tuple
    with pytest.raises((urllib3.exceptions.MaxRetryError, urllib3.exceptions.ReadTimeoutError)) as timed_out:
        api.list_node(_request_timeout=(1.0, 0.1))
    error = timed_out.value
    assert isinstance(getattr(error, "reason", error), urllib3.exceptions.ReadTimeoutError)
    attempts = 4 if isinstance(error, urllib3.exceptions.MaxRetryError) else 1
    assert 0.09 * attempts < time.monotonic() - began < 1.0


def test_unknown_token_is_401(cluster: FakeCluster, tmp_path: Path) -> None:
    config = json.loads(cluster.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "wrong"
    (tmp_path / "bad").write_text(json.dumps(config))
    api = k8s.CoreV1Api(kubernetes.config.new_client_from_config(config_file=str(tmp_path / "bad")))
    with pytest.raises(ApiException) as caught:
        api.list_namespace()
    assert caught.value.status == 401 and status_of(caught.value)["reason"] == "Unauthorized"


def test_request_log_counts_calls_without_credentials(cluster: FakeCluster) -> None:
    api = core(cluster)
    api.list_namespaced_pod(NS, limit=1)
    api.list_namespaced_pod(NS, limit=1, _continue=api.list_namespaced_pod(NS, limit=1).metadata._continue)
    listed = cluster.requests.filter(verb="list", resource="pods")
    assert len(listed) == 3 and listed[0].param("limit") == "1" and listed[0].accept == "application/json"
    assert listed[0].user == "pullcheck-tester"
    assert all("token" not in json.dumps(vars(r)).lower() for r in cluster.requests)
    cluster.requests.clear()
    assert len(cluster.requests) == 0


def test_https_with_a_self_signed_certificate(fake_cluster_factory: Any) -> None:  # noqa: F811
    cluster = fake_cluster_factory("success", tls=True)
    assert cluster.url.startswith("https://127.0.0.1:")
    assert [p.metadata.name for p in core(cluster).list_pod_for_all_namespaces().items] == ["success"]


def test_many_pods_list_quickly(fake_cluster: FakeCluster) -> None:  # noqa: F811
    fake_cluster.seed([make_pod(f"pod-{i:05d}", namespace=f"ns-{i % 7}") for i in range(3000)])
    api = core(fake_cluster)
    names, token, pages = [], None, 0
    while True:
        page = api.list_pod_for_all_namespaces(limit=500, _continue=token, _preload_content=False)
        body = json.loads(page.data)
        names += [item["metadata"]["name"] for item in body["items"]]
        pages += 1
        token = body["metadata"].get("continue")
        if not token:
            break
    assert pages == 6 and sorted(names) == [f"pod-{i:05d}" for i in range(3000)]


# ----- the real kubectl

def test_kubectl_reads(cluster: FakeCluster, tmp_path: Path) -> None:
    listed = run_kubectl(cluster, ["get", "pods", "-A", "-o", "json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    items = json.loads(listed.stdout)["items"]
    assert [i["metadata"]["name"] for i in items] == ["auth-ok", "nonexistent-tag"]
    one = run_kubectl(cluster, ["get", "pod", "nonexistent-tag", "-o", "json"], tmp_path)
    assert json.loads(one.stdout) == captured_pod("nonexistent-tag")
    events = run_kubectl(cluster, ["get", "events", "-o", "json"], tmp_path)
    assert {e["reason"] for e in json.loads(events.stdout)["items"]} >= {"Scheduled", "Pulling", "Failed", "BackOff"}
    nodes = run_kubectl(cluster, ["get", "nodes"], tmp_path)
    assert nodes.returncode == 0 and nodes.stdout.split("\n")[0].split() == ["NAME", "STATUS", "ROLES", "AGE",
                                                                             "VERSION"]
    assert nodes.stdout.split("\n")[1].split()[:3] == ["vm", "Ready", "<none>"]
    assert cluster.requests.count(verb="list", resource="pods") == 1
    assert {r.user for r in cluster.requests} == {"system:anonymous"}     # client-go: no token over http


def test_kubectl_errors_delete_and_retry(fake_cluster_factory: Any, tmp_path: Path) -> None:  # noqa: F811
    """Over https (kubectl sends no credentials to a plain-http server, so requests would be anonymous)."""
    cluster = fake_cluster_factory("nonexistent-tag", "auth-ok", namespace=NS, tls=True)
    missing = run_kubectl(cluster, ["get", "pod", "nope"], tmp_path)
    assert missing.returncode == 1 and 'Error from server (NotFound): pods "nope" not found' in missing.stderr
    logs = run_kubectl(cluster, ["logs", "nonexistent-tag"], tmp_path)
    assert ('Error from server (BadRequest): container "main" in pod "nonexistent-tag" is waiting to start: '
            "trying and failing to pull image") in logs.stderr
    cluster.faults.throttle(times=1, retry_after=0, path=f"/api/v1/namespaces/{NS}/pods/auth-ok")
    retried = run_kubectl(cluster, ["get", "pod", "auth-ok", "-o", "name"], tmp_path)
    assert retried.stdout.strip() == "pod/auth-ok"
    deleted = run_kubectl(cluster, ["delete", "pod", "auth-ok"], tmp_path)
    assert deleted.returncode == 0 and 'pod "auth-ok" deleted' in deleted.stdout
    assert cluster.get("Pod", "auth-ok", NS) is None
    cluster.faults.forbid(verb="list", resource="pods", namespace=NS)
    denied = run_kubectl(cluster, ["get", "pods"], tmp_path)
    assert ('Error from server (Forbidden): pods is forbidden: User "pullcheck-tester" cannot list resource "pods" '
            'in API group "" in the namespace "rig-cases"') in denied.stderr
