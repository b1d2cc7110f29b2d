"""The API resources the fake serves, as data: discovery facts, field-selector rules, delete behaviour.

Field-selector labels per kind come from the API server's field label conversion functions
(pkg/apis/core/v1/conversion.go, pkg/apis/events/v1/conversion.go, pkg/apis/batch/v1/conversion.go);
kinds without one use runtime.DefaultMetaV1FieldSelectorConversion. The values come from each registry's
GetAttrs/ToSelectableFields. `returns_deleted_object` mirrors the registries that set ReturnDeletedObject
(pods, serviceaccounts); the others answer DELETE with a Success Status.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

Obj = Dict[str, Any]
FieldGetter = Callable[[Obj], Dict[str, str]]

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")

SCHEME_FIELD_ERROR = "field label not supported: {label}"
DEFAULT_FIELD_ERROR = '"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'
JOB_FIELD_ERROR = 'field label "{label}" not supported for batchv1.Job'


def _meta_fields(obj: Obj, namespaced: bool = True) -> Dict[str, str]:
    meta = obj.get("metadata") or {}
    fields = {"metadata.name": meta.get("name", "")}
    if namespaced:
        fields["metadata.namespace"] = meta.get("namespace", "")
    return fields


def _go_bool(value: Any) -> str:
    return "true" if value else "false"


def _pod_fields(pod: Obj) -> Dict[str, str]:
    spec = pod.get("spec") or {}
    pod_status = pod.get("status") or {}
    pod_ips = pod_status.get("podIPs") or []
    fields = _meta_fields(pod)
    fields.update({
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.restartPolicy": spec.get("restartPolicy", ""),
        "spec.schedulerName": spec.get("schedulerName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "spec.hostNetwork": _go_bool(spec.get("hostNetwork")),
        "status.phase": pod_status.get("phase", ""),
        "status.podIP": pod_ips[0].get("ip", "") if pod_ips else "",
        "status.nominatedNodeName": pod_status.get("nominatedNodeName", ""),
    })
    return fields


def _event_fields(event: Obj) -> Dict[str, str]:
    involved = event.get("involvedObject") or {}
    fields = _meta_fields(event)
    for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"):
        fields[f"involvedObject.{key}"] = involved.get(key, "")
    fields.update({
        "reason": event.get("reason", ""),
        "reportingComponent": event.get("reportingComponent", ""),
        "source": (event.get("source") or {}).get("component", ""),
        "type": event.get("type", ""),
    })
    return fields


def _secret_fields(secret: Obj) -> Dict[str, str]:
    fields = _meta_fields(secret)
    fields["type"] = secret.get("type", "")
    return fields


def _namespace_fields(namespace: Obj) -> Dict[str, str]:
    fields = _meta_fields(namespace, namespaced=False)
    fields["status.phase"] = (namespace.get("status") or {}).get("phase", "")
    return fields


def _node_fields(node: Obj) -> Dict[str, str]:
    fields = _meta_fields(node, namespaced=False)
    fields["spec.unschedulable"] = _go_bool((node.get("spec") or {}).get("unschedulable"))
    return fields


def _job_fields(job: Obj) -> Dict[str, str]:
    fields = _meta_fields(job)
    fields["status.successful"] = str((job.get("status") or {}).get("succeeded", 0))
    return fields


def _identity(*labels: str) -> Dict[str, str]:
    return {label: label for label in labels}


_EVENT_LABELS = _identity("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                          "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                          "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
                          "metadata.namespace", "metadata.name")
_EVENTS_V1_LABELS = {
    "reason": "reason", "regarding.kind": "involvedObject.kind", "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name", "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "regarding.fieldPath": "involvedObject.fieldPath", "reportingController": "reportingComponent",
    "source": "source", "type": "type", "metadata.namespace": "metadata.namespace",
    "metadata.name": "metadata.name",
}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: Tuple[str, ...] = ()
    categories: Tuple[str, ...] = ()
    verbs: Tuple[str, ...] = STANDARD_VERBS
    field_labels: Optional[Dict[str, str]] = None    # None: only metadata.name / metadata.namespace
    field_error: str = DEFAULT_FIELD_ERROR
    fields: FieldGetter = _meta_fields
    returns_deleted_object: bool = False
    storage: str = ""                                # another resource's store this one is a view of
    subresources: Tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return self.version if not self.group else f"{self.group}/{self.version}"

    def internal_field(self, label: str) -> str:
        """The storage field a selector label reads, or ApiError 400 as the conversion function answers."""
        from . import status
        labels = self.field_labels
        if labels is None:
            labels = {"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}
        if label not in labels:
            raise status.bad_request(self.field_error.format(label=label))
        return labels[label]


RESOURCES: Tuple[ResourceType, ...] = (
    ResourceType("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",), verbs=NAMESPACE_VERBS,
                 field_labels=_identity("metadata.name", "status.phase"), field_error=SCHEME_FIELD_ERROR,
                 fields=_namespace_fields, returns_deleted_object=True),
    ResourceType("", "v1", "pods", "pod", "Pod", True, ("po",), ("all",),
                 field_labels=dict(_identity("metadata.name", "metadata.namespace", "spec.nodeName",
                                             "spec.restartPolicy", "spec.schedulerName",
                                             "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                                             "status.podIP", "status.podIPs", "status.nominatedNodeName"),
                                   **{"spec.host": "spec.nodeName"}),
                 field_error=SCHEME_FIELD_ERROR, fields=_pod_fields, returns_deleted_object=True,
                 subresources=("log",)),
    ResourceType("", "v1", "events", "event", "Event", True, ("ev",), field_labels=_EVENT_LABELS,
                 field_error=SCHEME_FIELD_ERROR, fields=_event_fields),
    ResourceType("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",),
                 returns_deleted_object=True),
    ResourceType("", "v1", "secrets", "secret", "Secret", True,
                 field_labels=_identity("type", "metadata.namespace", "metadata.name"),
                 field_error=SCHEME_FIELD_ERROR, fields=_secret_fields),
    ResourceType("", "v1", "nodes", "node", "Node", False, ("no",),
                 field_labels=_identity("metadata.name", "spec.unschedulable"), field_error=SCHEME_FIELD_ERROR,
                 fields=_node_fields),
    ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", True, ("cm",)),
    ResourceType("apps", "v1", "deployments", "deployment", "Deployment", True, ("deploy",), ("all",)),
    ResourceType("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ("rs",), ("all",)),
    ResourceType("apps", "v1", "statefulsets", "statefulset", "StatefulSet", True, ("sts",), ("all",)),
    ResourceType("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ("ds",), ("all",)),
    ResourceType("apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", True),
    ResourceType("batch", "v1", "jobs", "job", "Job", True, (), ("all",),
                 field_labels=_identity("metadata.name", "metadata.namespace", "status.successful"),
                 field_error=JOB_FIELD_ERROR, fields=_job_fields),
    ResourceType("batch", "v1", "cronjobs", "cronjob", "CronJob", True, ("cj",), ("all",)),
    ResourceType("events.k8s.io", "v1", "events", "event", "Event", True, ("ev",), field_labels=_EVENTS_V1_LABELS,
                 field_error=SCHEME_FIELD_ERROR, fields=_event_fields, storage="events"),
)

GROUP_VERSIONS: Tuple[str, ...] = ("v1", "apps/v1", "batch/v1", "events.k8s.io/v1")


def find(group_version: str, plural: str) -> Optional[ResourceType]:
    for rtype in RESOURCES:
        if rtype.group_version == group_version and rtype.plural == plural:
            return rtype
    return None


def for_kind(api_version: str, kind: str) -> ResourceType:
    """The resource that serves objects of this apiVersion/kind (test API convenience)."""
    for rtype in RESOURCES:
        if rtype.group_version == api_version and rtype.kind == kind:
            return rtype
    raise KeyError(f"the fake API server does not serve {api_version} {kind}")


def storage_type(rtype: ResourceType) -> ResourceType:
    """The resource whose store holds this resource's objects (events.k8s.io events live in core events)."""
    if not rtype.storage:
        return rtype
    core = find("v1", rtype.storage)
    assert core is not None, rtype.storage
    return core
