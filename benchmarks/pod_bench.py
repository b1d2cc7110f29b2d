#!/usr/bin/env python3
"""Print how fast `kubectl pullcheck pod` answers, beside `kubectl describe pod` and `kubectl get pod -o json`
on the same fake API server (tests/fakeapi, loopback HTTP), plus the offline commands and start-up time.

Usage: python benchmarks/pod_bench.py [--runs N] [--nodes N]
The --nodes option adds synthetic nodes (each with 40 cached images) to show what listing nodes for the image
cache costs on a large cluster. Figures are medians of N runs of a fresh process, as a user would run them.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeapi import FakeCluster, load_capture  # noqa: E402

BIN = Path(sys.executable).parent
POD = "auth-wrong-password"
NS = "rig-cases"


def timed(cmd: list[str], env: dict, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def add_nodes(cluster: FakeCluster, count: int) -> None:
    template = cluster.get("Node", "vm")
    for i in range(count):
        node = copy.deepcopy(template)
        node["metadata"] = {"name": f"node-{i:05d}", "labels": dict(template["metadata"].get("labels") or {})}
        node["metadata"]["labels"]["kubernetes.io/hostname"] = f"node-{i:05d}"
        node["status"]["images"] = [{"names": [f"registry.example.com/team/app-{j}@sha256:{j:064x}",
                                               f"registry.example.com/team/app-{j}:v{j}"], "sizeBytes": 50_000_000 + j}
                                    for j in range(40)]
        cluster.create(node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=0)
    args = parser.parse_args()
    kubectl = shutil.which("kubectl", path=str(BIN)) or shutil.which("kubectl")
    plugin = shutil.which("kubectl-pullcheck", path=str(BIN))
    if not plugin:
        sys.exit("install the plugin first: pip install -e .")
    cluster = FakeCluster()
    load_capture(cluster, [POD, "nonexistent-tag", "success"])
    with tempfile.TemporaryDirectory(prefix="pc-bench-") as tmp, cluster:
        if args.nodes:
            add_nodes(cluster, args.nodes)
        kubeconfig = Path(tmp) / "kubeconfig"
        cluster.write_kubeconfig(kubeconfig, namespace=NS)
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   KUBECACHEDIR=str(Path(tmp) / "cache"))
        bundle = Path(tmp) / "bundle.json"
        subprocess.run([plugin, "pod", POD, "--save", str(bundle)], env=env, capture_output=True, check=False)
        cluster.requests.clear()
        subprocess.run([plugin, "pod", POD], env=env, capture_output=True, check=False)
        requests = cluster.requests.count()
        rows = [
            ("kubectl-pullcheck --version", timed([plugin, "--version"], env, args.runs)),
            (f"kubectl-pullcheck pod {POD}", timed([plugin, "pod", POD], env, args.runs)),
            (f"kubectl pullcheck pod {POD} (through kubectl)",
             timed([kubectl, "pullcheck", "pod", POD], env, args.runs) if kubectl else float("nan")),
            (f"kubectl describe pod {POD}", timed([kubectl, "describe", "pod", POD], env, args.runs)
             if kubectl else float("nan")),
            (f"kubectl get pod {POD} -o json", timed([kubectl, "get", "pod", POD, "-o", "json"], env, args.runs)
             if kubectl else float("nan")),
            ("kubectl-pullcheck pod -f BUNDLE (offline)", timed([plugin, "pod", "-f", str(bundle)], env, args.runs)),
            ("kubectl-pullcheck explain MESSAGE", timed([plugin, "explain", "manifest unknown"], env, args.runs)),
        ]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"cluster: fake API server on loopback, {1 + args.nodes} node(s); median of {args.runs} runs")
    print(f"API requests made by `pod {POD}`: {requests}")
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
