"""Format reports as table (default), wide, json or yaml. Nothing here decides anything."""
from __future__ import annotations

import json
import shutil
import sys
import textwrap

from typing import Any

import click

from pullcheck.report import (AFTER_FIX, FAILING, NOT_FOR_THIS_CAUSE, NOT_OFFERED, NOW, OK, PULLING, RECOVERED, RISKY,
                              SAFE, STUCK, UNCHECKED, Explanation, PodReport, StopTheBleeding, Verdict)
from pullcheck.timeutil import format_time, human_duration

_STATUS_COLOURS = {FAILING: "red", STUCK: "red", PULLING: "yellow", RECOVERED: "green", OK: "green"}
_VERDICT_COLOURS = {SAFE: "green", RISKY: "yellow", NOT_OFFERED: "red", UNCHECKED: "yellow"}
_ACTION_TITLES = {"delete-pod": "Delete the pod", "rollout-restart": "Restart the rollout",
                  "scale-to-zero-and-back": "Scale to 0 and back"}
_WHEN_TEXT = {NOW: "helps now", AFTER_FIX: "after the fix", NOT_FOR_THIS_CAUSE: "does not help for this cause"}


def render_pod(report: PodReport, output: str, *, color: bool) -> str:
    if output in ("json", "yaml"):
        return structured(report.to_dict(), output)
    return _PodText(report, wide=output == "wide", color=color).render()


def render_pod_with_node(report: PodReport, node_report, conclusions: list, output: str, *, color: bool) -> str:
    """`pod --on-node`: the pod diagnosis, the node probe, and what the node pull decides."""
    from pullcheck.node.report import render_node

    if output in ("json", "yaml"):
        doc = report.to_dict()
        doc["nodeProbe"] = dict(node_report.to_dict(), conclusions=conclusions)
        return structured(doc, output)
    text = TextBlock(wide=output == "wide", color=color)
    text.bullets(f"On node {node_report.node}:", conclusions)
    return render_pod(report, output, color=color) + "\n" + render_node(node_report, output, color=color) \
        + "\n" + text.done()


def render_explanation(report: Explanation, output: str, *, color: bool) -> str:
    if output in ("json", "yaml"):
        return structured(report.to_dict(), output)
    text = TextBlock(wide=output == "wide", color=color)
    if report.image is not None:
        text.field("Image", _image_line(report.image))
    text.verdict(report.verdict)
    return text.done()


def structured(doc: dict[str, Any], output: str) -> str:
    if output == "json":
        return json.dumps(doc, indent=2) + "\n"
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def _image_line(image) -> str:
    if image.invalid:
        return f"{image.written}  (invalid: {image.invalid})"
    parts = [f"registry {image.registry}", f"repository {image.repository}"]
    if image.tag:
        parts.append(f"tag {image.tag}")
    if image.digest:
        parts.append(f"digest {image.digest}")
    shown = image.written if image.written == image.normalized else f"{image.written} = {image.normalized}"
    return f"{shown}  ({', '.join(parts)})"


class TextBlock:
    """Accumulates lines; wraps to the terminal unless wide; colours only when asked."""

    def __init__(self, *, wide: bool, color: bool) -> None:
        self.wide = wide
        self.color = color
        self.width = max(shutil.get_terminal_size((120, 24)).columns, 80)
        # wrap for a person at a terminal; pipes, files and logs keep one line per item for grep
        self.wrap = not wide and sys.stdout.isatty()
        self.lines: list[str] = []

    def style(self, text: str, **kw: Any) -> str:
        return click.style(text, **kw) if self.color else text

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def line(self, text: str = "", indent: int = 0, hang: int = 0) -> None:
        if not self.wrap or len(text) + indent <= self.width:
            self.lines.append(" " * indent + text)
            return
        self.lines.extend(textwrap.wrap(text, width=self.width, initial_indent=" " * indent,
                                        subsequent_indent=" " * (indent + hang), break_long_words=False,
                                        break_on_hyphens=False) or [""])

    def field(self, label: str, value: str, indent: int = 0) -> None:
        self.line(f"{label + ':':<10} {value}", indent=indent, hang=11)

    def bullets(self, title: str, items: list[str]) -> None:
        if not items:
            return
        self.blank()
        self.lines.append(self.style(title, bold=True))
        for item in items:
            self.line(f"- {item}", indent=2, hang=2)

    def table(self, headers: list[str], rows: list[list[str]], indent: int = 0) -> None:
        from tabulate import tabulate

        for row_text in tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True).splitlines():
            self.lines.append(" " * indent + row_text.rstrip())

    def verdict(self, verdict: Verdict) -> None:
        row = verdict.row
        self.blank()
        self.line(self.style(f"Cause: {verdict.cause}", fg="red" if verdict.cause != "unknown" else "yellow",
                             bold=True) + f"  {verdict.summary}", hang=7)
        if verdict.settled_by:
            self.line(f"settled by: {verdict.settled_by}", indent=2, hang=4)
        self.line(f"{row.title}: likely {row.likelihood}; fix works {row.success_rate}% of the time, "
                  f"typically in {row.time_to_resolution}", indent=2, hang=4)
        self.line(f"immediate action: {row.immediate_action}", indent=2, hang=4)
        for candidate in verdict.candidates:
            self.line(f"candidate {candidate.cause} ({candidate.likelihood}%), settled by: {candidate.settled_by}",
                      indent=2, hang=4)
        if verdict.evidence:
            self.blank()
            self.lines.append(self.style("Evidence:", bold=True))
            for item in verdict.evidence:
                self.line(f"- {item.source}: {item.text}", indent=2, hang=2)
        if verdict.next_steps:
            self.blank()
            self.lines.append(self.style("Next steps:", bold=True))
            for number, step in enumerate(verdict.next_steps, 1):
                self.line(f"{number}. {step.why}", indent=2, hang=3)
                if step.command:
                    self.lines.append("     " + self.style("$ " + step.command, fg="cyan"))

    def done(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


class _PodText(TextBlock):
    def __init__(self, report: PodReport, *, wide: bool, color: bool) -> None:
        super().__init__(wide=wide, color=color)
        self.report = report

    def render(self) -> str:
        r = self.report
        node = r.node or "(not scheduled)"
        if r.node_platform:
            node += f" ({r.node_platform})"
        header = f"Pod {r.namespace}/{r.name}   phase {r.phase}   node {node}"
        if r.owner:
            header += f"   owner {r.owner}"
        self.lines.append(self.style(header, bold=True))
        self.line(f"as of {format_time(r.observed_at)}, read from {r.source}")
        self.blank()
        self._summary_table()
        problems = [c for c in r.containers if c.status in (FAILING, STUCK, PULLING)]
        for container in problems:
            self._container(container)
        recovered = [f"{c.name}: {'; '.join(c.notes)}" for c in r.containers if c.status == RECOVERED]
        self.bullets("Recovered:", recovered)
        self.bullets("Pull-secret findings:", r.findings)
        self.bullets("Other problems (not image pulls):", r.other_problems)
        if r.stop_the_bleeding is not None:
            self._stop_the_bleeding(r.stop_the_bleeding)
        self.bullets("Skipped checks:", [f"{s.check}: {s.reason}" for s in r.skipped])
        if not r.problem:
            self.blank()
            verdict = "no image pull problem" + (" (a pull is in progress)" if any(c.status == PULLING for c in
                                                                              r.containers) else "")
            self.lines.append(self.style(verdict, fg="green", bold=True))
        return self.done()

    def _summary_table(self) -> None:
        headers = ["CONTAINER", "IMAGE", "STATE", "PULL", "CAUSE", "ATTEMPTS", "NEXT RETRY"]
        if self.wide:
            headers[5:5] = ["POLICY", "FIRST FAILURE", "CACHED ON"]
        rows = []
        for c in self.report.containers:
            name = c.name if c.kind == "container" else f"{c.name} ({c.kind})"
            status = self.style(c.status, fg=_STATUS_COLOURS.get(c.status))
            row = [name, c.image.written, c.state, status, c.verdict.cause if c.verdict else "-",
                   str(c.attempts or "-"), self._retry(c)]
            if self.wide:
                cache = "-" if c.node_cache is None else f"{len(c.node_cache.nodes_with_image)}/{c.node_cache.nodes_total} nodes"
                row[5:5] = [c.pull_policy, format_time(c.first_failure) or "-", cache]
            rows.append(row)
        self.table(headers, rows)

    def _retry(self, c) -> str:
        if c.backoff is None:
            return "-"
        if c.backoff.reset:
            return "unknown"
        left = (c.backoff.next_retry - self.report.observed_at).total_seconds()
        when = format_time(c.backoff.next_retry)[11:]
        return f"{when} (in {human_duration(left)})" if left > 0 else f"due ({c.backoff.delay_seconds}s back-off)"

    def _container(self, c) -> None:
        self.blank()
        title = f"── {c.kind} {c.name} "
        self.lines.append(self.style(title + "─" * max(4, min(self.width, 100) - len(title)), bold=True))
        self.field("Image", _image_line(c.image))
        self.field("Policy", c.pull_policy)
        if c.attempts:
            line = f"{c.attempts} failed pull(s) since {format_time(c.first_failure)}"
            if c.first_failure:
                line += f" ({human_duration((self.report.observed_at - c.first_failure).total_seconds())} ago)"
            if c.backoff is not None and c.backoff.reset:
                line += ("; no failure recorded for over 10 minutes, so the next retry cannot be placed (the event "
                         "recorder rate-limits repeated events, and events expire)")
            elif c.backoff is not None:
                line += f"; back-off now {c.backoff.delay_seconds}s" + (" (the 300s cap)" if c.backoff.at_cap else "")
                line += f", next retry ~{format_time(c.backoff.next_retry)}"
            self.field("Kubelet", line)
        if c.message:
            self.field("Error", c.message)
            self.field("From", c.message_source or "-")
        if c.node_cache is not None:
            self.field("Cache", self._cache_line(c))
        for note in c.notes:
            self.field("Note", note)
        if c.verdict is not None:
            self.verdict(c.verdict)
        if c.secrets:
            self.blank()
            self.lines.append(self.style("Pull secrets:", bold=True))
            rows = [[s.name, s.source, s.status, _short_type(s.type), ", ".join(s.registries) or "-",
                     "-" if s.matches is None else ("yes" if s.matches else "no"),
                     "yes" if s.used_by_kubelet else "no (service account only)"] for s in c.secrets]
            self.table(["SECRET", "LISTED BY", "STATUS", "TYPE", "REGISTRIES (USER)",
                        f"HAS {c.image.registry or 'HOST'}", "USED BY KUBELET"], rows, indent=2)
        if c.probe is not None:
            from pullcheck.render_probe import write_probe

            write_probe(self, c.probe)

    def _stop_the_bleeding(self, section: StopTheBleeding) -> None:
        self.blank()
        revision = f", revision {section.current_revision}" if section.current_revision is not None else ""
        self.lines.append(self.style(f"Stop the bleeding ({section.workload}{revision}; commands are printed, "
                                     "never run):", bold=True))
        for note in section.notes:
            self.line(f"note: {note}", indent=2, hang=4)
        for option in section.rollbacks:
            self.blank()
            target = f"revision {option.to_revision}" if option.to_revision is not None else "the previous revision"
            self.line(self.style(f"Roll back to {target}: ", bold=True)
                      + self.style(option.verdict, fg=_VERDICT_COLOURS.get(option.verdict), bold=True), indent=2)
            if option.changes:
                self.line("changes: " + "; ".join(option.changes), indent=4, hang=2)
            for image in option.images if self.wide else ():
                if image.nodes_considered is not None:
                    self.line(f"{image.container} {image.image}: cached on {len(image.nodes_with_image)} of "
                              f"{image.nodes_considered} ready node(s): "
                              + (", ".join(image.nodes_with_image) or "none"), indent=4, hang=2)
            if option.secrets:
                self.line("pull secrets: " + ", ".join(
                    f"{s.name} ({s.source}, {s.status}" + (f", {'; '.join(s.registries)}" if s.registries else "") + ")"
                    for s in option.secrets), indent=4, hang=2)
            for reason in option.reasons or [option.summary]:
                self.line(f"- {reason}", indent=4, hang=2)
            self._steps(option.steps, indent=4)
        for action in section.actions:
            self.blank()
            self.line(self.style(_ACTION_TITLES.get(action.action, action.action), bold=True)
                      + f" [{_WHEN_TEXT.get(action.when, action.when)}]", indent=2)
            self.line(f"helps: {action.helps}", indent=4, hang=2)
            self.line(f"does not help: {action.does_not_help}", indent=4, hang=2)
            self.line(f"cost: {action.cost}", indent=4, hang=2)
            self._steps([action.step], indent=4)

    def _steps(self, steps: list, indent: int) -> None:
        for step in steps:
            if step.command:
                self.lines.append(" " * indent + self.style("$ " + step.command, fg="cyan"))

    def _cache_line(self, c) -> str:
        cache = c.node_cache
        here = {True: "present", False: "absent", None: "unknown"}[cache.on_pod_node]
        line = f"on pod's node: {here}; cached on {len(cache.nodes_with_image)} of {cache.nodes_total} node(s)"
        if cache.nodes_with_image:
            shown = cache.nodes_with_image[:5]
            line += ": " + ", ".join(shown) + (" ..." if len(cache.nodes_with_image) > 5 else "")
        return line


def _short_type(secret_type: str | None) -> str:
    if not secret_type:
        return "-"
    return secret_type.replace("kubernetes.io/", "")


