"""Format a fleet probe (node x check matrix) and a node comparison (two nodes side by side) as
table, wide, json or yaml. Nothing here decides anything: the grid and its differences come from
pullcheck.node.fleet, the conclusions from pullcheck.node.compare.

The matrix is laid out to fit the terminal: checks as rows and nodes as columns when that fits,
else nodes as rows and checks as columns under short headers (PULL1, DNS2) explained by a legend.
"""
from __future__ import annotations

import shutil
from typing import List, Optional, Sequence

from pullcheck.node.compare import NodeComparison
from pullcheck.render import structured
from pullcheck.node.fleet import (CONFIG, ERROR, PROBED, SKIPPED, VALUE, Cell, Column, Difference, FleetReport,
                                  Grid)
from pullcheck.report import PodReport

_STATUS_COLOURS = {"ok": "green", "fail": "red", "warn": "yellow"}
CELL_MEANINGS = (
    ("ok", "passed"), ("fail", "failed"), ("warn", "warning"), ("info", "informational (see `node NAME`)"),
    ("skip", "not checked on that node"), ("-", "not reported (the probe did not get that far)"),
    ("same", "the same settings on every node"), ("A", "A, B, ...: settings that differ (A: on most nodes)"),
)
NODES_SHOWN = 6              # the nodes with the most common outcome, named up to this many
ODD_NODES_SHOWN = 20         # the nodes that differ from them: longer lists end with "and N more"
DELTA_LINES = 4              # settings lines shown per differing node group


def render_fleet(report: FleetReport, output: str, *, color: bool, width: Optional[int] = None) -> str:
    if output in ("json", "yaml"):
        return structured(report.to_dict(), output)
    probed = report.probed
    lines = [_bold(f"Node probe of {report.target}: {len(report.nodes)} node(s), {report.parallel} in parallel, "
                   f"{report.seconds:.1f}s", color)]
    if probed:
        grid = report.grid()
        lines.append("")
        lines += _matrix(grid, wide=output == "wide", color=color, width=width or _terminal_width())
        differences = grid.differences()
        if differences:
            lines += ["", _bold("Differs between nodes:", color)]
            for difference in differences:
                lines += _difference_lines(grid, difference)
        elif len(probed) > 1:
            lines += ["", "every probed node gives the same results"]
    missing = [o for o in report.nodes if o.state != PROBED]
    if missing:
        lines += ["", _bold("Not probed:", color)]
        for outcome in missing:
            what = "skipped" if outcome.state == SKIPPED else "the probe failed"
            lines.append(f"- {outcome.node}: {what}: {outcome.reason}")
            if outcome.hint:
                lines.append(f"    hint: {outcome.hint}")
    warnings = [(r.node, w) for r in probed for w in r.warnings]
    if warnings:
        lines += ["", _bold("Warnings:", color)]
        lines += [f"- {node}: {warning}" for node, warning in warnings]
    lines += ["", _summary(report, color)]
    return "\n".join(_rstrip(lines)) + "\n"


def render_comparison(report: PodReport, comparison: NodeComparison, output: str, *, color: bool) -> str:
    """The pod diagnosis, then both nodes' checks side by side, the differences and the conclusions."""
    from pullcheck.render import render_pod

    if output in ("json", "yaml"):
        doc = report.to_dict()
        doc["nodeComparison"] = comparison.to_dict()
        return structured(doc, output)
    target, other = comparison.target, comparison.other
    title = f"Node comparison: {target.node} (the pod's node)" + (f" and {other.node}" if other else "")
    lines = [_bold(title, color)]
    lines.append(f"{other.node} chosen: {comparison.choice.reason}" if other
                 else f"no node to compare with: {comparison.choice.reason}")
    grid = comparison.grid()
    if grid.nodes:
        wide = output == "wide"
        differing = {d.column.label: d for d in grid.differences()}
        rows = [[column.label] + [_cell_text(grid, column, grid.cell(node, column), wide=wide, color=color)
                                  for node in grid.nodes] + ["differs" if column.label in differing else ""]
                for column in grid.columns]
        lines.append("")
        lines += _table(["CHECK"] + grid.nodes + [""], rows)
        if differing and len(grid.nodes) == 2:
            lines += ["", _bold("Differences:", color)]
            for difference in differing.values():
                lines += _pair_lines(grid, difference)
    failed = [o for o in (target, other) if o is not None and o.state == ERROR]
    if failed:
        lines.append("")
    for outcome in failed:
        lines.append(f"node {outcome.node}: the probe failed: {outcome.reason}")
        if outcome.hint:
            lines.append(f"  hint: {outcome.hint}")
    lines += ["", _bold("Conclusion:", color)]
    lines += [f"- {line}" for line in comparison.conclusions]
    return render_pod(report, output, color=color) + "\n" + "\n".join(_rstrip(lines)) + "\n"


# ------------------------------------------------------------------------------------------ matrix
def _matrix(grid: Grid, *, wide: bool, color: bool, width: int) -> List[str]:
    """Checks as rows when that fits `width`, else nodes as rows with short headers and a legend."""
    def by_check(coloured: bool) -> List[str]:
        return _table(["CHECK"] + grid.nodes, [[c.label] + [_cell_text(grid, c, grid.cell(n, c), wide=wide,
                                                                        color=coloured) for n in grid.nodes]
                                               for c in grid.columns])

    plain = by_check(False)
    if max(len(line) for line in plain) <= width:
        lines, legend = (by_check(True) if color else plain), []
    else:
        lines = _table(["NODE"] + [c.short for c in grid.columns],
                       [[n] + [_cell_text(grid, c, grid.cell(n, c), wide=wide, color=color) for c in grid.columns]
                        for n in grid.nodes])
        legend = ["", "Columns:"] + [f"  {c.short:<10} {c.label}" for c in grid.columns]
    shown = _cell_keys(grid)
    meanings = [meaning if key == "A" else f"{key} {meaning}" for key, meaning in CELL_MEANINGS if key in shown]
    return lines + legend + ["", "Cells: " + "; ".join(meanings)]


def _cell_keys(grid: Grid) -> set:
    """Which CELL_MEANINGS entries the matrix shows."""
    keys = set()
    for column in grid.columns:
        variants = grid.variants(column)
        for node in grid.nodes:
            cell = grid.cell(node, column)
            if cell.status in ("-", "warn", "fail") or column.aspect.kind not in (VALUE, CONFIG):
                keys.add(cell.status)
            if column.aspect.kind == CONFIG and cell.status != "-":
                keys.add("A" if variants else "same")
    return keys


def _cell_text(grid: Grid, column: Column, cell: Cell, *, wide: bool, color: bool) -> str:
    import click

    kind = column.aspect.kind
    if cell.status == "-":
        return "-"
    if kind == VALUE:
        text = cell.value or cell.status
        if cell.status in ("warn", "fail"):
            text = f"{cell.status} {text}"
    elif kind == CONFIG:
        text = grid.variants(column).get(cell.value, "same")
        if cell.status in ("warn", "fail"):
            text = f"{cell.status} {text}"
    else:
        text = f"{cell.status}:{cell.cause}" if wide and cell.cause else cell.status
    colour = _STATUS_COLOURS.get(cell.status) if kind not in (VALUE, CONFIG) or cell.status in ("warn", "fail") \
        else None
    return click.style(text, fg=colour) if color and colour else text


def _outcome_label(grid: Grid, column: Column, cell: Cell) -> str:
    if cell.status == "-":
        return "not reported"
    if column.aspect.kind == VALUE:
        return cell.value or cell.status
    if column.aspect.kind == CONFIG:
        variant = grid.variants(column).get(cell.value, "same")
        return variant if cell.status not in ("warn", "fail") else f"{variant} ({cell.status})"
    return cell.status + (f" ({cell.cause})" if cell.cause else "")


def _difference_lines(grid: Grid, difference: Difference) -> List[str]:
    """The odd groups first, by name, then the most common outcome ("ok on the other 291 nodes")."""
    column = difference.column
    (base, common), odd = difference.groups[0], difference.groups[1:]
    parts = [f"{_outcome_label(grid, column, cell)} on {_node_list(nodes, ODD_NODES_SHOWN)}" for cell, nodes in odd]
    others = ", ".join(common) if len(common) <= NODES_SHOWN else f"the other {len(common)} nodes"
    lines = [f"- {column.label}: " + "; ".join(parts + [f"{_outcome_label(grid, column, base)} on {others}"])]
    for cell, nodes in odd:
        if column.aspect.kind == CONFIG:
            variants = grid.variants(column)
            lines += _delta_lines(cell.value, base.value, variants.get(cell.value, "?"), variants.get(base.value, "?"))
        elif column.aspect.kind != VALUE and cell.summary:
            who = nodes[0] if len(nodes) == 1 else _outcome_label(grid, column, cell)
            lines.append(f"    {who}: {cell.summary}")
    return lines


def _pair_lines(grid: Grid, difference: Difference) -> List[str]:
    """A difference between the pod's node (first) and the comparison node, in both nodes' words."""
    column = difference.column
    first, second = grid.nodes
    a, b = grid.cell(first, column), grid.cell(second, column)
    if column.aspect.kind == CONFIG:
        return [f"- {column.label}:"] + _delta_lines(a.value, b.value, first, second)
    return [f"- {column.label}: {first}: {_outcome_label(grid, column, a)}: {a.summary}; "
            f"{second}: {_outcome_label(grid, column, b)}: {b.summary}"]


def _delta_lines(value: str, base: str, mine: str, theirs: str) -> List[str]:
    """The settings lines only one of two variants has."""
    own, other = value.splitlines(), base.splitlines()
    lines = [f"    {mine} only: {line}" for line in own if line not in other][:DELTA_LINES]
    lines += [f"    {theirs} only: {line}" for line in other if line not in own][:DELTA_LINES]
    return lines


# ------------------------------------------------------------------------------------------ helpers
def _summary(report: FleetReport, color: bool) -> str:
    counts = {state: sum(1 for o in report.nodes if o.state == state) for state in (PROBED, ERROR, SKIPPED)}
    failing = sum(1 for r in report.probed if r.exit_code != 0)
    parts = [f"{counts[PROBED]} probed" + (f" ({failing} with failed checks)" if failing else "")]
    if counts[ERROR]:
        parts.append(f"{counts[ERROR]} could not be probed")
    if counts[SKIPPED]:
        parts.append(f"{counts[SKIPPED]} skipped")
    text = f"{len(report.nodes)} node(s): " + ", ".join(parts)
    if not report.probed:
        return _bold(text + ": no probe could run", color, "red")
    if failing or counts[ERROR]:
        return _bold(text, color, "red")
    return _bold(text + ": all checks passed", color, "green")


def _node_list(nodes: Sequence[str], shown: int) -> str:
    if len(nodes) <= shown + 1:
        return ", ".join(nodes)
    return ", ".join(nodes[:shown]) + f" and {len(nodes) - shown} more"


def _table(headers: List[str], rows: List[List[str]]) -> List[str]:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="plain", disable_numparse=True).splitlines()


def _bold(text: str, color: bool, colour: Optional[str] = None) -> str:
    if not color:
        return text
    import click

    return click.style(text, bold=True, fg=colour)


def _rstrip(lines: List[str]) -> List[str]:
    return [line.rstrip() for line in lines]


def _terminal_width() -> int:
    return max(shutil.get_terminal_size((120, 24)).columns, 80)
