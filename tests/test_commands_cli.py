"""The CLI wiring of stats, lint, pod --watch and the node fleet: options reach the libraries, exit codes and
usage errors are the documented ones. (Each library has its own thorough tests.)"""
from __future__ import annotations

import json
from pathlib import Path

from tests.test_pod_cli import kubeconfig, run, seeded
from tests.test_scan import _node

LINT_DATA = Path(__file__).parent / "data" / "lint"


def test_stats_reads_the_events_of_the_namespace(fake_cluster_factory, tmp_path, capsys):
    _, kc = seeded(fake_cluster_factory, tmp_path, "success", "nonexistent-tag", "dns-failure")
    code, out, _ = run(capsys, "stats", "--kubeconfig", kc, "-o", "json")
    doc = json.loads(out)
    assert doc["kind"] == "PullStats" and code in (0, 1)
    registries = {r["registry"]: r for r in doc["registries"]}
    assert registries["127.0.0.1:5100"]["failures"] >= 1
    code, out, _ = run(capsys, "stats", "--kubeconfig", kc)
    assert "events reach back to" in out


def test_lint_exit_codes_and_formats(capsys):
    code, out, _ = run(capsys, "lint", "-f", str(LINT_DATA / "helm-rendered.yaml"))
    assert code == 1 and out.rstrip().endswith("in 6 images across 4 objects in 1 file")
    code, _, _ = run(capsys, "lint", "-f", str(LINT_DATA / "helm-rendered.yaml"), "--warn-only")
    assert code == 0
    code, out, _ = run(capsys, "lint", "-f", str(LINT_DATA / "cronjob.yaml"), "--format", "github")
    assert code == 0 and out.startswith("::warning file=")
    code, out, _ = run(capsys, "lint", "-f", str(LINT_DATA / "cronjob.yaml"), "-o", "json",
                       "--allowed-registry", "registry.internal.example.com:5000")
    assert code == 1 and {f["rule"] for f in json.loads(out)["findings"]} >= {"registry-not-allowed"}


def test_lint_usage_errors(capsys):
    code, _, err = run(capsys, "lint")
    assert code == 2 and "-f FILE" in err
    code, _, err = run(capsys, "lint", "-f", str(LINT_DATA / "broken.yaml"))
    assert code == 2 and err.startswith("error: ") and "broken.yaml:11" in err
    code, _, err = run(capsys, "lint", "-f", "x.yaml", "--live")
    assert code == 2 and "not both" in err
    code, _, err = run(capsys, "lint", "-f", str(LINT_DATA / "list.yaml"), "--no-creds")
    assert code == 2 and "need --probe" in err


def test_pod_watch_on_a_healthy_pod_ends_at_once(fake_cluster_factory, tmp_path, capsys):
    _, kc = seeded(fake_cluster_factory, tmp_path, "success")
    code, out, _ = run(capsys, "pod", "success", "--watch", "--timeout", "5", "--kubeconfig", kc)
    assert code == 0 and "already healthy" in out
    code, out, _ = run(capsys, "pod", "success", "--watch", "--kubeconfig", kc, "-o", "json")
    assert code == 0 and json.loads(out)["kind"] == "PodWatch"


def test_pod_watch_and_compare_usage_errors(fake_cluster_factory, tmp_path, capsys):
    _, kc = seeded(fake_cluster_factory, tmp_path, "success")
    code, _, err = run(capsys, "pod", "success", "--watch", "--probe", "--kubeconfig", kc)
    assert code == 2 and "--watch follows the live pod" in err
    code, _, err = run(capsys, "pod", "success", "--compare", "--kubeconfig", kc)
    assert code == 2 and "need --on-node" in err


def test_node_fleet_dry_run_prints_one_manifest_per_ready_node(fake_cluster, tmp_path, capsys):
    for name in ("node-a", "node-b"):
        fake_cluster.create(_node(name, []))
    kc = kubeconfig(fake_cluster, tmp_path, "default")
    code, out, err = run(capsys, "node", "--all", "--dry-run", "--image", "busybox:1.36", "--kubeconfig", kc)
    assert code == 0, err
    assert out.count("kind: Pod") == 2 and "nodeName: node-a" in out and "nodeName: node-b" in out
    code, _, err = run(capsys, "node", "--kubeconfig", kc)
    assert code == 2 and "--all or -l SELECTOR" in err


def test_scan_and_stats_of_a_namespace_that_does_not_exist_are_usage_errors(fake_cluster_factory, tmp_path, capsys):
    cluster, kc = seeded(fake_cluster_factory, tmp_path, "nonexistent-tag")
    cluster.ensure_namespace("empty")
    for command in ("scan", "stats"):
        code, out, err = run(capsys, command, "--kubeconfig", kc, "-n", "no-such-ns")
        assert (code, out) == (2, "") and err.startswith('error: namespace "no-such-ns" not found'), command
        code, out, _ = run(capsys, command, "--kubeconfig", kc, "-n", "empty")        # exists, holds nothing
        assert code == 0 and "empty" in out, command
