"""`stats`: kubelet pull events -> pull statistics by registry and node, judged against the alert thresholds.

Messages come from the captures (kubelet 1.36 + containerd 1.6) and, for older kubelets, from the formats
of pkg/kubelet/images/image_manager.go; end-to-end tests read them back from the fake API server.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from pullcheck.errors import ClusterError
from pullcheck.kube.client import KubeClient
from pullcheck.kube.config import load
from pullcheck.stats.aggregate import (MIB, SLOWEST_KEPT, INVALID_REGISTRY, PullStatsBuilder, Thresholds,
                                       registry_of, seconds_text)
from pullcheck.stats.command import POD_EVENTS_SELECTOR, run_stats
from pullcheck.stats.events import (ATTEMPT, BACK_OFF, CACHE_HIT, FAILURE, INSPECT_FAILED, NEVER_PULL, SUCCESS,
                                    parse_event, parse_go_duration_ns, parse_go_duration_seconds)
from pullcheck.stats.render import render_stats

CAPTURES = Path(__file__).parent / "data" / "kubelet-1.36-containerd-1.6"
NOW = datetime(2026, 11, 22, 13, 57, 30, tzinfo=timezone.utc)
REACH_LINE = ("events reach back to 2026-11-22 13:05 UTC (52m; the API server keeps events for --event-ttl, "
              "1h by default)")


def captured(case: str) -> list[dict]:
    return json.loads((CAPTURES / case / "events.json").read_text())["items"]


def captured_event(case: str, reason: str, starts: str = "") -> dict:
    return next(e for e in captured(case) if e["reason"] == reason and e["message"].startswith(starts))


_serial = iter(range(1_000_000))


def event(reason: str, message: str, *, count: int = 1, node: str = "node-a", pod: str = "web-1",
          namespace: str = "shop", first: str = "2026-11-22T13:05:00Z", last: str | None = None) -> dict:
    """A core/v1 event shaped as the kubelet 1.36 of the captures writes it."""
    return {"apiVersion": "v1", "kind": "Event", "count": count, "eventTime": None,
            "firstTimestamp": first, "lastTimestamp": last or first,
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod, "namespace": namespace,
                               "uid": f"uid-{pod}", "fieldPath": "spec.containers{main}"},
            "message": message, "reason": reason, "type": "Warning" if reason in ("Failed",) else "Normal",
            "metadata": {"name": f"{pod}.{next(_serial):08x}", "namespace": namespace},
            "reportingComponent": "kubelet", "reportingInstance": node,
            "source": {"component": "kubelet", "host": node}}


def pulled(image: str, took: str, total: str, size: int, **kw) -> dict:
    return event("Pulled", f'Successfully pulled image "{image}" in {took} ({total} including waiting). '
                           f"Image size: {size} bytes.", **kw)


def build(events: list[dict], thresholds: Thresholds = Thresholds(), namespace: str | None = "shop"):
    builder = PullStatsBuilder(thresholds)
    for item in events:
        builder.add(item)
    return builder.build(namespace=namespace, observed_at=NOW)


# ---- Go durations ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, nanoseconds", [
    ("1.234s", 1_234_000_000),
    ("2m3.5s", 123_500_000_000),
    ("350ms", 350_000_000),
    ("1h2m", 3_720_000_000_000),
    ("1h0m0s", 3_600_000_000_000),
    ("4m37.523590901s", 277_523_590_901),   # 1.20-1.26: untruncated
    ("250\u00b5s", 250_000),                # Go prints micro as U+00B5 ...
    ("250\u03bcs", 250_000),                # ... and accepts U+03BC
    ("250us", 250_000),
    ("1.5ns", 1),                           # fractions of a nanosecond are truncated
    (".5s", 500_000_000),
    ("1.s", 1_000_000_000),
    ("0", 0),
    ("0s", 0),
    ("+3s", 3_000_000_000),
    ("-1.5h", -5_400_000_000_000),
])
def test_go_durations_parse_exactly_to_nanoseconds(text, nanoseconds):
    assert parse_go_duration_ns(text) == nanoseconds


def test_go_duration_seconds_round_once():
    assert parse_go_duration_seconds("350ms") == 0.35      # not 0.35000000000000003
    assert parse_go_duration_seconds("2m3.5s") == 123.5


@pytest.mark.parametrize("text", ["", "1", "s", ".s", "1x", "1.2.3s", "1s2", "1 s", "- 1s", "ms5"])
def test_go_duration_rejects_what_go_rejects(text):
    with pytest.raises(ValueError):
        parse_go_duration_ns(text)


# ---- one event -> one observation ----------------------------------------------------------------

def test_captured_pulled_event_of_kubelet_1_36():
    seen = parse_event(captured_event("success", "Pulled"))
    assert seen is not None
    assert (seen.kind, seen.image, seen.node, seen.namespace, seen.pod) == (
        SUCCESS, "127.0.0.1:5100/busybox:1.35", "vm", "rig-cases", "success")
    assert (seen.pull_seconds, seen.runtime_seconds, seen.size_bytes) == (0.054, 0.054, 1032392)
    assert seen.occurrences == 1 and not seen.combined
    assert seen.last == datetime(2026, 11, 22, 2, 21, 20, tzinfo=timezone.utc)


@pytest.mark.parametrize("case, reason, starts, kind, occurrences", [
    ("auth-no-secret", "Pulling", "", ATTEMPT, 3),
    ("auth-no-secret", "Failed", "Failed to pull image", FAILURE, 3),
    ("auth-no-secret", "BackOff", "", BACK_OFF, 2),
    ("timeout-dial", "BackOff", "", BACK_OFF, 49),
    ("debug-node", "Pulled", "", CACHE_HIT, 1),          # "... and can be accessed by the pod"
    ("never-pull-uncached", "ErrImageNeverPull", "", NEVER_PULL, 5),
    ("invalid-image-name", "InspectFailed", "", INSPECT_FAILED, 5),
])
def test_captured_pull_events(case, reason, starts, kind, occurrences):
    seen = parse_event(captured_event(case, reason, starts))
    assert seen is not None and seen.kind == kind and seen.occurrences == occurrences
    assert seen.node == "vm" and seen.image


@pytest.mark.parametrize("case, reason, starts", [
    ("auth-no-secret", "Failed", "Error: ErrImagePull"),      # restates the pull failure, no image
    ("auth-no-secret", "Failed", "Error: ImagePullBackOff"),
    ("auth-no-secret", "Scheduled", ""),
    ("success", "Started", ""),
    ("auth-secret-wrong-namespace", "FailedToRetrieveImagePullSecret", ""),
])
def test_captured_events_that_are_not_pulls(case, reason, starts):
    assert parse_event(captured_event(case, reason, starts)) is None


@pytest.mark.parametrize("message, pull, runtime, size", [
    # 1.30+ (the captures' kubelet 1.36)
    ('Successfully pulled image "nginx:1.27" in 15.981s (16.2s including waiting). Image size: 129338587 bytes.',
     16.2, 15.981, 129338587),
    # 1.27-1.29: both durations, no size
    ('Successfully pulled image "nginx:1.27" in 2m3.5s (2m10.002s including waiting)', 130.002, 123.5, None),
    # 1.20-1.26: one untruncated duration, which already included the wait
    ('Successfully pulled image "nginx:1.27" in 4m37.523590901s', 277.523590901, None, None),
    # older: no duration at all
    ('Successfully pulled image "nginx:1.27"', None, None, None),
    # a runtime that reports no size
    ('Successfully pulled image "nginx:1.27" in 350ms (350ms including waiting). Image size: 0 bytes.',
     0.35, 0.35, None),
])
def test_pulled_message_of_every_kubelet_generation(message, pull, runtime, size):
    seen = parse_event(event("Pulled", message))
    assert seen is not None and seen.kind == SUCCESS and seen.image == "nginx:1.27"
    assert (seen.pull_seconds, seen.runtime_seconds, seen.size_bytes) == (pull, runtime, size)


@pytest.mark.parametrize("reason, message, kind, image", [
    ("Pulling", 'pulling image "nginx:1.27"', ATTEMPT, "nginx:1.27"),                  # very old kubelets
    ("Pulled", 'Container image "nginx:1.27" already present on machine', CACHE_HIT, "nginx:1.27"),
    ("BackOff", 'Back-off pulling image "nginx:1.27": ErrImagePull: rpc error: code = NotFound desc = x',
     BACK_OFF, "nginx:1.27"),
    ("InspectFailed", 'Failed to inspect image "": rpc error: code = Unknown desc = boom', INSPECT_FAILED, None),
    ("BackOff", "Back-off restarting failed container main in pod web-1_shop(uid)", None, None),
    ("Pulled", 'Failed to pull image "nginx:1.27": boom', None, None),       # reason and wording must agree
])
def test_other_kubelet_wordings(reason, message, kind, image):
    seen = parse_event(event(reason, message))
    if kind is None:
        assert seen is None
    else:
        assert seen is not None and (seen.kind, seen.image) == (kind, image)


def test_combined_event_keeps_its_count_and_says_it_was_merged():
    message = ('(combined from similar events): Failed to pull image "busybox:1.36.1": rpc error: code = '
               'Unknown desc = failed to pull and unpack image "docker.io/library/busybox:1.36.1": i/o timeout')
    seen = parse_event(event("Failed", message, count=83))
    assert seen is not None and seen.kind == FAILURE and seen.combined and seen.occurrences == 83
    assert seen.image == "busybox:1.36.1"


def test_events_k8s_io_shape_with_series_count():
    seen = parse_event({
        "reason": "Pulled", "note": 'Successfully pulled image "ghcr.io/acme/api:2" in 1.5s (2s including '
                                    'waiting). Image size: 1048576 bytes.',
        "regarding": {"kind": "Pod", "namespace": "shop", "name": "api-0"},
        "deprecatedSource": {}, "reportingController": "kubelet", "reportingInstance": "node-b",
        "eventTime": "2026-11-22T13:00:00.000001Z", "series": {"count": 4, "lastObservedTime": "2026-11-22T13:20:00Z"},
    })
    assert seen is not None and seen.occurrences == 4 and seen.node == "node-b" and seen.pod == "api-0"
    assert seen.last == datetime(2026, 11, 22, 13, 20, tzinfo=timezone.utc)


def test_registry_of_an_image_follows_the_reference_grammar():
    assert registry_of("busybox:1.36") == "docker.io"
    assert registry_of("localhost:5000/app") == "localhost:5000"
    assert registry_of("UPPER/Case:tag") == INVALID_REGISTRY


# ---- aggregation ---------------------------------------------------------------------------------

def test_counts_by_registry_and_node_weighted_by_event_count():
    stats = build([
        event("Pulling", 'Pulling image "nginx:1.27"', count=4, node="node-a"),
        event("Failed", 'Failed to pull image "nginx:1.27": rpc error: code = NotFound desc = x', count=3),
        event("BackOff", 'Back-off pulling image "nginx:1.27"', count=7),
        pulled("quay.io/app:1", "1s", "1s", 10 * MIB, node="node-b", pod="a"),
        pulled("quay.io/app:1", "2s", "2s", 20 * MIB, node="node-b", pod="b"),
        pulled("quay.io/app:1", "3s", "3s", 30 * MIB, node="node-b", pod="c", count=2),
        event("Pulled", 'Container image "quay.io/app:1" already present on machine', node="node-c"),
    ])
    registries = {g.name: g for g in stats.registries}
    hub, quay = registries["docker.io"], registries["quay.io"]
    assert (hub.attempts, hub.failures, hub.back_offs, hub.failure_rate) == (4, 3, 7, 0.75)
    # no Pulling events survive for quay.io: the pulls that ended are the attempts
    assert (quay.attempts, quay.succeeded, quay.timed, quay.cache_hits, quay.failures) == (4, 4, 4, 1, 0)
    assert (quay.pull_seconds.median, quay.pull_seconds.p95, quay.pull_seconds.max) == (2.0, 3.0, 3.0)
    assert quay.median_size_bytes == 20 * MIB
    nodes = {g.name: g for g in stats.nodes}
    assert nodes["node-b"].timed == 4 and nodes["node-a"].failures == 3 and nodes["node-c"].cache_hits == 1
    assert stats.nodes[0].name == "node-b"                   # slowest first
    assert stats.total.attempts == 8 and stats.pull_events == 7 and stats.events_read == 7


def test_quantiles_are_nearest_rank_over_weights():
    stats = build([pulled("app:1", "1s", "1s", MIB, count=3, pod="a"), pulled("app:1", "9s", "10s", MIB, pod="b")])
    spread = stats.total.pull_seconds
    assert (spread.median, spread.p95, spread.max) == (1.0, 10.0, 10.0)


def test_time_window_spans_every_event_read_not_only_pulls():
    stats = build([
        {"reason": "Scheduled", "message": "Successfully assigned shop/web-1 to node-a",
         "eventTime": "2026-11-22T13:05:12.613437Z", "involvedObject": {"kind": "Pod"}},
        event("Pulling", 'Pulling image "nginx:1.27"', first="2026-11-22T13:10:00Z", last="2026-11-22T13:50:00Z"),
    ])
    assert stats.oldest_event == datetime(2026, 11, 22, 13, 5, 12, 613437, tzinfo=timezone.utc)
    assert stats.newest_event == datetime(2026, 11, 22, 13, 50, tzinfo=timezone.utc)
    assert round(stats.reach_seconds) == 3137


def test_combined_events_count_once_and_are_noted():
    stats = build([
        event("Pulling", 'Pulling image "nginx:1.27"', count=40),
        event("Failed", '(combined from similar events): Failed to pull image "nginx:1.27": boom', count=83),
    ])
    assert stats.total.failures == 1 and stats.total.attempts == 40
    assert any("1 event(s) were merged" in note and "82 further occurrence(s)" in note for note in stats.notes)


def test_slowest_pulls_are_bounded_and_ordered():
    stats = build([pulled("app:1", f"{n}s", f"{n}s", MIB, pod=f"p{n}") for n in range(1, 31)])
    assert [p.pull_seconds for p in stats.slowest] == [float(n) for n in range(30, 30 - SLOWEST_KEPT, -1)]
    assert stats.slowest[0].pod == "p30" and stats.slowest[0].node == "node-a"


# ---- thresholds ------------------------------------------------------------------------------------

@pytest.mark.parametrize("attempts, failures, flagged, noted", [
    (20, 2, True, False),      # 10% over 20 attempts
    (20, 1, False, False),     # exactly 5% is not above 5%
    (10, 4, False, True),      # 40%, but too few attempts and failures to judge
    (9, 5, True, False),       # 5 failures are enough evidence whatever the attempts
])
def test_failure_rate_threshold_needs_a_minimum_sample(attempts, failures, flagged, noted):
    stats = build([event("Pulling", 'Pulling image "quay.io/app:1"', count=attempts),
                   event("Failed", 'Failed to pull image "quay.io/app:1": boom', count=failures)])
    rate_flags = [f for f in stats.flags if f.kind == "failure-rate"]
    assert bool(rate_flags) == flagged and stats.exit_code == (1 if flagged else 0)
    if flagged and attempts == 20:
        assert rate_flags[0].details == {"registry": "quay.io", "attempts": 20, "failures": 2, "failureRate": 0.1}
        assert rate_flags[0].message == ("registry quay.io: 2 of 20 pull attempts failed (10.0%), above the 5% "
                                         "alert threshold")
    assert any("too few to judge" in note for note in stats.notes) == noted


@pytest.mark.parametrize("took, size, flagged", [
    ("2m0.001s", 100 * MIB, True),
    ("2m0s", 100 * MIB, False),                # not over 2 minutes
    ("5m", 500 * MIB - 1, True),
    ("5m", 500 * MIB, False),                  # not under 500 MiB
    ("15m", 2048 * MIB, False),
])
def test_slow_pull_threshold(took, size, flagged):
    stats = build([pulled("ghcr.io/acme/api:2", "1s", took, size, node="node-7", pod="api-0",
                          first="2026-11-22T13:40:02Z")])
    assert bool(stats.flags) == flagged and stats.exit_code == int(flagged)
    if flagged:
        flag = stats.flags[0]
        assert flag.kind == "slow-pull" and stats.slow_pulls_flagged == 1
        assert flag.details["pull"]["image"] == "ghcr.io/acme/api:2" and flag.details["pull"]["node"] == "node-7"
        for part in ("ghcr.io/acme/api:2", "node node-7", "at 2026-11-22T13:40:02Z", "pod shop/api-0",
                     "over 2 min for an image under 500 MiB"):
            assert part in flag.message


def test_slow_pull_of_unknown_size_is_noted_not_flagged():
    stats = build([event("Pulled", 'Successfully pulled image "app:1" in 3m1s (3m5s including waiting)')])
    assert not stats.flags and stats.exit_code == 0
    assert any("did not report the image size" in note for note in stats.notes)


def test_thresholds_are_data():
    strict = Thresholds(max_failure_rate=0.01, min_attempts=5, slow_pull_seconds=1.0, small_image_bytes=10 * MIB)
    stats = build([event("Pulling", 'Pulling image "app:1"', count=5), pulled("app:1", "1s", "1.5s", MIB),
                   event("Failed", 'Failed to pull image "app:1": boom')], thresholds=strict)
    assert sorted(f.kind for f in stats.flags) == ["failure-rate", "slow-pull"]
    assert stats.to_dict()["thresholds"] == {"maxFailureRate": 0.01, "minAttempts": 5, "minFailures": 5,
                                             "slowPullSeconds": 1.0,
                                             "smallImageBytes": 10 * MIB}


# ---- rendering -------------------------------------------------------------------------------------

def test_table_output_says_how_far_back_the_events_reach():
    stats = build([event("Pulling", 'Pulling image "nginx:1.27"', count=2),
                   pulled("nginx:1.27", "3.2s", "3.4s", 60 * MIB, first="2026-11-22T13:20:00Z")])
    text = render_stats(stats, "table", color=False)
    lines = text.splitlines()
    assert lines[0] == "Image pulls in namespace shop, from 2 pod event(s)"
    assert lines[1] == REACH_LINE
    assert "Pulls: 2 attempt(s), 0 failed (0.0%), 1 succeeded (1 timed: median 3.4s, p95 3.4s, max 3.4s)" in text
    registry_row = next(line for line in lines if line.strip().startswith("docker.io"))
    assert registry_row.split() == ["docker.io", "2", "0", "0.0%", "1", "3.4s", "3.4s", "3.4s", "60.0", "MiB"]
    assert lines[-1] == "nothing flagged"
    wide = render_stats(stats, "wide", color=False)
    assert "RUNTIME PART" in wide and "shop/web-1" in wide


def test_structured_output_has_a_stable_schema():
    stats = build([pulled("nginx:1.27", "1s", "3m", 60 * MIB)])
    doc = json.loads(render_stats(stats, "json", color=False))
    assert (doc["apiVersion"], doc["kind"], doc["exitCode"]) == ("pullcheck/v1", "PullStats", 1)
    assert list(doc) == ["apiVersion", "kind", "scope", "observedAt", "events", "totals", "registries", "nodes",
                         "slowestPulls", "thresholds", "flags", "slowPullsFlagged", "notes", "exitCode"]
    assert doc["events"]["oldest"] == "2026-11-22T13:05:00Z" and doc["events"]["reachSeconds"] == 3150
    assert doc["flags"][0]["pull"]["pullSeconds"] == 180.0 and doc["registries"][0]["registry"] == "docker.io"
    assert yaml.safe_load(render_stats(stats, "yaml", color=False)) == doc


def test_no_pull_events_is_said_plainly():
    stats = build([event("Started", "Started container main")])
    text = render_stats(stats, "table", color=False)
    assert "No image pull events: none of the 1 pod event(s) is about pulling an image" in text
    assert stats.exit_code == 0


def test_seconds_text():
    assert [seconds_text(s) for s in (0.03, 4.25, 125.4, 3723)] == ["30ms", "4.2s", "2m05s", "1h02m03s"]


# ---- end to end against the fake API server ----------------------------------------------------------

def client_for(cluster, **kw) -> KubeClient:
    return KubeClient(load(str(cluster.kubeconfig), None, None), timeout=10, **kw)


def test_captured_cluster_end_to_end(fake_cluster_factory):
    cluster = fake_cluster_factory("success", "auth-no-secret", "debug-node", "never-pull-uncached",
                                   "invalid-image-name", "timeout-dial")
    text, code = run_stats(client_for(cluster), namespace=None, all_namespaces=True, output="json", color=False,
                           now=datetime(2026, 11, 22, 3, 13, 30, tzinfo=timezone.utc))
    doc = json.loads(text)
    assert code == 1 and doc["scope"] == {"namespace": None, "allNamespaces": True}
    assert [f["registry"] for f in doc["flags"] if f["kind"] == "failure-rate"] == ["10.217.255.2:5000"]
    totals = doc["totals"]
    assert (totals["attempts"], totals["failures"], totals["succeeded"], totals["cacheHits"], totals["backOffs"],
            totals["neverPull"], totals["inspectFailed"]) == (9, 8, 1, 1, 51, 5, 5)
    registries = {r["registry"]: r for r in doc["registries"]}
    assert registries["10.217.255.2:5000"]["failures"] == 5     # two Failed events: 3 + 2 DeadlineExceeded
    assert registries["127.0.0.1:5100"]["pullSeconds"] == {"median": 0.054, "p95": 0.054, "max": 0.054}
    assert [n["node"] for n in doc["nodes"]] == ["vm"]
    assert doc["events"]["oldest"] == "2026-11-22T02:21:18Z"
    assert any("too few to judge" in note for note in doc["notes"])
    table, _ = run_stats(client_for(cluster), namespace=None, all_namespaces=True, output="table", color=False,
                         now=datetime(2026, 11, 22, 3, 13, 30, tzinfo=timezone.utc))
    assert ("events reach back to 2026-11-22 02:21 UTC (52m; the API server keeps events for --event-ttl, "
            "1h by default)") in table
    # the invalid image's "registry" has no pull attempt: a count under the table, a row only with -o wide
    assert "  (invalid image name)" not in table
    assert "... and 1 registry with no pull attempt (images already on the node" in table
    wide, _ = run_stats(client_for(cluster), namespace=None, all_namespaces=True, output="wide", color=False,
                        now=datetime(2026, 11, 22, 3, 13, 30, tzinfo=timezone.utc))
    assert "  (invalid image name)" in wide and "with no pull attempt" not in wide
    listed = cluster.requests.filter(verb="list", resource="events")
    assert len(listed) == 3 and {r.path for r in listed} == {"/api/v1/events"}
    assert all(r.param("fieldSelector") == POD_EVENTS_SELECTOR for r in listed)


def test_every_page_is_read_once_and_only_pod_events(fake_cluster_factory):
    cluster = fake_cluster_factory()
    for n in range(60):
        cluster.create(event("Pulling", 'Pulling image "quay.io/app:1"', pod=f"web-{n}", node=f"node-{n % 3}"))
        cluster.create(pulled("quay.io/app:1", "1s", "1.5s", MIB, pod=f"web-{n}", node=f"node-{n % 3}"))
    for n in range(10):
        cluster.create(event("Pulling", 'Pulling image "nginx:1.27"', pod=f"job-{n}", namespace="batch"))
    node_event = event("NodeReady", "Node node-0 status is now: NodeReady", namespace="default")
    node_event["involvedObject"] = {"kind": "Node", "name": "node-0"}
    cluster.create(node_event)

    text, code = run_stats(client_for(cluster), namespace=None, all_namespaces=True, output="json", color=False,
                           now=NOW, page_size=25)
    doc = json.loads(text)
    assert code == 0 and doc["events"]["read"] == 130           # the Node event was filtered by the server
    assert doc["totals"]["attempts"] == 70 and doc["totals"]["timed"] == 60
    listed = cluster.requests.filter(verb="list", resource="events")
    assert len(listed) == 6                                      # ceil(130 / 25) pages, then it stopped
    tokens = [r.param("continue") for r in listed]
    assert tokens[0] == "" and all(tokens[1:]) and len(set(tokens[1:])) == 5
    assert all(r.param("limit") == "25" for r in listed)

    text, _ = run_stats(client_for(cluster), namespace="batch", all_namespaces=False, output="json", color=False,
                        now=NOW)
    doc = json.loads(text)
    assert doc["scope"]["namespace"] == "batch" and doc["totals"]["attempts"] == 10
    assert cluster.requests.filter(verb="list", resource="events")[-1].path == "/api/v1/namespaces/batch/events"


def test_thresholds_exceeded_end_to_end_exit_1(fake_cluster_factory):
    cluster = fake_cluster_factory()
    cluster.create(event("Pulling", 'Pulling image "quay.io/app:1"', count=30))
    cluster.create(event("Failed", 'Failed to pull image "quay.io/app:1": rpc error: code = Unavailable desc = x',
                         count=6))
    cluster.create(pulled("quay.io/app:1", "2m1s", "2m30.5s", 100 * MIB, node="node-9", first="2026-11-22T13:31:00Z"))
    text, code = run_stats(client_for(cluster), namespace="shop", all_namespaces=False, output="table",
                           color=False, now=NOW)
    assert code == 1
    assert "registry quay.io: 6 of 30 pull attempts failed (20.0%), above the 5% alert threshold" in text
    assert ("quay.io/app:1 (100.0 MiB) took 2m30s to pull on node node-9 at 2026-11-22T13:31:00Z (pod shop/web-1)"
            in text)
    assert text.rstrip().endswith("2 threshold(s) exceeded")


def test_empty_namespace_says_there_are_no_events(fake_cluster_factory):
    cluster = fake_cluster_factory()
    text, code = run_stats(client_for(cluster), namespace=None, all_namespaces=False, output="table", color=False,
                           now=NOW)
    assert code == 0
    assert "The API server holds no pod events in namespace default" in text


def test_forbidden_list_is_a_cluster_error_with_a_hint(fake_cluster_factory):
    cluster = fake_cluster_factory()
    cluster.faults.forbid(verb="list", resource="events")
    with pytest.raises(ClusterError) as caught:
        run_stats(client_for(cluster), namespace="shop", all_namespaces=False, output="table", color=False)
    assert caught.value.message.startswith("cannot list events in namespace shop: ")
    assert caught.value.hint == "check with: kubectl auth can-i list events -n shop"


def test_list_that_expires_between_pages_is_a_cluster_error(fake_cluster_factory):
    cluster = fake_cluster_factory()
    for n in range(4):
        cluster.create(event("Pulling", 'Pulling image "app:1"', pod=f"web-{n}"))
    client = client_for(cluster)
    real_list = client.list

    def compacting_list(*args, **kwargs):
        for number, item in enumerate(real_list(*args, **kwargs)):
            if number == 0:
                cluster.compact()          # etcd compacted while the first page was being read
            yield item

    client.list = compacting_list  # type: ignore[method-assign]
    with pytest.raises(ClusterError) as caught:
        run_stats(client, namespace="shop", all_namespaces=False, output="table", color=False, page_size=2)
    assert "expired while it was read page by page" in caught.value.message
