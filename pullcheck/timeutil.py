"""Kubernetes timestamps (RFC 3339, with or without fractions) and short human durations."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(value: Any) -> datetime | None:
    """Parse '2026-11-22T02:21:19Z' or '2026-11-22T02:21:18.859718Z'; None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    match = _FRACTION.search(text)
    if match:  # Python 3.9's fromisoformat wants exactly 3 or 6 fraction digits
        text = text[:match.start()] + "." + (match.group(1) + "000000")[:6] + text[match.end():]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def event_times(event: dict) -> tuple[datetime | None, datetime | None]:
    """(first, last) occurrence of a core/v1 or events.k8s.io event, whichever fields it fills."""
    series = event.get("series") or {}
    first = parse_time(event.get("firstTimestamp")) or parse_time(event.get("eventTime")) \
        or parse_time(event.get("deprecatedFirstTimestamp")) or parse_time(event.get("metadata", {}).get("creationTimestamp"))
    last = parse_time(event.get("lastTimestamp")) or parse_time(series.get("lastObservedTime")) \
        or parse_time(event.get("deprecatedLastTimestamp")) or first
    return first, last


def latest_timestamp(objects: Iterable[dict]) -> datetime | None:
    """The newest time found in pods (conditions, start, state changes) and events."""
    best: datetime | None = None
    for obj in objects:
        candidates: list[Any] = []
        if obj.get("kind") == "Event" or "involvedObject" in obj:
            candidates.extend(event_times(obj))
        else:
            status = obj.get("status") or {}
            candidates.append(parse_time(status.get("startTime")))
            candidates.append(parse_time(obj.get("metadata", {}).get("creationTimestamp")))
            candidates.extend(parse_time(c.get("lastTransitionTime")) for c in status.get("conditions") or ())
            for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
                for cs in status.get(key) or ():
                    for state in (cs.get("state") or {}, cs.get("lastState") or {}):
                        for detail in state.values():
                            if isinstance(detail, dict):
                                candidates.append(parse_time(detail.get("startedAt")))
                                candidates.append(parse_time(detail.get("finishedAt")))
        for moment in candidates:
            if moment is not None and (best is None or moment > best):
                best = moment
    return best


def human_duration(seconds: float) -> str:
    """41s, 2m41s, 1h05m, 3d4h: what kubectl prints in its AGE column, a little more precise."""
    seconds = int(round(max(seconds, 0)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"
