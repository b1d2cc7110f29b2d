"""`pod NAME --on-node --with-credentials`: the node pull with the credentials the kubelet would use.

Against the fake API server a thread plays the kubelet: it waits for the probe pod and, as the real
one waits to mount the pod's volumes, for its credentials Secret. Every lifecycle test (success,
failure, timeout, interrupt, RBAC) ends with neither a probe pod nor a credentials Secret left, and
scans everything the run produced for every form of the credentials. The last tests run the pod's
real command on this machine as the node: a real containerd pulling from a real htpasswd registry.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

import pytest

from pullcheck.kube.client import KubeClient
from pullcheck.kube.config import load
from pullcheck.kube.gather import gather_pod
from pullcheck.node import podspec
from pullcheck.node.command import cleanup_probe_pods, node_request, run_node_report
from pullcheck.node.credentials import (credential_conclusions, credential_outcomes, pod_credentials,
                                        with_pod_credentials)
from pullcheck.node.report import NodeCheck, NodeReport, build_report, render_node
from pullcheck.node.runner import Interrupted, ProbeError, ProbeRequest, run_probe
from pullcheck.secrets import decode_pull_secret
from pullcheck.snapshot import PodSnapshot, SecretLookup, save_bundle
from tests.fakeapi import FakeCluster, dockerconfigjson_secret
from tests.test_node_runner import RUNNING, SUCCEEDED, container_status, play_steps

NODE = "vm"                                  # the node of the debug-node capture
PROBE_NAMESPACE = podspec.DEFAULT_NAMESPACE
APP_NAMESPACE = "shop"
REGISTRY = "registry.pullcheck.test"
IMAGE = f"{REGISTRY}/private/app:v1"
RIGHT = ("robot-7q", "s3cr3t-Right-pw")
WRONG = ("robot-old", "0ld-Wrong-pw")


def forms(user: str, password: str) -> List[str]:
    """Every form a credential could leak in: password, user:password, the auth string, the user."""
    return [password, f"{user}:{password}", base64.b64encode(f"{user}:{password}".encode()).decode(), user]


def assert_clean(*texts: str, credentials: Sequence[tuple] = (RIGHT, WRONG), users: bool = True) -> None:
    everything = "\n".join(texts)
    for user, password in credentials:
        for leaked in forms(user, password)[:None if users else 3]:
            assert leaked not in everything, f"{leaked!r} leaked"


def record(check: str, subject: str, status: str, detail: str) -> str:
    return f"PULLCHECK\t{check}\t{subject}\t{status}\t{base64.b64encode(detail.encode()).decode()}\n"


def probe_log(*pulls: str) -> str:
    return "".join([record("probe", "start", "info", "version 1 on vm"),
                    record("credentials", "fd 3", "info", "1 credential(s) for 1 image(s)"), *pulls,
                    record("probe", "end", "ok", "")])


REJECTED_LOG = probe_log(record("pull", IMAGE, "fail", (
    f"via ctr\nexit 1\nseconds 0\nauth secret:{APP_NAMESPACE}/right\n\nctr: failed to resolve reference \"{IMAGE}\": "
    f"pulling from host {REGISTRY} failed with status code [manifests v1]: 401 Unauthorized")))


def probe_pods(cluster: FakeCluster) -> List[dict]:
    return [p for p in cluster.list("Pod", PROBE_NAMESPACE)
            if p["metadata"].get("labels", {}).get(podspec.COMPONENT_LABEL) == podspec.COMPONENT]


def credential_secrets(cluster: FakeCluster) -> List[dict]:
    return [s for s in cluster.list("Secret")
            if s["metadata"].get("labels", {}).get(podspec.COMPONENT_LABEL) == podspec.CREDENTIALS_COMPONENT]


def arrange(cluster: FakeCluster, pull_secrets: Sequence[str] = ("right",), image: str = IMAGE,
            registry: str = REGISTRY, right: tuple = RIGHT) -> None:
    """Namespace shop: secrets `right` and `wrong` for the registry, and pod web (failing) on node vm."""
    for name, (user, password) in (("right", right), ("wrong", WRONG)):
        cluster.create(dockerconfigjson_secret(name, APP_NAMESPACE, registry, user, password))
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": APP_NAMESPACE},
                    "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": image}],
                             "imagePullSecrets": [{"name": n} for n in pull_secrets]},
                    "status": {"phase": "Pending", "containerStatuses": [{
                        "name": "app", "image": image, "imageID": "", "ready": False, "restartCount": 0,
                        "state": {"waiting": {"reason": "ErrImagePull", "message": "401 Unauthorized"}}}]}})


class Kubelet(threading.Thread):
    """Waits for the probe pod, then for its credentials Secret (as the kubelet retries the volume
    mount), then runs `steps`: status dicts, "log", or callables given the pod name."""

    def __init__(self, cluster: FakeCluster, steps: List[object], log: str = REJECTED_LOG) -> None:
        super().__init__(daemon=True)
        self.cluster, self.steps, self.log = cluster, steps, log
        self.pod: Optional[dict] = None
        self.secret: Optional[dict] = None
        self.error: Optional[BaseException] = None
        self.done = threading.Event()

    def wait_for(self, find: Callable[[], Any]) -> Any:
        while not self.done.is_set():
            found = find()
            if found:
                return found
            time.sleep(0.02)
        return None

    def run(self) -> None:
        try:
            pods = self.wait_for(lambda: probe_pods(self.cluster))
            if not pods:
                return
            self.pod = pods[0]
            name = self.pod["metadata"]["name"]
            volume = next(v for v in self.pod["spec"]["volumes"] if "secret" in v)
            self.secret = self.wait_for(
                lambda: self.cluster.get("Secret", volume["secret"]["secretName"], PROBE_NAMESPACE))
            if self.secret is None:
                return
            play_steps(self.cluster, name, self.steps, self.log, PROBE_NAMESPACE)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.fixture
def cluster(fake_cluster_factory: Callable[..., FakeCluster]) -> FakeCluster:
    made = fake_cluster_factory("debug-node")
    arrange(made)
    return made


def client_for(cluster: FakeCluster) -> KubeClient:
    return KubeClient(load(str(cluster.kubeconfig), None, None), timeout=10)


def credentialed_request(client: KubeClient, images: Sequence[str], secret=None, timeout: int = 10) -> ProbeRequest:
    """What `pod web --on-node --with-credentials [--secret NS/NAME]` asks for."""
    snapshot = gather_pod(client, APP_NAMESPACE, "web")
    request = node_request(NODE, images=images, registries=(), probe_image=None, namespace=None, timeout=timeout)
    return with_pod_credentials(request, snapshot, secret)


def run_flow(cluster: FakeCluster, steps: List[object], *, log: str = REJECTED_LOG, timeout: int = 10,
             secret_left: bool = False):
    client = client_for(cluster)
    request = credentialed_request(client, [IMAGE], timeout=timeout)
    kubelet = Kubelet(cluster, steps, log)
    kubelet.start()
    messages: List[str] = []
    try:
        return run_probe(client, request, progress=messages.append), kubelet, request, messages
    finally:
        kubelet.done.set()
        kubelet.join(5)
        assert kubelet.error is None, kubelet.error
        assert probe_pods(cluster) == []
        assert (credential_secrets(cluster) != []) == secret_left
        assert_clean(json.dumps(kubelet.pod or {}), "\n".join(messages), repr(request))


# ------------------------------------------------------------------------------------------- lifecycle
def test_success_secret_owned_by_the_pod_mounted_0400_and_deleted_first(cluster: FakeCluster) -> None:
    result, kubelet, request, messages = run_flow(cluster, [RUNNING, "log", SUCCEEDED])
    pod, secret = kubelet.pod, kubelet.secret
    name = pod["metadata"]["name"]
    assert result.credentials_secret == f"{name}-creds" == secret["metadata"]["name"]
    # the Secret: owned by the pod (garbage-collected with it), labelled for cleanup, immutable, Opaque
    assert secret["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": name, "uid": pod["metadata"]["uid"]}]
    assert secret["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubectl-pullcheck",
                                            "app.kubernetes.io/component": "node-probe-credentials"}
    assert secret["type"] == "Opaque" and secret["immutable"] is True and secret["metadata"]["namespace"] == \
        PROBE_NAMESPACE
    user, password = RIGHT
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert base64.b64decode(secret["data"]["credentials"]).decode() == f"{IMAGE}\tsecret:shop/right\t{auth}\n"
    # the pod: mounts it read-only, mode 0400, and names a descriptor, never a value
    container = pod["spec"]["containers"][0]
    assert {"name": "pull-credentials", "secret": {"secretName": f"{name}-creds", "defaultMode": 0o400}} in \
        pod["spec"]["volumes"]
    assert {"name": "pull-credentials", "mountPath": "/pullcheck-credentials", "readOnly": True} in \
        container["volumeMounts"]
    assert "env" not in container and "envFrom" not in container
    assert container["command"][:2] == ["/bin/sh", "-c"] and container["command"][-2:] == ["--credentials-fd", "3"]
    assert "3< /pullcheck-credentials/credentials" in container["command"][2]
    # order: pod, then its Secret; on the way out the Secret first, then the pod
    writes = [(r.verb, r.resource) for r in cluster.requests if r.verb in ("create", "delete")]
    assert writes == [("create", "pods"), ("create", "secrets"), ("delete", "secrets"), ("delete", "pods")]
    report = build_report(result)
    outcomes = credential_outcomes(report, request)
    assert [(o.image, o.outcome) for o in outcomes] == [(IMAGE, "credentials-rejected")]
    assert "secret shop/right" in outcomes[0].message
    assert f"deleted Secret {PROBE_NAMESPACE}/{name}-creds" in messages
    assert_clean(render_node(report, "json", color=False), render_node(report, "table", color=False),
                 repr(result), "\n".join(credential_conclusions(report, request)))


def test_failure_probe_image_not_pullable(cluster: FakeCluster) -> None:
    waiting = container_status({"waiting": {"reason": "ErrImagePull", "message": "dial tcp: i/o timeout"}})
    with pytest.raises(ProbeError) as caught:
        run_flow(cluster, [waiting])
    assert "cannot pull the probe image" in caught.value.message
    assert_clean(caught.value.message, caught.value.hint or "")


def test_timeout(cluster: FakeCluster) -> None:
    with pytest.raises(ProbeError) as caught:
        run_flow(cluster, [RUNNING], timeout=2)
    assert caught.value.message.startswith("the probe did not finish within --timeout 2s")


@pytest.mark.parametrize("signum, raised", [(signal.SIGTERM, Interrupted), (signal.SIGINT, KeyboardInterrupt)])
def test_interrupt(cluster: FakeCluster, signum: int, raised: type) -> None:
    with pytest.raises(raised):
        run_flow(cluster, [RUNNING, lambda name: os.kill(os.getpid(), signum)])
    assert cluster.requests.count(verb="delete", resource="secrets") == 1


def test_secrets_create_forbidden_is_one_line_naming_the_permission(cluster: FakeCluster) -> None:
    cluster.faults.forbid(verb="create", resource="secrets")
    with pytest.raises(ProbeError) as caught:
        run_flow(cluster, [RUNNING, "log", SUCCEEDED])
    message = caught.value.message
    assert message.startswith(f"not allowed to create secrets in namespace {PROBE_NAMESPACE} (--with-credentials "
                              "needs create and delete on secrets there): ")
    assert "\n" not in message and "forbidden" in message
    assert cluster.requests.count(verb="delete", resource="pods") == 1


def test_a_secret_that_cannot_be_deleted_is_a_warning_and_cleanup_removes_it(cluster: FakeCluster) -> None:
    cluster.faults.forbid(verb="delete", resource="secrets")
    result, _, _, _ = run_flow(cluster, [RUNNING, "log", SUCCEEDED], secret_left=True)
    assert any(w.startswith(f"could not delete the credentials Secret {PROBE_NAMESPACE}/{result.pod}-creds")
               for w in result.warnings)
    cluster.faults.clear()
    assert cleanup_probe_pods(client_for(cluster), None, True) == \
        f"deleted secret {PROBE_NAMESPACE}/{result.pod}-creds\n"
    assert credential_secrets(cluster) == []
    listed = cluster.requests.filter(verb="list", resource="secrets")
    assert listed and all("PartialObjectMetadataList" in r.accept for r in listed)      # never the values


def test_a_runtime_that_echoes_the_credentials_is_scrubbed_here_too(cluster: FakeCluster) -> None:
    user, password = RIGHT
    leaky = probe_log(record("pull", IMAGE, "fail", (
        f"via ctr\nexit 1\nseconds 0\nauth secret:shop/right\n\nctr: failed: bad auth {user}:{password} "
        f"({base64.b64encode(f'{user}:{password}'.encode()).decode()}) password {password}")))
    result, _, _, _ = run_flow(cluster, [RUNNING, "log", SUCCEEDED], log=leaky + f"noise {password}\n")
    report = build_report(result)
    text = render_node(report, "json", color=False)
    assert "bad auth *** (***) password ***" in text
    assert_clean(text, render_node(report, "table", color=False), repr(result), credentials=[RIGHT], users=False)


# ------------------------------------------------------------------------------------ choosing credentials
def snapshot_with(secrets: dict, pull_secrets: Sequence[str], namespace: str = APP_NAMESPACE) -> PodSnapshot:
    lookups = {}
    for name in pull_secrets:
        if name in secrets:
            registry, user, password = secrets[name]
            decoded = decode_pull_secret(dockerconfigjson_secret(name, namespace, registry, user, password))
            lookups[name] = SecretLookup(name=name, status="found", decoded=decoded)
        else:
            lookups[name] = SecretLookup(name=name, status="missing")
    pod = {"metadata": {"name": "web", "namespace": namespace},
           "spec": {"imagePullSecrets": [{"name": n} for n in pull_secrets]}}
    return PodSnapshot(pod=pod, events=None, secrets=lookups)


def test_the_kubelets_choice_and_order_per_image() -> None:
    snapshot = snapshot_with({"quay": ("quay.io", "q", "qpw"), "host-wide": (REGISTRY, *RIGHT),
                              "path-scoped": (f"{REGISTRY}/private", *WRONG)},
                             ["gone", "quay", "host-wide", "path-scoped"])
    images = [IMAGE, "quay.io/team/tool:1", f"{REGISTRY}/public/app:1", "busybox:1.36"]
    chosen = pod_credentials(snapshot, images)
    # the longer (path) key first, then the host key: the order the kubelet tries them in
    assert [o.label for o in chosen.for_image(IMAGE)] == ["secret:shop/path-scoped", "secret:shop/host-wide"]
    assert [o.label for o in chosen.for_image("quay.io/team/tool:1")] == ["secret:shop/quay"]
    assert [o.label for o in chosen.for_image(f"{REGISTRY}/public/app:1")] == ["secret:shop/host-wide"]
    assert chosen.for_image("busybox:1.36") == ()
    assert chosen.notes == (
        "pull secret gone does not exist in namespace shop: the kubelet skips it, and so does the node pull",
        "busybox:1.36: no pull secret matches docker.io: pulled anonymously, as the kubelet does")
    lines = chosen.secret_file(images).decode().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [
        [IMAGE, "secret:shop/path-scoped"], [IMAGE, "secret:shop/host-wide"],
        ["quay.io/team/tool:1", "secret:shop/quay"], [f"{REGISTRY}/public/app:1", "secret:shop/host-wide"]]
    assert base64.b64decode(lines[0].split("\t")[2]).decode() == "{}:{}".format(*WRONG)
    request = ProbeRequest(node=NODE, images=tuple(images), credentials=chosen)
    assert_clean(repr(request), repr(chosen), str(request))
    assert request == ProbeRequest(node=NODE, images=tuple(images))       # credentials are not compared either


def test_a_candidate_secret_replaces_the_pods_and_its_namespace_is_checked() -> None:
    snapshot = snapshot_with({"wrong": (REGISTRY, *WRONG)}, ["wrong"])
    candidate = decode_pull_secret(dockerconfigjson_secret("fixed", "staging", REGISTRY, *RIGHT))
    chosen = pod_credentials(snapshot, [IMAGE], candidate)
    assert [o.label for o in chosen.for_image(IMAGE)] == ["secret:staging/fixed"]
    assert chosen.candidate == "staging/fixed"
    assert chosen.notes == ("secret staging/fixed is in namespace staging, the pod in shop: the kubelet reads pull "
                            "secrets from the pod's namespace only, so copy it there to use it",)
    assert chosen.secret_values()[0] == base64.b64encode("{}:{}".format(*RIGHT).encode()).decode()


# ---------------------------------------------------------------------------------------- the outcome
def report_with(status: str, detail: str, cause: Optional[str] = None) -> NodeReport:
    check = NodeCheck("pull", IMAGE, status, "summary", cause=cause, detail=detail)
    return NodeReport(node=NODE, pod="p", namespace=PROBE_NAMESPACE, probe_image="busybox", seconds=0.1,
                      complete=True, checks=[check])


OK_WITH = "via ctr\nexit 0\nseconds 1\nauth secret:shop/right"
FAIL_WITH = "via ctr\nexit 1\nseconds 1\nauth secret:shop/right\n\nctr: failed"


@pytest.mark.parametrize("status, detail, cause, candidate, outcome, words", [
    ("ok", OK_WITH, None, False, "works-with-credentials", "the pod's configuration is what is wrong"),
    ("ok", OK_WITH, None, True, "works-with-credentials", "list secret right in the pod's imagePullSecrets"),
    ("ok", "via ctr\nexit 0\nseconds 1\nauth none", None, False, "works-anonymously",
     "the registry does not even need credentials"),
    ("fail", FAIL_WITH, "auth-missing", False, "credentials-rejected", "these credentials are rejected"),
    ("fail", FAIL_WITH, "auth-or-not-found", False, "credentials-rejected", "or the repository does not exist"),
    ("fail", FAIL_WITH.replace("secret:shop/right", "none"), "auth-missing", False, "credentials-needed",
     "no pull secret matches it"),
    ("fail", FAIL_WITH, "tag-not-found", False, "not-found-with-credentials", "the image reference is wrong"),
    ("fail", FAIL_WITH, "dns", False, "registry-unreachable", "cannot reach the registry (dns)"),
    ("fail", FAIL_WITH, "tls", False, "registry-unreachable", "the credentials were not even checked"),
    ("fail", FAIL_WITH, "registry-error", False, "pull-failed", "not the credentials"),
    ("skip", "not pulled: nerdctl takes credentials only from a docker config file", None, False, "not-pulled",
     "not pulled on node vm: summary"),
])
def test_outcomes(status: str, detail: str, cause: Optional[str], candidate: bool, outcome: str, words: str) -> None:
    secret = decode_pull_secret(dockerconfigjson_secret("right", APP_NAMESPACE, REGISTRY, *RIGHT)) \
        if candidate else None
    chosen = pod_credentials(snapshot_with({"right": (REGISTRY, *RIGHT)}, ["right"]), [IMAGE], secret)
    request = ProbeRequest(node=NODE, images=(IMAGE,), credentials=chosen)
    (found,) = credential_outcomes(report_with(status, detail, cause), request)
    assert found.outcome == outcome and words in found.message and found.message.startswith(IMAGE + ": ")


# ----------------------------------------------------------------- the real runtime and registry as the node
class RealKubelet(threading.Thread):
    """Runs the probe pod's real command on this machine: the Secret becomes a 0400 file (the kubelet's
    secret volume), `chroot /host` is dropped, and the output becomes the pod's log."""

    def __init__(self, cluster: FakeCluster, containerd_pid: int, volume: Path) -> None:
        super().__init__(daemon=True)
        self.cluster, self.containerd_pid, self.volume = cluster, containerd_pid, volume
        self.pod: Optional[dict] = None
        self.log = ""
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 30
            while not probe_pods(self.cluster) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.pod = probe_pods(self.cluster)[0]
            name = self.pod["metadata"]["name"]
            secret = None
            while secret is None and time.monotonic() < deadline:
                secret = self.cluster.get("Secret", f"{name}-creds", PROBE_NAMESPACE)
                time.sleep(0.02)
            mode = next(v["secret"]["defaultMode"] for v in self.pod["spec"]["volumes"] if "secret" in v)
            for key, value in secret["data"].items():
                (self.volume / key).write_bytes(base64.b64decode(value))
                (self.volume / key).chmod(mode)
            command = self.pod["spec"]["containers"][0]["command"]
            wrapper = command[2].replace("chroot /host ", "").replace(podspec.CREDENTIALS_MOUNT, str(self.volume))
            done = subprocess.run([command[0], command[1], wrapper, *command[3:]], capture_output=True, text=True,
                                  timeout=90, env={"PATH": os.environ["PATH"],
                                                   "PULLCHECK_RUNTIME_PID": str(self.containerd_pid)})
            self.log = done.stdout + done.stderr
            self.cluster.set_log(name, podspec.CONTAINER, self.log, PROBE_NAMESPACE)
            self.cluster.modify("Pod", name, lambda p: p.update(status={"phase": "Succeeded", "containerStatuses": [
                {"name": podspec.CONTAINER, "state": {"terminated": {"exitCode": done.returncode,
                                                                     "containerID": "containerd://1"}}}]}),
                PROBE_NAMESPACE)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.mark.parametrize("registry_fixture, pull_secrets, candidate, outcome", [
    ("basic_registry", ["right"], None, "works-with-credentials"),
    ("basic_registry", ["wrong"], None, "credentials-rejected"),
    ("basic_registry", ["wrong", "right"], None, "works-with-credentials"),   # the kubelet tries the next one
    ("basic_registry", ["wrong"], "right", "works-with-credentials"),   # --secret: a candidate fix, before applying it
    ("basic_registry", [], None, "credentials-needed"),
    # Bearer token auth: containerd trades the credentials for a token at the realm the registry names
    ("token_registry", ["right"], None, "works-with-credentials"),
    ("token_registry", ["wrong"], None, "credentials-rejected"),
    ("token_registry", [], None, "credentials-needed"),
])
def test_authenticated_node_pull_against_containerd_and_an_auth_registry(
        fake_cluster_factory, containerd_node, request, tmp_path: Path, monkeypatch, capsys, registry_fixture: str,
        pull_secrets: List[str], candidate: Optional[str], outcome: str) -> None:
    from pullcheck.probing import read_secret
    from tests.harness import PASSWORD, USER

    registry = request.getfixturevalue(registry_fixture)
    image = f"{registry.host}/private/hello:v1"
    containerd_node.remove_image(image)
    cluster = fake_cluster_factory("debug-node")
    arrange(cluster, pull_secrets, image=image, registry=registry.host, right=(USER, PASSWORD))
    client = client_for(cluster)
    secret = read_secret(client, f"{APP_NAMESPACE}/{candidate}") if candidate else None
    request = credentialed_request(client, [image], secret, timeout=60)
    volume = tmp_path / "volume"
    volume.mkdir()
    kubelet = RealKubelet(cluster, containerd_node.pid, volume)
    kubelet.start()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)          # progress lines, as on a terminal
    report = run_node_report(client, request)                         # what the CLI runs
    kubelet.join(10)
    assert kubelet.error is None, kubelet.error
    conclusions = credential_conclusions(report, request)
    (found,) = credential_outcomes(report, request)
    assert found.outcome == outcome, (found.message, kubelet.log)
    pull = next(c for c in report.checks if c.check == "pull")
    assert pull.subject == image and ("auth secret:shop/" in pull.detail or not pull_secrets)
    if pull_secrets == ["wrong", "right"]:
        assert "attempt 2 of 2" in pull.detail and "attempt 1 with secret:shop/wrong" in pull.detail
    if registry.token_server is not None and pull_secrets:     # containerd asked the realm with the credentials
        assert any(r.method == "POST" and r.user == USER for r in registry.token_server.requests)
    assert probe_pods(cluster) == [] and credential_secrets(cluster) == []
    out, err = capsys.readouterr()
    assert "creating Secret kube-system/" in err and "deleted Secret kube-system/" in err
    bundle = tmp_path / "bundle.json"
    save_bundle(gather_pod(client, APP_NAMESPACE, "web"), str(bundle))
    everything = [out, err, json.dumps(kubelet.pod), kubelet.log, render_node(report, "json", color=False),
                  render_node(report, "table", color=False), "\n".join(conclusions), repr(request)]
    assert_clean(*everything, credentials=[(USER, PASSWORD), WRONG])
    assert_clean(bundle.read_text(), credentials=[(USER, PASSWORD), WRONG], users=False)   # bundles keep users


# ------------------------------------------------------------------------------------------- the CLI
def test_pod_on_node_with_credentials_through_the_cli(cluster: FakeCluster, capsys) -> None:
    from tests.test_pod_cli import run

    kubelet = Kubelet(cluster, [RUNNING, "log", SUCCEEDED])
    kubelet.start()
    try:
        code, out, err = run(capsys, "pod", "web", "-n", APP_NAMESPACE, "--on-node", "--with-credentials",
                             "--kubeconfig", str(cluster.kubeconfig))
    finally:
        kubelet.done.set()
        kubelet.join(5)
    assert kubelet.error is None and code == 1, err
    assert "credentials" in out and "rejected" in out
    assert any(line.startswith("pull ") and "auth-rejected" in line for line in out.splitlines())
    assert probe_pods(cluster) == [] and credential_secrets(cluster) == []
    assert_clean(out, err, json.dumps(kubelet.pod or {}), users=False)   # the audit names users, never passwords
    code, _, err = run(capsys, "pod", "web", "-n", APP_NAMESPACE, "--with-credentials",
                       "--kubeconfig", str(cluster.kubeconfig))
    assert code == 2 and "need --on-node" in err
    code, _, err = run(capsys, "pod", "web", "-n", APP_NAMESPACE, "--on-node", "--with-credentials", "--no-creds",
                       "--kubeconfig", str(cluster.kubeconfig))
    assert code == 2 and "exclude each other" in err
