"""Stopping the daemons the harness starts (docker-registry, containerd) by their own process handle."""
from __future__ import annotations

import subprocess
from typing import Optional


def stop_process(process: Optional[subprocess.Popen]) -> None:
    """Terminate, then kill if it has not gone within 5 s; a process that already ended is left alone."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
