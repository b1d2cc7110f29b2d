"""What a request is about, decoded from its path the way the API server's RequestInfoFactory does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from . import resources
from .resources import ResourceType


def go_bool(text: Optional[str]) -> bool:
    """strconv.ParseBool, which the server uses for query booleans (the Python client sends `True`)."""
    if text is None or text == "":
        return False
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    from . import status
    raise status.bad_request(f'strconv.ParseBool: parsing "{text}": invalid syntax')


@dataclass
class RequestInfo:
    method: str
    path: str
    query: Dict[str, List[str]]
    verb: str = ""
    group_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    rtype: Optional[ResourceType] = None

    @property
    def is_resource_request(self) -> bool:
        return bool(self.resource)

    @property
    def group(self) -> str:
        return self.group_version.rpartition("/")[0]

    def param(self, key: str, default: str = "") -> str:
        values = self.query.get(key)
        return values[0] if values else default


def parse(method: str, path: str, query: Dict[str, List[str]]) -> RequestInfo:
    info = RequestInfo(method, path, query)
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        info.group_version, rest = parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        info.group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return info
    if not rest:
        return info
    if rest[0] == "namespaces" and len(rest) >= 3:
        info.namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) == 2:
        info.namespace = rest[1]
    info.resource = rest[0]
    info.name = rest[1] if len(rest) > 1 else ""
    info.subresource = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3:
        info.resource = ""
        return info
    info.rtype = resources.find(info.group_version, info.resource)
    watching = go_bool(info.param("watch")) if method == "GET" else False
    if method == "GET":
        info.verb = "get" if info.name else ("watch" if watching else "list")
    else:
        info.verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                     "DELETE": "delete" if info.name else "deletecollection"}.get(method, method.lower())
    return info
