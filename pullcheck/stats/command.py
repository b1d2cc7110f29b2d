"""`stats`: read the pod events of one namespace (or all) once, page by page, and summarise the pulls.

One paginated LIST of events, filtered by the API server to events about pods; each page is folded
into the running totals and dropped, so memory grows with the registries, nodes and timed pulls seen,
never with the events' JSON.

Exit codes: 0 nothing flagged (also when there are no pull events at all); 1 a threshold is exceeded
(a registry's failure rate, or a slow pull of a small image). Cluster access errors raise ClusterError
(exit code 3).
"""
from __future__ import annotations

from datetime import datetime, timezone

from pullcheck.errors import ClusterError
from pullcheck.kube.client import ApiError, Forbidden, KubeClient, cluster_scoped, namespaced
from pullcheck.stats.aggregate import DEFAULT_THRESHOLDS, PullStats, PullStatsBuilder, Thresholds

EVENTS_PAGE_SIZE = 500                      # kubectl's chunk size
POD_EVENTS_SELECTOR = "involvedObject.kind=Pod"


def run_stats(client: KubeClient, *, namespace: str | None, all_namespaces: bool, output: str, color: bool,
              now: datetime | None = None, page_size: int = EVENTS_PAGE_SIZE,
              thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[str, int]:
    """The rendered report and the exit code. ``namespace`` None means the client's namespace, unless
    ``all_namespaces``; ``now`` (default: the clock after reading) is what "how far back" is measured from."""
    from pullcheck.stats.render import render_stats

    scope = None if all_namespaces else (namespace or client.namespace)
    stats = collect_stats(client, namespace=scope, now=now, page_size=page_size, thresholds=thresholds)
    return render_stats(stats, output, color=color), stats.exit_code


def collect_stats(client: KubeClient, *, namespace: str | None, now: datetime | None = None,
                  page_size: int = EVENTS_PAGE_SIZE, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> PullStats:
    """Read every pod event of ``namespace`` (None: all namespaces) and summarise them."""
    path = cluster_scoped("events") if namespace is None else namespaced(namespace, "events")
    where = f"namespace {namespace}" if namespace is not None else "all namespaces"
    builder = PullStatsBuilder(thresholds)
    try:
        for event in client.list(path, {"fieldSelector": POD_EVENTS_SELECTOR}, page_size=page_size):
            builder.add(event)
    except Forbidden as exc:
        scope_flag = f"-n {namespace}" if namespace is not None else "--all-namespaces"
        raise ClusterError(f"cannot list events in {where}: {exc.message}",
                           hint=f"check with: kubectl auth can-i list events {scope_flag}") from None
    except ApiError as exc:
        if exc.status == 410:
            raise ClusterError(f"the list of events in {where} expired while it was read page by page "
                               f"({exc.message})", hint="run it again, or narrow the scope with -n") from None
        raise ClusterError(f"cannot list events in {where}: {exc.message}") from None
    if namespace is not None and not builder.events_read:
        from pullcheck.kube.gather import require_namespace

        require_namespace(client, namespace)
    return builder.build(namespace=namespace, observed_at=now or datetime.now(timezone.utc))
