"""`lint`: read manifests (-f) or the cluster (--live), optionally probe each image once, apply the rules,
render. Exit codes: 0 clean or warnings only, 1 an error finding (0 with warn_only), 2 usage or input
error (raised as UsageError), 3 cluster access (ClusterError)."""
from __future__ import annotations

from typing import Callable, Sequence, TextIO

from pullcheck.errors import UsageError
from pullcheck.lint import rules
from pullcheck.lint.manifests import LoadedInput


def run_lint(paths: Sequence[str], *, live_client=None, namespace: str | None = None, all_namespaces: bool = False,
             allowed_registries: Sequence[str] = (), probe: bool = False, probe_settings=None,
             platform: str | Sequence[str] | None = None, ignore_rules: Sequence[str] = (), output: str = "table",
             warn_only: bool = False, color: bool = False, stdin: TextIO | None = None,
             log: Callable[[str], None] | None = None) -> tuple[str, int]:
    """Lint `paths` ('-' = stdin) or, with live_client (a KubeClient), what is deployed.

    probe: ask each image's registry once (probe_settings: a pullcheck.probing.ProbeSettings, default
    anonymous); platform: "os/arch[/variant]", several comma-separated or as a sequence (needs probe);
    ignore_rules: rule ids to leave out. Returns (text for stdout, exit code).
    """
    from pullcheck.lint.render import OUTPUTS, render_report

    if output not in OUTPUTS:
        raise UsageError(f"lint output {output!r}: expected one of {', '.join(OUTPUTS)}")
    if live_client is not None and paths:
        raise UsageError("lint reads either -f FILE|DIR|- or --live, not both")
    if live_client is None and not paths:
        raise UsageError("lint needs -f FILE|DIR|- (manifests) or --live (what is deployed)")
    if all_namespaces and live_client is None:
        raise UsageError("-A/--all-namespaces goes with --live")
    unknown = [r for r in ignore_rules if r not in rules.RULE_BY_ID]
    if unknown:
        raise UsageError(f"unknown rule {unknown[0]!r}; rules: {', '.join(rules.RULE_BY_ID)}")
    platforms = _platforms(platform)
    if platforms and not probe:
        raise UsageError("--platform needs --probe (the registry says which platforms an image serves)")
    allowed = rules.parse_allowed_registries(allowed_registries)

    if live_client is not None:
        from pullcheck.lint.live import load_live

        loaded, mode = load_live(live_client, namespace, all_namespaces), "live"
    else:
        from pullcheck.lint.manifests import load_manifests

        loaded, mode = load_manifests(paths, namespace, stdin), "files"
    if not loaded.workloads:
        loaded.notes.append("no workload objects found" + (" (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, "
                                                           "ReplicationController, Job, CronJob, or a List of them)"
                                                           if mode == "files" else ""))
    probes = _probe(loaded, platforms, probe_settings, log) if probe else {}
    ctx = rules.LintContext(loaded.service_accounts, loaded.accounts_complete, allowed, probes,
                            loaded.accounts_unknown, loaded.secrets)
    ignored = set(ignore_rules)
    findings = [f for f in rules.lint_workloads(loaded.workloads, ctx) if f.rule not in ignored]
    findings = _apply_ignore_annotations(findings, loaded)
    report = rules.LintReport(mode=mode, sources=loaded.sources, workloads=loaded.workloads, findings=findings,
                              probes=probes, probed=probe, platforms=platforms, notes=loaded.notes,
                              ignored_rules=sorted(ignored, key=rules.RULE_ORDER.get), warn_only=warn_only)
    return render_report(report, output, color=color), report.exit_code


def _apply_ignore_annotations(findings: list, loaded: LoadedInput) -> list:
    """Drop the findings a workload's IGNORE_ANNOTATION silences; each silencing (and each unknown rule id
    in one) becomes a note, so that what is not reported is still visible."""
    from pullcheck.lint.manifests import IGNORE_ANNOTATION

    kept, silenced = [], {}
    for finding in findings:
        if finding.rule in finding.workload.ignored_rules:
            silenced.setdefault(finding.workload.label, []).append(finding.rule)
        else:
            kept.append(finding)
    for workload in loaded.workloads:
        unknown = [r for r in workload.ignored_rules if r not in rules.RULE_BY_ID]
        if unknown:
            loaded.notes.append(f"{workload.label}: {IGNORE_ANNOTATION} names unknown rule(s) {', '.join(unknown)}")
    for label, silenced_rules in silenced.items():
        counts = ", ".join(f"{rule} x{silenced_rules.count(rule)}" if silenced_rules.count(rule) > 1 else rule
                           for rule in dict.fromkeys(silenced_rules))
        loaded.notes.append(f"{label}: not reported, by its {IGNORE_ANNOTATION} annotation: {counts}")
    return kept


def _platforms(platform: str | Sequence[str] | None) -> list[str]:
    from pullcheck.probing import parse_platform

    given = [platform] if isinstance(platform, str) else list(platform or ())
    wanted = [p.strip() for text in given for p in text.split(",") if p.strip()]
    return list(dict.fromkeys(parse_platform(p) for p in wanted))


def _probe(loaded: LoadedInput, platforms: list[str], settings, log) -> dict[str, rules.ImageProbe]:
    """Probe each distinct valid image once (for platforms[0]; the others are read from the same answer)."""
    from pullcheck import probing

    by_name: dict[str, object] = {}         # normalized reference -> ImageReference
    written: dict[str, str] = {}            # image as written -> normalized reference
    for workload in loaded.workloads:
        for container in workload.containers:
            ref, _ = rules.parse_image(container.image)
            if ref is not None:
                by_name.setdefault(ref.normalized, ref)
                written[container.image] = ref.normalized
    if not by_name:
        return {}
    settings = settings or probing.ProbeSettings(credentials_from=probing.FROM_NONE)
    sections = probing.probe_references(list(by_name.values()), platforms[0] if platforms else None, settings, log)
    found = {name: rules.image_probe_from(section, ref, platforms)
             for (name, ref), section in zip(by_name.items(), sections)}
    return {image: found[name] for image, name in written.items()}
