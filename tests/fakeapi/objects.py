"""Builders for objects the captures lack, in the shape the API server stores them."""
from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Optional

Obj = Dict[str, Any]


def dockerconfigjson_secret(name: str, namespace: str, registry: str, username: str, password: str) -> Obj:
    """A kubernetes.io/dockerconfigjson pull secret, as `kubectl create secret docker-registry` makes it."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    config = {"auths": {registry: {"username": username, "password": password, "auth": auth}}}
    payload = base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace},
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": payload}}


def service_account(name: str, namespace: str, image_pull_secrets: Optional[List[str]] = None) -> Obj:
    account: Obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}
    if image_pull_secrets:
        account["imagePullSecrets"] = [{"name": secret} for secret in image_pull_secrets]
    return account
