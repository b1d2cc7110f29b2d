"""`scan`: read the scope once, diagnose and group, optionally probe each distinct image once."""
from __future__ import annotations

from typing import Callable

from pullcheck.errors import ClusterError
from pullcheck.kube.client import ApiError, KubeClient
from pullcheck.scan.report import ScanReport


def scan(client: KubeClient, *, namespace: str | None, selector: str | None = None, probe_settings=None,
         log: Callable[[str], None] | None = None) -> ScanReport:
    """namespace None scans all namespaces; probe_settings (pullcheck.probing.ProbeSettings) adds a
    registry probe from this workstation per distinct failing image."""
    from pullcheck.scan.analyze import analyze
    from pullcheck.scan.collect import collect

    try:
        data = collect(client, namespace, selector, log=log)
    except ApiError as exc:
        where = f"in namespace {namespace}" if namespace else "across all namespaces"
        raise ClusterError(f"cannot list pods {where}: {exc.message}") from None
    if namespace and not data.pods_seen:
        from pullcheck.kube.gather import require_namespace

        require_namespace(client, namespace)
    report = analyze(data)
    if probe_settings is not None:
        _probe(report, probe_settings, log)
    return report


def _probe(report: ScanReport, settings, log: Callable[[str], None] | None) -> None:
    from pullcheck import probing
    from pullcheck.reference import parse

    groups = [g for g in report.groups if g.image.invalid is None]
    distinct = list(dict.fromkeys(g.image.normalized for g in groups))
    sections = probing.probe_references([parse(image) for image in distinct], None, settings, log=log)
    by_image = dict(zip(distinct, sections))
    for group in groups:
        group.probe = by_image[group.image.normalized]
