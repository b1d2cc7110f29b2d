"""Format PullStats as table (default), wide, json or yaml. Nothing here computes a statistic."""
from __future__ import annotations

from datetime import datetime

from pullcheck.render import structured, TextBlock
from pullcheck.stats.aggregate import (EVENT_RETENTION, GroupStats, PullRecord, PullStats, limit_texts, seconds_text,
                                       size_text)
from pullcheck.timeutil import format_time, human_duration

SHOWN_NODES = 15        # node rows in table output (wide and json list every node)
SHOWN_SLOWEST = 5       # slowest pulls in table output (wide lists all that were kept)


def render_stats(stats: PullStats, output: str, *, color: bool) -> str:
    if output in ("json", "yaml"):
        return structured(stats.to_dict(), output)
    return _StatsText(stats, wide=output == "wide", color=color).render()


def reach_line(stats: PullStats) -> str:
    """e.g. 'events reach back to 2026-11-22 13:05 UTC (52m; the API server keeps events for --event-ttl,
    1h by default)'."""
    if stats.oldest_event is None or stats.reach_seconds is None:
        return f"no events to date ({EVENT_RETENTION})"
    return (f"events reach back to {_minute(stats.oldest_event)} ({human_duration(stats.reach_seconds)}; "
            f"{EVENT_RETENTION})")


def _minute(moment: datetime) -> str:
    return (format_time(moment) or "")[:16].replace("T", " ") + " UTC"


def _rate(group: GroupStats) -> str:
    rate = group.failure_rate
    return "-" if rate is None else f"{rate:.1%}"


def _times(group: GroupStats) -> list[str]:
    spread = group.pull_seconds
    if spread is None:
        return ["-", "-", "-"]
    return [seconds_text(spread.median), seconds_text(spread.p95), seconds_text(spread.max)]


class _StatsText(TextBlock):
    def __init__(self, stats: PullStats, *, wide: bool, color: bool) -> None:
        super().__init__(wide=wide, color=color)
        self.stats = stats

    def render(self) -> str:
        s = self.stats
        self.lines.append(self.style(f"Image pulls in {s.scope_text}, from {s.events_read} pod event(s)", bold=True))
        self.line(reach_line(s))
        self.blank()
        if s.events_read == 0:
            self.line(f"The API server holds no pod events in {s.scope_text}, so there are no pulls to measure: "
                      "events expire after --event-ttl (1h by default).")
            return self.done()
        if s.pull_events == 0:
            self.line(f"No image pull events: none of the {s.events_read} pod event(s) is about pulling an image "
                      "(Pulling, Pulled, Failed to pull, Back-off pulling), so there is nothing to measure.")
            return self.done()
        self.line("Pulls: " + self._totals())
        self._registries()
        self._nodes()
        self._slowest()
        self._flags()
        self.bullets("Notes:", s.notes)
        self.blank()
        if s.flags:
            self.lines.append(self.style(f"{len(s.flags)} threshold(s) exceeded", fg="red", bold=True))
        else:
            self.lines.append(self.style("nothing flagged", fg="green", bold=True))
        return self.done()

    def _totals(self) -> str:
        t = self.stats.total
        parts = [f"{t.attempts} attempt(s)", f"{t.failures} failed ({_rate(t)})", f"{t.succeeded} succeeded"]
        if t.pull_seconds is not None:
            median, p95, longest = _times(t)
            parts[-1] += f" ({t.timed} timed: median {median}, p95 {p95}, max {longest})"
        for count, label in ((t.cache_hits, "already on the node"), (t.back_offs, "back-off(s)"),
                             (t.never_pull, "not pulled (pull policy Never)"),
                             (t.inspect_failed, "not pulled (invalid or uninspectable image)")):
            if count:
                parts.append(f"{count} {label}")
        return ", ".join(parts)

    def _registries(self) -> None:
        headers = ["REGISTRY", "ATTEMPTS", "FAILED", "FAILURE RATE", "TIMED", "MEDIAN", "P95", "MAX", "MEDIAN SIZE"]
        if self.wide:
            headers += ["CACHE HITS", "BACK-OFFS", "NOT PULLED"]
        rows = []
        # without -o wide, a registry with no pull attempt would be a row of zeros: counted below it instead
        registries = self.stats.registries if self.wide else [g for g in self.stats.registries if g.attempts]
        for g in registries:
            rate = _rate(g)
            if g.failure_rate is not None and g.failure_rate > self.stats.thresholds.max_failure_rate:
                rate = self.style(rate, fg="red")
            row = [g.name, str(g.attempts), str(g.failures), rate, str(g.timed), *_times(g),
                   size_text(g.median_size_bytes) if g.median_size_bytes is not None else "-"]
            if self.wide:
                row += [str(g.cache_hits), str(g.back_offs), str(g.never_pull + g.inspect_failed)]
            rows.append(row)
        self._section("By registry (pull time includes waiting for the node's pull queue):", headers, rows)
        idle = len(self.stats.registries) - len(registries)
        if idle:
            self.line(f"... and {idle} registr{'y' if idle == 1 else 'ies'} with no pull attempt (images already on "
                      "the node, backing off, or not pulled: -o wide lists them)", indent=2)

    def _nodes(self) -> None:
        nodes = self.stats.nodes if self.wide else self.stats.nodes[:SHOWN_NODES]
        headers = ["NODE", "ATTEMPTS", "FAILED", "TIMED", "MEDIAN", "P95", "MAX"]
        if self.wide:
            headers[3:3] = ["FAILURE RATE"]
            headers += ["CACHE HITS", "BACK-OFFS"]
        rows = []
        for g in nodes:
            row = [g.name, str(g.attempts), str(g.failures), str(g.timed), *_times(g)]
            if self.wide:
                row[3:3] = [_rate(g)]
                row += [str(g.cache_hits), str(g.back_offs)]
            rows.append(row)
        self._section("By node (slowest first):", headers, rows)
        hidden = len(self.stats.nodes) - len(nodes)
        if hidden:
            self.line(f"... and {hidden} more node(s) (-o wide lists them all)", indent=2)

    def _slowest(self) -> None:
        pulls = self.stats.slowest if self.wide else self.stats.slowest[:SHOWN_SLOWEST]
        if not pulls:
            return
        headers = ["PULL TIME", "IMAGE", "SIZE", "NODE", "FINISHED"]
        if self.wide:
            headers[1:1] = ["RUNTIME PART"]
            headers += ["POD"]
        self._section("Slowest pulls:", headers, [self._pull_row(p) for p in pulls])

    def _pull_row(self, pull: PullRecord) -> list[str]:
        took = seconds_text(pull.pull_seconds) + (f" (x{pull.occurrences})" if pull.occurrences > 1 else "")
        row = [took, pull.image, size_text(pull.size_bytes) if pull.size_bytes is not None else "-", pull.node,
               format_time(pull.at) or "-"]
        if self.wide:
            row[1:1] = [seconds_text(pull.runtime_seconds) if pull.runtime_seconds is not None else "-"]
            row += [f"{pull.namespace}/{pull.pod}"]
        return row

    def _flags(self) -> None:
        s = self.stats
        limits = s.thresholds
        took, size = limit_texts(limits)
        title = (f"Flags (failure rate > {limits.max_failure_rate:.0%} over at least {limits.min_attempts} attempts "
                 f"or {limits.min_failures} failures; "
                 f"pull > {took} for images < {size}):")
        self.blank()
        self.lines.append(self.style(title, bold=True))
        if not s.flags:
            self.line("- none", indent=2)
            return
        for flag in s.flags:
            self.line(self.style("- ", fg="red") + flag.message, indent=2, hang=2)
        named = [flag.details["pull"]["occurrences"] for flag in s.flags if flag.kind == "slow-pull"]
        if s.slow_pulls_flagged > sum(named):
            self.line(f"- {s.slow_pulls_flagged} pulls in all were over the slow-pull rule; the {len(named)} "
                      "slowest are named above", indent=2, hang=2)

    def _section(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        if not rows:
            return
        self.blank()
        self.lines.append(self.style(title, bold=True))
        self.table(headers, rows, indent=2)
