"""Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which `kubectl get`
asks for. Pods, Nodes and Namespaces get the columns of the API server's printers
(pkg/printers/internalversion); other kinds get the default convertor's Name / Created At columns,
which is a simplification (the real server has a printer for each built-in kind).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from . import clock

Obj = Dict[str, Any]

_NAME = {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a "
         "namespace.", "priority": 0}
_AGE = {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp "
        "representing the server time when this object was created.", "priority": 0}


def _column(name: str, description: str, priority: int = 0) -> Dict[str, Any]:
    return {"name": name, "type": "string", "format": "", "description": description, "priority": priority}


POD_COLUMNS = [
    _NAME,
    _column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    _column("Status", "The aggregate status of the containers in this pod."),
    _column("Restarts", "The number of times the containers in this pod have been restarted and when the "
                        "last container in this pod has restarted."),
    _AGE,
    _column("IP", "IP address allocated to the pod.", 1),
    _column("Node", "NodeName indicates in which node this pod is scheduled.", 1),
    _column("Nominated Node", "nominatedNodeName is set when this pod preempts other pods on the node.", 1),
    _column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
]
NODE_COLUMNS = [
    _NAME,
    _column("Status", "The status of the node"),
    _column("Roles", "The roles of the node"),
    _AGE,
    _column("Version", "Kubelet Version reported by the node."),
    _column("Internal-IP", "List of addresses reachable to the node.", 1),
    _column("External-IP", "List of addresses reachable to the node.", 1),
    _column("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 "
                        "(wheezy)).", 1),
    _column("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            1),
    _column("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API "
                                 "(e.g. containerd://1.4.2).", 1),
]
NAMESPACE_COLUMNS = [_NAME, _column("Status", "The status of the namespace"), _AGE]
DEFAULT_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "description": _NAME["description"], "priority": 0},
    {"name": "Created At", "type": "date", "format": "", "description": _AGE["description"], "priority": 0},
]


def _age(meta: Obj) -> str:
    created = meta.get("creationTimestamp")
    if not created:
        return "<unknown>"
    return clock.human_duration((clock.now() - clock.parse(created)).total_seconds())


def _pod_status_and_counts(pod: Obj) -> Tuple[str, int, int, Optional[str]]:
    """printPod's STATUS reason, ready count, restarts and last restart time, for app and init containers."""
    spec, pod_status = pod.get("spec") or {}, pod.get("status") or {}
    reason = pod_status.get("reason") or pod_status.get("phase") or ""
    restarts, ready, last_restart = 0, 0, None
    initializing = False
    init_specs = spec.get("initContainers") or []
    for index, cstatus in enumerate(pod_status.get("initContainerStatuses") or []):
        restarts += cstatus.get("restartCount", 0)
        state = cstatus.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and terminated.get("exitCode") == 0:
            continue
        initializing = True
        if terminated:
            reason = "Init:" + (terminated.get("reason") or (f"Signal:{terminated['signal']}"
                                if terminated.get("signal") else f"ExitCode:{terminated.get('exitCode')}"))
        elif waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break
    if not initializing:
        restarts = 0
        has_running = False
        for cstatus in reversed(pod_status.get("containerStatuses") or []):
            restarts += cstatus.get("restartCount", 0)
            finished = ((cstatus.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
            if finished and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cstatus.get("state") or {}
            waiting, terminated = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated:
                reason = (f"Signal:{terminated['signal']}" if terminated.get("signal")
                          else f"ExitCode:{terminated.get('exitCode')}")
            elif cstatus.get("ready") and state.get("running"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in pod_status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if pod_status.get("reason") == "NodeLost" else "Terminating"
    return reason, ready, restarts, last_restart


def _pod_cells(pod: Obj) -> List[Any]:
    meta, spec, pod_status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    reason, ready, restarts, last_restart = _pod_status_and_counts(pod)
    restarts_cell: Any = restarts
    if last_restart:
        ago = clock.human_duration((clock.now() - clock.parse(last_restart)).total_seconds())
        restarts_cell = f"{restarts} ({ago} ago)"
    pod_ips = pod_status.get("podIPs") or []
    gates = spec.get("readinessGates") or []
    return [meta.get("name", ""), f"{ready}/{len(spec.get('containers') or [])}", reason, restarts_cell,
            _age(meta), pod_ips[0]["ip"] if pod_ips else "<none>", spec.get("nodeName") or "<none>",
            pod_status.get("nominatedNodeName") or "<none>",
            f"0/{len(gates)}" if gates else "<none>"]


def _node_cells(node: Obj) -> List[Any]:
    meta, spec, node_status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    state = "Unknown"
    for condition in node_status.get("conditions") or []:
        if condition.get("type") == "Ready":
            state = {"True": "Ready", "False": "NotReady"}.get(condition.get("status"), "Unknown")
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted({key.split("/", 1)[1] for key in meta.get("labels") or {}
                    if key.startswith("node-role.kubernetes.io/") and key.split("/", 1)[1]}
                   | ({(meta.get("labels") or {})["kubernetes.io/role"]}
                      if (meta.get("labels") or {}).get("kubernetes.io/role") else set()))
    addresses = node_status.get("addresses") or []

    def address(kind: str) -> str:
        return next((a["address"] for a in addresses if a.get("type") == kind), "<none>")
    info = node_status.get("nodeInfo") or {}
    return [meta.get("name", ""), state, ",".join(roles) or "<none>", _age(meta), info.get("kubeletVersion", ""),
            address("InternalIP"), address("ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


def _namespace_cells(namespace: Obj) -> List[Any]:
    meta = namespace.get("metadata") or {}
    return [meta.get("name", ""), (namespace.get("status") or {}).get("phase", ""), _age(meta)]


def _default_cells(obj: Obj) -> List[Any]:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), meta.get("creationTimestamp")]


_PRINTERS = {"Pod": (POD_COLUMNS, _pod_cells), "Node": (NODE_COLUMNS, _node_cells),
             "Namespace": (NAMESPACE_COLUMNS, _namespace_cells)}


def columns_for(kind: str) -> List[Dict[str, Any]]:
    return _PRINTERS.get(kind, (DEFAULT_COLUMNS, _default_cells))[0]


def row(kind: str, obj: Obj, include_object: str, partial_api_version: str) -> Dict[str, Any]:
    """One table row; `include_object` is the request's includeObject (None, Metadata, Object)."""
    cells = _PRINTERS.get(kind, (DEFAULT_COLUMNS, _default_cells))[1](obj)
    result: Dict[str, Any] = {"cells": cells}
    if include_object == "Object":
        result["object"] = obj
    elif include_object != "None":
        result["object"] = {"kind": "PartialObjectMetadata", "apiVersion": partial_api_version,
                            "metadata": obj.get("metadata", {})}
    return result
