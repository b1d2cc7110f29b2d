"""`lint`: rules on real-world manifests (Helm output, Lists, CronJobs with init containers, DaemonSets,
kustomize directories, tab-indented JSON, stdin), line numbers, output formats, --live against the fake
API server, and --probe against the harness's real registries."""
from __future__ import annotations

import datetime
import io
import json
import os
import re
import threading
from pathlib import Path

import pytest
import yaml

from pullcheck.errors import UsageError
from pullcheck.lint.command import run_lint
from pullcheck.lint.manifests import Container, Position, Workload
from pullcheck.lint.rules import LintContext, default_pull_policy, lint_container, parse_allowed_registries
from pullcheck.reference import parse
from tests.fakeapi import dockerconfigjson_secret

DATA = Path(__file__).parent / "data" / "lint"
DIGEST = "sha256:" + "a5d0ce49aa801d475da48f8cb163c354ab95cab073cd3c138bd458fc8257fbf1"


def lint_json(*paths, **options) -> tuple[dict, int]:
    text, code = run_lint([str(p) for p in paths], output="json", **options)
    return json.loads(text), code


def line_of(path: Path, needle: str, after: str | None = None) -> int:
    """1-based number of the first line holding `needle` (after the first line holding `after`)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def keyed(doc: dict) -> set[tuple]:
    return {(f["rule"], f["object"]["kind"], f["object"]["name"], f["container"]["name"]) for f in doc["findings"]}


# -- manifests from files --------------------------------------------------------------------------------------
def test_helm_rendered_stream_with_hooks_and_a_service_account():
    path = DATA / "helm-rendered.yaml"
    doc, code = lint_json(path, namespace="shop")
    assert code == 1
    assert keyed(doc) == {
        ("latest-tag", "Deployment", "shop-web", "wait-for-db"),
        ("no-digest", "Deployment", "shop-web", "web"),
        ("no-digest", "Deployment", "shop-web", "metrics"),
        ("no-pull-secret", "StatefulSet", "shop-worker", "worker"),
        ("latest-tag", "StatefulSet", "shop-worker", "worker"),
        ("pull-policy", "StatefulSet", "shop-worker", "worker"),
        ("invalid-reference", "Job", "shop-migrate", "migrate"),
        ("invalid-pull-policy", "Job", "shop-migrate", "migrate"),
    }
    # ServiceAccount, ConfigMap, Service and the empty `# Source: hpa.yaml` document are not workloads
    assert doc["summary"] == {"errors": 2, "warnings": 4, "info": 2, "images": 6, "containers": 6, "objects": 4,
                              "files": 1, "passed": False, "exitCode": 1}
    by_rule = {(f["rule"], f["container"]["name"]): f for f in doc["findings"]}
    init = by_rule[("latest-tag", "wait-for-db")]
    assert (init["file"], init["line"]) == (str(path), line_of(path, 'image: "busybox"'))
    assert init["container"]["type"] == "init" and init["object"]["namespace"] == "shop"
    assert init["object"]["line"] == line_of(path, "kind: Deployment") - 1      # the document's first key
    invalid = by_rule[("invalid-reference", "migrate")]
    assert invalid["line"] == line_of(path, "Shop/Web") and invalid["severity"] == "error"
    assert "must be lowercase" in invalid["message"]
    assert invalid["fix"] == "write registry.shop.example.com/shop/web:2.3.1"
    assert by_rule[("invalid-pull-policy", "migrate")]["fix"] == "write Always"
    # the Deployment's service account (a document of the same stream) lists a pull secret: no finding for
    # the private registry there; the StatefulSet's `default` account is not in the input
    secret = by_rule[("no-pull-secret", "worker")]
    assert secret["severity"] == "warning" and "service account default is not in the input" in secret["message"]
    assert run_lint([str(path)], warn_only=True)[1] == 0


def test_list_items_are_linted_in_their_namespaces():
    path = DATA / "list.yaml"
    doc, code = lint_json(path)
    assert code == 0
    assert keyed(doc) == {
        ("no-digest", "Deployment", "grafana", "grafana-sc-dashboard"),
        ("latest-tag", "Deployment", "grafana", "grafana"),          # Always on :latest is consistent
        ("no-digest", "DaemonSet", "node-agent", "agent"),           # ECR: nodes pull with their identity
    }
    assert {f["object"]["namespace"] for f in doc["findings"]} == {"monitoring"}
    latest = next(f for f in doc["findings"] if f["rule"] == "latest-tag")
    assert latest["line"] == line_of(path, "grafana/grafana:latest")


def test_cronjob_init_containers_and_the_service_account_in_the_same_file():
    path = DATA / "cronjob.yaml"
    doc, _ = lint_json(path)
    assert keyed(doc) == {
        ("no-pull-secret", "CronJob", "nightly-backup", "fetch-credentials"),
        ("no-digest", "CronJob", "nightly-backup", "fetch-credentials"),
        ("never-pull", "CronJob", "nightly-backup", "prepare"),
        ("no-digest", "CronJob", "nightly-backup", "prepare"),
        ("no-pull-secret", "CronJob", "nightly-backup", "backup"),
        ("latest-tag", "CronJob", "nightly-backup", "backup"),
        ("pull-policy", "CronJob", "nightly-backup", "backup"),
    }
    types = {f["container"]["name"]: f["container"]["type"] for f in doc["findings"]}
    assert types == {"fetch-credentials": "init", "prepare": "init", "backup": "container"}
    secret = next(f for f in doc["findings"] if f["rule"] == "no-pull-secret")
    assert "service account backup has none" in secret["message"]
    assert secret["line"] == line_of(path, "vault-agent")
    policy = next(f for f in doc["findings"] if f["rule"] == "pull-policy")
    assert "no tag" in policy["message"]
    assert policy["line"] == line_of(path, "imagePullPolicy: IfNotPresent", after="ops/pg-backup")


def test_a_service_account_with_pull_secrets_covers_its_namespace_only(tmp_path):
    text = (DATA / "cronjob.yaml").read_text()
    with_secret = text + "imagePullSecrets:\n- name: internal-registry\n"
    (tmp_path / "covered.yaml").write_text(with_secret)
    assert "no-pull-secret" not in {f["rule"] for f in lint_json(tmp_path / "covered.yaml")[0]["findings"]}
    (tmp_path / "elsewhere.yaml").write_text(with_secret.replace("  namespace: ops\nautomount",
                                                                 "  namespace: other\nautomount"))
    found = lint_json(tmp_path / "elsewhere.yaml")[0]["findings"]
    assert any(f["rule"] == "no-pull-secret" and "is not in the input" in f["message"] for f in found)


def test_daemonset_digest_with_always_is_clean_and_cloud_registries_need_no_secret():
    doc, code = lint_json(DATA / "daemonset.yaml")
    assert code == 0
    assert keyed(doc) == {("no-digest", "DaemonSet", "node-exporter", "kube-rbac-proxy")}
    assert doc["summary"]["containers"] == 2


def test_kustomize_directory_is_walked_and_flagged():
    folder = DATA / "kustomize"
    doc, _ = lint_json(folder)
    assert doc["source"]["files"] == [str(folder / p) for p in (
        "base/deployment.yaml", "base/kustomization.yaml", "base/service.yaml",
        "overlays/prod/kustomization.yaml", "overlays/prod/replicas-patch.yaml")]
    assert keyed(doc) == {("latest-tag", "Deployment", "api", "api")}
    assert doc["findings"][0]["line"] == line_of(folder / "base/deployment.yaml", "image: api")
    # the overlay's patch is a Deployment whose container has no image: nothing to lint there
    assert doc["summary"]["objects"] == 2 and doc["summary"]["containers"] == 1
    assert [n.split(" is a kustomization")[0] for n in doc["notes"]] == [str(folder / "base"),
                                                                         str(folder / "overlays/prod")]
    assert "kubectl kustomize" in doc["notes"][0]


def test_tab_indented_json_pod_list_with_an_ephemeral_container():
    path = DATA / "pods.json"
    doc, _ = lint_json(path)
    assert keyed(doc) == {("no-digest", "Pod", "debug-target", "app"),
                          ("latest-tag", "Pod", "debug-target", "debugger-7xk2p"),
                          ("pull-policy", "Pod", "debug-target", "debugger-7xk2p")}
    debugger = next(f for f in doc["findings"] if f["rule"] == "latest-tag")
    assert debugger["container"]["type"] == "ephemeral"
    assert debugger["line"] == line_of(path, "nicolaka/netshoot") and debugger["column"] == 7


def test_broken_yaml_is_a_usage_error_with_file_and_line():
    with pytest.raises(UsageError) as caught:
        run_lint([str(DATA / "broken.yaml")])
    assert re.match(r".*broken\.yaml:11:8: invalid YAML: ", caught.value.message)
    assert "\n" not in caught.value.message


def test_stdin_anchors_merge_keys_and_kinds_from_other_groups():
    stream = """\
# Source: app/templates/all.yaml
---
---
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: not-a-batch-job}
spec:
  template:
    spec:
      containers: [{name: x, image: "INVALID"}]
---
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: legacy
  namespace: old
spec:
  template:
    spec:
      containers:
      - &app
        name: app
        image: nginx:1.25@%s
      - <<: *app
        name: sidecar
        imagePullPolicy: Never
""" % DIGEST
    text, code = run_lint(["-"], stdin=io.StringIO(stream), output="json")
    doc = json.loads(text)
    assert code == 0 and doc["source"]["files"] == ["<stdin>"]
    assert keyed(doc) == {("never-pull", "Deployment", "legacy", "sidecar")}
    assert doc["findings"][0]["line"] == 26          # policy findings point at imagePullPolicy
    github, _ = run_lint(["-"], stdin=io.StringIO(stream), output="github")
    assert github.splitlines()[0].startswith("::warning title=never-pull::Deployment old/legacy container sidecar")


def test_a_pipe_is_read_like_a_file(tmp_path):
    fifo = tmp_path / "rendered"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text((DATA / "daemonset.yaml").read_text()))
    writer.start()
    doc, _ = lint_json(fifo)
    writer.join()
    assert keyed(doc) == {("no-digest", "DaemonSet", "node-exporter", "kube-rbac-proxy")}


def test_input_without_workloads_passes_with_a_note(tmp_path):
    (tmp_path / "empty.yaml").write_text("---\n# Source: chart/templates/hpa.yaml\n---\n")
    (tmp_path / "config.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n- a\n")
    text, code = run_lint([str(tmp_path / "empty.yaml"), str(tmp_path / "config.yaml")])
    assert code == 0
    assert text.splitlines() == [
        "Notes:", f"- {tmp_path / 'config.yaml'}: document 2 is not an object: ignored",
        "- no workload objects found (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, "
        "Job, CronJob, or a List of them)",
        "", "no findings in 0 images across 0 objects in 2 files"]


@pytest.mark.parametrize("image, policy, rules", [
    ("nginx", None, {"latest-tag"}),                                     # defaults to Always: consistent
    ("nginx:latest", "IfNotPresent", {"latest-tag", "pull-policy"}),
    ("nginx", "Never", {"latest-tag", "never-pull"}),
    (f"nginx:latest@{DIGEST}", None, set()),                             # the digest decides what is pulled
    (f"nginx@{DIGEST}", "Always", set()),
    (f"nginx@{DIGEST}", "IfNotPresent", set()),
    ("nginx:1.25", None, {"no-digest"}),
    ("nginx:1.25", "Never", {"never-pull", "no-digest"}),
    ("nginx:1.25", "ifnotpresent", {"invalid-pull-policy", "no-digest"}),
    ("nginx:Latest", "IfNotPresent", {"no-digest"}),                     # only "latest" is special
    ("Nginx:1.25", None, {"invalid-reference"}),
])
def test_tag_and_pull_policy_rules(image, policy, rules):
    assert {f.rule for f in lint_one(image, policy)} == rules


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), (f"nginx:latest@{DIGEST}", "Always"),
    (f"nginx@{DIGEST}", "IfNotPresent"), ("nginx:1.25", "IfNotPresent"), ("localhost:5000/app", "Always"),
])
def test_default_pull_policy_is_the_api_servers(image, policy):
    assert default_pull_policy(parse(image)) == policy


@pytest.mark.parametrize("image, fix", [
    ("Nginx:1.25", "write nginx:1.25"),
    ("https://ghcr.io/acme/api:1.0", "write ghcr.io/acme/api:1.0"),
    ("nginx:", "write nginx"),
    ("{{ .Values.image.repository }}:{{ .Values.image.tag }}", "render it first"),
    ("registry.example.com/app:${TAG}", "render it first"),
    ("", "[registry[:port]/]repository"),
    (42, "[registry[:port]/]repository"),
    (datetime.date(2024, 5, 1), "[registry[:port]/]repository"),       # `image: 2024-05-01` in YAML
])
def test_invalid_references_come_with_a_fix(image, fix):
    found = lint_one(image, None)
    assert [f.rule for f in found] == ["invalid-reference"] and found[0].severity == "error"
    assert fix in found[0].fix


def lint_one(image, policy, *, secrets=(), allowed=(), accounts=None):
    spec = {"imagePullSecrets": [{"name": s} for s in secrets]} if secrets else {}
    container = Container("app", "container", image, policy, Position("x.yaml", 3, 5), Position("x.yaml", 4, 5))
    workload = Workload("Deployment", "shop", "web", spec, [container], Position("x.yaml", 1, 1))
    ctx = LintContext(accounts or {}, False, parse_allowed_registries(allowed))
    return lint_container(workload, container, ctx)


@pytest.mark.parametrize("allowed, image, ok", [
    (["ghcr.io/acme"], "ghcr.io/acme/api:1", True),
    (["ghcr.io/acme"], "ghcr.io/acmeinc/api:1", False),
    (["*.dkr.ecr.us-east-1.amazonaws.com"], "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1", True),
    (["*.example.com"], "a.b.example.com/a:1", False),                  # one label per glob, as the kubelet
    (["docker.io"], "nginx:1", True),
    (["index.docker.io/library"], "nginx:1", True),
    (["localhost:5000"], "localhost:5001/app:1", False),
    (["REGISTRY.example.com/"], "registry.example.com/app:1", True),
])
def test_allowed_registries(allowed, image, ok):
    found = [f for f in lint_one(image, None, secrets=["s"], allowed=allowed) if f.rule == "registry-not-allowed"]
    assert not found if ok else found[0].severity == "error"


def test_registry_not_allowed_offers_the_mirrored_name():
    found = next(f for f in lint_one("nginx:1.25", None, allowed=["registry.corp.example/mirror"])
                 if f.rule == "registry-not-allowed")
    assert found.message == "registry docker.io is not allowed (registry.corp.example/mirror)"
    assert found.fix.endswith("e.g. registry.corp.example/mirror/nginx:1.25")


def test_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        run_lint([str(tmp_path / "missing.yaml")])
    with pytest.raises(UsageError, match="needs -f"):
        run_lint([])
    with pytest.raises(UsageError, match="--platform needs --probe"):
        run_lint([str(DATA / "list.yaml")], platform="linux/arm64")
    with pytest.raises(UsageError, match="expected os/arch"):
        run_lint([str(DATA / "list.yaml")], probe=True, platform="arm64")
    with pytest.raises(UsageError, match="unknown rule 'latest'"):
        run_lint([str(DATA / "list.yaml")], ignore_rules=["latest"])
    with pytest.raises(UsageError, match="without a scheme"):
        run_lint([str(DATA / "list.yaml")], allowed_registries=["https://ghcr.io"])
    with pytest.raises(UsageError, match="lint output"):
        run_lint([str(DATA / "list.yaml")], output="xml")
    (tmp_path / "latin1.yaml").write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        run_lint([str(tmp_path / "latin1.yaml")])


# -- output ---------------------------------------------------------------------------------------------------------
def test_table_groups_findings_by_container_and_ends_with_a_summary():
    text, _ = run_lint([str(DATA / "cronjob.yaml"), str(DATA / "list.yaml")], ignore_rules=["no-digest"])
    lines = text.splitlines()
    path = DATA / "cronjob.yaml"
    assert lines[0] == (f"{path}:{line_of(path, 'vault-agent')}  CronJob ops/nightly-backup  init container "
                        "fetch-credentials  registry.internal.example.com:5000/ops/vault-agent:1.15.6")
    assert re.match(r"  warning  no-pull-secret +private-looking registry", lines[1])
    assert lines[2].strip().startswith("fix: list a pull secret for registry.internal.example.com:5000")
    assert lines[-1] == "6 warnings in 6 images across 3 objects in 2 files (ignored: no-digest)"
    assert "no-digest" not in text.replace("(ignored: no-digest)", "")


def test_wide_has_one_line_per_finding_and_the_fix_column():
    text, _ = run_lint([str(DATA / "cronjob.yaml")], output="wide")
    header, *rows = text.splitlines()[:8]
    assert header.split() == ["LOCATION", "SEVERITY", "RULE", "OBJECT", "CONTAINER", "IMAGE", "MESSAGE", "FIX"]
    assert len(rows) == 7 and all(str(DATA / "cronjob.yaml") in row for row in rows)


def test_json_and_yaml_share_a_stable_schema():
    doc, _ = lint_json(DATA / "cronjob.yaml")
    assert list(doc) == ["apiVersion", "kind", "source", "summary", "findings", "probe", "ignoredRules", "notes"]
    assert (doc["apiVersion"], doc["kind"], doc["probe"]) == ("pullcheck/v1", "LintReport", None)
    assert list(doc["findings"][0]) == ["rule", "severity", "message", "fix", "file", "line", "column", "object",
                                        "container", "image"]
    text, _ = run_lint([str(DATA / "cronjob.yaml")], output="yaml")
    assert yaml.safe_load(text) == doc


def test_github_annotations_escape_properties_and_data(tmp_path):
    odd = tmp_path / "a,b:c.yaml"
    odd.write_text("kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec:\n  containers:\n"
                   "  - {name: c, image: 'Bad%Image'}\n")
    text, code = run_lint([str(odd)], output="github")
    first, summary = text.splitlines()
    escaped = str(odd).replace(",", "%2C").replace(":", "%3A")
    assert first.startswith(f"::error file={escaped},line=6,col=15,title=invalid-reference::Pod default/p "
                            "container c (Bad%25Image): not a valid image reference")
    assert summary == "1 error in 1 image across 1 object in 1 file" and code == 1


# -- --live -----------------------------------------------------------------------------------------------------------
def _template(image: str, service_account: str | None = None) -> dict:
    spec = {"containers": [{"name": "main", "image": image}]}
    if service_account:
        spec["serviceAccountName"] = service_account
    return {"metadata": {"labels": {"app": "x"}}, "spec": spec}


def _owned(kind: str, name: str, owner_kind: str, owner_version: str) -> dict:
    return {"metadata": {"name": name, "namespace": "shop", "ownerReferences": [
        {"apiVersion": owner_version, "kind": owner_kind, "name": "owner", "uid": "u-1", "controller": True}]}}


@pytest.fixture
def live_cluster(fake_cluster):
    cluster = fake_cluster
    private = "registry.shop.example.com/shop"
    cluster.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "shop"},
                    "imagePullSecrets": [{"name": "regcred"}]})
    cluster.create(dockerconfigjson_secret("regcred", "shop", "registry.shop.example.com", "ci", "hunter2-pw"))
    cluster.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"selector": {}, "template": _template(f"{private}/web:1.0", "builder")}})
    cluster.create(dict(_owned("ReplicaSet", "web-5d8f", "Deployment", "apps/v1"), apiVersion="apps/v1",
                        kind="ReplicaSet", spec={"selector": {}, "template": _template(f"{private}/web:1.0")}))
    cluster.create(dict(_owned("Pod", "web-5d8f-x2x9q", "ReplicaSet", "apps/v1"), apiVersion="v1", kind="Pod",
                        spec={"containers": [{"name": "main", "image": f"{private}/web:1.0"}]}))
    cluster.create({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "shop"},
                    "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": _template(
                        f"{private}/report:2.0")}}}})
    cluster.create(dict(_owned("Job", "report-2911", "CronJob", "batch/v1"), apiVersion="batch/v1", kind="Job",
                        spec={"template": _template(f"{private}/report:2.0")}))
    cluster.create(dict(_owned("ReplicaSet", "canary-7c9", "Rollout", "argoproj.io/v1alpha1"), apiVersion="apps/v1",
                        kind="ReplicaSet", spec={"selector": {}, "template": _template(f"nginx@{DIGEST}")}))
    cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "shop"},
                    "spec": {"containers": [{"name": "main", "image": "nicolaka/netshoot"}]}})
    cluster.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "other"},
                    "spec": {"selector": {}, "template": _template("ghcr.io/acme/api")}})
    return cluster


def _client(cluster):
    from pullcheck.kube.client import KubeClient
    from pullcheck.kube.config import load

    return KubeClient(load(str(cluster.kubeconfig), None, None), timeout=10)


def test_live_lints_each_template_once_with_the_service_accounts_known(live_cluster):
    text, code = run_lint([], live_client=_client(live_cluster), namespace="shop", output="json")
    doc = json.loads(text)
    assert doc["source"] == {"mode": "live", "scope": "namespace shop"}
    assert doc["summary"]["objects"] == 4 and doc["notes"] == []   # RCs are not served by the fake: skipped
    assert keyed(doc) == {
        ("no-digest", "Deployment", "web", "main"),                  # builder's pull secret covers it
        ("no-digest", "CronJob", "report", "main"),
        ("no-pull-secret", "CronJob", "report", "main"),
        ("latest-tag", "Pod", "debug", "main"),                      # Always (defaulted by the server): fine
    }                                                                # the Rollout's ReplicaSet: clean
    secret = next(f for f in doc["findings"] if f["rule"] == "no-pull-secret")
    assert "service account default has none" in secret["message"] and secret["file"] is None
    for resource in ("deployments", "replicasets", "cronjobs", "jobs", "pods", "serviceaccounts"):
        assert live_cluster.requests.count(verb="list", resource=resource) == 1
    assert code == 0


def _deployment(name: str, image: str, secrets: list[str]) -> dict:
    template = _template(image)
    template["spec"]["imagePullSecrets"] = [{"name": n} for n in secrets]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"selector": {}, "template": template}}


def _ecr_token(expiration: datetime.datetime) -> str:
    import base64

    token = {"payload": "x", "datakey": "y", "version": "2", "type": "DATA_KEY",
             "expiration": int(expiration.timestamp())}
    return base64.b64encode(json.dumps(token).encode()).decode()


def test_live_checks_the_pull_secrets_the_pods_will_carry(live_cluster):
    cluster = live_cluster
    ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    now = datetime.datetime.now(datetime.timezone.utc)
    cluster.create(dockerconfigjson_secret("other-host", "shop", "registry.other.example.com", "ci", "pw-other-1"))
    cluster.create(dockerconfigjson_secret("ecr-old", "shop", ecr, "AWS", _ecr_token(now - datetime.timedelta(hours=3))))
    cluster.create({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "opaque",
                    "namespace": "shop"}, "data": dict(dockerconfigjson_secret("x", "shop", "registry.shop.example.com",
                                                                               "ci", "pw-opaque-1")["data"])})
    private = "registry.shop.example.com/shop/app:1.0"
    cluster.create(_deployment("gone", private, ["regcred-typo"]))
    cluster.create(_deployment("gone-but-covered", private, ["regcred-typo", "regcred"]))
    cluster.create(_deployment("wrong-host", private, ["other-host"]))
    cluster.create(_deployment("opaque", private, ["opaque"]))
    cluster.create(_deployment("expired", f"{ecr}/app:1.0", ["ecr-old"]))
    cluster.create(_deployment("public", "nginx:1.27.3", ["regcred-typo"]))
    text, code = run_lint([], live_client=_client(cluster), namespace="shop", output="json")
    doc = json.loads(text)
    found = {(f["object"]["name"], f["severity"]): f["message"] for f in doc["findings"] if f["rule"] == "pull-secret"}
    assert set(found) == {("gone", "error"), ("gone-but-covered", "warning"), ("wrong-host", "warning"),
                          ("opaque", "error"), ("expired", "error"), ("public", "warning")}
    assert found[("gone", "error")] == ("the pod lists pull secret regcred-typo, which does not exist in namespace "
                                        "shop: the kubelet pulls without it, and no other listed secret holds "
                                        "credentials for registry.shop.example.com")
    assert found[("wrong-host", "warning")].endswith("holds credentials for registry.shop.example.com: they hold "
                                                     "registry.other.example.com")
    assert found[("opaque", "error")] == "pull secret opaque: wrong type Opaque (the kubelet ignores it)"
    assert found[("expired", "error")].startswith(f"the token for {ecr} in pull secret ecr-old expired at ")
    assert code == 1
    # each secret is read once, by name, whatever the number of templates carrying it; no value is printed
    assert cluster.requests.count(verb="list", resource="secrets") == 0
    assert cluster.requests.count(verb="get", resource="secrets") == 5     # regcred, -typo, other-host, opaque, ecr-old
    for output in ("json", "table", "wide", "yaml"):
        rendered, _ = run_lint([], live_client=_client(cluster), namespace="shop", output=output)
        assert not any(secret in rendered for secret in ("hunter2-pw", "pw-other-1", "pw-opaque-1", "DATA_KEY"))


def test_live_pull_secrets_that_cannot_be_read_are_a_note_not_a_finding(live_cluster):
    live_cluster.create(_deployment("gone", "registry.shop.example.com/shop/app:1.0", ["regcred-typo"]))
    live_cluster.faults.forbid(verb="get", resource="secrets")
    text, _ = run_lint([], live_client=_client(live_cluster), namespace="shop", output="json")
    doc = json.loads(text)
    assert not [f for f in doc["findings"] if f["rule"] == "pull-secret"]
    assert any(n.startswith("pull secrets in namespace shop not read, so not checked: shop/regcred-typo, shop/regcred "
                            "(forbidden: secrets \"regcred-typo\" is forbidden: ")
               for n in doc["notes"])


def test_live_all_namespaces_and_forbidden_kinds(live_cluster):
    live_cluster.faults.forbid(verb="list", resource="cronjobs")
    live_cluster.faults.forbid(verb="list", resource="serviceaccounts")
    text, _ = run_lint([], live_client=_client(live_cluster), all_namespaces=True)
    assert "Deployment other/api  container main  ghcr.io/acme/api" in text
    assert "CronJob" not in text
    assert any(line.startswith("- cronjobs in all namespaces not linted: forbidden") for line in text.splitlines())
    # the service accounts could not be read: the Deployment's `builder` may hold a pull secret or not
    assert "no imagePullSecrets (service account builder could not be read)" in text
    assert "- service accounts in all namespaces not read (forbidden: " in text
    assert text.splitlines()[-1] == "3 warnings, 1 info in 4 images across 4 objects in all namespaces"


def test_live_and_files_exclude_each_other(live_cluster):
    with pytest.raises(UsageError, match="not both"):
        run_lint([str(DATA / "list.yaml")], live_client=_client(live_cluster))


# -- --probe -----------------------------------------------------------------------------------------------------
def test_probe_finds_missing_images_platforms_and_digests(tmp_path, plain_registry, basic_registry):
    from tests.harness.servers import closed_port

    plain, basic = plain_registry.host, basic_registry.host
    refused = f"127.0.0.1:{closed_port()}/x/y:v1"
    images = [f"{plain}/test/hello:v1", f"{plain}/test/hello:v1.2.5", f"{plain}/test/hello:multi",
              f"{basic}/private/hello:v1", refused, f"{plain}/test/hello:v1", f"{plain}/test/helo:v1"]
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "ci"},
             "spec": {"containers": [{"name": "main", "image": image}]}} for i, image in enumerate(images)]
    pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "with-secret", "namespace": "ci"},
                 "spec": {"imagePullSecrets": [{"name": "basic-creds"}],
                          "containers": [{"name": "main", "image": f"{basic}/private/hello:v2"}]}})
    manifest = tmp_path / "pods.yaml"
    manifest.write_text(yaml.safe_dump_all(pods))
    text, code = run_lint([str(manifest)], probe=True, platform="linux/amd64,linux/arm64", output="json")
    doc = json.loads(text)
    assert code == 1
    found = {(f["object"]["name"], f["rule"]): f for f in doc["findings"]}
    assert set(found) == {
        ("p0", "no-digest"), ("p0", "platform-missing"), ("p5", "no-digest"), ("p5", "platform-missing"),
        ("p1", "image-not-found"),                                    # nothing to pin
        ("p2", "no-digest"),
        ("p3", "no-digest"), ("p3", "no-pull-secret"),
        ("p4", "no-digest"), ("p4", "no-pull-secret"), ("p4", "not-verified"),
        ("p6", "image-not-found"),
        ("with-secret", "no-digest"), ("with-secret", "not-verified"),
    }
    digest = plain_registry.images["test/hello:v1"][0]
    assert found[("p0", "no-digest")]["fix"] == f"pin today's digest: {plain}/test/hello:v1@{digest}"
    assert found[("p0", "platform-missing")]["message"].startswith("no linux/arm64 image (serves linux/amd64)")
    assert found[("p1", "image-not-found")]["fix"].startswith(f"use {plain}/test/hello:v1.2.4 (the closest")
    assert found[("p1", "image-not-found")]["message"] == "tag v1.2.5 is not in test/hello (the repository exists)"
    assert found[("p6", "image-not-found")]["fix"].startswith(f"use {plain}/test/hello:v1 (the closest")
    assert found[("p3", "no-digest")]["fix"] == f"pin the digest: {basic}/private/hello:v1@sha256:..."
    assert found[("p3", "no-pull-secret")]["severity"] == "error"        # anonymous pulls refused, no secret
    assert found[("p4", "not-verified")]["severity"] == "warning"
    assert "connection-refused" in found[("p4", "not-verified")]["message"]
    assert found[("p4", "no-pull-secret")]["severity"] == "warning"
    assert found[("with-secret", "not-verified")]["severity"] == "info"
    probes = {p["image"]: p for p in doc["probe"]["images"]}
    assert len(probes) == 7                                           # the repeated image is probed once
    assert probes[f"{plain}/test/hello:multi"]["platforms"] == {"linux/amd64": True, "linux/arm64": True}
    assert probes[f"{plain}/test/hello:v1"]["digest"] == digest
    table, _ = run_lint([str(manifest)], probe=True)
    assert "Registry probe (from this workstation, once per image):" in table


def test_an_annotation_silences_rules_for_its_object_only_and_says_so(tmp_path):
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tools\n  namespace: ops\n  annotations:\n"
        "    pullcheck.io/ignore-rules: latest-tag, no-such-rule\nspec:\n  template:\n    spec:\n      containers:\n"
        "      - {name: a, image: 'busybox'}\n      - {name: b, image: 'alpine:latest', imagePullPolicy: IfNotPresent}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: ops}\nspec:\n"
        "  containers: [{name: c, image: 'busybox'}]\n")
    doc, code = lint_json(manifest)
    assert {(f["rule"], f["object"]["name"]) for f in doc["findings"]} == {
        ("pull-policy", "tools"), ("latest-tag", "other")}     # busybox defaults to Always: no pull-policy finding
    assert doc["notes"] == ["Deployment ops/tools: pullcheck.io/ignore-rules names unknown rule(s) no-such-rule",
                            "Deployment ops/tools: not reported, by its pullcheck.io/ignore-rules annotation: "
                            "latest-tag x2"]
    assert code == 0


def test_pull_secrets_shipped_in_the_input_are_judged_and_others_not_assumed_missing(tmp_path):
    config = json.dumps({"auths": {"registry.other.example.com": {"auth": "Y2k6Y2hhcnQtcHctMQ=="}}})   # ci:chart-pw-1
    manifest = tmp_path / "chart.yaml"
    manifest.write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
         "metadata": {"name": "chart-pull", "namespace": "shop"}, "stringData": {".dockerconfigjson": config}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain", "namespace": "shop"},
         "stringData": {"password": "chart-pw-2"}},
        *[{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
           "spec": {"template": {"spec": {"imagePullSecrets": [{"name": s} for s in secrets],
                                          "containers": [{"name": "app", "image": "registry.shop.example.com/app:1.0"}]}}}}
          for name, secrets in (("wrong-host", ["chart-pull"]), ("opaque", ["plain"]),
                                ("elsewhere", ["made-by-terraform"]), ("partly", ["chart-pull", "made-by-terraform"]))]]))
    doc, code = lint_json(manifest)
    found = {(f["object"]["name"], f["severity"]): f["message"] for f in doc["findings"] if f["rule"] == "pull-secret"}
    assert set(found) == {("wrong-host", "warning"), ("opaque", "error")}, found   # not in the input: not judged
    assert found[("wrong-host", "warning")].endswith("they hold registry.other.example.com")
    assert found[("opaque", "error")] == "pull secret plain: wrong type Opaque (the kubelet ignores it)"
    assert code == 1
    for output in ("table", "json", "wide"):
        text, _ = run_lint([str(manifest)], output=output)
        assert "chart-pw" not in text and "Y2k6" not in text
