"""A real CNCF distribution registry (Debian's docker-registry) on an ephemeral loopback port.

Modes: plain HTTP, TLS (certificate from the test CA), htpasswd Basic auth (bcrypt) and
token auth (realm = a TokenServer). The config is written as JSON, which YAML accepts.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from typing import Dict, Optional

from tests.harness.process import stop_process

import bcrypt

BINARY = "docker-registry"
_LISTENING_RE = re.compile(r'listening on 127\.0\.0\.1:(\d+)')


def available() -> bool:
    return shutil.which(BINARY) is not None


def write_htpasswd(path: str, users: Dict[str, str]) -> None:
    with open(path, "w") as handle:
        for user, password in users.items():
            digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
            handle.write(f"{user}:{digest}\n")


class Registry:
    """One docker-registry process; `url` is set once it listens."""

    def __init__(self, directory: str, *, tls: Optional[tuple] = None, htpasswd: Optional[str] = None,
                 token: Optional[dict] = None) -> None:
        self.directory = directory
        self.scheme = "https" if tls else "http"
        self.port = 0
        self._process: Optional[subprocess.Popen] = None
        os.makedirs(os.path.join(directory, "data"), exist_ok=True)
        http: Dict[str, object] = {"addr": "127.0.0.1:0", "secret": "pullcheck-test-secret"}
        if tls:
            http["tls"] = {"certificate": tls[0], "key": tls[1]}
        config: Dict[str, object] = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": os.path.join(directory, "data")},
                        "delete": {"enabled": True}},
            "http": http,
        }
        if htpasswd:
            config["auth"] = {"htpasswd": {"realm": "pullcheck-realm", "path": htpasswd}}
        elif token:
            config["auth"] = {"token": token}
        self.config_path = os.path.join(directory, "config.yml")
        with open(self.config_path, "w") as handle:
            json.dump(config, handle)
        self.log_path = os.path.join(directory, "registry.log")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def start(self, timeout: float = 15.0) -> "Registry":
        log = open(self.log_path, "wb")
        self._process = subprocess.Popen([BINARY, "serve", self.config_path], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "r", errors="replace") as handle:
                match = _LISTENING_RE.search(handle.read())
            if match:
                self.port = int(match.group(1))
                return self
            if self._process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        with open(self.log_path, "r", errors="replace") as handle:
            raise RuntimeError(f"docker-registry did not start: {handle.read()[-2000:]}")

    def stop(self) -> None:
        stop_process(self._process)
        self._process = None
