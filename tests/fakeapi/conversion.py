"""events.k8s.io/v1 Event <-> core v1 Event, as pkg/apis/events/v1/conversion.go maps the fields.

The API server keeps one store of events and serves it in both versions; so does the fake.
"""
from __future__ import annotations

from typing import Any, Dict

Obj = Dict[str, Any]

# (core field, events.k8s.io/v1 field), in events/v1 struct order after metadata.
_FIELDS = (
    ("eventTime", "eventTime"), ("series", "series"), ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"), ("action", "action"), ("reason", "reason"),
    ("involvedObject", "regarding"), ("related", "related"), ("message", "note"), ("type", "type"),
    ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount"),
)
# Fields Go writes even when empty (no omitempty, or a struct/Time value that omitempty cannot drop).
_ALWAYS_WRITTEN_V1 = {"eventTime": None, "regarding": {}, "deprecatedSource": {},
                      "deprecatedFirstTimestamp": None, "deprecatedLastTimestamp": None}
_ALWAYS_WRITTEN_CORE = {"involvedObject": {}, "source": {}, "firstTimestamp": None, "lastTimestamp": None,
                        "eventTime": None}


def core_to_events_v1(event: Obj) -> Obj:
    out: Obj = {"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": event.get("metadata", {})}
    for core_name, v1_name in _FIELDS:
        value = event.get(core_name)
        if value in (None, "", 0, {}, []):
            if v1_name in _ALWAYS_WRITTEN_V1:
                out[v1_name] = value if value is not None else _ALWAYS_WRITTEN_V1[v1_name]
            continue
        out[v1_name] = value
    return out


def events_v1_to_core(event: Obj) -> Obj:
    out: Obj = {"kind": "Event", "apiVersion": "v1", "metadata": event.get("metadata", {})}
    for core_name, v1_name in _FIELDS:
        value = event.get(v1_name)
        if value in (None, "", 0, {}, []):
            if core_name in _ALWAYS_WRITTEN_CORE:
                out[core_name] = value if value is not None else _ALWAYS_WRITTEN_CORE[core_name]
            continue
        out[core_name] = value
    return out
