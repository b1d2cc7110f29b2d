"""Which representation a client asked for in Accept: the object itself, its metadata only
(PartialObjectMetadata[List]) or a server-printed Table. The fake writes JSON only."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from . import status

FULL, PARTIAL, TABLE = "full", "partial", "table"
_JSON_TYPES = ("application/json", "application/*", "*/*")


@dataclass(frozen=True)
class Representation:
    form: str
    meta_version: str = "v1"      # meta.k8s.io version of a PartialObjectMetadata or Table answer

    @property
    def meta_api_version(self) -> str:
        return f"meta.k8s.io/{self.meta_version}"


def _media_ranges(accept: str) -> List[Tuple[str, Dict[str, str]]]:
    ranges = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        params = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            params[key.strip()] = value.strip()
        ranges.append((pieces[0].lower(), params))
    return ranges


def negotiate(accept: str, collection: bool, watch: bool = False) -> Representation:
    """The first acceptable range wins; 406 if none is (protobuf-only or YAML-only clients)."""
    ranges = _media_ranges(accept or "")
    if not ranges:
        return Representation(FULL)
    for media_type, params in ranges:
        if media_type not in _JSON_TYPES:
            continue
        as_kind = params.get("as")
        if not as_kind:
            return Representation(FULL)
        if params.get("g") != "meta.k8s.io" or params.get("v") not in ("v1", "v1beta1"):
            continue
        version = params["v"]
        if as_kind == "Table" and not watch:
            return Representation(TABLE, version)
        if as_kind == "PartialObjectMetadataList" and collection and not watch:
            return Representation(PARTIAL, version)
        if as_kind == "PartialObjectMetadata" and (not collection or watch):
            return Representation(PARTIAL, version)
    raise status.not_acceptable()
