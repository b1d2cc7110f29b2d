"""Pull-secret audit rules on in-memory snapshots (the fake-API tests cover the same through the CLI)."""
from datetime import datetime, timezone

from pullcheck.audit import audit_image, pod_findings
from pullcheck.reference import parse
from pullcheck.secrets import decode_pull_secret
from pullcheck.snapshot import PodSnapshot, SecretLookup
from tests.captures import capture_pod
from tests.fakeapi import dockerconfigjson_secret, service_account

NS = "rig-cases"
NOW = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)


def snapshot(pod_secrets, sa_secrets, existing):
    pod = capture_pod("auth-no-secret")
    if pod_secrets:
        pod["spec"]["imagePullSecrets"] = [{"name": n} for n in pod_secrets]
    secrets = {}
    for name in set(pod_secrets) | set(sa_secrets):
        if name in existing:
            raw = existing[name]
            secrets[name] = SecretLookup(name=name, status="found", decoded=decode_pull_secret(raw))
        else:
            secrets[name] = SecretLookup(name=name, status="missing", elsewhere="checked")
    return PodSnapshot(pod=pod, events=[], service_account=service_account("default", NS, sa_secrets),
                       service_account_status="found", secrets=secrets)


def test_pod_level_secrets_hide_the_service_accounts():
    good = dockerconfigjson_secret("sa-cred", NS, "127.0.0.1:5101", "u", "p")
    other = dockerconfigjson_secret("pod-cred", NS, "ghcr.io", "u", "p")
    snap = snapshot(["pod-cred"], ["sa-cred"], {"sa-cred": good, "pod-cred": other})
    audit = audit_image(snap, parse("127.0.0.1:5101/private/busybox:1.35"), NOW)
    assert audit.kubelet_has_credentials is False
    rows = {r.name: (r.source, r.matches, r.used_by_kubelet) for r in audit.rows}
    assert rows == {"pod-cred": ("pod", False, True), "sa-cred": ("serviceaccount", True, False)}
    assert any("hide the service account's" in f for f in pod_findings(snap))


def test_missing_secret_nowhere_else_and_empty_service_account():
    snap = snapshot(["gone"], [], {})
    findings = pod_findings(snap)
    assert 'secret "gone" referenced by the pod does not exist in namespace rig-cases (nor in any other namespace)' \
        in findings
    snap = snapshot([], [], {})
    assert pod_findings(snap) == ["neither the pod nor service account default has any imagePullSecrets"]


def test_wrong_secret_type_is_a_finding_not_a_crash():
    opaque = dockerconfigjson_secret("opaque", NS, "127.0.0.1:5101", "u", "p")
    opaque["type"] = "Opaque"
    snap = snapshot(["opaque"], [], {"opaque": opaque})
    audit = audit_image(snap, parse("127.0.0.1:5101/private/busybox:1.35"), NOW)
    assert audit.kubelet_has_credentials is False
    assert any(f.startswith("secret opaque: ") for f in pod_findings(snap))
