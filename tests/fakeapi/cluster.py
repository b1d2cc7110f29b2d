"""FakeCluster: the state behind the fake API server and the API tests use to arrange and change it.

Objects created through the test API keep the status they are given (the test stands in for the
kubelet and the controllers); objects POSTed by clients get the API server's defaults and a reset status.
The fake also does the work of two controllers, instantly: each new namespace gets its `default`
ServiceAccount, and a deleted namespace takes its contents with it.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import clock, defaults, resources, status
from .faults import Faults
from .logs import LogBook
from .requestlog import RequestLog
from .resources import ResourceType
from .store import Store, Stored, object_key

Obj = Dict[str, Any]

SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
# Kinds whose status only the status subresource may change, so PUT/PATCH keep the stored one.
_STATUS_SUBRESOURCE_KINDS = {"Pod", "Node", "Namespace", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                             "Job", "CronJob"}


def clone(obj: Obj) -> Obj:
    """A deep copy of a JSON object (several times faster than copy.deepcopy for big objects)."""
    return json.loads(json.dumps(obj))


def ordered(obj: Obj) -> Obj:
    """kind, apiVersion, metadata first and status last, the order Go's structs print in."""
    out = {key: obj[key] for key in ("kind", "apiVersion", "metadata") if key in obj}
    out.update((k, v) for k, v in obj.items() if k not in out and k != "status")
    if "status" in obj:
        out["status"] = obj["status"]
    return out


def storage_key(rtype: ResourceType) -> str:
    real = resources.storage_type(rtype)
    return real.plural if not real.group else f"{real.group}/{real.plural}"


def key_of(rtype: ResourceType, obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return object_key(meta.get("namespace", "") if rtype.namespaced else "", meta.get("name", ""))


class FakeCluster:
    """Start with `start()` (or `with FakeCluster() as cluster:`); `url`, `write_kubeconfig()` reach it."""

    def __init__(self, *, namespace: str = "default", user: str = "pullcheck-tester", tls: bool = False,
                 history_limit: int = 250_000, system_namespaces: bool = True) -> None:
        self.store = Store(history_limit=history_limit)
        self.logs = LogBook()
        self.faults = Faults()
        self.requests = RequestLog()
        self.namespace = namespace
        self.user = user
        self.tls = tls
        self.allow_anonymous = True
        self.server_errors: List[str] = []   # tracebacks of requests the fake failed on (its own bugs)
        self._token = secrets.token_urlsafe(24)
        self._tokens: Dict[str, str] = {self._token: user}
        self._server: Any = None
        self.kubeconfig: Optional[Path] = None    # the last kubeconfig write_kubeconfig wrote
        for name in SYSTEM_NAMESPACES if system_namespaces else ():
            self.ensure_namespace(name)
        if namespace:
            self.ensure_namespace(namespace)

    # ----- lifecycle
    def start(self) -> "FakeCluster":
        from .server import ApiServer
        if self._server is None:
            self._server = ApiServer(self, tls=self.tls)
            self._server.start()
        return self

    def stop(self) -> None:
        self.store.close()
        self.logs.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "FakeCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake API server is not started")
        return self._server.url

    @property
    def ca_file(self) -> Optional[str]:
        return self._server.ca_file if self._server is not None else None

    # ----- credentials
    def user_for_token(self, token: Optional[str]) -> Optional[str]:
        """The user a bearer token authenticates, `system:anonymous` without one, None if unknown."""
        if token is None:
            return "system:anonymous" if self.allow_anonymous else None
        return self._tokens.get(token)

    def add_user(self, user: str) -> str:
        """A new bearer token for `user` (for per-user 403 rules)."""
        token = secrets.token_urlsafe(24)
        self._tokens[token] = user
        return token

    def write_kubeconfig(self, path: "str | Path", namespace: Optional[str] = None, context: str = "fake",
                         token: Optional[str] = None) -> Path:
        """A kubeconfig for this server: the cluster's own user, or whoever `token` (from add_user) is.
        The one for the cluster's own user is remembered as `kubeconfig`."""
        from .kubeconfig import write_kubeconfig
        written = write_kubeconfig(Path(path), server=self.url, token=token or self._token,
                                   user=self._tokens.get(token or self._token, "user"),
                                   namespace=namespace or self.namespace, context=context, ca_file=self.ca_file)
        if token is None:
            self.kubeconfig = written
        return written

    # ----- object operations shared by the HTTP handlers and the test API
    def create_object(self, rtype: ResourceType, obj: Obj, namespace: str, *, through_api: bool) -> Stored:
        defaults.prepare_create(rtype, obj, namespace, through_api=through_api)
        meta = obj["metadata"]
        if rtype.namespaced:
            if self.store.get("namespaces", meta["namespace"]) is None:
                if through_api:
                    raise status.not_found("namespaces", "", meta["namespace"])
                self.ensure_namespace(meta["namespace"])
            if rtype.kind == "Pod" and through_api:
                self._check_service_account(obj)
        stored = self.store.create(storage_key(rtype), key_of(rtype, obj), ordered(obj))
        if stored is None:
            raise status.already_exists(rtype.plural, rtype.group, meta["name"])
        if rtype.kind == "Namespace":
            self._create_default_service_account(meta["name"])
        return stored

    def _check_service_account(self, pod: Obj) -> None:
        """The ServiceAccount admission plugin refuses pods whose service account does not exist."""
        namespace, name = pod["metadata"]["namespace"], pod["spec"]["serviceAccountName"]
        if self.store.get("serviceaccounts", object_key(namespace, name)) is None:
            reason = f'error looking up service account {namespace}/{name}: serviceaccount "{name}" not found'
            pod_name = pod["metadata"].get("name", "")
            message = f'pods "{pod_name}" is forbidden: {reason}' if pod_name else f"pods is forbidden: {reason}"
            raise status.ApiError(403, status.failure(403, "Forbidden", message,
                                                      {"name": pod_name, "kind": "pods"} if pod_name
                                                      else {"kind": "pods"}))

    def _create_default_service_account(self, namespace: str) -> None:
        rtype = resources.for_kind("v1", "ServiceAccount")
        if self.store.get("serviceaccounts", object_key(namespace, "default")) is None:
            account = {"kind": "ServiceAccount", "apiVersion": "v1",
                       "metadata": {"name": "default", "namespace": namespace}}
            self.create_object(rtype, account, namespace, through_api=False)

    def replace_object(self, rtype: ResourceType, obj: Obj, *, through_api: bool,
                       expect_rv: Optional[str] = None) -> Stored:
        """PUT/PATCH (`through_api`: the server keeps identity, deletion marks and, for kinds with a status
        subresource, the status; a changed spec bumps generation) or the test API's wholesale update.
        An object marked for deletion goes once its last finalizer is removed."""
        key = key_of(rtype, obj)
        current = self.store.get(storage_key(rtype), key)
        name = obj.get("metadata", {}).get("name", "")
        if current is None:
            raise status.not_found(rtype.plural, rtype.group, name)
        old = current.obj
        meta = obj.setdefault("metadata", {})
        kept = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "deletionGracePeriodSeconds")
        for field in kept:
            if field in old["metadata"] and (through_api or field not in meta):
                meta[field] = old["metadata"][field]
        obj["kind"], obj["apiVersion"] = rtype.kind, rtype.group_version
        if through_api:
            if "generation" in meta and obj.get("spec") != old.get("spec"):
                meta["generation"] = int(meta["generation"]) + 1
            if rtype.kind in _STATUS_SUBRESOURCE_KINDS:
                if "status" in old:
                    obj["status"] = old["status"]
                else:
                    obj.pop("status", None)
        new, previous = self.store.update(storage_key(rtype), key, ordered(obj), expect_rv)
        if new is None:
            if previous is None:
                raise status.not_found(rtype.plural, rtype.group, name)
            raise status.conflict(rtype.plural, rtype.group, name)
        if old["metadata"].get("deletionTimestamp") and not new.obj["metadata"].get("finalizers"):
            self.store.delete(storage_key(rtype), key)
        return new

    def delete_object(self, rtype: ResourceType, namespace: str, name: str, grace: Optional[int] = None,
                      preconditions: Optional[Obj] = None) -> Tuple[Stored, bool]:
        """Delete like the generic registry: (the object's last state, whether it is gone)."""
        skey, key = storage_key(rtype), object_key(namespace if rtype.namespaced else "", name)
        current = self.store.get(skey, key)
        if current is None:
            raise status.not_found(rtype.plural, rtype.group, name)
        self._check_preconditions(rtype, current, preconditions or {})
        obj = current.obj
        graceful = rtype.kind == "Pod" and bool((obj.get("spec") or {}).get("nodeName"))
        if graceful and grace is None:
            grace = int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        finalizers = (obj.get("metadata") or {}).get("finalizers")
        if (graceful and grace) or finalizers or rtype.kind == "Namespace":
            marked = clone(obj)
            marked["metadata"].setdefault("deletionTimestamp", clock.rfc3339(clock.now()))
            marked["metadata"].setdefault("deletionGracePeriodSeconds", grace or 0)
            if rtype.kind == "Namespace":
                marked["status"] = {"phase": "Terminating"}
            updated, _ = self.store.update(skey, key, marked)
            assert updated is not None
            if finalizers:
                return updated, False
            if rtype.kind == "Namespace":
                self._delete_namespace_contents(name)
            self.store.delete(skey, key)
            self.logs.wake()
            return updated, True
        gone = self.store.delete(skey, key)
        assert gone is not None
        self.logs.wake()
        return gone, True

    @staticmethod
    def _check_preconditions(rtype: ResourceType, current: Stored, preconditions: Obj) -> None:
        meta = current.obj["metadata"]
        name = meta.get("name", "")
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            want = preconditions.get(field)
            if want and want != meta.get(field):
                message = (f"Operation cannot be fulfilled on {status.qualified_resource(rtype.plural, rtype.group)}"
                           f' "{name}": Precondition failed: {label} in precondition: {want}, {label} in object '
                           f"meta: {meta.get(field)}")
                raise status.ApiError(409, status.failure(409, "Conflict", message,
                                                          {"name": name, "kind": rtype.plural}))

    def _delete_namespace_contents(self, namespace: str) -> None:
        for rtype in resources.RESOURCES:
            if not rtype.namespaced or rtype.storage:
                continue
            snap = self.store.snapshot(storage_key(rtype))
            start, end = snap.key_range(namespace + "/")
            for key in snap.keys[start:end]:
                self.store.delete(storage_key(rtype), key)

    # ----- test API
    @staticmethod
    def _type_of(obj: Obj) -> ResourceType:
        return resources.for_kind(obj.get("apiVersion", "v1"), obj["kind"])

    @staticmethod
    def _type_named(kind: str, api_version: Optional[str]) -> ResourceType:
        if api_version:
            return resources.for_kind(api_version, kind)
        for rtype in resources.RESOURCES:
            if rtype.kind == kind and not rtype.storage:
                return rtype
        raise KeyError(f"the fake API server does not serve kind {kind}")

    def ensure_namespace(self, name: str) -> None:
        if self.store.get("namespaces", name) is None:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def create(self, obj: Obj) -> Obj:
        """Create an object as the test gives it (status included); fills metadata and defaults. A missing
        namespace is created too. Emits ADDED."""
        rtype = self._type_of(obj)
        obj = clone(obj)
        if rtype.storage:
            from .conversion import events_v1_to_core
            rtype, obj = resources.storage_type(rtype), events_v1_to_core(obj)
        namespace = (obj.get("metadata") or {}).get("namespace") or (self.namespace if rtype.namespaced else "")
        return clone(self.create_object(rtype, obj, namespace, through_api=False).obj)

    def update(self, obj: Obj) -> Obj:
        """Replace an object wholesale, status included (the kubelet's and controllers' writes). Emits
        MODIFIED to open watches."""
        rtype = self._type_of(obj)
        obj = clone(obj)
        obj.setdefault("metadata", {}).setdefault("namespace", self.namespace if rtype.namespaced else "")
        if not rtype.namespaced:
            obj["metadata"].pop("namespace", None)
        return clone(self.replace_object(rtype, obj, through_api=False).obj)

    def modify(self, kind: str, name: str, change: Callable[[Obj], None], namespace: Optional[str] = None,
               api_version: Optional[str] = None) -> Obj:
        """Read, change in place with `change(obj)`, write back (MODIFIED)."""
        current = self.get(kind, name, namespace, api_version)
        if current is None:
            rtype = self._type_named(kind, api_version)
            raise status.not_found(rtype.plural, rtype.group, name)
        change(current)
        return self.update(current)

    def get(self, kind: str, name: str, namespace: Optional[str] = None,
            api_version: Optional[str] = None) -> Optional[Obj]:
        rtype = self._type_named(kind, api_version)
        namespace = (namespace or self.namespace) if rtype.namespaced else ""
        stored = self.store.get(storage_key(rtype), object_key(namespace, name))
        return clone(stored.obj) if stored is not None else None

    def list(self, kind: str, namespace: Optional[str] = None, api_version: Optional[str] = None) -> List[Obj]:
        """Objects of a kind, in one namespace or (namespace None) in all."""
        rtype = self._type_named(kind, api_version)
        snap = self.store.snapshot(storage_key(rtype))
        start, end = snap.key_range(namespace + "/" if namespace and rtype.namespaced else "")
        return [clone(s.obj) for s in snap.items[start:end]]

    def delete(self, kind: str, name: str, namespace: Optional[str] = None,
               api_version: Optional[str] = None) -> Obj:
        """Remove an object at once (no grace period); emits DELETED."""
        rtype = self._type_named(kind, api_version)
        namespace = (namespace or self.namespace) if rtype.namespaced else ""
        gone, _ = self.delete_object(rtype, namespace, name, grace=0)
        return clone(gone.obj)

    def seed(self, objects: List[Obj], copy: bool = True) -> None:
        """Add captured objects exactly as they are, resourceVersion included (see Store.seed).
        `copy=False` hands the objects over without copying them (fast bulk loads: the caller must not
        change them afterwards)."""
        entries = []
        for obj in objects:
            rtype = self._type_of(obj)
            entries.append((storage_key(rtype), key_of(rtype, obj), ordered(clone(obj) if copy else obj)))
        self.store.seed(entries)

    def set_log(self, pod: str, container: str, text: str, namespace: Optional[str] = None,
                finished: bool = True, previous: bool = False) -> None:
        """The container's log (`previous`: its last terminated instance's). `finished=False` keeps
        `follow` readers waiting for `append_log` while the container runs."""
        self.logs.set(namespace or self.namespace, pod, container + (":previous" if previous else ""), text,
                      finished)

    def append_log(self, pod: str, container: str, text: str, namespace: Optional[str] = None) -> None:
        self.logs.append(namespace or self.namespace, pod, container, text)

    def finish_log(self, pod: str, container: str, namespace: Optional[str] = None) -> None:
        self.logs.finish(namespace or self.namespace, pod, container)

    def compact(self) -> None:
        """Drop watch history and list snapshots: older watches and continue tokens get 410 Expired."""
        self.store.compact()
