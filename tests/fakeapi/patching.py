"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch
approximated as a merge patch (lists are replaced rather than merged by key)."""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Tuple

from . import status

Obj = Dict[str, Any]

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def _pointer(path: str) -> List[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise status.bad_request(f"invalid JSON pointer: {path}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _locate(doc: Any, path: str) -> Tuple[Any, Any]:
    """(container, key or index) of a JSON pointer; (None, None) for the whole document."""
    parts = _pointer(path)
    if not parts:
        return None, None
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        return node, len(node) if last == "-" else int(last)
    return node, last


def _json_patch(doc: Any, ops: List[Obj]) -> Any:
    for op in ops:
        kind = op.get("op")
        try:
            if kind in ("move", "copy"):
                source, source_key = _locate(doc, op.get("from", ""))
                value = copy.deepcopy(source[source_key])
                if kind == "move":
                    del source[source_key]
                kind, op = "add", {"path": op.get("path", ""), "value": value}
            parent, key = _locate(doc, op.get("path", ""))
            value = copy.deepcopy(op.get("value"))
            if parent is None:
                if kind not in ("add", "replace"):
                    raise KeyError(op.get("path"))
                doc = value
            elif kind == "add":
                if isinstance(parent, list):
                    parent.insert(key, value)
                else:
                    parent[key] = value
            elif kind == "replace":
                if isinstance(parent, dict) and key not in parent:
                    raise KeyError(key)
                parent[key] = value
            elif kind == "remove":
                del parent[key]
            elif kind == "test":
                if parent[key] != value:
                    raise KeyError(op.get("path"))
            else:
                raise status.bad_request(f"Unexpected kind: {kind}")
        except (KeyError, IndexError, ValueError, TypeError):
            raise status.ApiError(422, status.failure(422, "Invalid", "the server rejected our request due to an "
                                                      f"error in our request: {kind} operation does not apply: "
                                                      f"doc is missing path: {op.get('path')}"))
    return doc


def apply(current: Obj, body: bytes, content_type: str) -> Obj:
    media = content_type.split(";")[0].strip().lower()
    if media not in (MERGE, STRATEGIC, JSON_PATCH):
        raise status.unsupported_media_type()
    try:
        patch = json.loads(body or b"null")
    except ValueError as err:
        raise status.bad_request(f"error decoding patch: {err}")
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise status.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        result = _json_patch(current, patch)
    else:
        result = merge(current, patch)
    if not isinstance(result, dict):
        raise status.bad_request("the patch did not produce an object")
    return result
