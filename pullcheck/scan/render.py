"""Format a ScanReport: an overview table, one block per group, the registries, and the summary line."""
from __future__ import annotations

from pullcheck.render import structured, TextBlock
from pullcheck.scan.report import MIXED, NEW_PODS, Group, ScanReport
from pullcheck.timeutil import format_time, human_duration

SHOWN_PODS = 5           # pods named per group in table output (wide names them all)
SHOWN_NODES = 4

_SCOPE_TEXT = {
    NEW_PODS: "new pods only: none of them ever ran (a rollout, scale-up or new workload)",
    MIXED: "new pods, and pods that ran before and cannot pull again",
}
_RAN_BEFORE_TEXT = ("pods that ran before and cannot pull again after a restart: something changed under running "
                    "workloads (rotated credentials, a deleted tag, a registry or network outage)")


def render_scan_watch(followed, output: str, *, color: bool) -> str:
    """`scan --watch`: the follow's result (pullcheck.scan.follow.ScopeWatch); json/yaml embed the scan."""
    if output in ("json", "yaml"):
        return structured(followed.to_dict(), output)
    text = TextBlock(wide=output == "wide", color=color)
    text.lines.append("")
    recovered = followed.exit_code == 0
    text.lines.append(text.style(followed.summary_line(), fg="green" if recovered else "red", bold=True))
    return text.done()


def render_scan(report: ScanReport, output: str, *, color: bool) -> str:
    if output in ("json", "yaml"):
        return structured(report.to_dict(), output)
    return _ScanText(report, wide=output == "wide", color=color).render()


class _ScanText(TextBlock):
    def __init__(self, report: ScanReport, *, wide: bool, color: bool) -> None:
        super().__init__(wide=wide, color=color)
        self.report = report

    def render(self) -> str:
        r = self.report
        self.lines.append(self.style(f"Image pull problems in {r.scope_text}", bold=True))
        self.line(f"as of {format_time(r.observed_at)}: {r.pods_seen} pods checked"
                  + (f" on {r.nodes_total} nodes" if r.nodes_total is not None else ""))
        if r.groups:
            self.blank()
            self._overview()
            for number, group in enumerate(r.groups, 1):
                self._group(number, group)
            if len(r.by_registry()) > 1:
                self.blank()
                self.lines.append(self.style("By registry:", bold=True))
                self.table(["REGISTRY", "PODS", "CAUSES"],
                           [[reg, str(n), ", ".join(f"{c} {k}" for c, k in causes.items())]
                            for reg, n, causes in r.by_registry()], indent=2)
        self.bullets("Skipped checks:", [f"{s.check}: {s.reason}" for s in r.skipped])
        self.blank()
        self.lines.append(self.style("Summary: ", bold=True) + r.summary_line())
        return self.done()

    def _overview(self) -> None:
        rows = []
        for number, g in enumerate(self.report.groups, 1):
            workloads = ", ".join(g.workloads) or "(bare pods)"
            if not self.wide and len(g.workloads) > 2:
                workloads = ", ".join(list(g.workloads)[:2]) + f" (+{len(g.workloads) - 2})"
            nodes = f"{len(g.nodes_failing)}/{self.report.nodes_total}" if self.report.nodes_total else \
                str(len(g.nodes_failing))
            rows.append([str(number), self.style(g.cause, fg="red"), str(g.pod_count),
                         g.image.written, workloads, nodes, g.scope, self._since(g)])
        self.table(["#", "CAUSE", "PODS", "IMAGE", "WORKLOADS", "NODES", "SCOPE", "SINCE"], rows)

    def _since(self, g: Group) -> str:
        """Wide: the full time. Else HH:MM (UTC) within a day of now, with the date before that."""
        since = format_time(g.first_seen)
        if since is None:
            return "-"
        if self.wide:
            return since
        recent = (self.report.observed_at - g.first_seen).total_seconds() < 86400
        return since[11:16] if recent else f"{since[5:10]} {since[11:16]}"

    def _group(self, number: int, g: Group) -> None:
        self.blank()
        self.line(self.style(f"[{number}] {g.cause}: {g.title}", bold=True) +
                  f" ({g.pod_count} pod{'s' if g.pod_count != 1 else ''})")
        self.field("image", g.image.written + (f" = {g.image.normalized}" if g.image.normalized
                                                 and g.image.normalized != g.image.written else ""), indent=2)
        self.field("verdict", g.summary, indent=2)
        if g.first_seen:
            ago = human_duration((self.report.observed_at - g.first_seen).total_seconds())
            self.field("since", f"{format_time(g.first_seen)} ({ago} ago)", indent=2)
        self.field("scope", _SCOPE_TEXT.get(g.scope, _RAN_BEFORE_TEXT), indent=2)
        for rollout in g.rollouts:
            self.field("rollout", f"{rollout.workload}: the new ReplicaSet's pods fail while {rollout.serving_pods} "
                       "pod(s) of an older ReplicaSet still run: the rollout is stuck, not an outage (`kubectl pullcheck "
                       f"pod {g.pods[0].name} -n {g.pods[0].namespace}` tells whether a rollback is safe)", indent=2)
        self.field("nodes", self._nodes(g), indent=2)
        if g.workloads:
            self.field("workloads", ", ".join(f"{w} ({n})" for w, n in g.workloads.items()), indent=2)
        several = len({p.container for p in g.pods}) > 1
        pods = [f"{p.namespace}/{p.name}" + (f" [{p.container}]" if several else "") for p in g.pods]
        shown = pods if self.wide else pods[:SHOWN_PODS]
        self.field("pods", ", ".join(shown) + (f" (+{len(pods) - len(shown)} more; -o wide lists all)"
                                               if len(shown) < len(pods) else ""), indent=2)
        if g.probe is not None:
            failed = g.probe.failed_step
            self.field("probe", "pullable from here" if g.probe.cause is None else
                       f"{g.probe.cause}" + (f" at {failed.step}: {failed.summary}" if failed else ""), indent=2)
        first = g.pods[0]
        steps = [s for s in g.next_steps if s.command][: 2 if not self.wide else None]
        self.field("next", f"kubectl pullcheck pod {first.name} -n {first.namespace}  (the full diagnosis of one pod)",
                   indent=2)
        for step in steps:
            self.line(self.style(f"$ {step.command}", fg="cyan") + f"  # {step.why}", indent=13, hang=2)

    def _nodes(self, g: Group) -> str:
        failing = _names(g.nodes_failing, self.wide)
        text = f"failing on {failing}" if g.nodes_failing else "not scheduled"
        elsewhere = [n for n in g.nodes_running_image if n not in g.nodes_failing]
        if elsewhere:
            text += f"; the same image runs on {_names(elsewhere, self.wide)}: compare the nodes " \
                    f"(kubectl pullcheck pod {g.pods[0].name} -n {g.pods[0].namespace} --on-node --compare)"
        elif g.nodes_caching_image:
            text += f"; cached on {len(g.nodes_caching_image)} node(s)"
        return text


def _names(names: list[str], wide: bool) -> str:
    if wide or len(names) <= SHOWN_NODES:
        return ", ".join(names)
    return ", ".join(names[:SHOWN_NODES]) + f" (+{len(names) - SHOWN_NODES})"
