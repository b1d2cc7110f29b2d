"""Lint report output: table (default), wide, json, yaml, and GitHub Actions annotations.

table: a heading per container with findings (file:line, object, container, image), under it one row
per finding (severity, rule, message, and the fix on the next line), wrapped to the terminal when stdout
is one; a summary line last. wide: one table line per finding with every field and the fix in its own
column, never wrapped (for grep).
json / yaml: the stable `apiVersion: pullcheck/v1, kind: LintReport` document. github: one workflow
command per finding (`::error file=F,line=N,col=C,title=RULE::message`), which GitHub shows as an
annotation on the line; notes become `::notice::`, the summary stays a plain log line.
"""
from __future__ import annotations

import json
import shutil
import sys
import textwrap
from typing import Any

from pullcheck.lint.rules import ERROR, INFO, WARNING, Finding, ImageProbe, LintReport

OUTPUTS = ("table", "wide", "json", "yaml", "github")
_COLOURS = {ERROR: "red", WARNING: "yellow", INFO: "cyan"}
_GITHUB_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "notice"}
MIN_MESSAGE_WIDTH = 40


def render_report(report: LintReport, output: str, *, color: bool = False) -> str:
    if output == "json":
        return json.dumps(report_document(report), indent=2) + "\n"
    if output == "yaml":
        import yaml

        return yaml.safe_dump(report_document(report), sort_keys=False, allow_unicode=True, width=120)
    if output == "github":
        return _github(report)
    return _table(report, wide=output == "wide", color=color)


# -- json / yaml ------------------------------------------------------------------------------------------------
def report_document(report: LintReport) -> dict[str, Any]:
    source: dict[str, Any] = {"mode": report.mode}
    source["files" if report.mode == "files" else "scope"] = report.sources if report.mode == "files" \
        else report.sources[0]
    return {
        "apiVersion": "pullcheck/v1",
        "kind": "LintReport",
        "source": source,
        "summary": {
            "errors": report.count(ERROR), "warnings": report.count(WARNING), "info": report.count(INFO),
            "images": len(report.images), "containers": len(report.containers), "objects": len(report.workloads),
            "files": len(report.sources) if report.mode == "files" else None,
            "passed": report.exit_code == 0, "exitCode": report.exit_code,
        },
        "findings": [_finding_dict(f) for f in report.findings],
        "probe": {"platforms": report.platforms, "images": [_probe_dict(p) for p in report.distinct_probes]}
        if report.probed else None,
        "ignoredRules": report.ignored_rules,
        "notes": report.notes,
    }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    workload, container = finding.workload, finding.container
    return {
        "rule": finding.rule, "severity": finding.severity, "message": finding.message, "fix": finding.fix,
        "file": finding.position.file, "line": finding.position.line, "column": finding.position.column,
        "object": {"kind": workload.kind, "namespace": workload.namespace, "name": workload.name,
                   "line": workload.position.line},
        "container": {"name": container.name, "type": container.type},
        "image": finding.image if isinstance(finding.image, str) else str(finding.image),   # e.g. a YAML date
    }


def _probe_dict(probe: ImageProbe) -> dict[str, Any]:
    return {"image": probe.image, "pullable": probe.cause is None, "cause": probe.cause, "summary": probe.summary,
            "digest": probe.digest, "anonymous": probe.anonymous, "platforms": probe.platforms,
            "available": probe.available, "suggestions": probe.suggestions,
            "elapsedSeconds": round(probe.elapsed, 3)}


# -- table -------------------------------------------------------------------------------------------------------
def _style(text: str, color: bool, **kw: Any) -> str:
    if not color:
        return text
    import click

    return click.style(text, **kw)


def _table(report: LintReport, *, wide: bool, color: bool) -> str:
    sections = [_wide_rows(report, color) if wide else _grouped_rows(report, color)]
    if report.probed and report.distinct_probes:
        sections.append(_probe_table(report, color))
    if report.notes:
        sections.append([_style("Notes:", color, bold=True)] + [f"- {note}" for note in report.notes])
    sections.append([summary_line(report)])
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def _grouped_rows(report: LintReport, color: bool) -> list[str]:
    """One heading line per container with findings (file:line first, which terminals and editors open),
    under it one row per finding: severity, rule, message and its fix; columns aligned across groups."""
    from tabulate import tabulate

    if not report.findings:
        return []
    width = None
    if sys.stdout.isatty():
        rule_width = max(len(f.rule) for f in report.findings)
        width = max(MIN_MESSAGE_WIDTH, shutil.get_terminal_size((120, 24)).columns - rule_width - 2 - 7 - 2 - 2 - 1)
    rows, heights, headings = [], [], {}
    previous: Finding | None = None
    for f in report.findings:
        if previous is None or f.container is not previous.container:
            headings[len(rows)] = _heading(f, color)
        parts = [f.message, "fix: " + f.fix]
        if width is not None:
            parts = [wrapped for part in parts
                     for wrapped in textwrap.wrap(part, width=width, subsequent_indent="  ",
                                                  break_long_words=False, break_on_hyphens=False)]
        rows.append(["", _style(f.severity, color, fg=_COLOURS[f.severity], bold=f.severity == ERROR), f.rule,
                     "\n".join(parts)])
        heights.append(len(parts))
        previous = f
    table = tabulate(rows, tablefmt="plain", disable_numparse=True).splitlines()
    lines, at = [], 0
    for index, height in enumerate(heights):
        if index in headings:
            lines.append(headings[index])
        lines += [line.rstrip() for line in table[at:at + height]]
        at += height
    return lines


def _heading(finding: Finding, color: bool) -> str:
    container, position = finding.container, finding.container.position
    what = {"init": "init container", "ephemeral": "ephemeral container"}.get(container.type, "container")
    where = f"{position}  " if position.file is not None else ""
    return (_style(where, color, bold=True) + f"{finding.workload.label}  {what} {container.name}  "
            + _short_image(finding.image))


def _wide_rows(report: LintReport, color: bool) -> list[str]:
    """One line per finding with every field, for grep and for wide terminals."""
    from tabulate import tabulate

    if not report.findings:
        return []
    files = report.mode == "files"
    headers = (["LOCATION"] if files else []) + ["SEVERITY", "RULE", "OBJECT", "CONTAINER", "IMAGE", "MESSAGE",
                                                  "FIX"]
    rows = []
    for f in report.findings:
        row = [str(f.position)] if files else []
        rows.append(row + [_style(f.severity, color, fg=_COLOURS[f.severity], bold=f.severity == ERROR), f.rule,
                           f.workload.label, f.container.label, str(f.image), f.message, f.fix])
    return [line.rstrip() for line in tabulate(rows, headers=headers, tablefmt="plain",
                                               disable_numparse=True).splitlines()]


def _short_image(image: Any) -> str:
    """The image with its digest cut to 12 hex digits (the fix lines keep digests whole)."""
    text = str(image)
    name, at, digest = text.partition("@")
    algorithm, colon, encoded = digest.partition(":")
    if at and colon and len(encoded) > 12:
        return f"{name}@{algorithm}:{encoded[:12]}..."
    return text


def _probe_table(report: LintReport, color: bool) -> list[str]:
    from tabulate import tabulate

    rows = []
    for probe in report.distinct_probes:
        pullable = probe.cause is None
        platforms = ", ".join(f"{p} {'yes' if ok else 'no' if ok is False else '?'}"
                              for p, ok in probe.platforms.items())
        rows.append([probe.image, _style("yes" if pullable else "no", color, fg="green" if pullable else "red"),
                     probe.cause or "-", probe.digest or "-"] + ([platforms or "-"] if report.platforms else []))
    headers = ["PROBED IMAGE", "PULLABLE", "CAUSE", "DIGEST"] + (["PLATFORMS"] if report.platforms else [])
    title = _style("Registry probe (from this workstation, once per image):", color, bold=True)
    return [title] + [line.rstrip() for line in
                      tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True).splitlines()]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 or word == "info" else "s")


def summary_line(report: LintReport) -> str:
    counts = [(report.count(ERROR), "error"), (report.count(WARNING), "warning"), (report.count(INFO), "info")]
    found = ", ".join(_plural(n, word) for n, word in counts if n) or "no findings"
    scope = f"{_plural(len(report.images), 'image')} across {_plural(len(report.workloads), 'object')}"
    scope += f" in {_plural(len(report.sources), 'file')}" if report.mode == "files" else f" in {report.sources[0]}"
    line = f"{found} in {scope}"
    if report.ignored_rules:
        line += f" (ignored: {', '.join(report.ignored_rules)})"
    if report.warn_only and report.count(ERROR):
        line += " (--warn-only: exit 0)"
    return line


# -- GitHub Actions workflow commands --------------------------------------------------------------------------
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(report: LintReport) -> str:
    lines = []
    for f in report.findings:
        position = f.position
        props = []
        if position.file is not None and position.file != "<stdin>":
            props.append(f"file={_escape_property(position.file)}")
            if position.line:
                props += [f"line={position.line}"] + ([f"col={position.column}"] if position.column else [])
        props.append(f"title={_escape_property(f.rule)}")
        what = {"container": "container", "init": "init container", "ephemeral": "ephemeral container"}
        message = (f"{f.workload.label} {what.get(f.container.type, f.container.type)} {f.container.name} "
                   f"({f.image}): {f.message}. Fix: {f.fix}")
        lines.append(f"::{_GITHUB_LEVELS[f.severity]} {','.join(props)}::{_escape_data(message)}")
    lines += [f"::notice title=pullcheck lint::{_escape_data(note)}" for note in report.notes]
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
