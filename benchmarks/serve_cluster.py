#!/usr/bin/env python3
"""Serve a generated cluster (benchmarks/cluster_gen.py) from the fake API server, in a process of its own, so
the server's work never competes for the measured client's GIL.

Usage: python benchmarks/serve_cluster.py --pods 10000 --kubeconfig /tmp/k [--seed 1]
When the cluster is up it prints one JSON line on stdout (url, kubeconfig, counts, seconds taken), then
answers commands read from stdin, one per line, each with one JSON line:
  requests    {"total": N, "by": {"list pods": N, ...}, "cpu_s": S}   the API requests served since the last
              `clear`, and the CPU seconds this server process spent meanwhile (all its threads)
  clear       {"cleared": N}
  quit        (or end of input) stops the server.
Every encoding and field-selector value a list answer needs is computed before the ready line, as a
long-running API server has them in its watch cache, and the garbage collector is told to leave the
cluster's million objects alone (gc.freeze): what is measured afterwards is the clients' work.
"""
from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import cluster_gen  # noqa: E402
from tests.fakeapi import FakeCluster  # noqa: E402
from tests.fakeapi import resources  # noqa: E402
from tests.fakeapi.cluster import storage_key  # noqa: E402
from tests.fakeapi.handlers import View  # noqa: E402


def warm(cluster: FakeCluster) -> None:
    """List snapshots, each object's list-item encoding and its field-selector values."""
    for rtype in resources.RESOURCES:
        if rtype.storage:
            continue
        view = View(rtype)
        for stored in cluster.store.snapshot(storage_key(rtype)).items:
            view.item(stored)
            stored.fields(rtype.fields)


def request_counts(cluster: FakeCluster, cpu_since: float) -> Dict[str, Any]:
    by = Counter(f"{r.verb} {r.resource}" + (f"/{r.subresource}" if r.subresource else "") if r.verb
                 else f"{r.method} {r.path}" for r in cluster.requests)
    return {"total": sum(by.values()), "by": dict(sorted(by.items())),
            "cpu_s": round(time.process_time() - cpu_since, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    args = parser.parse_args()

    started = time.perf_counter()
    gc.disable()
    generated = cluster_gen.generate(args.pods, seed=args.seed, now=datetime.now(timezone.utc))
    generated_at = time.perf_counter()
    cluster = FakeCluster(namespace=args.namespace)
    cluster_gen.load(cluster, generated)
    seeded_at = time.perf_counter()
    warm(cluster)
    warmed_at = time.perf_counter()
    gc.freeze()
    gc.enable()
    cluster.start()
    kubeconfig = cluster.write_kubeconfig(args.kubeconfig, namespace=args.namespace)
    ready = {"url": cluster.url, "kubeconfig": str(kubeconfig), "counts": generated.counts(),
             "failing": len(generated.failing), "generate_s": round(generated_at - started, 2),
             "seed_s": round(seeded_at - generated_at, 2), "warm_s": round(warmed_at - seeded_at, 2),
             "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    del generated
    print(json.dumps(ready), flush=True)
    cpu_since = time.process_time()
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "requests":
                print(json.dumps(request_counts(cluster, cpu_since)), flush=True)
            elif command == "clear":
                cleared = len(cluster.requests)
                cluster.requests.clear()
                cpu_since = time.process_time()
                print(json.dumps({"cleared": cleared}), flush=True)
            elif command == "quit":
                break
            elif command:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        if cluster.server_errors:
            sys.stderr.write("the fake API server failed:\n" + "\n".join(cluster.server_errors))
            sys.exit(1)


if __name__ == "__main__":
    main()
