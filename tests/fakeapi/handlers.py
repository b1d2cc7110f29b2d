"""The API server's behaviour per request: discovery, GET, LIST (pagination, selectors, metadata-only
and Table answers), WATCH, CREATE, UPDATE, PATCH, DELETE and pods/log. Transport lives in server.py."""
from __future__ import annotations

import base64
import binascii
import bisect
import copy
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from . import conversion, discovery, logs, negotiation, patching, resources, status, tables
from .cluster import FakeCluster, storage_key
from .negotiation import PARTIAL, TABLE, Representation
from .requestinfo import RequestInfo, go_bool
from .resources import ResourceType
from .selectors import FieldTerm, LabelPredicate, field_terms_match, parse_field_selector, parse_label_selector
from .store import ADDED, DELETED, MODIFIED, Change, Snapshot, Stored, encode, object_key

Obj = Dict[str, Any]

# The server picks a watch timeout in [minRequestTimeout, 2*minRequestTimeout) when the client sets none.
MIN_REQUEST_TIMEOUT = 1800


@dataclass
class Response:
    code: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Dict[str, str] = field(default_factory=dict)
    chunks: Optional[Iterator[bytes]] = None


def json_response(code: int, obj: Any) -> Response:
    return Response(code, encode(obj))


class View:
    """A resource as one API version shows it (events.k8s.io/v1 is a view of core events)."""

    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype
        self.storage_type = resources.storage_type(rtype)
        self.skey = storage_key(rtype)
        self._prefix = "" if not rtype.storage else rtype.group_version + ":"

    def render(self, obj: Obj) -> Obj:
        return conversion.core_to_events_v1(obj) if self.rtype.storage else obj

    def full(self, stored: Stored) -> bytes:
        return stored.encoded(self._prefix + "full", self.render)

    def item(self, stored: Stored) -> bytes:
        """List items carry no kind/apiVersion, as the server writes typed lists."""
        def strip_type(obj: Obj) -> Obj:
            return {k: v for k, v in self.render(obj).items() if k not in ("kind", "apiVersion")}
        return stored.encoded(self._prefix + "item", strip_type)

    @staticmethod
    def partial(stored: Stored, api_version: str) -> bytes:
        return stored.encoded("partial:" + api_version, lambda o: {
            "kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": o.get("metadata", {})})

    def object_bytes(self, stored: Stored, rep: Representation) -> bytes:
        return self.partial(stored, rep.meta_api_version) if rep.form == PARTIAL else self.full(stored)

    def to_storage(self, obj: Obj) -> Obj:
        return conversion.events_v1_to_core(obj) if self.rtype.storage else obj


@dataclass
class Selection:
    namespace: str
    labels: Optional[LabelPredicate]
    fields: List[FieldTerm]
    field_getter: Callable[[Obj], Dict[str, str]]

    @property
    def prefix(self) -> str:
        return self.namespace + "/" if self.namespace else ""

    @property
    def filters(self) -> bool:
        return self.labels is not None or bool(self.fields)

    def matches(self, stored: Stored) -> bool:
        """Whether a stored version is selected (its field-selector values are read once per version)."""
        meta = stored.obj.get("metadata") or {}
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.labels is not None and not self.labels(meta.get("labels") or {}):
            return False
        return not self.fields or field_terms_match(self.fields, stored.fields(self.field_getter))


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> Tuple[int, str]:
    """(resource version, start key relative to the list's prefix), or 400 as storage.DecodeContinue."""
    def invalid(reason: str) -> status.ApiError:
        return status.bad_request(f"invalid continue token: continue key is not valid{reason}")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as err:
        raise invalid(f": {err}")
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise invalid(": server does not recognize this encoded version")
    if not isinstance(data.get("rv"), int) or data["rv"] == 0:
        raise invalid(": incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not data.get("start"):
        raise invalid(": encoded start key empty (version meta.k8s.io/v1)")
    return data["rv"], data["start"]


class Api:
    def __init__(self, cluster: FakeCluster, stop: threading.Event, server_address: str) -> None:
        self.cluster = cluster
        self.store = cluster.store
        self.stop = stop
        self.server_address = server_address

    # ----- entry point
    def handle(self, info: RequestInfo, headers: Dict[str, str], body: bytes) -> Response:
        if not info.is_resource_request:
            return self._non_resource(info)
        rtype = info.rtype
        if rtype is None or (info.namespace and not rtype.namespaced and rtype.plural != "namespaces") \
                or (rtype.namespaced and info.name and not info.namespace):
            raise status.page_not_found()
        if info.subresource:
            if info.subresource not in rtype.subresources or info.method != "GET":
                raise status.page_not_found()
            return self.pod_log(info)
        if (info.verb == "create" and info.name) or (info.verb in ("update", "patch") and not info.name):
            raise status.method_not_allowed()
        view = View(rtype)
        accept = headers.get("accept", "")
        if info.verb == "get":
            return self.get(info, view, negotiation.negotiate(accept, collection=False))
        if info.verb == "list":
            return self.list(info, view, negotiation.negotiate(accept, collection=True))
        if info.verb == "watch":
            return self.watch(info, view, negotiation.negotiate(accept, collection=True, watch=True))
        if info.verb == "create":
            return self.create(info, view, body)
        if info.verb in ("update", "patch"):
            return self.update(info, view, body, headers.get("content-type", ""))
        if info.verb == "delete":
            return self.delete(info, view, body)
        if info.verb == "deletecollection":
            return self.delete_collection(info, view)
        raise status.method_not_allowed()

    def _non_resource(self, info: RequestInfo) -> Response:
        path = info.path.rstrip("/") or "/"
        if info.method != "GET":
            raise status.method_not_allowed()
        if path == "/version":
            return json_response(200, discovery.VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain; charset=utf-8")
        if path == "/api":
            return json_response(200, discovery.api_versions(self.server_address))
        if path == "/apis":
            return json_response(200, discovery.api_group_list())
        parts = path.strip("/").split("/")
        document = None
        if parts[0] == "api" and len(parts) == 2:
            document = discovery.api_resource_list(parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            document = discovery.api_group(parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            document = discovery.api_resource_list(f"{parts[1]}/{parts[2]}")
        if document is None:
            raise status.page_not_found()
        return json_response(200, document)

    # ----- reads
    def _selection(self, info: RequestInfo, view: View) -> Selection:
        labels = parse_label_selector(info.param("labelSelector"))
        terms = [(view.rtype.internal_field(f), op, value)
                 for f, op, value in parse_field_selector(info.param("fieldSelector"))]
        return Selection(info.namespace if view.rtype.namespaced else "", labels, terms, view.storage_type.fields)

    def get(self, info: RequestInfo, view: View, rep: Representation) -> Response:
        stored = self.store.get(view.skey, object_key(info.namespace if view.rtype.namespaced else "", info.name))
        if stored is None:
            raise status.not_found(view.rtype.plural, view.rtype.group, info.name)
        if rep.form == TABLE:
            return json_response(200, self._table([stored], view, rep, {"resourceVersion": str(stored.rv)}, info))
        return Response(200, view.object_bytes(stored, rep))

    def _table(self, items: List[Stored], view: View, rep: Representation, list_meta: Obj,
               info: RequestInfo) -> Obj:
        include = info.param("includeObject", "Metadata")
        kind = view.storage_type.kind
        return {"kind": "Table", "apiVersion": rep.meta_api_version, "metadata": list_meta,
                "columnDefinitions": tables.columns_for(kind),
                "rows": [tables.row(kind, view.render(s.obj), include, rep.meta_api_version) for s in items]}

    def _list_snapshot(self, info: RequestInfo, view: View, selection: Selection) -> Tuple[Snapshot, int, int]:
        """The snapshot to read and the index range to scan, honouring `continue` and exact versions."""
        token = info.param("continue")
        rv_param = info.param("resourceVersion")
        prefix = selection.prefix
        if token:
            if rv_param not in ("", "0"):
                raise status.bad_request("specifying resource version is not allowed when using continue")
            token_rv, start = decode_continue(token)
            snap = self.store.snapshot(view.skey) if token_rv == -1 else self.store.snapshot_at(view.skey, token_rv)
            if snap is None:
                raise status.expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start "
                    "a new list without the continue parameter, or use the continue token in this response to "
                    "retrieve the remainder of the results. Continuing with the provided token results in an "
                    "inconsistent list - objects that were created, modified, or deleted between the time the "
                    "first chunk was returned and now may show up in the list.", encode_continue(-1, start))
            begin, end = snap.key_range(prefix)
            return snap, max(begin, bisect.bisect_left(snap.keys, prefix + start)), end
        if info.param("resourceVersionMatch") == "Exact" and rv_param:
            snap = self.store.snapshot_at(view.skey, int(rv_param)) if rv_param.isdigit() else None
            if snap is None and rv_param == str(self.store.resource_version):
                snap = self.store.snapshot(view.skey)
            if snap is None:
                raise status.expired("The resourceVersion for the provided list is too old.")
        else:
            snap = self.store.snapshot(view.skey)
        begin, end = snap.key_range(prefix)
        return snap, begin, end

    def list(self, info: RequestInfo, view: View, rep: Representation) -> Response:
        selection = self._selection(info, view)
        limit_text = info.param("limit")
        limit = int(limit_text) if limit_text.lstrip("-").isdigit() else 0
        snap, index, end = self._list_snapshot(info, view, selection)
        items: List[Stored] = []
        while index < end:
            stored = snap.items[index]
            index += 1
            if not selection.filters or selection.matches(stored):
                items.append(stored)
                if 0 < limit == len(items):
                    break
        list_meta: Obj = {"resourceVersion": str(snap.rv)}
        if limit > 0 and index < end:
            list_meta["continue"] = encode_continue(snap.rv, snap.keys[index - 1][len(selection.prefix):] + "\x00")
            if not selection.filters:
                list_meta["remainingItemCount"] = end - index
        if rep.form == TABLE:
            return json_response(200, self._table(items, view, rep, list_meta, info))
        if rep.form == PARTIAL:
            head = {"kind": "PartialObjectMetadataList", "apiVersion": rep.meta_api_version}
            parts = [View.partial(s, rep.meta_api_version) for s in items]
        else:
            head = {"kind": view.rtype.kind + "List", "apiVersion": view.rtype.group_version}
            parts = [view.item(s) for s in items]
        prefix = encode(head)[:-1] + b',"metadata":' + encode(list_meta) + b',"items":['
        return Response(200, prefix + b",".join(parts) + b"]}")

    # ----- watch
    def watch(self, info: RequestInfo, view: View, rep: Representation) -> Response:
        selection = self._selection(info, view)
        timeout_text = info.param("timeoutSeconds")
        timeout = int(timeout_text) if timeout_text.isdigit() else random.randint(MIN_REQUEST_TIMEOUT,
                                                                                  2 * MIN_REQUEST_TIMEOUT - 1)
        deadline = time.monotonic() + timeout
        send_initial = go_bool(info.param("sendInitialEvents") or None)
        bookmarks = go_bool(info.param("allowWatchBookmarks") or None)
        rv_param = info.param("resourceVersion")
        initial: List[Stored] = []
        start_rv = int(rv_param) if rv_param.isdigit() else 0
        error: Optional[status.ApiError] = None
        cursor = 0
        if send_initial or rv_param in ("", "0"):
            with self.store.changed:
                snap = self.store.snapshot(view.skey)
                cursor = self.store.cursor_after(snap.rv)
            begin, end = snap.key_range(selection.prefix)
            initial = [s for s in snap.items[begin:end] if selection.matches(s)]
            start_rv = snap.rv
        elif not rv_param.isdigit():
            raise status.bad_request(f'Invalid value: "{rv_param}": resourceVersion must be an integer')
        else:
            try:
                cursor = self.store.cursor_after(int(rv_param))
            except status.ApiError as err:
                error = err

        def frame(kind: str, payload: bytes) -> bytes:
            return b'{"type":"' + kind.encode() + b'","object":' + payload + b"}\n"

        def events() -> Iterator[bytes]:
            nonlocal cursor
            if error is not None:
                yield frame("ERROR", error.body()[0])
                return
            for stored in initial:
                yield frame(ADDED, view.object_bytes(stored, rep))
            if send_initial and bookmarks:
                yield frame("BOOKMARK", encode(self._initial_events_end(view, rep, start_rv)))
            seen_rv = start_rv
            while True:
                try:
                    changes, cursor = self.store.wait_changes(cursor, seen_rv, deadline, self.stop)
                except status.ApiError as err:
                    yield frame("ERROR", err.body()[0])
                    return
                if not changes:
                    return
                seen_rv = changes[-1].rv
                for change in changes:
                    if change.storage != view.skey:
                        continue
                    kind = self._transition(change, selection)
                    if kind:
                        yield frame(kind, view.object_bytes(change.new, rep))

        return Response(200, chunks=events())

    @staticmethod
    def _transition(change: Change, selection: Selection) -> Optional[str]:
        """The event a selective watcher sees: objects entering or leaving the selection are ADDED or
        DELETED for it, as the watch cache reports them."""
        if change.type == DELETED:
            return DELETED if change.old is not None and selection.matches(change.old) else None
        now_in = selection.matches(change.new)
        was_in = change.old is not None and selection.matches(change.old)
        if change.type == ADDED or not was_in:
            return ADDED if now_in else None
        return MODIFIED if now_in else DELETED

    @staticmethod
    def _initial_events_end(view: View, rep: Representation, rv: int) -> Obj:
        """The bookmark that ends a watch-list's initial events: an empty object of the watched kind,
        as the server encodes one (a Pod's carries `spec.containers: null`)."""
        meta: Obj = {"resourceVersion": str(rv), "annotations": {"k8s.io/initial-events-end": "true"}}
        if rep.form == PARTIAL:
            return {"kind": "PartialObjectMetadata", "apiVersion": rep.meta_api_version, "metadata": meta}
        obj: Obj = {"kind": view.rtype.kind, "apiVersion": view.rtype.group_version, "metadata": meta}
        if view.rtype.kind == "Pod":
            obj.update({"spec": {"containers": None}, "status": {}})
        elif view.rtype.kind == "Job":
            obj.update({"spec": {"template": {"metadata": {}, "spec": {"containers": None}}}, "status": {}})
        return obj

    # ----- writes
    @staticmethod
    def _body_object(body: bytes) -> Obj:
        try:
            obj = json.loads(body or b"null")
        except ValueError as err:
            raise status.bad_request(f"couldn't get version/kind; json parse error: {err}")
        if not isinstance(obj, dict):
            raise status.bad_request("Object 'Kind' is missing in the request body")
        return obj

    def create(self, info: RequestInfo, view: View, body: bytes) -> Response:
        obj = view.to_storage(self._body_object(body))
        namespace = info.namespace if view.rtype.namespaced else ""
        stored = self.cluster.create_object(view.storage_type, obj, namespace, through_api=True)
        return Response(201, view.full(stored))

    def update(self, info: RequestInfo, view: View, body: bytes, content_type: str) -> Response:
        namespace = info.namespace if view.rtype.namespaced else ""
        if info.verb == "update":
            obj = view.to_storage(self._body_object(body))
        else:
            current = self.store.get(view.skey, object_key(namespace, info.name))
            if current is None:
                raise status.not_found(view.rtype.plural, view.rtype.group, info.name)
            obj = view.to_storage(patching.apply(copy.deepcopy(view.render(current.obj)), body, content_type))
        meta = obj.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != info.name:
            raise status.bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL "
                                     f"({info.name})")
        meta["name"] = info.name
        if view.rtype.namespaced:
            meta["namespace"] = namespace
        stored = self.cluster.replace_object(view.storage_type, obj, through_api=True,
                                             expect_rv=meta.get("resourceVersion") or None)
        return Response(200, view.full(stored))

    @staticmethod
    def _delete_options(info: RequestInfo, body: bytes) -> Obj:
        options: Obj = {}
        if body.strip():
            try:
                options = json.loads(body)
            except ValueError:
                raise status.bad_request("the body of the request was not valid DeleteOptions")
        if info.param("gracePeriodSeconds"):
            options["gracePeriodSeconds"] = int(info.param("gracePeriodSeconds"))
        return options if isinstance(options, dict) else {}

    def delete(self, info: RequestInfo, view: View, body: bytes) -> Response:
        options = self._delete_options(info, body)
        stored, _ = self.cluster.delete_object(view.storage_type, info.namespace, info.name,
                                               options.get("gracePeriodSeconds"), options.get("preconditions"))
        if view.rtype.returns_deleted_object:
            return Response(200, view.full(stored))
        meta = stored.obj.get("metadata") or {}
        return json_response(200, status.success(info.name, view.rtype.group, view.rtype.plural, meta.get("uid", "")))

    def delete_collection(self, info: RequestInfo, view: View) -> Response:
        selection = self._selection(info, view)
        snap = self.store.snapshot(view.skey)
        begin, end = snap.key_range(selection.prefix)
        deleted: List[Stored] = []
        for stored in snap.items[begin:end]:
            if selection.matches(stored):
                meta = stored.obj["metadata"]
                gone, _ = self.cluster.delete_object(view.storage_type, meta.get("namespace", ""), meta["name"])
                deleted.append(gone)
        head = {"kind": view.rtype.kind + "List", "apiVersion": view.rtype.group_version}
        prefix = encode(head)[:-1] + b',"metadata":' + encode({"resourceVersion": str(self.store.resource_version)})
        return Response(200, prefix + b',"items":[' + b",".join(view.item(s) for s in deleted) + b"]}")

    # ----- pods/log
    def pod_log(self, info: RequestInfo) -> Response:
        key = object_key(info.namespace, info.name)
        stored = self.store.get("pods", key)
        if stored is None:
            raise status.not_found("pods", "", info.name)
        pod = stored.obj
        container = logs.choose_container(pod, info.param("container"))
        if not (pod.get("spec") or {}).get("nodeName"):
            return Response(200, b"", "text/plain")
        previous = go_bool(info.param("previous") or None)
        error = logs.container_log_error(pod, container, previous)
        if error is not None:
            raise error
        uid = pod["metadata"].get("uid")

        def still_running() -> bool:
            current = self.store.get("pods", key)
            if current is None or current.obj["metadata"].get("uid") != uid or self.stop.is_set():
                return False
            statuses = (current.obj.get("status") or {}).get("containerStatuses") or []
            return any(s.get("name") == container and "running" in (s.get("state") or {}) for s in statuses)

        follow = go_bool(info.param("follow") or None)
        query = {k: v[0] for k, v in info.query.items() if v}
        log_key = (info.namespace, info.name, container + (":previous" if previous else ""))
        timeout = float(MIN_REQUEST_TIMEOUT * 2)
        chunks = self.cluster.logs.stream(log_key, query, follow and not previous, still_running,
                                          time.monotonic() + timeout)
        if follow:
            return Response(200, content_type="text/plain", chunks=chunks)
        return Response(200, b"".join(chunks), "text/plain")
