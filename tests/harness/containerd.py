"""A real containerd (Debian `containerd` + `runc`) with a private root, state and socket, standing in
for a node's container runtime. Its config sets the CRI `config_path` (hosts.toml directories), so
pulls resolve exactly as a kubelet's would. No containers are run: only the image service is used.

The socket path must stay under 108 characters, hence the short /tmp/pc-XXXX directory of
`harness_dir`. Stopped by PID; containerd leaves no mounts after pulls.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Iterator, Optional

from tests.harness.process import stop_process

import pytest

BINARY = "containerd"


def available() -> bool:
    return shutil.which(BINARY) is not None and shutil.which("ctr") is not None


class Containerd:
    """One containerd process; `socket`, `config_path`, `hosts_dir` and `pid` once started."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.socket = os.path.join(directory, "containerd.sock")
        self.root = os.path.join(directory, "root")
        self.hosts_dir = os.path.join(directory, "certs.d")
        self.config_path = os.path.join(directory, "config.toml")
        self.log_path = os.path.join(directory, "containerd.log")
        self._process: Optional[subprocess.Popen] = None
        os.makedirs(self.hosts_dir, exist_ok=True)
        with open(self.config_path, "w") as handle:
            handle.write(
                "version = 2\n"
                f'root = "{self.root}"\n'
                f'state = "{os.path.join(directory, "state")}"\n'
                "[grpc]\n"
                f'  address = "{self.socket}"\n'
                "[ttrpc]\n"
                f'  address = "{self.socket}.ttrpc"\n'
                '[plugins."io.containerd.grpc.v1.cri".registry]\n'
                f'  config_path = "{self.hosts_dir}"\n'
            )

    @property
    def pid(self) -> int:
        assert self._process is not None, "containerd is not running"
        return self._process.pid

    def start(self, timeout: float = 15.0) -> "Containerd":
        log = open(self.log_path, "wb")
        self._process = subprocess.Popen([BINARY, "--config", self.config_path], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if os.path.exists(self.socket) and self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        with open(self.log_path, "r", errors="replace") as handle:
            raise RuntimeError(f"containerd did not start: {handle.read()[-2000:]}")

    def _answers(self) -> bool:
        done = subprocess.run(["ctr", "--address", self.socket, "version"], capture_output=True, timeout=5)
        return done.returncode == 0

    def remove_image(self, reference: str) -> None:
        """Forget a pulled image so the next pull goes to the registry again."""
        subprocess.run(["ctr", "--address", self.socket, "-n", "k8s.io", "images", "rm", reference],
                       capture_output=True, timeout=10)

    def stop(self) -> None:
        stop_process(self._process)
        self._process = None


@pytest.fixture(scope="session")
def containerd_node(harness_dir: str) -> Iterator[Containerd]:
    """A running containerd under the session's /tmp/pc-XXXX directory."""
    if not available():
        pytest.skip("containerd is not installed (apt-get install --no-install-recommends containerd runc)")
    daemon = Containerd(os.path.join(harness_dir, "ctrd")).start()
    try:
        yield daemon
    finally:
        daemon.stop()
