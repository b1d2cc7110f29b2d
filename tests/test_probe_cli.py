"""`pod --probe` and `image REF` end to end: the CLI as a subprocess (and once through the real kubectl)
against the fake API server and the harness's real registries, DNS server and misbehaving peers."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.fakeapi import dockerconfigjson_secret
from tests.fakeapi.capture import CAPTURES
from tests.fakeapi.kubectl import kubectl_binary
from tests.harness import PASSWORD, USER
from tests.harness.servers import BlackHole, closed_port

PLUGIN = str(Path(sys.executable).parent / "kubectl-pullcheck")
NAMESPACE = "rig-cases"
WRONG_PASSWORD = "Wr0ng-Pa55-q7Zx"
FORBIDDEN_BYTES = [PASSWORD, WRONG_PASSWORD,
                   base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
                   base64.b64encode(f"{USER}:{WRONG_PASSWORD}".encode()).decode()]
TOKEN_MESSAGE = ('Failed to pull image "{image}": failed to pull and unpack image "{image}": failed to resolve '
                 'reference "{image}": pull access denied, repository does not exist or may require '
                 'authorization: server message: insufficient_scope: authorization failed')


def pullcheck(*args: str, kubeconfig: Path | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env["NO_COLOR"] = "1"
    command = [PLUGIN, *args] + (["--kubeconfig", str(kubeconfig)] if kubeconfig else [])
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


def as_json(result: subprocess.CompletedProcess) -> dict:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def case_pod(tmp_path: Path, case: str, name: str, image: str, secrets: tuple[str, ...] = (),
             message: str | None = None) -> Path:
    """A capture case made into pod NAME pulling IMAGE: the image (and the error text, if given) rewritten
    in the pod and its events, a fresh uid, and the pull secrets listed in the pod spec."""
    folder = CAPTURES / case
    pod = json.loads((folder / "pod.json").read_text())
    old_image, old_uid = pod["spec"]["containers"][0]["image"], pod["metadata"]["uid"]
    texts = {}
    for file in ("pod.json", "events.json"):
        text = (folder / file).read_text().replace(old_image, image).replace(old_uid, str(uuid.uuid4()))
        texts[file] = text.replace(f'"{case}"', f'"{name}"').replace(f'"{case}.', f'"{name}.')
    pod = json.loads(texts["pod.json"])
    events = json.loads(texts["events.json"])
    pod["metadata"].pop("annotations", None)
    if secrets:
        pod["spec"]["imagePullSecrets"] = [{"name": s} for s in secrets]
    if message is not None:
        for event in events["items"]:
            if event["reason"] == "Failed" and event["message"].startswith("Failed to pull image"):
                event["message"] = message
        for status in pod["status"]["containerStatuses"]:
            status["state"]["waiting"]["message"] = f'Back-off pulling image "{image}"'
    out = tmp_path / "cases" / name
    out.mkdir(parents=True)
    (out / "pod.json").write_text(json.dumps(pod))
    (out / "events.json").write_text(json.dumps(events))
    return out


@pytest.fixture
def cluster(fake_cluster_factory, tmp_path, plain_registry, basic_registry, token_registry):
    """One fake cluster holding a pod per situation, against the real registries."""
    plain, basic, token = plain_registry.host, basic_registry.host, token_registry.host
    cases = [
        case_pod(tmp_path, "nonexistent-tag", "bad-tag", f"{plain}/test/hello:v1.2.5"),
        case_pod(tmp_path, "nonexistent-repo", "bad-repo", f"{plain}/test/helo:v1"),
        case_pod(tmp_path, "auth-no-secret", "no-secret", f"{basic}/private/hello:v1"),
        case_pod(tmp_path, "auth-wrong-password", "wrong-password", f"{basic}/private/hello:v1", ("wrongcred",)),
        case_pod(tmp_path, "auth-wrong-password", "works-here", f"{basic}/private/hello:v1", ("goodcred", "othercred")),
        case_pod(tmp_path, "nonexistent-repo", "token-missing", f"{token}/private/nosuch:v1", ("tokencred",),
                 message=TOKEN_MESSAGE.format(image=f"{token}/private/nosuch:v1")),
        case_pod(tmp_path, "nonexistent-tag", "arm-only", f"{plain}/test/hello:arm64only"),
        case_pod(tmp_path, "dns-failure", "dns-fail", "nosuch.pullcheck.test/busybox:1.35"),
        case_pod(tmp_path, "nonexistent-tag", "refused-here", f"127.0.0.1:{closed_port()}/test/hello:v1"),
    ]
    fake = fake_cluster_factory(*[str(c) for c in cases], namespace=NAMESPACE)
    fake.create(dockerconfigjson_secret("wrongcred", NAMESPACE, basic, USER, WRONG_PASSWORD))
    fake.create(dockerconfigjson_secret("goodcred", NAMESPACE, basic, USER, PASSWORD))
    fake.create(dockerconfigjson_secret("othercred", NAMESPACE, token, USER, WRONG_PASSWORD))
    fake.create(dockerconfigjson_secret("tokencred", NAMESPACE, token, USER, PASSWORD))
    return fake


def probe_pod(cluster, name: str, *extra: str) -> tuple[dict, dict]:
    result = pullcheck("pod", name, "--probe", "-o", "json", *extra, kubeconfig=cluster.kubeconfig)
    assert result.returncode == 1, result.stderr
    container = as_json(result)["containers"][0]
    return container, container["probe"]


def test_probe_settles_not_found_with_tags_and_repositories(cluster, plain_registry):
    container, probe = probe_pod(cluster, "bad-tag")
    assert container["cause"] == "tag-not-found" and probe["cause"] == "tag-not-found"
    assert "confirmed by the registry probe" in container["verdict"]["settledBy"]
    tags = next(s for s in probe["steps"] if s["step"] == "tags")
    assert tags["status"] == "info" and "v1.2.4" in tags["summary"]
    commands = [s["command"] for s in container["verdict"]["nextSteps"]]
    assert f"kubectl set image pod/bad-tag main={plain_registry.host}/test/hello:v1.2.4 -n rig-cases" in commands

    container, probe = probe_pod(cluster, "bad-repo")        # the kubelet's "not found" reads as a missing tag
    assert probe["cause"] == "image-not-found" and container["cause"] == "image-not-found"
    assert container["verdict"]["settledBy"].startswith("registry probe: repository test/helo does not exist")
    commands = [s["command"] for s in container["verdict"]["nextSteps"]]
    assert f"kubectl set image pod/bad-repo main={plain_registry.host}/test/hello:v1 -n rig-cases" in commands


def test_probe_settles_authentication(cluster, basic_registry):
    container, probe = probe_pod(cluster, "no-secret")
    assert probe["cause"] == "auth-missing" and container["cause"] == "auth-missing"
    assert probe["credentials"] == {"from": "pod", "sources": [], "sameAsKubelet": True}

    container, probe = probe_pod(cluster, "wrong-password")
    assert probe["cause"] == "auth-rejected" and container["cause"] == "auth-rejected"
    credentials = next(s for s in probe["steps"] if s["step"] == "credentials")
    assert credentials["status"] == "failed" and "secret rig-cases/wrongcred" in " ".join(credentials["evidence"])


def test_probe_with_credentials_settles_auth_or_not_found(cluster, token_registry):
    container, probe = probe_pod(cluster, "token-missing")
    assert probe["credentials"]["sources"] == [f"secret {NAMESPACE}/tokencred (user {USER})"]
    assert probe["cause"] == "image-not-found" and container["cause"] == "image-not-found"
    assert container["verdict"]["candidates"] == []


def test_pullable_from_here_points_at_the_node(cluster, basic_registry):
    """The kubelet failed with 401, the pod's secret works from here: say so, and offer the node probe."""
    result = pullcheck("pod", "works-here", "--probe", kubeconfig=cluster.kubeconfig)
    assert result.returncode == 1, result.stderr
    assert "is pullable from this workstation with secret rig-cases/goodcred" in result.stdout
    assert "the workstation's view may differ from the node's" in result.stdout
    assert "kubectl pullcheck pod works-here -n rig-cases --on-node" in result.stdout
    assert "Registry probe (from this workstation):" in result.stdout
    # only the secret for the image's host was offered
    assert "othercred" not in result.stdout.split("Registry probe")[1]
    container, probe = probe_pod(cluster, "works-here")
    assert probe["pullable"] and probe["credentials"]["sources"] == [f"secret {NAMESPACE}/goodcred (user {USER})"]
    assert container["cause"] == "auth-rejected"     # the kubelet's own answer stays


def test_platform_from_the_pod_node(cluster):
    container, probe = probe_pod(cluster, "arm-only")
    assert probe["platform"] == "linux/amd64"
    assert probe["cause"] == "platform-mismatch" and container["cause"] == "platform-mismatch"


def test_network_answers_confirm_but_never_overrule_the_kubelet(cluster, dns_server):
    container, probe = probe_pod(cluster, "dns-fail", "--dns-server", dns_server.address)
    assert probe["cause"] == "dns" and container["cause"] == "dns"
    assert "confirmed by the registry probe" in container["verdict"]["settledBy"]

    container, probe = probe_pod(cluster, "refused-here")   # the node reached a registry that said "not found"
    assert probe["cause"] == "connection-refused" and container["cause"] == "tag-not-found"
    texts = [e["text"] for e in container["verdict"]["evidence"]]
    assert any("the workstation's view may differ from the node's" in t for t in texts)
    assert container["verdict"]["nextSteps"][-1]["command"] == "kubectl pullcheck pod refused-here -n rig-cases --on-node"


def test_probe_through_real_kubectl_with_secret_option(cluster, tmp_path, token_registry):
    """kubectl dispatches to the plugin; --secret replaces the pod's credentials; -f works with it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(HOME=str(tmp_path), PATH=str(Path(PLUGIN).parent) + os.pathsep + env.get("PATH", ""))
    result = subprocess.run([kubectl_binary(), "pullcheck", "pod", "token-missing", "--probe", "--no-creds",
                             "-o", "json", "--kubeconfig", str(cluster.kubeconfig)],
                            capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 1, result.stderr
    container = json.loads(result.stdout)["containers"][0]
    assert container["probe"]["cause"] == "auth-or-not-found"          # anonymous: still ambiguous
    assert container["probe"]["credentials"] == {"from": "none", "sources": [], "sameAsKubelet": False}

    bundle = tmp_path / "bundle.json"
    saved = pullcheck("pod", "token-missing", "--save", str(bundle), kubeconfig=cluster.kubeconfig)
    assert saved.returncode == 1, saved.stderr
    offline = pullcheck("pod", "-f", str(bundle), "--probe", "-o", "json")
    probe = as_json(offline)["containers"][0]["probe"]
    assert probe["cause"] == "auth-or-not-found" and not probe["credentials"]["sameAsKubelet"]
    assert any("no password" in n or "no pull secret values" in n for n in probe["notes"])
    with_secret = pullcheck("pod", "-f", str(bundle), "--probe", "--secret", f"{NAMESPACE}/tokencred", "-o", "json",
                            kubeconfig=cluster.kubeconfig)
    container = as_json(with_secret)["containers"][0]
    assert container["probe"]["credentials"]["from"] == "secret"
    assert container["cause"] == "image-not-found"


def test_image_command_causes_and_exit_codes(token_registry, plain_registry, tls_registry, dns_server):
    plain = plain_registry.host
    ok = pullcheck("image", f"{plain}/test/hello:v1", f"{plain}/test/hello:multi", "--platform", "linux/arm64")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "yes" in ok.stdout.splitlines()[1]

    hole = BlackHole().start()
    try:
        refused, dns_name = f"127.0.0.1:{closed_port()}/x/y:v1", "nosuch.pullcheck.test:5000/x/y:v1"
        refs = [f"{plain}/test/hello:nope", f"{plain}/nope/hello:v1", f"{token_registry.host}/private/hello:v1",
                refused, dns_name, f"{hole.host}/x/y:v1", f"{tls_registry.host}/test/hello:v1",
                f"{plain}/test/hello:arm64only"]
        result = pullcheck("image", *refs, "--dns-server", dns_server.address, "--timeout", "1.5", "-o", "yaml",
                           "--platform", "linux/amd64")
    finally:
        hole.stop()
    assert result.returncode == 1, result.stderr
    causes = [i["cause"] for i in yaml.safe_load(result.stdout)["images"]]
    assert causes == ["tag-not-found", "image-not-found", "auth-or-not-found", "connection-refused", "dns",
                      "network-timeout", "tls", "platform-mismatch"]

    trusted = pullcheck("image", f"{tls_registry.host}/test/hello:v1", "--ca-file", tls_registry.ca_file)
    assert trusted.returncode == 0, trusted.stdout

    invalid = pullcheck("image", "UPPER/Case:tag", f"{plain}/test/hello:v1", "-o", "json")
    assert invalid.returncode == 2
    images = as_json(invalid)["images"]
    assert images[0]["cause"] == "invalid-reference" and images[1]["pullable"] is True


def test_image_command_with_secret(cluster, basic_registry, token_registry):
    basic = f"{basic_registry.host}/private/hello:v1"
    anonymous = pullcheck("image", basic, "-o", "json")
    assert anonymous.returncode == 1 and as_json(anonymous)["images"][0]["cause"] == "auth-missing"
    with_secret = pullcheck("image", basic, "--secret", f"{NAMESPACE}/goodcred", kubeconfig=cluster.kubeconfig)
    assert with_secret.returncode == 0, with_secret.stdout + with_secret.stderr
    other_host = pullcheck("image", basic, "--secret", f"{NAMESPACE}/tokencred", "-o", "json",
                           kubeconfig=cluster.kubeconfig)
    probe = as_json(other_host)["images"][0]["probe"]
    assert probe["credentials"]["sources"] == [] and "has no credentials for" in probe["notes"][0]
    missing = pullcheck("image", basic, "--secret", "nosuch", kubeconfig=cluster.kubeconfig)
    assert missing.returncode == 2 and 'secret "nosuch" not found' in missing.stderr
    both = pullcheck("image", basic, "--secret", "x", "--no-creds")
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_no_secret_byte_in_any_output(cluster, tmp_path):
    outputs = []
    for name in ("wrong-password", "works-here", "token-missing"):
        for output in ("table", "wide", "json", "yaml"):
            result = pullcheck("pod", name, "--probe", "-o", output, "-v", kubeconfig=cluster.kubeconfig)
            assert result.returncode == 1, result.stderr
            outputs += [result.stdout, result.stderr]
    assert "probing " in outputs[-1]                          # -v logged the probe
    bundle = tmp_path / "saved.json"
    saved = pullcheck("pod", "wrong-password", "--probe", "--save", str(bundle), "-v", kubeconfig=cluster.kubeconfig)
    outputs += [saved.stdout, saved.stderr, bundle.read_text()]
    for secret in ("goodcred", "wrongcred", "tokencred"):
        image = pullcheck("image", "x/y:z", "--secret", f"{NAMESPACE}/{secret}", "-v", "--timeout", "0.5",
                          kubeconfig=cluster.kubeconfig)
        outputs += [image.stdout, image.stderr]
    text = "\n".join(outputs)
    for forbidden in FORBIDDEN_BYTES:
        assert forbidden not in text


def test_probe_options_need_probe(cluster):
    result = pullcheck("pod", "bad-tag", "--no-creds", kubeconfig=cluster.kubeconfig)
    assert result.returncode == 2 and "need --probe" in result.stderr
