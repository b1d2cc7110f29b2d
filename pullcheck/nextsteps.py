"""The next commands for a cause, with the real names filled in.

Placeholders in angle brackets (<user>, <password>, <correct-tag>) are the only things left for the
engineer to type; everything pullcheck knows (namespace, pod, workload, container, node, secret names,
registry host) is filled in. Commands are printed, never executed.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from pullcheck.report import NextStep

_ROLLABLE = {"Deployment", "StatefulSet", "DaemonSet"}
_SET_IMAGE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob"}
_TEMPLATE_PATH = {"CronJob": "/spec/jobTemplate/spec/template/spec"}
_SPEC_LIST = {"container": "containers", "init": "initContainers", "ephemeral": "ephemeralContainers"}


@dataclass
class Names:
    namespace: str
    pod: str
    container: str
    container_kind: str
    container_index: int
    image: str
    registry: str | None
    repository: str | None
    node: str | None
    owner_kind: str | None
    owner_name: str | None
    service_account: str
    pod_secrets: list[str] = field(default_factory=list)
    misplaced_secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)   # name -> namespaces holding it
    pod_node_has_image_elsewhere: list[str] = field(default_factory=list)

    @property
    def ns(self) -> str:
        return f"-n {q(self.namespace)}"

    @property
    def workload(self) -> str:
        if self.owner_kind and self.owner_name:
            return f"{self.owner_kind.lower()}/{self.owner_name}"
        return f"pod/{self.pod}"


def q(value: str) -> str:
    """Shell-quote a name; a <placeholder> stays readable, since the engineer replaces it anyway."""
    if value.startswith("<") and value.endswith(">") and " " not in value:
        return value
    return shlex.quote(value)


def restart(n: Names) -> NextStep:
    """How to make the kubelet try again now instead of waiting out its back-off."""
    if n.owner_kind in _ROLLABLE:
        return NextStep(f"after the fix, roll the {n.owner_kind} so new pods pull at once", rollout_restart(n).command)
    if n.owner_kind:
        return NextStep(f"after the fix, delete the pod: its {n.owner_kind} recreates it and the back-off starts over",
                        delete_pod(n).command)
    return NextStep("after the fix, recreate this bare pod (no controller will): delete it and apply its manifest "
                    "again", f"kubectl get pod {q(n.pod)} {n.ns} -o yaml > {q(n.pod)}.yaml && "
                         f"kubectl replace --force -f {q(n.pod)}.yaml")


def delete_pod(n: Names) -> NextStep:
    return NextStep(f"delete pod {n.pod} (its {n.owner_kind or 'controller'} creates a new one)",
                    f"kubectl delete pod {q(n.pod)} {n.ns}")


def rollout_restart(n: Names) -> NextStep:
    return NextStep(f"recreate every pod of {n.workload}", f"kubectl rollout restart {n.workload} {n.ns}")


def rollout_undo(n: Names, to_revision: int | None = None) -> NextStep:
    """Roll back to the previous revision, or to `to_revision` when another one is meant."""
    target = f"revision {to_revision}" if to_revision is not None else "the previous revision"
    option = f" --to-revision={to_revision}" if to_revision is not None else ""
    return NextStep(f"roll {n.workload} back to {target}", f"kubectl rollout undo {n.workload}{option} {n.ns}")


def rollout_history(n: Names, revision: int | None = None) -> NextStep:
    """See a revision's pod template (images, pull secrets) before rolling back to it."""
    option = f" --revision={revision}" if revision is not None else ""
    what = f"revision {revision}" if revision is not None else "the revisions"
    return NextStep(f"see what {what} of {n.workload} would restore",
                    f"kubectl rollout history {n.workload}{option} {n.ns}")


def scale_to_zero_and_back(n: Names, replicas: int | None) -> NextStep:
    """The hard reset: every pod deleted, then created anew at the desired count. Waiting for this pod to
    go proves the controller acted on the 0: two quick scales could otherwise be seen as no change."""
    count = str(replicas) if replicas is not None else "<replicas>"
    return NextStep(f"scale {n.workload} to 0, wait for pod {n.pod} to go, scale back to {count}",
                    f"kubectl scale {n.workload} --replicas=0 {n.ns} && "
                    f"kubectl wait --for=delete pod/{q(n.pod)} {n.ns} --timeout=5m && "
                    f"kubectl scale {n.workload} --replicas={count} {n.ns}")


def set_image(n: Names, what: str = "<correct-image>") -> NextStep:
    target = n.workload if (n.owner_kind in _SET_IMAGE_KINDS or not n.owner_kind) else f"pod/{n.pod}"
    return NextStep(f"point container {n.container} at the right image", 
                    f"kubectl set image {target} {q(n.container + '=' + what)} {n.ns}")


def inspect_registry(n: Names) -> list[NextStep]:
    ref = f"{n.registry}/{n.repository}" if n.registry and n.repository else n.image
    return [
        NextStep("list the tags the registry really has", f"skopeo list-tags docker://{q(ref)}"),
        NextStep("or check the exact reference (needs registry access from here)",
                 f"docker manifest inspect {q(n.image)}"),
    ]


def node_shell(n: Names, script: str) -> NextStep:
    node = n.node or "<node>"
    return NextStep(f"run it from node {node} itself (pulls happen on the node, with its DNS, proxy and CA)",
                    f"kubectl debug node/{q(node)} -it --image=busybox:1.36 -- chroot /host sh -c {q(script)}")


def create_secret(n: Names, name: str = "<secret-name>") -> list[NextStep]:
    server = n.registry or "<registry>"
    steps = [NextStep(f"create a pull secret for {server} in namespace {n.namespace}",
                      f"kubectl create secret docker-registry {q(name)} --docker-server={q(server)} "
                      f"--docker-username=<user> --docker-password=<password> {n.ns}")]
    steps.append(link_secret(n, name))
    return steps


def link_secret(n: Names, name: str) -> NextStep:
    if n.owner_kind in _SET_IMAGE_KINDS and n.owner_kind:
        base = _TEMPLATE_PATH.get(n.owner_kind, "/spec/template/spec")
        patch = [{"op": "add", "path": f"{base}/imagePullSecrets", "value": [{"name": name}]}]
        return NextStep(f"let the {n.owner_kind}'s pods use it (or link it to service account {n.service_account})",
                        f"kubectl patch {n.workload} {n.ns} --type=json -p {q(json.dumps(patch))}")
    patch = {"imagePullSecrets": [{"name": name}]}
    return NextStep(f"link it to service account {n.service_account} (applies to pods created from now on)",
                    f"kubectl patch serviceaccount {q(n.service_account)} {n.ns} -p {q(json.dumps(patch))}")


def copy_secret(n: Names, name: str, source_ns: str) -> NextStep:
    strip = ("del(.metadata.namespace,.metadata.uid,.metadata.resourceVersion,.metadata.creationTimestamp,"
             ".metadata.ownerReferences,.metadata.managedFields)")
    return NextStep(f"copy secret {name} from namespace {source_ns} into {n.namespace} (values never printed here)",
                    f"kubectl get secret {q(name)} -n {q(source_ns)} -o json | jq {q(strip)} | "
                    f"kubectl apply {n.ns} -f -")


def set_pull_policy(n: Names, policy: str) -> NextStep:
    spec_list = _SPEC_LIST.get(n.container_kind, "containers")
    if n.owner_kind in _SET_IMAGE_KINDS and n.owner_kind:
        base = _TEMPLATE_PATH.get(n.owner_kind, "/spec/template/spec")
        patch = [{"op": "replace", "path": f"{base}/{spec_list}/{n.container_index}/imagePullPolicy",
                  "value": policy}]
        return NextStep(f"set imagePullPolicy: {policy} on container {n.container}",
                        f"kubectl patch {n.workload} {n.ns} --type=json -p {q(json.dumps(patch))}")
    return NextStep(f"set imagePullPolicy: {policy} on container {n.container} in the pod's manifest and recreate it "
                    "(a pod's pull policy cannot be changed in place)")
