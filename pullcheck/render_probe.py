"""Text output of registry probes: the probe block of `pod --probe` and the whole of `image REF`."""
from __future__ import annotations

from typing import Any

from pullcheck.report import ImageCheck, ProbeSection

_STATUS_COLOURS = {"ok": "green", "failed": "red", "skipped": "yellow", "info": None}


def write_probe(text: Any, probe: ProbeSection, title: str = "Registry probe (from this workstation):") -> None:
    """Append the probe to a render.TextBlock: a header line, one line per step, evidence indented."""
    text.blank()
    text.lines.append(text.style(title, bold=True))
    outcome = "pullable" if probe.cause is None else f"not pullable: {probe.cause}"
    platform = f" for {probe.platform}" if probe.platform else ""
    text.line(f"{probe.image}{platform}: {outcome} ({probe.elapsed:.2f}s)", indent=2, hang=4)
    text.line("credentials: " + (", ".join(probe.credentials) or "none (anonymous)")
              + ("" if probe.kubelet_credentials or probe.credentials_from != "pod" else
                 " (not all the kubelet's: auth answers are not the kubelet's)"), indent=2, hang=4)
    for note in probe.notes:
        text.line(f"note: {note}", indent=2, hang=4)
    width = max((len(s.step) for s in probe.steps), default=0)
    for step in probe.steps:
        status = text.style(f"{step.status:<7}", fg=_STATUS_COLOURS.get(step.status))
        cause = f" [{step.cause}]" if step.cause else ""
        text.line(f"{status} {step.step:<{width}}  {step.summary}{cause}", indent=2, hang=10 + width)
        for line in step.evidence:
            text.line(line, indent=12 + width, hang=2)
    for suggestion in probe.suggestions:
        text.line(f"advice: {suggestion}", indent=2, hang=4)


def render_images(check: ImageCheck, output: str, *, color: bool) -> str:
    from pullcheck.render import structured, TextBlock

    if output in ("json", "yaml"):
        return structured(check.to_dict(), output)
    text = TextBlock(wide=output == "wide", color=color)
    rows = []
    for info, probe in check.images:
        if info.invalid:
            rows.append([info.written, "no", "invalid-reference", info.invalid])
            continue
        failed = probe.failed_step if probe else None
        pullable = probe is not None and probe.cause is None
        rows.append([info.written, text.style("yes" if pullable else "no", fg="green" if pullable else "red"),
                     (probe.cause if probe else None) or "-", failed.summary if failed else "-"])
    text.table(["IMAGE", "PULLABLE", "CAUSE", "DETAIL"], rows)
    for info, probe in check.images:
        if probe is not None:
            write_probe(text, probe, title=f"── {info.written}")
    return text.done()
