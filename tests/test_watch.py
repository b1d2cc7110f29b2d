"""`pod --watch` against the fake API server: a thread plays the kubelet (and the controllers), changing the
pod and creating events while pullcheck.watch follows them over its watches."""
from __future__ import annotations

import copy
import json
import queue
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional

import pytest

from pullcheck.errors import UsageError
from pullcheck.kube.client import KubeClient
from pullcheck.kube.config import load
from pullcheck.kube.watchstream import WatchStream
from pullcheck.watch import (FAILED, FAILING, GONE, PULLED, RECOVERED, TIMEOUT, WAITING, all_pulled,
                             container_pulls, label_selector_text, watch_pod)
from pullcheck.watch_render import TerminalProgress, render_watch, status_line, summary_line
from tests.fakeapi import FakeCluster, captured_pod
from tests.fakeapi.capture import CAPTURES, read_case

NS = "rig-cases"
NODE = "vm"
AUTH_IMAGE = "127.0.0.1:5101/private/busybox:1.35"
PULLED_MESSAGE = (f'Successfully pulled image "{AUTH_IMAGE}" in 1.9s (2.1s including waiting). '
                  "Image size: 1032392 bytes.")


# -- helpers ----------------------------------------------------------------------------------------------
def stamp(moment: Optional[datetime] = None) -> str:
    return (moment or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_client(cluster: FakeCluster) -> KubeClient:
    return KubeClient(load(str(cluster.kubeconfig), None, None), timeout=10)


def kubelet_event(pod: dict, reason: str, message: str, *, container: str = "main", kind: str = "Normal",
                  count: int = 1, at: Optional[datetime] = None) -> dict:
    meta = pod["metadata"]
    return {"apiVersion": "v1", "kind": "Event", "type": kind, "reason": reason, "message": message,
            "count": count, "firstTimestamp": stamp(at), "lastTimestamp": stamp(at),
            "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                               "namespace": meta["namespace"], "uid": meta["uid"],
                               "fieldPath": f"spec.containers{{{container}}}"},
            "source": {"component": "kubelet", "host": NODE}, "reportingComponent": "kubelet",
            "reportingInstance": NODE}


def running(pod: dict) -> None:
    pod["status"]["phase"] = "Running"
    for status in pod["status"]["containerStatuses"]:
        status.update(state={"running": {"startedAt": stamp()}}, ready=True, started=True,
                      imageID=f"{AUTH_IMAGE.rsplit(':', 1)[0]}@sha256:{'a' * 64}")


def waiting(reason: str) -> Callable[[dict], None]:
    def change(pod: dict) -> None:
        for status in pod["status"]["containerStatuses"]:
            status["state"] = {"waiting": {"reason": reason}}
    return change


def refresh_failures(cluster: FakeCluster, pod_name: str, seconds_ago: float) -> None:
    """Move the captured pull events to `seconds_ago`, so the back-off is live now."""
    at = stamp(datetime.now(timezone.utc) - timedelta(seconds=seconds_ago))
    for event in cluster.list("Event", NS):
        if event["involvedObject"]["name"] == pod_name and event["reason"] in ("Failed", "Pulling", "BackOff"):
            cluster.modify("Event", event["metadata"]["name"], lambda e: e.update(lastTimestamp=at), NS)


def watches(cluster: FakeCluster, resource: Optional[str] = None) -> int:
    return cluster.requests.count(verb="watch", **({"resource": resource} if resource else {}))


def requests_made(cluster: FakeCluster) -> List[tuple]:
    return sorted((r.verb, r.resource) for r in cluster.requests)


def recovery(cluster: FakeCluster, name: str) -> List[Callable[[], None]]:
    """The kubelet's steps when a retry pulls: the Pulled event, then the container runs."""
    pod = cluster.get("Pod", name, NS)
    return [lambda: cluster.create(kubelet_event(pod, "Pulled", PULLED_MESSAGE)),
            lambda: cluster.modify("Pod", name, running, NS)]


class Kubelet(threading.Thread):
    """Once `ready(cluster)` holds, runs each step with a short pause; steps may wait on conditions."""

    def __init__(self, cluster: FakeCluster, steps: List[Callable[[], None]],
                 ready: Callable[[FakeCluster], bool] = lambda c: watches(c) >= 2) -> None:
        super().__init__(daemon=True)
        self.cluster, self.steps, self.ready = cluster, steps, ready
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            until(lambda: self.ready(self.cluster))
            for step in self.steps:
                time.sleep(0.1)
                step()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def finish(self) -> None:
        self.join(10)
        assert self.error is None, self.error


def until(condition: Callable[[], bool], seconds: float = 8.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.02)


def follow(cluster: FakeCluster, name: str, steps: List[Callable[[], None]], **options):
    """watch_pod with a kubelet thread running `steps`; returns (outcome, progress calls)."""
    lines: List[tuple] = []
    kubelet = Kubelet(cluster, steps, **({"ready": options.pop("ready")} if "ready" in options else {}))
    kubelet.start()
    try:
        outcome = watch_pod(make_client(cluster), NS, name, progress=lambda text, keep: lines.append((text, keep)),
                            **dict({"timeout": 10}, **options))
    finally:
        kubelet.finish()
    return outcome, lines


@pytest.fixture
def make(fake_cluster_factory: Callable[..., FakeCluster]) -> Callable[..., FakeCluster]:
    return lambda *cases: fake_cluster_factory(*cases, namespace=NS)


# -- following one pod ---------------------------------------------------------------------------------------
def test_recovers_when_the_kubelet_pulls_over_the_watch(make) -> None:
    cluster = make("auth-wrong-password")
    refresh_failures(cluster, "auth-wrong-password", seconds_ago=3)
    outcome, lines = follow(cluster, "auth-wrong-password", recovery(cluster, "auth-wrong-password"))
    assert outcome.outcome == RECOVERED and outcome.exit_code == 0 and not outcome.already
    assert re.fullmatch(r"recovered after \d+s: pulled in 1\.9s on vm", summary_line(outcome))
    # the status line placed the kubelet's next retry: 3 failures -> 40 s back-off, the last 3 s ago
    first = lines[0][0]
    assert re.fullmatch(r"auth-wrong-password: ImagePullBackOff \(auth: 401 Unauthorized\), "
                        r"kubelet retries in ~3\ds \(attempt 4\)", first), first
    assert lines[-1] == ("", False)                      # the status line is cleared at the end
    # no polling: the pod, its events, and one watch on each
    assert requests_made(cluster) == [("get", "pods"), ("list", "events"), ("watch", "events"), ("watch", "pods")]
    doc = json.loads(render_watch(outcome, "json", color=False))
    assert (doc["kind"], doc["outcome"], doc["pod"], doc["summary"]) == \
        ("PodWatch", "recovered", "auth-wrong-password", summary_line(outcome))
    pulled = [e for e in doc["pullEvents"] if e["kind"] == "pulled"]
    assert [(e["seconds"], e["secondsIncludingWaiting"], e["sizeBytes"], e["node"]) for e in pulled] == \
        [(1.9, 2.1, 1032392, "vm")]
    assert [e["count"] for e in doc["pullEvents"] if e["kind"] == "pull-failed"] == [3]
    assert doc["containers"][0]["failedPulls"] == 3 and doc["containers"][0]["status"] == "pulled"
    assert doc["containers"][0]["state"] == "Running"      # the status caught up with the Pulled event


def test_waits_for_the_pulled_event_when_the_status_comes_first(make) -> None:
    cluster = make("nonexistent-tag")
    pod = cluster.get("Pod", "nonexistent-tag", NS)
    message = 'Successfully pulled image "127.0.0.1:5100/busybox:nosuchtag" in 812ms (812ms including waiting).'
    outcome, _ = follow(cluster, "nonexistent-tag", [
        lambda: cluster.modify("Pod", "nonexistent-tag", running, NS),
        lambda: cluster.create(kubelet_event(pod, "Pulled", message)),
    ])
    assert outcome.outcome == RECOVERED
    assert summary_line(outcome).endswith(": pulled in 812ms on vm")


def test_times_out_with_exit_code_1_and_no_polling(make) -> None:
    cluster = make("nonexistent-tag")
    started = time.monotonic()
    outcome = watch_pod(make_client(cluster), NS, "nonexistent-tag", timeout=2)
    assert 1.9 < time.monotonic() - started < 4
    assert outcome.outcome == TIMEOUT and outcome.exit_code == 1
    assert summary_line(outcome).startswith(
        "not recovered within 2s (--timeout): nonexistent-tag: ImagePullBackOff (tag-not-found), kubelet retry")
    assert requests_made(cluster) == [("get", "pods"), ("list", "events"), ("watch", "events"), ("watch", "pods")]


def test_already_healthy_pod_ends_at_once(make) -> None:
    cluster = make("success")
    outcome = watch_pod(make_client(cluster), NS, "success", timeout=10)
    assert outcome.outcome == RECOVERED and outcome.already and outcome.exit_code == 0
    assert summary_line(outcome) == "already healthy: pulled in 54ms on vm"
    assert requests_made(cluster) == [("get", "pods"), ("list", "events")]


def test_deleted_pod_without_a_controller_is_gone(make) -> None:
    cluster = make("nonexistent-tag")
    outcome, _ = follow(cluster, "nonexistent-tag", [lambda: cluster.delete("Pod", "nonexistent-tag", NS)])
    assert outcome.outcome == GONE and outcome.exit_code == 1
    assert summary_line(outcome) == "pod nonexistent-tag was deleted; it has no controller to replace it"


def test_failed_pod_without_a_controller_ends_failed(make) -> None:
    cluster = make("nonexistent-tag")

    def deadline_exceeded(pod: dict) -> None:
        pod["status"].update(phase="Failed", reason="DeadlineExceeded",
                             message="Pod was active on the node longer than the specified deadline")
    outcome, _ = follow(cluster, "nonexistent-tag", [lambda: cluster.modify("Pod", "nonexistent-tag",
                                                                            deadline_exceeded, NS)])
    assert outcome.outcome == FAILED and outcome.exit_code == 1
    assert summary_line(outcome) == ("pod nonexistent-tag failed (DeadlineExceeded: Pod was active on the node longer "
                                     "than the specified deadline); it has no controller to replace it")


def test_unknown_pod_or_container_is_a_usage_error(make) -> None:
    cluster = make("nonexistent-tag")
    with pytest.raises(UsageError, match='pod "nope" not found in namespace "rig-cases"'):
        watch_pod(make_client(cluster), NS, "nope", timeout=1)
    with pytest.raises(UsageError, match='pod nonexistent-tag has no container "sidecar"'):
        watch_pod(make_client(cluster), NS, "nonexistent-tag", container="sidecar", timeout=1)


def test_unreadable_events_still_follow_the_status(make) -> None:
    cluster = make("auth-wrong-password")
    cluster.faults.forbid(verb="list", resource="events")
    outcome, lines = follow(cluster, "auth-wrong-password",
                            [lambda: cluster.modify("Pod", "auth-wrong-password", running, NS)],
                            ready=lambda c: watches(c) >= 1)
    assert outcome.outcome == RECOVERED
    assert re.fullmatch(r"recovered after \d+s: running on vm", summary_line(outcome))
    assert any(keep and "cannot read the pod's events" in text for text, keep in lines)
    assert cluster.requests.count(verb="watch", resource="events") == 0


# -- expired watches -----------------------------------------------------------------------------------------
def test_410_gone_on_opening_the_watch_relists(make) -> None:
    cluster = make("auth-wrong-password")
    cluster.faults.fail(410, verb="watch", resource="pods", times=1)
    outcome, _ = follow(cluster, "auth-wrong-password", recovery(cluster, "auth-wrong-password"),
                        ready=lambda c: watches(c, "pods") >= 2)
    assert outcome.outcome == RECOVERED
    relists = cluster.requests.filter(verb="list", resource="pods")
    assert [r.param("fieldSelector") for r in relists] == ["metadata.name=auth-wrong-password"]


def test_410_in_the_stream_after_compaction_relists_and_rewatches(make) -> None:
    cluster = make("auth-wrong-password")

    def compact() -> None:
        cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": NS}})
        cluster.compact()          # the watches reopen (1 s windows) from versions now forgotten: ERROR 410
    outcome, _ = follow(cluster, "auth-wrong-password", [
        compact,
        lambda: until(lambda: cluster.requests.count(verb="list", resource="pods") >= 1
                      and watches(cluster, "pods") >= 3),
    ] + recovery(cluster, "auth-wrong-password"), watch_seconds=1)
    assert outcome.outcome == RECOVERED
    assert cluster.requests.count(verb="list", resource="events") >= 2     # the first read, then a relist
    assert {r.status for r in cluster.requests} == {200}                 # the 410s came inside the streams


def test_bookmarks_move_the_resource_version_without_being_delivered(monkeypatch) -> None:
    monkeypatch.setattr("pullcheck.kube.watchstream.QUICK_WATCH", 0.01)
    class Client:
        def __init__(self) -> None:
            self.versions: List[str] = []

        def watch(self, path, query, *, seconds):
            self.versions.append(query["resourceVersion"])
            if len(self.versions) == 1:
                yield {"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {"resourceVersion": "900"}}}
            else:
                yield {"type": "MODIFIED", "object": {"metadata": {"name": "web-1", "resourceVersion": "901"}}}

    sink: "queue.Queue[tuple]" = queue.Queue()
    client = Client()
    stream = WatchStream("pod", client, "/api/v1/namespaces/shop/pods", {}, "100", sink, time.monotonic() + 5, 60)
    stream.start()
    role, source, kind, payload = sink.get(timeout=4)
    stream.stop()
    assert (role, source, kind, payload["type"]) == ("pod", stream, "event", "MODIFIED")
    assert client.versions[:2] == ["100", "900"]


# -- replacements ---------------------------------------------------------------------------------------------
def workload_pod(name: str, owner: dict, labels: dict, created: str, failing: bool) -> dict:
    pod = copy.deepcopy(captured_pod("auth-wrong-password"))
    meta = pod["metadata"]
    for key in ("uid", "resourceVersion", "annotations"):
        meta.pop(key, None)
    meta.update(name=name, labels=labels, creationTimestamp=created, ownerReferences=[
        {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
         "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}])
    if not failing:
        waiting("ContainerCreating")(pod)
    return pod


def copy_failures(cluster: FakeCluster, pod: dict) -> None:
    _, events = read_case(CAPTURES / "auth-wrong-password")
    for event in events:
        event = copy.deepcopy(event)
        event["metadata"] = {"name": f"{pod['metadata']['name']}.{uuid.uuid4().hex[:16]}", "namespace": NS}
        event["involvedObject"].update(name=pod["metadata"]["name"], uid=pod["metadata"]["uid"])
        cluster.create(event)


def replica_set(cluster: FakeCluster, deployment: dict, pod_hash: str, revision: int) -> dict:
    return cluster.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"web-{pod_hash}", "namespace": NS,
                     "labels": {"app": "web", "pod-template-hash": pod_hash},
                     "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                          "uid": deployment["metadata"]["uid"], "controller": True}]},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web", "pod-template-hash": pod_hash}}}})


@pytest.mark.parametrize("replacement_first", [True, False], ids=["replacement-exists", "replacement-later"])
def test_follows_the_replacement_during_a_rollout(make, replacement_first: bool) -> None:
    cluster = make("auth-wrong-password")
    deployment = cluster.create({"apiVersion": "apps/v1", "kind": "Deployment",
                                 "metadata": {"name": "web", "namespace": NS},
                                 "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}})
    old_rs = replica_set(cluster, deployment, "6f5c8", 1)
    earlier = stamp(datetime.now(timezone.utc) - timedelta(minutes=10))
    old = cluster.create(workload_pod("web-6f5c8-aaaaa", old_rs, {"app": "web", "pod-template-hash": "6f5c8"},
                                      earlier, failing=True))
    cluster.create(workload_pod("web-6f5c8-sibling", old_rs, {"app": "web", "pod-template-hash": "6f5c8"},
                                earlier, failing=True))     # a sibling replica made with it: never the replacement
    copy_failures(cluster, old)
    made = {}

    def roll_out() -> None:
        made["rs"] = replica_set(cluster, deployment, "7d4b9", 2)
        labels = {"app": "web", "pod-template-hash": "7d4b9"}
        made["pod"] = cluster.create(workload_pod("web-7d4b9-bbbbb", made["rs"], labels, stamp(), failing=False))

    def terminate() -> None:
        cluster.modify("Pod", "web-6f5c8-aaaaa", lambda p: p["metadata"].update(deletionTimestamp=stamp()), NS)

    steps = [roll_out, terminate] if replacement_first else [terminate, roll_out]
    steps += [lambda: cluster.delete("Pod", "web-6f5c8-aaaaa", NS),
              lambda: cluster.create(kubelet_event(made["pod"], "Pulled", PULLED_MESSAGE)),
              lambda: cluster.modify("Pod", "web-7d4b9-bbbbb", running, NS)]
    outcome, lines = follow(cluster, "web-6f5c8-aaaaa", steps)

    assert outcome.outcome == RECOVERED and outcome.exit_code == 0
    assert [p.name for p in outcome.pods] == ["web-6f5c8-aaaaa", "web-7d4b9-bbbbb"]
    assert outcome.pods[1].reason == "terminating" and outcome.pods[1].owner == "ReplicaSet web-7d4b9"
    assert "following replacement web-7d4b9-bbbbb (new ReplicaSet web-7d4b9)" in outcome.notes
    assert re.fullmatch(r"recovered after \d+s: pulled in 1\.9s on vm \(replacement pod web-7d4b9-bbbbb\)",
                        summary_line(outcome))
    assert ("following replacement web-7d4b9-bbbbb (new ReplicaSet web-7d4b9)", True) in lines
    searches = [r for r in cluster.requests if r.param("labelSelector")]
    assert {r.param("labelSelector") for r in searches} == {"app=web"}
    assert [r.verb for r in searches] == (["list"] if replacement_first else ["list", "watch"])
    assert len(cluster.requests) <= 14


def test_follows_a_statefulset_pod_recreated_under_the_same_name(make) -> None:
    cluster = make("auth-wrong-password")
    owner = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "uid": str(uuid.uuid4())}}
    earlier = stamp(datetime.now(timezone.utc) - timedelta(minutes=10))
    old = cluster.create(workload_pod("db-0", owner, {"app": "db"}, earlier, failing=True))
    copy_failures(cluster, old)
    made = {}

    def recreate() -> None:
        made["pod"] = cluster.create(workload_pod("db-0", owner, {"app": "db"}, stamp(), failing=False))

    present = f'Container image "{AUTH_IMAGE}" already present on machine and can be accessed by the pod'
    outcome, _ = follow(cluster, "db-0", [
        lambda: cluster.delete("Pod", "db-0", NS), recreate,
        lambda: cluster.create(kubelet_event(made["pod"], "Pulled", present)),
        lambda: cluster.modify("Pod", "db-0", running, NS)])
    assert outcome.outcome == RECOVERED
    assert re.fullmatch(r"recovered after \d+s: already on node vm \(replacement pod db-0\)", summary_line(outcome))
    assert [p.uid for p in outcome.pods] == [old["metadata"]["uid"], made["pod"]["metadata"]["uid"]]
    assert f"following replacement db-0 (recreated by StatefulSet db, new uid {made['pod']['metadata']['uid']})" \
        in outcome.notes
    assert cluster.requests.count(resource="statefulsets") == 0      # the name watch saw it: no search


# -- the pure pieces ------------------------------------------------------------------------------------------
def test_status_line_computes_the_kubelets_next_retry() -> None:
    pod, events = read_case(CAPTURES / "auth-wrong-password")       # 3 failed pulls, the last at 02:21:54
    pulls = container_pulls(pod, events)
    last = datetime(2026, 11, 22, 2, 21, 54, tzinfo=timezone.utc)
    line = lambda seconds: status_line("web-1", pulls, last + timedelta(seconds=seconds), node=NODE)   # noqa: E731
    prefix = "web-1: ImagePullBackOff (auth: 401 Unauthorized), "
    assert line(10) == prefix + "kubelet retries in ~30s (attempt 4)"     # back-off after 3 failures: 40 s
    assert line(45) == prefix + "kubelet retry due now (attempt 4)"
    assert line(1000) == prefix + "kubelet retry time unknown (no failed pull recorded for 16m)"
    retry = kubelet_event(pod, "Pulling", f'Pulling image "{AUTH_IMAGE}"', count=4, at=last + timedelta(seconds=41))
    pulling = container_pulls(pod, events + [retry])
    assert status_line("web-1", pulling, last + timedelta(seconds=44), node=NODE) == \
        f"web-1: pulling {AUTH_IMAGE} again (attempt 4) for 3s"
    assert status_line("web-1", pulls, last, node=None) == "web-1: not scheduled yet"


def test_recovered_needs_every_container_init_containers_included() -> None:
    pod = copy.deepcopy(captured_pod("auth-wrong-password"))
    pod["spec"]["initContainers"] = [dict(pod["spec"]["containers"][0], name="setup")]
    backoff_state = pod["status"]["containerStatuses"][0]["state"]
    pod["status"]["initContainerStatuses"] = [{"name": "setup", "state": copy.deepcopy(backoff_state)}]
    waiting("PodInitializing")(pod)
    states = lambda: [(c.name, c.kind, c.status) for c in container_pulls(pod, [])]   # noqa: E731
    assert states() == [("setup", "init", FAILING), ("main", "container", WAITING)]
    pod["status"]["initContainerStatuses"][0]["state"] = {
        "terminated": {"exitCode": 0, "reason": "Completed", "startedAt": stamp(), "containerID": "containerd://1"}}
    waiting("ContainerCreating")(pod)
    assert states() == [("setup", "init", PULLED), ("main", "container", WAITING)] and not all_pulled(
        container_pulls(pod, []))
    waiting("CreateContainerConfigError")(pod)       # the kubelet gets there only once it has the image
    assert states()[1] == ("main", "container", PULLED) and all_pulled(container_pulls(pod, []))
    assert container_pulls(pod, [])[1].blocked == "CreateContainerConfigError"
    # a container killed before it started (deleted pod) has not pulled
    killed = {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown"}}
    pod["status"]["containerStatuses"][0]["state"] = killed
    assert states()[1] == ("main", "container", WAITING)


def test_label_selector_text() -> None:
    assert label_selector_text({"matchLabels": {"app": "web", "tier": "fe"}, "matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "canary"]},
        {"key": "legacy", "operator": "DoesNotExist"}, {"key": "team", "operator": "Exists"},
        {"key": "zone", "operator": "NotIn", "values": ["a"]}]}) == \
        "app=web,tier=fe,env in (prod,canary),!legacy,team,zone notin (a)"
    assert label_selector_text({"app": "old-rc"}) == "app=old-rc"


def test_terminal_progress_rewrites_the_status_line_and_keeps_notes() -> None:
    import io

    out = io.StringIO()
    progress = TerminalProgress(out)
    progress("web-1: ImagePullBackOff, kubelet retries in ~9s (attempt 2)")
    progress("following replacement web-2 (new ReplicaSet web-7d)", True)
    progress("web-2: waiting for the kubelet (ContainerCreating)")
    progress("")
    assert out.getvalue() == ("web-1: ImagePullBackOff, kubelet retries in ~9s (attempt 2)\r\033[K"
                              "following replacement web-2 (new ReplicaSet web-7d)\n"
                              "web-2: waiting for the kubelet (ContainerCreating)\r\033[K")
