"""Words for `pod --watch`: the live status line (stderr, terminals only), the final line, JSON/YAML.

The status line explains what the watch waits for: the kubelet's next retry, placed with its image pull
back-off (pullcheck.backoff) from the failures seen, e.g.
`web-1: ImagePullBackOff (auth: 401 Unauthorized), kubelet retries in ~1m20s (attempt 5)`.
"""
from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime
from functools import lru_cache
from typing import IO, List, Optional

from pullcheck import backoff
from pullcheck.timeutil import human_duration
from pullcheck.watch import FAILED, GONE, PULLED, RECOVERED, TIMEOUT, ContainerPull, WatchOutcome

_OUTCOME_COLOURS = {RECOVERED: "green", TIMEOUT: "red", GONE: "red", FAILED: "red"}


# -- the live status line --------------------------------------------------------------------------------
def status_line(pod: str, pulls: List[ContainerPull], now: datetime, *, node: Optional[str] = None,
                waiting_for: Optional[str] = None) -> str:
    """One line on what each container not yet pulled waits for, as of `now`."""
    if waiting_for:
        return f"{pod}: {waiting_for}"
    if not node:
        return f"{pod}: not scheduled yet"
    pending = [c for c in pulls if c.status != PULLED]
    if not pending:
        return f"{pod}: images pulled"
    named = len(pulls) > 1
    return f"{pod}: " + "; ".join(_container_status(c, now, named) for c in pending)


def _container_status(c: ContainerPull, now: datetime, named: bool) -> str:
    label = (f"{c.name} (init) " if c.kind == "init" else f"{c.name} ") if named else ""
    attempt = c.failures + 1
    if c.pulling_since is not None:
        took = human_duration((now - c.pulling_since).total_seconds())
        again = f"again (attempt {attempt}) " if c.failures else ""
        return f"{label}pulling {c.image} {again}for {took}".rstrip()
    if c.status != "failing":
        return f"{label}waiting for the kubelet ({c.state})"
    text = f"{label}{c.state}{cause_words(c.error)}"
    if not c.failures or c.last_failure is None:
        return text + ", kubelet retry time unknown (no failed pull event)"
    state = backoff.state(c.failures, c.last_failure, now)
    if state is None or state.reset:
        idle = human_duration((now - c.last_failure).total_seconds())
        return text + f", kubelet retry time unknown (no failed pull recorded for {idle})"
    left = (state.next_retry - now).total_seconds()
    if left > 0:
        return text + f", kubelet retries in ~{human_duration(left)} (attempt {attempt})"
    return text + f", kubelet retry due now (attempt {attempt})"


@lru_cache(maxsize=64)
def cause_words(error: Optional[str]) -> str:
    """' (auth: 401 Unauthorized)', ' (tag-not-found)', or '' for no or an unclassified error."""
    if not error:
        return ""
    from pullcheck.matrix import classify

    found = classify(error)
    if found.cause == "unknown":
        return ""
    status = found.details.get("http_status")
    if status:
        return f" ({found.row.family}: {status} {found.details.get('http_status_text', '')})".replace(" )", ")")
    return f" ({found.cause})"


class TerminalProgress:
    """Progress for a terminal: the status line rewritten in place, notes printed above it and kept."""

    def __init__(self, stream: Optional[IO[str]] = None) -> None:
        self.stream = stream or sys.stderr
        self._showing = False

    def __call__(self, text: str, keep: bool = False) -> None:
        if self._showing:
            self.stream.write("\r\033[K")
            self._showing = False
        if keep:
            self.stream.write(text + "\n")
        elif text:
            width = shutil.get_terminal_size((120, 24)).columns
            self.stream.write(text if len(text) < width else text[:width - 2] + "…")
            self._showing = True
        self.stream.flush()


# -- the result -------------------------------------------------------------------------------------------
def summary_line(outcome: WatchOutcome) -> str:
    """The last line: `recovered after 2m41s: pulled in 1.9s on node-3`, or why it did not."""
    pod = outcome.pod.name
    if outcome.outcome == RECOVERED:
        how = _how_recovered(outcome)
        if outcome.already:
            had_failures = any(c.failures for c in outcome.containers)
            return f"already recovered: {how}" if had_failures else f"already healthy: {how}"
        text = f"recovered after {human_duration(outcome.seconds)}: {how}"
        return text + (f" (replacement pod {pod})" if len(outcome.pods) > 1 else "")
    if outcome.outcome == TIMEOUT:
        still = status_line(pod, outcome.containers, outcome.ended_at, node=outcome.pod.node or _node(outcome),
                            waiting_for=outcome.reason)
        return f"not recovered within {human_duration(outcome.timeout)} (--timeout): {still}"
    return f"pod {pod} {outcome.reason or ('failed' if outcome.outcome == FAILED else 'is gone')}"


def _how_recovered(outcome: WatchOutcome) -> str:
    """`pulled in 1.9s on node-3`; per container when several had something to pull."""
    containers = outcome.containers
    relevant = [c for c in containers if c.success is not None or c.failures] or containers
    parts = []
    for c in relevant:
        if c.success is None:
            what = c.state[0].lower() + c.state[1:] if c.state else "started"
        elif c.success.kind == "already-present":
            what = "already present"
        elif c.success.seconds is not None:
            what = f"pulled in {_seconds(c.success.seconds)}"
        else:
            what = "pulled"
        parts.append(what if len(relevant) == 1 else f"{c.name} {what}")
    node = _node(outcome)
    if parts == ["already present"]:
        return f"already on node {node}" if node else "already on the node"
    return ", ".join(parts) + (f" on {node}" if node else "")


def _node(outcome: WatchOutcome) -> Optional[str]:
    for c in outcome.containers:
        if c.success is not None and c.success.node:
            return c.success.node
    return outcome.pod.node


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f}ms"
    if value < 60:
        return f"{value:.1f}".rstrip("0").rstrip(".") + "s"
    return human_duration(value)


def render_watch(outcome: WatchOutcome, output: str, *, color: bool) -> str:
    """table/wide: the notes and the final line; json/yaml: the PodWatch document with that line."""
    line = summary_line(outcome)
    if output in ("json", "yaml"):
        doc = outcome.to_dict()
        doc["summary"] = line
        if output == "json":
            return json.dumps(doc, indent=2) + "\n"
        import yaml

        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)
    lines = list(outcome.notes)
    for c in outcome.containers:
        if c.blocked:
            lines.append(f"container {c.name} has its image but does not start (not an image pull problem): "
                         f"{c.blocked}")
    if color:
        import click

        line = click.style(line, fg=_OUTCOME_COLOURS.get(outcome.outcome), bold=True)
    return "\n".join(lines + [line]) + "\n"
