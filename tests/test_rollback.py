"""Stop the bleeding: rollback safety, delete pod / rollout restart / scale advice.

Pure cases build a snapshot from a real capture plus a rollout history; end-to-end cases run `pod` against
the fake API server with Deployments' ReplicaSets and a StatefulSet's ControllerRevisions arranged around
the captured pods (the captured node `vm` caches 127.0.0.1:5100/busybox:1.35 and
127.0.0.1:5101/private/busybox:1.35)."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta


from pullcheck.diagnose import diagnose_pod
from pullcheck.report import AFTER_FIX, NOT_FOR_THIS_CAUSE, NOT_OFFERED, NOW, RISKY, SAFE, UNCHECKED
from pullcheck.snapshot import (Owner, PodSnapshot, Revision, RolloutHistory, SecretLookup, TemplateContainer,
                                load_capture)
from tests.fakeapi import dockerconfigjson_secret, service_account
from tests.fakeapi.capture import CAPTURES
from tests.test_pod_cli import NS, PASSWORD, diagnose_json, run, seeded

DEPLOYMENT_UID = "5f0c3f0e-0000-4000-8000-00000000d001"
STATEFULSET_UID = "5f0c3f0e-0000-4000-8000-00000000a001"
ENV_VALUE = "env-value-that-must-not-leak"
CACHED = "127.0.0.1:5100/busybox:1.35"           # on node vm
UNCACHED = "127.0.0.1:5100/busybox:1.34"         # on no node


# -- builders ---------------------------------------------------------------------------------------------
def template(image: str, secrets: tuple[str, ...] = (), labels: dict | None = None) -> dict:
    spec: dict = {"containers": [{"name": "main", "image": image, "imagePullPolicy": "IfNotPresent",
                                  "env": [{"name": "DB_PASSWORD", "value": ENV_VALUE}]}]}
    if secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in secrets]
    return {"metadata": {"labels": labels or {"app": "web"}}, "spec": spec}


def replicaset(revision: int, image: str, *, secrets: tuple[str, ...] = (), ready: int = 0, desired: int = 3) -> dict:
    pod_hash = f"h{revision}"
    labels = {"app": "web", "pod-template-hash": pod_hash}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"web-{pod_hash}", "namespace": NS, "labels": labels,
                         "annotations": {"deployment.kubernetes.io/revision": str(revision),
                                         "deployment.kubernetes.io/desired-replicas": str(desired)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                              "uid": DEPLOYMENT_UID, "controller": True}]},
            "spec": {"replicas": ready, "selector": {"matchLabels": labels},
                     "template": template(image, secrets, labels)},
            "status": {"replicas": ready, "readyReplicas": ready}}


def own_pod(cluster, case: str, owner_ref: dict, labels: dict) -> None:
    def change(pod: dict) -> None:
        pod["metadata"]["ownerReferences"] = [owner_ref]
        pod["metadata"].setdefault("labels", {}).update(labels)
    cluster.modify("Pod", case, change, namespace=NS)


def deployment(cluster, case: str, *revisions: dict) -> None:
    """ReplicaSets for the revisions; the pod belongs to the newest."""
    for rs in revisions:
        cluster.create(rs)
    newest = max(revisions, key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
    own_pod(cluster, case, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": newest["metadata"]["name"],
                            "uid": "rs-uid", "controller": True}, newest["metadata"]["labels"])


def add_node(cluster, name: str, images: list[str]) -> None:
    node = json.loads(json.dumps(cluster.get("Node", "vm")))
    for key in ("uid", "resourceVersion", "creationTimestamp"):
        node["metadata"].pop(key, None)
    node["metadata"]["name"] = name
    node["metadata"]["labels"]["kubernetes.io/hostname"] = name
    node["status"]["images"] = [{"names": [image], "sizeBytes": 1000000} for image in images]
    cluster.create(node)


def stop(doc: dict) -> dict:
    return doc["stopTheBleeding"]


def first_rollback(doc: dict) -> dict:
    return stop(doc)["rollbacks"][0]


# -- end to end: Deployments ----------------------------------------------------------------------------
def test_previous_image_cached_on_every_node_is_a_safe_rollback(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED), replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    cluster.requests.clear()
    code, doc, err = diagnose_json(capsys, kc, "nonexistent-tag")
    assert code == 1, err
    # pod, events, nodes, service account, the pod's ReplicaSet, and one list of the Deployment's ReplicaSets
    assert len(cluster.requests) == 6
    section = stop(doc)
    assert (section["workload"], section["historyFrom"], section["currentRevision"], section["podRevision"]) == \
        ("Deployment/web", "replicasets", 2, 2)
    rollback = first_rollback(doc)
    assert (rollback["verdict"], rollback["toRevision"], rollback["fromRevision"]) == (SAFE, 1, 2)
    assert "main: 127.0.0.1:5100/busybox:nosuchtag -> :1.35" in rollback["summary"]
    image = rollback["images"][0]
    assert (image["cachedOn"], image["nodesConsidered"], image["risk"]) == (["vm"], 1, None)
    assert [s["command"] for s in rollback["steps"]] == ["kubectl rollout undo deployment/web -n rig-cases"]
    # the Deployment's ReplicaSets were listed once, by the selector the pod's ReplicaSet carries
    lists = cluster.requests.filter(verb="list", resource="replicasets")
    assert len(lists) == 1 and lists[0].param("labelSelector") == "app=web"
    assert cluster.requests.count(resource="deployments") == 0


def test_table_output_states_the_verdict_and_the_commands(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED), replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    code, out, _ = run(capsys, "pod", "nonexistent-tag", "--kubeconfig", kc)
    assert code == 1
    assert "Stop the bleeding (Deployment/web, revision 2; commands are printed, never run):" in out
    assert "Roll back to revision 1: safe" in out
    assert "changes: main: 127.0.0.1:5100/busybox:nosuchtag -> :1.35\n" in out
    assert "- container main (127.0.0.1:5100/busybox:1.35): cached on 1 of 1 ready node: no pull needed\n" in out
    assert "$ kubectl rollout undo deployment/web -n rig-cases" in out
    assert "Delete the pod [does not help for this cause]" in out
    assert "$ kubectl scale deployment/web --replicas=0 -n rig-cases && kubectl wait --for=delete " \
           "pod/nonexistent-tag -n rig-cases --timeout=5m && kubectl scale deployment/web --replicas=3 -n rig-cases" in out
    code, wide, _ = run(capsys, "pod", "nonexistent-tag", "--kubeconfig", kc, "-o", "wide")
    assert "main 127.0.0.1:5100/busybox:1.35: cached on 1 of 1 ready node(s): vm" in wide
    code, yaml_out, _ = run(capsys, "pod", "nonexistent-tag", "--kubeconfig", kc, "-o", "yaml")
    assert "stopTheBleeding:" in yaml_out and "verdict: safe" in yaml_out


def test_previous_image_cached_on_some_nodes_of_an_answering_registry_is_safe(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    add_node(cluster, "vm-2", [])
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED), replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    _, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    rollback = first_rollback(doc)
    assert rollback["verdict"] == SAFE
    image = rollback["images"][0]
    assert (image["cachedOn"], image["nodesConsidered"]) == (["vm"], 2)
    assert image["note"] == ("pulled before (cached on 1 of 2 ready nodes); pods on the other node pull it; "
                             "127.0.0.1:5100 answers (container main fails on its own image only)")


def test_uncached_image_on_a_refusing_registry_is_risky_and_says_why(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "connection-refused")
    add_node(cluster, "vm-2", ["127.0.0.1:5103/busybox:1.34"])
    deployment(cluster, "connection-refused", replicaset(1, "127.0.0.1:5103/busybox:1.34"),
               replicaset(2, "127.0.0.1:5103/busybox:1.35"))
    _, doc, _ = diagnose_json(capsys, kc, "connection-refused")
    rollback = first_rollback(doc)
    assert rollback["verdict"] == RISKY
    assert rollback["images"][0]["cachedOn"] == ["vm-2"]
    assert rollback["summary"] == (
        "rolling back to revision 1 is risky: container main (127.0.0.1:5103/busybox:1.34): cached on 1 of 2 ready "
        "nodes; pods on the other node pull it from 127.0.0.1:5103, which fails now (connection-refused, as "
        "container main shows): those pulls fail too")
    commands = [s["command"] for s in rollback["steps"]]
    assert commands == ["kubectl rollout history deployment/web --revision=1 -n rig-cases",
                        "kubectl rollout undo deployment/web -n rig-cases"]
    # an outage: deleting or restarting helps once the registry is back
    whens = {a["action"]: a["when"] for a in stop(doc)["actions"]}
    assert whens == {"delete-pod": AFTER_FIX, "rollout-restart": AFTER_FIX, "scale-to-zero-and-back": AFTER_FIX}


def test_previous_image_cached_nowhere_is_risky(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    deployment(cluster, "nonexistent-tag", replicaset(1, UNCACHED), replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    _, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    rollback = first_rollback(doc)
    assert rollback["verdict"] == RISKY
    assert rollback["images"][0]["risk"] == ("cached on 0 of 1 ready node and no pod of revision 1 is Ready: "
                                             "nothing shows it can still be pulled from 127.0.0.1:5100")


def test_ready_pods_of_the_previous_revision_prove_it_pulls(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    deployment(cluster, "nonexistent-tag", replicaset(1, UNCACHED, ready=2),
               replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    _, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    rollback = first_rollback(doc)
    assert rollback["verdict"] == SAFE
    assert rollback["images"][0]["note"] == ("pulled before (2 pods of revision 1 are Ready now); every pod pulls "
                                             "it; 127.0.0.1:5100 answers (container main fails on its own image only)")


def test_previous_revision_whose_pull_secret_is_gone_is_not_offered(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED, secrets=("old-regcred",)),
               replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    _, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    rollback = first_rollback(doc)
    assert rollback["verdict"] == NOT_OFFERED and rollback["steps"] == []
    assert rollback["pullSecrets"] == [{"name": "old-regcred", "source": "template", "status": "missing",
                                        "registries": []}]
    assert "pull secret old-regcred (listed by the template) no longer exists in namespace rig-cases" \
        in rollback["summary"]
    # read with the pod's own secrets, and not searched for in other namespaces
    assert cluster.requests.count(verb="get", resource="secrets", name="old-regcred") == 1
    assert cluster.requests.count(path="/api/v1/secrets") == 0


def test_previous_revision_with_its_secret_present_shows_its_registries(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    cluster.create(dockerconfigjson_secret("old-regcred", NS, "127.0.0.1:5100", "builder", PASSWORD))
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED, secrets=("old-regcred",)),
               replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    code, out, _ = run(capsys, "pod", "nonexistent-tag", "--kubeconfig", kc, "-o", "json")
    rollback = first_rollback(json.loads(out))
    assert rollback["verdict"] == SAFE
    assert rollback["pullSecrets"] == [{"name": "old-regcred", "source": "template", "status": "found",
                                        "registries": ["127.0.0.1:5100 (builder)"]}]
    assert "imagePullSecrets: none -> old-regcred" in rollback["summary"]
    assert PASSWORD not in out


def test_same_image_in_the_previous_revision_offers_an_older_one(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    broken = "127.0.0.1:5100/busybox:nosuchtag"
    changed_env = replicaset(2, broken)
    changed_env["spec"]["template"]["spec"]["containers"][0]["env"][0]["name"] = "OTHER"
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED), changed_env, replicaset(3, broken))
    _, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    previous, older = stop(doc)["rollbacks"]
    assert (previous["toRevision"], previous["verdict"]) == (2, NOT_OFFERED)
    assert previous["summary"] == ("`rollout undo` to revision 2 is not offered: revision 2 pulls the same images "
                                   "with the same pull policies and pull secrets as revision 3: `rollout undo` would "
                                   "not change the failing pull (the cause is elsewhere: a secret's contents, the "
                                   "registry, the network)")
    assert (older["toRevision"], older["verdict"]) == (1, SAFE)
    assert [s["command"] for s in older["steps"]] == ["kubectl rollout undo deployment/web --to-revision=1 -n rig-cases"]
    restart = next(a for a in stop(doc)["actions"] if a["action"] == "rollout-restart")
    assert restart["when"] == NOT_FOR_THIS_CAUSE and "use --to-revision=2 then" in restart["doesNotHelp"]


def test_rotated_secret_with_unchanged_images_says_undo_will_not_help(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "auth-wrong-password")
    cluster.create(dockerconfigjson_secret("rig-auth-wrongpass", NS, "127.0.0.1:5101", "testuser", PASSWORD))
    image = "127.0.0.1:5101/private/busybox:1.35"
    deployment(cluster, "auth-wrong-password", replicaset(1, image, secrets=("rig-auth-wrongpass",)),
               replicaset(2, image, secrets=("rig-auth-wrongpass",)))
    _, doc, _ = diagnose_json(capsys, kc, "auth-wrong-password")
    assert doc["containers"][0]["cause"] == "auth-rejected"
    rollbacks = stop(doc)["rollbacks"]
    assert len(rollbacks) == 1 and rollbacks[0]["verdict"] == NOT_OFFERED
    assert "`rollout undo` would not change the failing pull" in rollbacks[0]["summary"]
    whens = {a["action"]: a["when"] for a in stop(doc)["actions"]}
    assert whens["delete-pod"] == AFTER_FIX and whens["rollout-restart"] == AFTER_FIX


def test_forbidden_replicaset_list_becomes_a_skipped_check(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED), replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    cluster.faults.forbid(verb="list", resource="replicasets")
    code, doc, _ = diagnose_json(capsys, kc, "nonexistent-tag")
    assert code == 1 and doc["containers"][0]["cause"] == "tag-not-found"
    skipped = {s["check"]: s["reason"] for s in doc["skipped"]}
    assert skipped["rollout history (rollback advice)"].startswith("forbidden: ")
    rollback = first_rollback(doc)
    assert rollback["verdict"] == UNCHECKED and stop(doc)["historyFrom"] is None
    assert [s["command"] for s in rollback["steps"]] == ["kubectl rollout history deployment/web -n rig-cases",
                                                         "kubectl rollout undo deployment/web -n rig-cases"]


def test_healthy_pod_costs_no_extra_request(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "success")
    deployment(cluster, "success", replicaset(1, UNCACHED), replicaset(2, CACHED))
    cluster.requests.clear()
    code, doc, _ = diagnose_json(capsys, kc, "success")
    assert code == 0 and doc["stopTheBleeding"] is None
    # pod, events, nodes, service account, the pod's ReplicaSet: as before the rollback advice existed
    assert len(cluster.requests) == 5
    assert cluster.requests.count(verb="list", resource="replicasets") == 0


def test_bundle_round_trip_keeps_the_history_without_env_values_or_passwords(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    cluster.create(dockerconfigjson_secret("old-regcred", NS, "127.0.0.1:5100", "builder", PASSWORD))
    deployment(cluster, "nonexistent-tag", replicaset(1, CACHED, secrets=("old-regcred",)),
               replicaset(2, "127.0.0.1:5100/busybox:nosuchtag"))
    bundle = tmp_path / "bundle.json"
    _, live, _ = diagnose_json(capsys, kc, "nonexistent-tag", "--save", str(bundle))
    text = bundle.read_text()
    for leak in (ENV_VALUE, PASSWORD, base64.b64encode(f"builder:{PASSWORD}".encode()).decode()):
        assert leak not in text
    saved = json.loads(text)["rolloutHistory"]
    assert [(r["revision"], r["containers"][0]["image"], r["imagePullSecrets"]) for r in saved["revisions"]] == \
        [(1, CACHED, ["old-regcred"]), (2, "127.0.0.1:5100/busybox:nosuchtag", [])]
    cluster.stop()
    _, out, _ = run(capsys, "pod", "-f", str(bundle), "-o", "json")
    assert json.loads(out)["stopTheBleeding"] == live["stopTheBleeding"]


# -- end to end: a StatefulSet through its ControllerRevisions ---------------------------------------------
def controller_revision(name: str, revision: int, image: str) -> dict:
    body = template(image, labels={"app": "db"})
    body["$patch"] = "replace"
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": NS, "labels": {"app": "db", "controller-revision-hash": name},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                              "uid": STATEFULSET_UID, "controller": True}]},
            "data": {"spec": {"template": body}}, "revision": revision}


def test_statefulset_rollback_through_controllerrevisions(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    cluster.create({"apiVersion": "apps/v1", "kind": "StatefulSet",
                    "metadata": {"name": "db", "namespace": NS, "uid": STATEFULSET_UID},
                    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}},
                             "template": template("127.0.0.1:5100/busybox:nosuchtag", labels={"app": "db"})}})
    stored = cluster.get("StatefulSet", "db", NS)
    uid = stored["metadata"]["uid"]
    for revision in (controller_revision("db-5d8f", 1, CACHED),
                     controller_revision("db-7c9b", 2, "127.0.0.1:5100/busybox:nosuchtag")):
        revision["metadata"]["ownerReferences"][0]["uid"] = uid
        cluster.create(revision)
    own_pod(cluster, "nonexistent-tag", {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": uid,
                                         "controller": True}, {"app": "db", "controller-revision-hash": "db-7c9b"})
    _, doc, err = diagnose_json(capsys, kc, "nonexistent-tag")
    section = stop(doc)
    assert (section["workload"], section["historyFrom"], section["podRevision"]) == \
        ("StatefulSet/db", "controllerrevisions", 2), err
    rollback = first_rollback(doc)
    assert (rollback["verdict"], rollback["toRevision"]) == (SAFE, 1)
    assert [s["command"] for s in rollback["steps"]] == ["kubectl rollout undo statefulset/db -n rig-cases",
                                                         "kubectl delete pod nonexistent-tag -n rig-cases"]
    scale = next(a for a in section["actions"] if a["action"] == "scale-to-zero-and-back")
    assert "--replicas=2" in scale["command"] and "one at a time, in order" in scale["cost"]
    assert cluster.requests.filter(verb="list", resource="controllerrevisions")[0].param("labelSelector") == "app=db"


# -- pure analysis ----------------------------------------------------------------------------------------------
def snapshot_of(case: str, history: RolloutHistory | None, *, kind: str = "Deployment", nodes: list | None = None,
                service_account: dict | None = None, secrets: dict | None = None) -> PodSnapshot:
    base = load_capture(str(CAPTURES / case / "pod.json"))
    events = json.loads((CAPTURES / case / "events.json").read_text())["items"]
    return replace(base, events=events, owner=Owner(kind, "web"), revisions=history, skipped=[],
                   nodes=nodes if nodes is not None else [node("vm", [CACHED])],
                   service_account=service_account or {"metadata": {"name": "default"}},
                   service_account_status="found", secrets=secrets or {})


def node(name: str, images: list[str], ready: bool = True, cordoned: bool = False) -> dict:
    return {"metadata": {"name": name, "labels": {}}, "spec": {"unschedulable": cordoned},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "images": [{"names": [i]} for i in images]}}


def revision(number: int, image: str, *, secrets: tuple[str, ...] = (), ready: int | None = None) -> Revision:
    return Revision(number=number, name=f"web-{number}", containers=[TemplateContainer("main", "container", image,
                                                                                       "IfNotPresent")],
                    pull_secrets=list(secrets), service_account="default", ready_replicas=ready)


def history(*revisions: Revision, kind: str = "Deployment") -> RolloutHistory:
    return RolloutHistory(kind=kind, name="web", source="replicasets", revisions=list(revisions),
                          pod_revision=revisions[-1].number, replicas=3)


def section_of(snapshot: PodSnapshot):
    return diagnose_pod(snapshot).stop_the_bleeding


def test_only_one_revision_is_not_offered():
    section = section_of(snapshot_of("nonexistent-tag", history(revision(1, "127.0.0.1:5100/busybox:nosuchtag"))))
    (only,) = section.rollbacks
    assert (only.verdict, only.to_revision) == (NOT_OFFERED, None)
    assert "revision 1 is the only revision" in only.summary


def test_not_ready_and_cordoned_nodes_do_not_count():
    nodes = [node("vm", [CACHED]), node("down", [], ready=False), node("cordoned", [], cordoned=True)]
    snap = snapshot_of("nonexistent-tag", history(revision(1, CACHED), revision(2, "127.0.0.1:5100/busybox:nosuchtag")),
                       nodes=nodes)
    image = section_of(snap).rollbacks[0].images[0]
    assert (image.nodes_with_image, image.nodes_considered) == (["vm"], 1)
    daemonset = replace(snap, owner=Owner("DaemonSet", "web"),
                        revisions=replace(snap.revisions, kind="DaemonSet", source="controllerrevisions"))
    section = section_of(daemonset)
    assert section.rollbacks[0].images[0].nodes_considered == 2   # DaemonSet pods tolerate cordoned nodes
    assert [a.action for a in section.actions] == ["delete-pod", "rollout-restart"]
    assert "a DaemonSet cannot be scaled" in section.notes[0]


def test_taints_count_only_where_the_revisions_tolerations_allow():
    def tainted(name: str, *taints: dict) -> dict:
        built = node(name, [CACHED])
        built["spec"]["taints"] = list(taints)
        return built

    gpu = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    nodes = [node("vm", [CACHED]), tainted("gpu-1", gpu),
             tainted("soft", {"key": "spot", "effect": "PreferNoSchedule"}),                # never keeps pods off
             tainted("pressure", {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"})]
    failing = revision(2, "127.0.0.1:5100/busybox:nosuchtag")
    snap = snapshot_of("nonexistent-tag", history(revision(1, CACHED), failing), nodes=nodes)
    image = section_of(snap).rollbacks[0].images[0]
    assert (image.nodes_with_image, image.nodes_considered) == (["vm", "soft"], 2)
    for toleration in ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
                       {"key": "dedicated", "operator": "Exists"}, {"operator": "Exists"}):
        tolerant = replace(revision(1, CACHED), tolerations=[toleration])
        image = section_of(replace(snap, revisions=history(tolerant, failing))).rollbacks[0].images[0]
        assert "gpu-1" in image.nodes_with_image, toleration
    wrong_value = replace(revision(1, CACHED), tolerations=[{"key": "dedicated", "value": "cpu"}])
    image = section_of(replace(snap, revisions=history(wrong_value, failing))).rollbacks[0].images[0]
    assert "gpu-1" not in image.nodes_with_image
    daemonset = replace(snap, owner=Owner("DaemonSet", "web"),
                        revisions=replace(snap.revisions, kind="DaemonSet", source="controllerrevisions"))
    image = section_of(daemonset).rollbacks[0].images[0]
    assert image.nodes_with_image == ["vm", "soft", "pressure"]   # the controller adds node.kubernetes.io/* ones


def test_cached_image_behind_refused_credentials_is_risky():
    image = "127.0.0.1:5101/private/busybox:1.35"
    wrongpass = SecretLookup(name="rig-auth-wrongpass", status="found")
    snap = snapshot_of("auth-wrong-password",
                       history(revision(1, image.replace("1.35", "1.34"), secrets=("rig-auth-wrongpass",)),
                               revision(2, image, secrets=("rig-auth-wrongpass",))),
                       nodes=[node("vm", [image.replace("1.35", "1.34")])], secrets={"rig-auth-wrongpass": wrongpass})
    rollback = section_of(snap).rollbacks[0]
    assert rollback.verdict == RISKY
    assert "refuses the credentials its pods would use" in rollback.images[0].risk


def test_service_account_secret_linked_after_creation_makes_delete_pod_help_now():
    sa = service_account("default", NS, ["regcred"])
    regcred = SecretLookup(name="regcred", status="found")
    snap = snapshot_of("auth-no-secret", history(revision(1, "127.0.0.1:5101/private/busybox:1.35")),
                       service_account=sa, secrets={"regcred": regcred})
    section = section_of(snap)
    delete, restart, scale = section.actions
    assert (delete.when, restart.when, scale.when) == (NOW, NOW, NOW)
    assert "service account default lists regcred, which this pod lacks" in delete.helps
    assert delete.step.command == "kubectl delete pod auth-no-secret -n rig-cases"


def test_backoff_is_stated_in_the_delete_pod_advice():
    # a capture is read as of its newest timestamp: three failures, the kubelet now waits 40 s
    snap = snapshot_of("connection-refused", history(revision(1, "127.0.0.1:5103/busybox:1.35")))
    delete = section_of(snap).actions[0]
    assert delete.helps == ("once the cause is fixed, a new pod pulls at once: the back-off belongs to this pod (now "
                            "40s between retries, doubling to 300s), a new pod starts without it")
    stale = replace(snap, observed_at=snap.observed_at + timedelta(hours=1))
    assert "the kubelet waits up to 5 minutes between its retries" in section_of(stale).actions[0].helps


def test_no_section_without_a_rollable_owner_or_a_problem():
    assert section_of(replace(snapshot_of("nonexistent-tag", None), owner=None)) is None
    assert section_of(snapshot_of("nonexistent-tag", None, kind="Job")) is None
    assert section_of(snapshot_of("success", history(revision(1, CACHED)))) is None


def test_snapshot_without_history_gets_an_unchecked_rollback():
    section = section_of(snapshot_of("nonexistent-tag", None))
    assert section.rollbacks[0].verdict == UNCHECKED and section.history_source is None


def test_pod_from_an_older_revision_is_noted_and_its_image_not_offered_back():
    broken = "127.0.0.1:5100/busybox:nosuchtag"
    snap = snapshot_of("nonexistent-tag", replace(history(revision(1, CACHED), revision(2, broken),
                                                          revision(3, UNCACHED)), pod_revision=2))
    section = section_of(snap)
    assert section.notes == ["pod nonexistent-tag was created from revision 2; Deployment/web is at revision 3"]
    previous, older = section.rollbacks
    assert (previous.to_revision, previous.verdict) == (2, NOT_OFFERED)
    assert previous.summary.endswith("container main has the same image 127.0.0.1:5100/busybox:nosuchtag in "
                                     "revision 2: it would fail the same way (tag-not-found)")
    assert (older.to_revision, older.verdict) == (1, SAFE)


def test_label_selector_from_match_labels_and_expressions():
    from pullcheck.kube.gather import label_selector

    selector = {"matchLabels": {"app": "web", "pod-template-hash": "h2"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]},
                                     {"key": "canary", "operator": "DoesNotExist"},
                                     {"key": "team", "operator": "Exists"}]}
    assert label_selector(selector, drop="pod-template-hash") == "app=web,tier in (a,b),!canary,team"


def test_a_hung_pull_reads_the_history_and_gets_rollback_advice(fake_cluster_factory, tmp_path, capsys):
    """timeout-http-hang sits in ContainerCreating with a Pulling event and no result: no pull error in the
    status, yet the pull is stuck, and rolling back to a cached image is the way out."""
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "timeout-http-hang")
    deployment(cluster, "timeout-http-hang", replicaset(1, CACHED), replicaset(2, "localhost:5102/busybox:1.35"))
    code, doc, err = diagnose_json(capsys, kc, "timeout-http-hang")
    assert code == 1, err
    assert doc["containers"][0]["status"] == "stuck"
    rollback = first_rollback(doc)
    assert (rollback["verdict"], rollback["toRevision"]) == (SAFE, 1)
    assert len(cluster.requests.filter(verb="list", resource="replicasets")) == 1
