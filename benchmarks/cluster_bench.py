#!/usr/bin/env python3
"""Cluster-scale benchmark (issue #5): `kubectl pullcheck scan -A` and `stats -A` on generated clusters of
1k, 10k and 50k pods (5% failing, about 5 events per pod), beside `kubectl get pods -A -o json` and
`kubectl get events -A -o json` on the same fake API server.

Usage: python benchmarks/cluster_bench.py [--sizes 1000,10000,50000] [--repeat 3] [--seed 1]
Each size gets its own server process (benchmarks/serve_cluster.py), so the server never shares the measured
client's CPU time accounting or GIL. Every command runs as a fresh child process; wall time is the median of
the repeats, peak RSS the largest maximum resident set size the kernel reports for the child (os.wait4),
API requests the requests the server logged during one run, server CPU s the CPU time the fake server spent
on them (to show the measured client's work, not the fake's, dominates). kubectl's discovery cache is filled
before timing, as on a workstation that has used the cluster before.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakeapi.kubectl import kubectl_binary  # noqa: E402

BIN = Path(sys.executable).parent
SERVE = Path(__file__).resolve().parent / "serve_cluster.py"
GET_PODS = "kubectl get pods -A -o json"
GET_EVENTS = "kubectl get events -A -o json"
SCAN = "kubectl pullcheck scan -A"
STATS = "kubectl pullcheck stats -A"
BASELINE = {SCAN: GET_PODS, STATS: GET_EVENTS}      # what each plugin command is compared with
OK_EXIT = {GET_PODS: (0,), GET_EVENTS: (0,), SCAN: (0, 1), STATS: (0, 1)}   # 1: pull problems found
MISSING = "n/a (command missing)"
RSS_LIMIT_MB = 300


@dataclass
class Run:
    wall: float
    rss_mb: float
    exit_code: int
    requests: int
    server_cpu: float       # CPU seconds the fake API server spent serving the run


@dataclass
class Row:
    size: int
    command: str
    runs: List[Run] = field(default_factory=list)
    problem: str = ""            # MISSING, or why the command failed

    @property
    def wall(self) -> Optional[float]:
        return statistics.median(r.wall for r in self.runs) if self.runs and not self.problem else None

    @property
    def rss_mb(self) -> Optional[float]:
        return max(r.rss_mb for r in self.runs) if self.runs and not self.problem else None

    @property
    def requests(self) -> Optional[int]:
        return int(statistics.median(r.requests for r in self.runs)) if self.runs and not self.problem else None

    @property
    def server_cpu(self) -> Optional[float]:
        return statistics.median(r.server_cpu for r in self.runs) if self.runs and not self.problem else None


class Server:
    """benchmarks/serve_cluster.py in a child process, driven over its stdin/stdout."""

    def __init__(self, pods: int, seed: int, workdir: Path) -> None:
        self.kubeconfig = workdir / "kubeconfig"
        self.process = subprocess.Popen(
            [sys.executable, str(SERVE), "--pods", str(pods), "--seed", str(seed), "--kubeconfig",
             str(self.kubeconfig)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
        self.info = self._reply()

    def _reply(self) -> Dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the cluster server exited (code {self.process.wait()})")
        return json.loads(line)

    def command(self, text: str) -> Dict:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._reply()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.command("quit")
            except (BrokenPipeError, RuntimeError, ValueError):
                pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def measure(argv: Sequence[str], env: Dict[str, str], timeout: float) -> Tuple[float, float, int, str]:
    """(wall seconds, peak RSS MB, exit code, stderr) of one child, its output discarded."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err)
        watchdog = threading.Timer(timeout, lambda: os.kill(child.pid, signal.SIGKILL))
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return wall, usage.ru_maxrss / 1024, child.returncode, stderr   # ru_maxrss: KiB on Linux


def commands(kubeconfig: Path, cache: Path) -> Dict[str, List[str]]:
    kubectl = [kubectl_binary(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]
    plugin = [str(BIN / "kubectl-pullcheck")]
    return {GET_PODS: kubectl + ["get", "pods", "-A", "-o", "json"],
            GET_EVENTS: kubectl + ["get", "events", "-A", "-o", "json"],
            SCAN: plugin + ["scan", "-A", "--kubeconfig", str(kubeconfig)],
            STATS: plugin + ["stats", "-A", "--kubeconfig", str(kubeconfig)]}


def bench_size(size: int, seed: int, repeat: int, timeout: float, log: "Log") -> List[Row]:
    with tempfile.TemporaryDirectory(prefix=f"pc-cluster-{size}-") as tmp:
        workdir = Path(tmp)
        log(f"{size} pods: generating and serving the cluster ...")
        server = Server(size, seed, workdir)
        try:
            info = server.info
            counts = info["counts"]
            log(f"{size} pods: {counts.get('Event', 0)} events, {counts.get('Node', 0)} nodes, "
                f"{info['failing']} pods failing; generated in {info['generate_s']} s, seeded in {info['seed_s']} s, "
                f"encodings warmed in {info['warm_s']} s; server RSS {info['rss_mb']} MB")
            env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
            env.update(HOME=str(workdir), NO_COLOR="1")
            argvs = commands(server.kubeconfig, workdir / "kube-cache")
            measure(argvs[GET_PODS][:5] + ["get", "namespaces", "-o", "name"], env, timeout)   # discovery cache
            rows = []
            for name, argv in argvs.items():
                row = Row(size, name)
                for _ in range(repeat):
                    server.command("clear")
                    wall, rss, code, stderr = measure(argv, env, timeout)
                    served = server.command("requests")
                    if code == 2 and "No such command" in stderr:
                        row.problem = MISSING
                        break
                    if code not in OK_EXIT[name]:
                        last = stderr.strip().splitlines()[-1:] or ["no output"]
                        row.problem = f"failed (exit {code}: {last[0][:80]})"
                        break
                    row.runs.append(Run(wall, rss, code, served["total"], served["cpu_s"]))
                log(f"{size} pods: {name}: " + (row.problem or f"{row.wall:.2f} s, {row.rss_mb:.0f} MB, "
                                                  f"server CPU {row.server_cpu:.2f} s"))
                rows.append(row)
            return rows
        finally:
            server.stop()


class Log:
    """Progress on stderr, so stdout holds only the report."""

    def __call__(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)


def find(rows: List[Row], size: int, command: str) -> Optional[Row]:
    return next((r for r in rows if r.size == size and r.command == command), None)


def ratio_text(rows: List[Row], row: Row) -> str:
    base = find(rows, row.size, BASELINE[row.command]) if row.command in BASELINE else None
    if base is None or row.wall is None or not base.wall:
        return ""
    return f"{row.wall / base.wall:.2f}x {BASELINE[row.command].split(' -A')[0].replace('kubectl ', '')}"


def report_table(rows: List[Row]) -> List[str]:
    lines = [f"{'pods':>6}  {'command':<30}  {'wall s':>7}  {'peak RSS MB':>11}  {'API requests':>12}  "
             f"{'server CPU s':>12}  vs kubectl"]
    for row in rows:
        if row.problem:
            lines.append(f"{row.size:>6}  {row.command:<30}  {row.problem}")
            continue
        assert row.wall is not None and row.rss_mb is not None
        lines.append(f"{row.size:>6}  {row.command:<30}  {row.wall:>7.2f}  {row.rss_mb:>11.0f}  "
                     f"{row.requests:>12}  {row.server_cpu:>12.2f}  {ratio_text(rows, row)}")
    return lines


def figure(rows: List[Row], size: int, command: str, attribute: str) -> Tuple[Optional[float], str]:
    """A row's figure, or None and why there is none."""
    row = find(rows, size, command)
    if row is None:
        return None, f"{size} pods not run"
    if row.problem:
        return None, f"{command}: {row.problem}"
    return getattr(row, attribute), ""


def check(label: str, value: Optional[float], limit: float, unit: str, why: str) -> str:
    if value is None:
        return f"  n/a   {label} ({why})"
    shown = f"{value:.2f}x" if unit == "x" else f"{value:.0f} {unit}"
    return f"  {'PASS' if value <= limit else 'FAIL'}  {label} ({shown})"


def targets(rows: List[Row]) -> List[str]:
    """Issue #5's targets: at 10k pods `scan -A` within 2x `kubectl get pods -A -o json` and under 300 MB;
    at 50k within 5x its 10k time. The memory and scaling targets are applied to `stats -A` too."""
    lines = []
    for command in (SCAN, STATS):
        short = command.replace("kubectl pullcheck ", "")
        wall_10k, why_10k = figure(rows, 10_000, command, "wall")
        if command == SCAN:
            base, why_base = figure(rows, 10_000, GET_PODS, "wall")
            ratio = wall_10k / base if wall_10k and base else None
            lines.append(check(f"10k pods: {short} wall <= 2x {GET_PODS}", ratio, 2.0, "x", why_10k or why_base))
        rss, why_rss = figure(rows, 10_000, command, "rss_mb")
        lines.append(check(f"10k pods: {short} peak RSS < {RSS_LIMIT_MB} MB", rss, RSS_LIMIT_MB - 1e-9, "MB",
                           why_rss))
        wall_50k, why_50k = figure(rows, 50_000, command, "wall")
        growth = wall_50k / wall_10k if wall_10k and wall_50k else None
        lines.append(check(f"50k pods: {short} wall <= 5x its 10k wall", growth, 5.0, "x", why_10k or why_50k))
    return lines


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    plugin_python = subprocess.run([str(BIN / "python"), "-c", "import platform;print(platform.python_version())"],
                                   capture_output=True, text=True).stdout.strip() or "?"
    version = subprocess.run([kubectl_binary(), "version", "--client", "-o", "json"], capture_output=True,
                             text=True).stdout
    try:
        kubectl = json.loads(version)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        kubectl = "?"
    return (f"machine: {model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"benchmark Python {platform.python_version()}, plugin Python {plugin_python}, kubectl {kubectl}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="pod counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (the median is shown)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed")
    args = parser.parse_args()
    if not (BIN / "kubectl-pullcheck").exists():
        sys.exit(f"kubectl-pullcheck not found in {BIN}: install the plugin first (pip install -e .)")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    log = Log()
    rows: List[Row] = []
    for size in sizes:
        rows.extend(bench_size(size, args.seed, max(1, args.repeat), args.timeout, log))
    print(machine())
    print(f"cluster: generated (benchmarks/cluster_gen.py, seed {args.seed}), served by the fake API server "
          f"(tests/fakeapi) over loopback HTTP in its own process; median of {args.repeat} runs, peak RSS = max")
    print("\n".join(report_table(rows)))
    print("targets (issue #5):")
    print("\n".join(targets(rows)))


if __name__ == "__main__":
    main()
