"""A kubeconfig for the fake server: one cluster, one token user, one context with a namespace.
Written as JSON, which every kubeconfig reader accepts (it is YAML too)."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Optional


def write_kubeconfig(path: Path, *, server: str, token: str, user: str, namespace: str, context: str,
                     ca_file: Optional[str] = None) -> Path:
    cluster = {"server": server}
    if ca_file:
        cluster["certificate-authority-data"] = base64.b64encode(Path(ca_file).read_bytes()).decode()
    config = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user, "namespace": namespace}}],
        "current-context": context,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    os.chmod(path, 0o600)
    return path
