"""What the API server fills in on create: metadata, defaults and admission changes.

Covered: name from generateName (names.SimpleNameGenerator), uid, creationTimestamp, generation for kinds
whose strategy sets it, Pod defaults (SetDefaults_Pod/PodSpec/Container) and the changes of the admission
plugins ServiceAccount (serviceAccountName only), DefaultTolerationSeconds and Priority, the Pod and
workload strategies' status reset on create, Namespace defaults. Not emulated: the ServiceAccount
plugin's kube-api-access projected volume, managedFields.
"""
from __future__ import annotations

import random
import uuid
from typing import Any, Dict, List

from . import clock, status
from .resources import ResourceType

Obj = Dict[str, Any]

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_GENERATION_KINDS = {"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}
_STATUS_RESET_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob"}
_DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
     "tolerationSeconds": 300},
]


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choice(_NAME_ALPHABET) for _ in range(5))


def fill_metadata(rtype: ResourceType, obj: Obj, namespace: str, through_api: bool) -> None:
    """Name, namespace, uid, creationTimestamp and generation, as BeforeCreate sets them (a client's
    uid and creationTimestamp are replaced; the test API may choose its own)."""
    meta = obj.setdefault("metadata", {})
    if through_api:
        for field in ("uid", "creationTimestamp", "resourceVersion", "generation"):
            meta.pop(field, None)
    if not meta.get("name"):
        if not meta.get("generateName"):
            raise status.invalid(rtype.kind, rtype.group, "", [{
                "reason": "FieldValueRequired", "message": "Required value: name or generateName is required",
                "field": "metadata.name"}])
        meta["name"] = generate_name(meta["generateName"])
    if rtype.namespaced:
        if meta.get("namespace") and namespace and meta["namespace"] != namespace:
            raise status.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        meta["namespace"] = namespace or meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    meta["uid"] = meta.get("uid") or str(uuid.uuid4())
    meta["creationTimestamp"] = meta.get("creationTimestamp") or clock.rfc3339(clock.now())
    if rtype.kind in _GENERATION_KINDS:
        meta.setdefault("generation", 1)
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)


def _image_pull_policy(image: str) -> str:
    """SetDefaults_Container: Always for `:latest` or no tag, unless a digest pins the image."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_containers(containers: List[Obj]) -> None:
    for container in containers:
        container.setdefault("imagePullPolicy", _image_pull_policy(container.get("image", "")))
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")


def qos_class(spec: Obj) -> str:
    """v1qos.GetPodQOS, for the cpu and memory of the app and init containers."""
    requests: List[Obj] = []
    limits: List[Obj] = []
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        resources = container.get("resources") or {}
        requests.append(resources.get("requests") or {})
        limits.append(resources.get("limits") or {})
    if not any(r.get(k) for r in requests + limits for k in ("cpu", "memory")):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu") and lim.get("memory") and req.get("cpu", lim["cpu"]) == lim["cpu"]
        and req.get("memory", lim["memory"]) == lim["memory"] for req, lim in zip(requests, limits))
    return "Guaranteed" if guaranteed else "Burstable"


def default_pod(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    for default in _DEFAULT_TOLERATIONS:
        tolerated = any(t.get("key") in (None, "", default["key"]) and t.get("effect") in (None, "", "NoExecute")
                        for t in tolerations)
        if not tolerated:
            tolerations.append(dict(default))
    _default_containers(spec.setdefault("containers", []))
    _default_containers(spec.get("initContainers") or [])


def default_namespace(namespace: Obj) -> None:
    name = namespace["metadata"]["name"]
    namespace["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
    namespace.setdefault("spec", {"finalizers": ["kubernetes"]})
    namespace.setdefault("status", {"phase": "Active"})


def prepare_create(rtype: ResourceType, obj: Obj, namespace: str, *, through_api: bool) -> None:
    """Fill in what the server fills. `through_api`: a client's POST, whose status the strategy resets;
    the test API instead keeps the status it is given (it stands in for the kubelet and controllers)."""
    obj["kind"] = rtype.kind
    obj["apiVersion"] = rtype.group_version
    fill_metadata(rtype, obj, namespace, through_api)
    if rtype.kind == "Pod":
        default_pod(obj)
        if through_api:
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj["spec"])}
    elif rtype.kind == "Namespace":
        if through_api:
            obj.pop("status", None)
        default_namespace(obj)
    elif rtype.kind in _STATUS_RESET_KINDS and through_api:
        obj["status"] = {}
