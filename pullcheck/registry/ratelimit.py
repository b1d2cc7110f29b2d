"""Docker Hub style pull rate-limit headers: "ratelimit-limit: 100;w=21600".

Docker Hub reports the limit and what is left in the current window on manifest
responses, HEAD included (a HEAD does not count as a pull), so the probe can read them
without spending a pull.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

from pullcheck.registry.distribution import parse_errors
from pullcheck.registry.transport import Headers, Response

_VALUE_RE = re.compile(r"^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


def parse_value(value: Optional[str]) -> Optional[Tuple[int, Optional[int]]]:
    """(count, window seconds or None) from "100;w=21600"."""
    match = _VALUE_RE.match(value or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def describe_window(seconds: Optional[int]) -> str:
    if not seconds:
        return "the current window"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def read_limits(headers: Headers) -> Optional[Dict[str, object]]:
    """The rate-limit facts in a response's headers, or None when it has none."""
    limit = parse_value(headers.get("ratelimit-limit"))
    remaining = parse_value(headers.get("ratelimit-remaining"))
    if limit is None and remaining is None:
        return None
    facts: Dict[str, object] = {
        "limit": limit[0] if limit else None,
        "remaining": remaining[0] if remaining else None,
        "window_seconds": (limit and limit[1]) or (remaining and remaining[1]) or None,
    }
    source = headers.get("docker-ratelimit-source")
    if source:
        facts["source"] = source[:100]
    return facts


def describe(facts: Dict[str, object]) -> str:
    window = describe_window(facts.get("window_seconds"))  # type: ignore[arg-type]
    text = f"{facts.get('remaining', '?')} of {facts.get('limit', '?')} pulls left per {window}"
    if facts.get("source"):
        text += f" (counted for {facts['source']})"
    return text


def limit_evidence(response: Optional[Response]) -> List[str]:
    """Evidence lines for a refused pull: limits, Retry-After and the registry's error codes."""
    if response is None:
        return []
    lines = []
    facts = read_limits(response.headers)
    if facts:
        lines.append(describe(facts))
    retry = response.headers.get("retry-after")
    if retry:
        lines.append(f"Retry-After: {retry[:40]}")
    lines += [f"{e.code}: {e.message}" for e in parse_errors(response.body)[:2]]
    return lines
