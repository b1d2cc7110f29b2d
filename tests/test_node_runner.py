"""The probe pod's lifecycle against the fake API server. A thread plays the kubelet: it finds the
probe pod, moves its status along and sets its log. Every test ends with no probe pod left."""
from __future__ import annotations

import base64
import os
import signal
import threading
import time
from typing import Callable, Dict, List, Optional

import pytest

from pullcheck.errors import UsageError
from pullcheck.kube.client import KubeClient
from pullcheck.kube.config import load
from pullcheck.node import podspec
from pullcheck.node.report import build_report, render_node
from pullcheck.node.runner import Interrupted, ProbeError, ProbeRequest, cleanup, run_probe
from tests.fakeapi import FakeCluster, captured_pod

NODE = "vm"            # the node of the debug-node capture
NAMESPACE = podspec.DEFAULT_NAMESPACE
PSA_MESSAGE = ('pods "{name}" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
               '(hostNetwork=true, hostPID=true), hostPath volumes (volume "host-root"), privileged '
               '(container "probe" must not set securityContext.privileged=true)')


def record(check: str, subject: str, status: str, detail: str) -> str:
    return f"PULLCHECK\t{check}\t{subject}\t{status}\t{base64.b64encode(detail.encode()).decode()}\n"


PROBE_LOG = "".join([
    record("probe", "start", "info", "version 1 on vm"),
    record("arch", "node", "info", "x86_64"),
    record("runtime", "containerd", "ok", "pid 812\nconfig /etc/containerd/config.toml\n"
                                           "socket /run/containerd/containerd.sock"),
    record("dns", "registry.pullcheck.test", "ok", "127.0.0.1       registry.pullcheck.test"),
    record("https", "registry.pullcheck.test", "ok", "via curl\nexit 0\nhttp_status 401"),
    record("pull", "registry.pullcheck.test/app:v9", "fail",
           'via ctr\nexit 1\nseconds 0\n\ntime="2026-11-22T02:40:00Z" level=info msg="trying next host - response '
           'was http.StatusNotFound" host="registry.pullcheck.test"\nctr: failed to resolve reference '
           '"registry.pullcheck.test/app:v9": registry.pullcheck.test/app:v9: not found'),
    record("probe", "end", "ok", ""),
])


@pytest.fixture
def cluster(fake_cluster_factory: Callable[..., FakeCluster]) -> FakeCluster:
    made = fake_cluster_factory("debug-node")
    return made


@pytest.fixture
def client(cluster: FakeCluster) -> KubeClient:
    return KubeClient(load(str(cluster.kubeconfig), None, None), timeout=10)


def probe_pods(cluster: FakeCluster) -> List[dict]:
    return [p for p in cluster.list("Pod") if p["metadata"].get("labels", {}).get(podspec.MANAGED_BY_LABEL)]


class Kubelet(threading.Thread):
    """Waits for the probe pod, then applies `steps` (status changes; "log" sets the log)."""

    def __init__(self, cluster: FakeCluster, steps: List[object], log: str = PROBE_LOG) -> None:
        super().__init__(daemon=True)
        self.cluster, self.steps, self.log = cluster, steps, log
        self.seen: Optional[dict] = None
        self.error: Optional[BaseException] = None
        self.done = threading.Event()        # the probe returned: stop waiting for a pod

    def run(self) -> None:
        try:
            while not probe_pods(self.cluster):
                if self.done.wait(0.02):
                    return
            self.seen = probe_pods(self.cluster)[0]
            name = self.seen["metadata"]["name"]
            play_steps(self.cluster, name, self.steps, self.log, NAMESPACE)
        except BaseException as exc:  # reported by the test
            self.error = exc


def play_steps(cluster: FakeCluster, name: str, steps: List[object], log: str, namespace: str) -> None:
    """What a stand-in kubelet does to probe pod `name`: status dicts, "log" (sets `log`), or callables."""
    for step in steps:
        time.sleep(0.05)
        if step == "log":
            cluster.set_log(name, podspec.CONTAINER, log, namespace)
        elif callable(step):
            step(name)
        else:
            cluster.modify("Pod", name, lambda pod, s=step: pod.update(status=dict(s)), namespace)


def container_status(state: Dict[str, object]) -> dict:
    return {"phase": "Running" if "running" in state else "Pending", "containerStatuses": [
        {"name": podspec.CONTAINER, "state": state, "ready": "running" in state, "restartCount": 0,
         "image": "busybox", "imageID": ""}]}


RUNNING = container_status({"running": {"startedAt": "2026-11-22T02:40:00Z"}})
SUCCEEDED = dict(container_status({"terminated": {"exitCode": 0, "reason": "Completed",
                                                  "containerID": "containerd://abc"}}), phase="Succeeded")


def run_with(cluster: FakeCluster, client: KubeClient, steps: List[object], **request: object):
    kubelet = Kubelet(cluster, steps)
    kubelet.start()
    try:
        options = dict({"images": ["registry.pullcheck.test/app:v9"], "registries": ["registry.pullcheck.test"],
                        "timeout": 10}, **request)
        return run_probe(client, ProbeRequest(node=NODE, **options)), kubelet
    finally:
        kubelet.done.set()
        kubelet.join(5)
        assert kubelet.error is None, kubelet.error
        assert probe_pods(cluster) == []


def test_spec_matches_a_debug_node_pod_plus_the_probe_settings() -> None:
    pod = podspec.probe_pod(name="pullcheck-vm-abc123", node=NODE, namespace=NAMESPACE, image="busybox:1.36",
                            script="SCRIPT", args=["--image", "r/app:v1"], deadline_seconds=240)
    assert pod == {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pullcheck-vm-abc123", "namespace": "kube-system",
                     "labels": {"app.kubernetes.io/managed-by": "kubectl-pullcheck",
                                "app.kubernetes.io/component": "node-probe"},
                     "annotations": {"pullcheck.io/node": "vm"}},
        "spec": {
            "nodeName": "vm", "hostNetwork": True, "hostPID": True, "dnsPolicy": "Default", "restartPolicy": "Never",
            "activeDeadlineSeconds": 240, "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": False,
            "enableServiceLinks": False, "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": "probe", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent",
                "command": ["chroot", "/host", "/bin/sh", "-c", "SCRIPT", "pullcheck-probe", "--image", "r/app:v1"],
                "securityContext": {"privileged": True, "runAsUser": 0},
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                "volumeMounts": [{"name": "host-root", "mountPath": "/host"}]}],
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}]}}
    # the same host access `kubectl debug node` set up on the captured node
    debug = captured_pod("debug-node")["spec"]
    for key in ("nodeName", "hostNetwork", "hostPID", "restartPolicy", "tolerations"):
        assert pod["spec"][key] == debug[key]
    assert debug["containers"][0]["command"][:2] == pod["spec"]["containers"][0]["command"][:2]
    assert {"hostPath": {"path": "/", "type": ""}, "name": "host-root"} in debug["volumes"]


def test_probe_image_choice(cluster: FakeCluster) -> None:
    node = cluster.get("Node", NODE)
    assert podspec.choose_probe_image(node) == \
        "127.0.0.1:5100/busybox@sha256:3e6651ae945385798bfb7cd613cce230e79258b293a9f87665dc5b8fe43d4060"
    assert podspec.choose_probe_image(node, "mirror.corp/tools/sh:1") == "mirror.corp/tools/sh:1"
    node["status"]["images"] = [{"names": ["registry.k8s.io/pause:3.9"], "sizeBytes": 1}]
    assert podspec.choose_probe_image(node) == podspec.DEFAULT_PROBE_IMAGE
    assert podspec.probe_pod_name("Worker_1.example.com").startswith("pullcheck-worker-1-example-com-")


def test_create_run_log_delete(cluster: FakeCluster, client: KubeClient) -> None:
    result, kubelet = run_with(cluster, client, [RUNNING, "log", SUCCEEDED])
    sent = kubelet.seen
    assert sent["spec"]["nodeName"] == NODE and sent["metadata"]["namespace"] == NAMESPACE
    command = sent["spec"]["containers"][0]["command"]
    assert command[4] == podspec.probe_script()
    assert command[5:] == ["pullcheck-probe", "--registry", "registry.pullcheck.test",
                           "--image", "registry.pullcheck.test/app:v9", "--pull-timeout", "60"]
    assert sent["spec"]["containers"][0]["image"].startswith("127.0.0.1:5100/busybox@sha256:")
    assert result.output.complete and result.warnings == []
    assert cluster.requests.count(verb="watch", resource="pods") >= 1
    assert cluster.requests.count(verb="delete", resource="pods") == 1
    report = build_report(result)
    assert report.exit_code == 1
    pull = next(c for c in report.checks if c.check == "pull")
    assert pull.cause == "tag-not-found" and pull.summary.startswith('failed to resolve reference')
    table = render_node(report, "table", color=False)
    assert "1 of 5 checks failed" in table and "tag-not-found" in table


def test_probe_image_cannot_be_pulled(cluster: FakeCluster, client: KubeClient) -> None:
    waiting = container_status({"waiting": {"reason": "ErrImagePull", "message": 'failed to pull and unpack image '
                                            '"docker.io/library/busybox:1.36.1": dial tcp: i/o timeout'}})
    with pytest.raises(ProbeError) as caught:
        run_with(cluster, client, [waiting], probe_image="docker.io/library/busybox:1.36.1")
    assert "cannot pull the probe image docker.io/library/busybox:1.36.1" in caught.value.message
    assert "--probe-image" in caught.value.hint


def test_pod_security_rejection(cluster: FakeCluster, client: KubeClient) -> None:
    cluster.faults.fail(403, reason="Forbidden", message=PSA_MESSAGE.format(name="pullcheck-vm-x"),
                        verb="create", resource="pods")
    with pytest.raises(ProbeError) as caught:
        run_with(cluster, client, [])
    assert caught.value.message.startswith("Pod Security admission rejected the probe pod in namespace kube-system")
    assert 'violates PodSecurity "baseline:latest"' in caught.value.message
    assert "--probe-namespace" in caught.value.hint


@pytest.mark.parametrize("verb, resource, words", [
    ("create", "pods", "not allowed to create the probe pod"),
    ("get", "pods/log", "not allowed to read the probe pod's log"),
])
def test_rbac_refusals(cluster: FakeCluster, client: KubeClient, verb: str, resource: str, words: str) -> None:
    cluster.faults.forbid(verb=verb, resource=resource)
    with pytest.raises(ProbeError) as caught:
        run_with(cluster, client, [RUNNING, "log", SUCCEEDED])
    assert caught.value.message.startswith(words) and "forbidden" in caught.value.message


def test_timeout(cluster: FakeCluster, client: KubeClient) -> None:
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        run_with(cluster, client, [RUNNING], timeout=2)
    assert 1.5 < time.monotonic() - started < 6
    assert caught.value.message == f"the probe did not finish within --timeout 2s (probe pod running on node {NODE})"


@pytest.mark.parametrize("signum, raised", [(signal.SIGTERM, Interrupted), (signal.SIGINT, KeyboardInterrupt)])
def test_interrupted_run_deletes_the_pod(cluster: FakeCluster, client: KubeClient, signum: int,
                                         raised: type) -> None:
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(raised):
        run_with(cluster, client, [RUNNING, lambda name: os.kill(os.getpid(), signum)])
    assert signal.getsignal(signal.SIGTERM) is handler


def test_node_warnings_and_missing_node(cluster: FakeCluster, client: KubeClient) -> None:
    def not_ready(node: dict) -> None:
        node["spec"]["unschedulable"] = True
        for condition in node["status"]["conditions"]:
            if condition["type"] == "Ready":
                condition.update(status="Unknown", reason="NodeStatusUnknown")
    cluster.modify("Node", NODE, not_ready)
    result, _ = run_with(cluster, client, [RUNNING, "log", SUCCEEDED])
    assert result.warnings == [
        f"node {NODE} is NotReady (NodeStatusUnknown): its kubelet may never start the probe pod",
        f"node {NODE} is cordoned (unschedulable); the probe pod is pinned to it and runs anyway"]
    with pytest.raises(UsageError, match="node nosuch not found"):
        run_probe(client, ProbeRequest(node="nosuch"))


def test_cleanup_deletes_only_probe_pods(cluster: FakeCluster, client: KubeClient) -> None:
    for name, namespace in (("pullcheck-vm-aaa", NAMESPACE), ("pullcheck-vm-bbb", "default")):
        cluster.create(podspec.probe_pod(name=name, node=NODE, namespace=namespace, image="busybox", script=":",
                                         args=[], deadline_seconds=60))
    before = len(cluster.list("Pod"))
    assert cleanup(client, NAMESPACE) == [f"{NAMESPACE}/pullcheck-vm-aaa"]
    assert cleanup(client) == ["default/pullcheck-vm-bbb"]
    assert probe_pods(cluster) == [] and len(cluster.list("Pod")) == before - 2


def run_cli(args: List[str], capsys: pytest.CaptureFixture) -> tuple:
    from pullcheck.cli import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_cli_dry_run_prints_the_manifest(cluster: FakeCluster, capsys: pytest.CaptureFixture) -> None:
    import yaml

    code, out, err = run_cli(["node", NODE, "--dry-run", "--image", "busybox:1.36", "--kubeconfig",
                              str(cluster.kubeconfig)], capsys)
    assert code == 0 and err == ""
    pod = yaml.safe_load(out)
    assert pod["spec"]["nodeName"] == NODE and pod["metadata"]["namespace"] == NAMESPACE
    # the script reads as it runs (a literal block), and loads back byte for byte
    assert "\n    - |\n      # kubectl-pullcheck node probe" in out
    assert pod["spec"]["containers"][0]["command"][4] == podspec.probe_script()
    assert pod["spec"]["containers"][0]["command"][5:] == [
        "pullcheck-probe", "--registry", "registry-1.docker.io", "--image", "busybox:1.36", "--pull-timeout", "60"]
    assert probe_pods(cluster) == [] and cluster.requests.count(verb="create") == 0


def test_cli_json_output_and_exit_codes(cluster: FakeCluster, capsys: pytest.CaptureFixture) -> None:
    import json

    kubelet = Kubelet(cluster, [RUNNING, "log", SUCCEEDED])
    kubelet.start()
    code, out, _ = run_cli(["node", NODE, "--image", "registry.pullcheck.test/app:v9", "-o", "json",
                            "--kubeconfig", str(cluster.kubeconfig)], capsys)
    kubelet.join(5)
    doc = json.loads(out)
    assert code == 1 and doc["node"] == NODE and doc["complete"] is True
    assert [(c["check"], c["status"], c["cause"]) for c in doc["checks"] if c["status"] == "fail"] == [
        ("pull", "fail", "tag-not-found")]
    assert probe_pods(cluster) == []
    cluster.faults.fail(403, reason="Forbidden", message=PSA_MESSAGE.format(name="x"), verb="create", resource="pods")
    code, out, err = run_cli(["node", NODE, "--kubeconfig", str(cluster.kubeconfig)], capsys)
    assert code == 3 and out == "" and err.startswith("error: Pod Security admission rejected the probe pod")
    assert run_cli(["node", "--kubeconfig", str(cluster.kubeconfig)], capsys)[0] == 2
    assert run_cli(["node", "nosuch", "--kubeconfig", str(cluster.kubeconfig)], capsys)[0] == 2


def test_cli_cleanup(cluster: FakeCluster, capsys: pytest.CaptureFixture) -> None:
    cluster.create(podspec.probe_pod(name="pullcheck-vm-old", node=NODE, namespace=NAMESPACE, image="busybox",
                                     script=":", args=[], deadline_seconds=60))
    code, out, _ = run_cli(["cleanup", "--kubeconfig", str(cluster.kubeconfig)], capsys)
    assert (code, out) == (0, f"deleted pod {NAMESPACE}/pullcheck-vm-old\n")
    assert run_cli(["cleanup", "-A", "--kubeconfig", str(cluster.kubeconfig)], capsys)[1] == "no probe pods found\n"


def test_pod_probe_targets() -> None:
    from pullcheck.node.command import pod_probe_targets

    pod = captured_pod("debug-node")
    pod["spec"]["initContainers"] = [{"name": "init", "image": "quay.io/org/init:1"}]
    pod["spec"]["containers"].append({"name": "again", "image": "127.0.0.1:5100/busybox:1.35"})
    assert pod_probe_targets(pod) == (NODE, ["quay.io/org/init:1", "127.0.0.1:5100/busybox:1.35"],
                                      ["quay.io", "127.0.0.1:5100"])
    del pod["spec"]["nodeName"]
    with pytest.raises(UsageError, match="not scheduled"):
        pod_probe_targets(pod)


@pytest.mark.parametrize("status, detail, conclusion", [
    ("ok", "via ctr\nexit 0\nseconds 1\n", "pulls on node vm through its own runtime (anonymously)"),
    ("fail", 'via ctr\nexit 1\nseconds 0\n\nctr: failed to resolve reference "127.0.0.1:5100/busybox:nosuchtag": '
             'failed to do request: Head "https://127.0.0.1:5100/v2/busybox/manifests/nosuchtag": dial tcp '
             '127.0.0.1:5100: connect: connection refused', "fails on node vm too (connection-refused)"),
])
def test_pod_on_node_decides_configuration_or_infrastructure(fake_cluster_factory: Callable[..., FakeCluster],
                                                              capsys: pytest.CaptureFixture, status: str,
                                                              detail: str, conclusion: str) -> None:
    import json

    cluster = fake_cluster_factory("nonexistent-tag", "debug-node")
    log = "".join([record("probe", "start", "info", "version 1 on vm"),
                   record("pull", "127.0.0.1:5100/busybox:nosuchtag", status, detail),
                   record("probe", "end", "ok", "")])
    kubelet = Kubelet(cluster, [RUNNING, "log", SUCCEEDED], log=log)
    kubelet.start()
    code, out, err = run_cli(["pod", "nonexistent-tag", "-n", "rig-cases", "--on-node", "-o", "json",
                              "--kubeconfig", str(cluster.kubeconfig)], capsys)
    kubelet.join(5)
    doc = json.loads(out)
    assert code == 1, err
    assert doc["containers"][0]["cause"] == "tag-not-found"
    assert doc["nodeProbe"]["node"] == NODE
    assert len(doc["nodeProbe"]["conclusions"]) == 1 and conclusion in doc["nodeProbe"]["conclusions"][0]
    created = cluster.requests.filter(verb="create", resource="pods")
    assert len(created) == 1 and probe_pods(cluster) == []
    example = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "nonexistent-tag.json")
    code, _, err = run_cli(["pod", "-f", example, "--on-node"], capsys)
    assert code == 2 and "--on-node runs a probe pod on the cluster" in err


def test_a_reference_error_on_the_node_too_is_not_called_infrastructure() -> None:
    from pullcheck.node.command import node_conclusions
    from pullcheck.node.report import NodeCheck, NodeReport

    report = NodeReport(node=NODE, pod="p", namespace=NAMESPACE, probe_image="busybox", seconds=0.1, complete=True,
                        checks=[NodeCheck("pull", "reg/app:v9", "fail", "not found", cause="tag-not-found")])
    (line,) = node_conclusions(report, ["reg/app:v9"])
    assert "the image reference itself is wrong" in line and "infrastructure" not in line
