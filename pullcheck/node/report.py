"""What `node NAME` shows: one row per probe record, with a one-line summary and, for failed pulls,
the matrix cause; exit code 0 when nothing failed, 1 otherwise. Rendered as table, json or yaml."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from pullcheck.errors import EXIT_OK, EXIT_PROBLEM
from pullcheck.node.records import Record, classify_pull, http_stage, pull_error
from pullcheck.node.runner import ProbeResult

SUMMARY_WIDTH = 160
_STATUS_COLOURS = {"ok": "green", "fail": "red", "warn": "yellow"}
_HIDDEN_CHECKS = ("probe",)        # start/end markers: shown only as `complete`


@dataclass(frozen=True)
class NodeCheck:
    check: str
    subject: str
    status: str
    summary: str
    cause: Optional[str] = None
    detail: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return {"check": self.check, "subject": self.subject, "status": self.status, "summary": self.summary,
                "cause": self.cause, "detail": self.detail}


@dataclass
class NodeReport:
    node: str
    pod: str
    namespace: str
    probe_image: str
    seconds: float
    complete: bool
    checks: List[NodeCheck]
    warnings: List[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        failed = any(c.status == "fail" for c in self.checks)
        return EXIT_PROBLEM if failed or not self.complete else EXIT_OK

    def to_dict(self) -> Dict[str, Any]:
        return {"node": self.node, "probePod": f"{self.namespace}/{self.pod}", "probeImage": self.probe_image,
                "seconds": round(self.seconds, 1), "complete": self.complete, "warnings": self.warnings,
                "checks": [c.to_dict() for c in self.checks]}


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= SUMMARY_WIDTH else line[:SUMMARY_WIDTH - 3] + "..."


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def summarize(record: Record, plain_http_hosts: List[str]) -> NodeCheck:
    """One table row for a record."""
    fields = record.fields
    status, cause = record.status, None
    if record.check == "pull":
        if record.status == "ok":
            summary = f"pulled via {fields.get('via', '?')} in {fields.get('seconds', '?')} s"
        elif record.status == "fail":
            found = classify_pull(record)
            cause = found.cause if found else None
            error = pull_error(record)
            summary = _short(error[len("ctr: "):] if error.startswith("ctr: ") else error) or \
                f"{fields.get('via', 'the pull')} exited {fields.get('exit', '?')}"
        else:
            summary = _short(record.detail)
    elif record.check in ("https", "http"):
        url = f"{record.check}://{record.subject}/v2/"
        if record.status == "ok":
            summary = f"HTTP {fields.get('http_status')} from {url} via {fields.get('via')}"
        else:
            stage = http_stage(record)
            cause = stage
            summary = _short(f"{url}: stopped at {stage}: {_last_line(record.body)}")
            if record.check == "https" and record.subject in plain_http_hosts:
                status, cause = "info", None
                summary = _short(f"{url}: no TLS ({stage}); the registry answers plain HTTP")
    else:
        summary = _short(record.detail) or "(none)"
    return NodeCheck(record.check, record.subject, status, summary, cause, record.detail)


def build_report(result: ProbeResult) -> NodeReport:
    records = [r for r in result.output.records if r.check not in _HIDDEN_CHECKS or r.status == "fail"]
    plain_http = [r.subject for r in result.output.find("http") if r.status == "ok"]
    return NodeReport(node=result.node, pod=result.pod, namespace=result.namespace, probe_image=result.probe_image,
                      seconds=result.seconds, complete=result.output.complete,
                      checks=[summarize(r, plain_http) for r in records], warnings=list(result.warnings))


def render_node(report: NodeReport, output: str, *, color: bool) -> str:
    if output == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    if output == "yaml":
        import yaml

        return yaml.safe_dump(report.to_dict(), sort_keys=False, allow_unicode=True, width=120)
    import click
    from tabulate import tabulate

    def style(status: str) -> str:
        colour = _STATUS_COLOURS.get(status)
        return click.style(status, fg=colour) if color and colour else status

    lines = [f"Node {report.node}: probed from pod {report.namespace}/{report.pod} "
             f"(image {report.probe_image}) in {report.seconds:.1f}s"]
    lines += [f"warning: {w}" for w in report.warnings]
    rows = [[c.check, c.subject, style(c.status), c.cause or "-", c.summary] for c in report.checks]
    lines.append("")
    lines += tabulate(rows, headers=["CHECK", "SUBJECT", "STATUS", "CAUSE", "DETAIL"], tablefmt="plain",
                      disable_numparse=True).splitlines()
    failed = [c for c in report.checks if c.status == "fail"]
    lines.append("")
    lines.append(f"{len(failed)} of {len(report.checks)} checks failed" if failed else "all checks passed")
    return "\n".join(line.rstrip() for line in lines) + "\n"
