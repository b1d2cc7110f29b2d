"""/version and the legacy (unaggregated) discovery documents: /api, /api/v1, /apis, /apis/{group},
/apis/{group}/{version}. Clients that ask for aggregated discovery (apidiscovery.k8s.io/v2) get these
plain documents with Content-Type application/json, which tells them to fall back, as client-go does.
storageVersionHash is left out (the real hashes are not known here).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from .resources import GROUP_VERSIONS, RESOURCES, ResourceType

Obj = Dict[str, Any]

# The versions the captures were taken with (kube-apiserver v1.36.2); build details are placeholders.
VERSION_INFO: Obj = {
    "major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "35", "gitVersion": "v1.36.2",
    "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc", "platform": "linux/amd64",
}


def api_versions(server_address: str) -> Obj:
    """/api: APIVersions, which (unlike the other documents) carries no apiVersion."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_entry(group: str) -> Obj:
    versions = [{"groupVersion": gv, "version": gv.split("/")[1]} for gv in GROUP_VERSIONS
                if gv.startswith(group + "/")]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def _groups() -> List[str]:
    seen: List[str] = []
    for gv in GROUP_VERSIONS:
        if "/" in gv and gv.split("/")[0] not in seen:
            seen.append(gv.split("/")[0])
    return seen


def api_group_list() -> Obj:
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_entry(g) for g in _groups()]}


def api_group(group: str) -> Optional[Obj]:
    if group not in _groups():
        return None
    return dict({"kind": "APIGroup", "apiVersion": "v1"}, **_group_entry(group))


def _resource_entries(rtype: ResourceType) -> List[Obj]:
    entry: Obj = {"name": rtype.plural, "singularName": rtype.singular, "namespaced": rtype.namespaced,
                  "kind": rtype.kind, "verbs": list(rtype.verbs)}
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    entries = [entry]
    for sub in rtype.subresources:
        entries.append({"name": f"{rtype.plural}/{sub}", "singularName": "", "namespaced": rtype.namespaced,
                        "kind": rtype.kind, "verbs": ["get"]})
    return entries


def api_resource_list(group_version: str) -> Optional[Obj]:
    if group_version not in GROUP_VERSIONS:
        return None
    listed = [e for r in RESOURCES if r.group_version == group_version for e in _resource_entries(r)]
    document: Obj = {"kind": "APIResourceList"}
    if group_version != "v1":
        document["apiVersion"] = "v1"     # the legacy /api/v1 document has none
    document["groupVersion"] = group_version
    document["resources"] = listed
    return document
