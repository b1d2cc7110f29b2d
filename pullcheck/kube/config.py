"""Turn kubeconfig / in-cluster settings into what the HTTP client needs.

The `kubernetes` package's loaders do the hard parts (several files in KUBECONFIG, exec credential
plugins, auth providers, in-cluster service-account tokens); we only read the resulting Configuration.
Importing `kubernetes` costs 0.3 s, so this module imports it inside `load()` only: commands that never
talk to a cluster (explain, pod -f) never pay for it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from pullcheck.errors import ClusterError, UsageError

IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


@dataclass
class ClusterConfig:
    """Where the API server is and how to authenticate, from whichever loader applied."""

    host: str
    namespace: str
    context: str | None
    verify_ssl: bool
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    tls_server_name: str | None
    proxy: str | None
    auth_headers: Callable[[], dict[str, str]]  # called per request: exec tokens refresh themselves


def _kubeconfig_paths(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def load(kubeconfig: str | None, context: str | None, namespace: str | None) -> ClusterConfig:
    """Load the cluster configuration like kubectl: --kubeconfig, else KUBECONFIG, else ~/.kube/config,
    else in-cluster. The namespace is --namespace, else the context's, else `default`."""
    paths = _kubeconfig_paths(kubeconfig)
    if kubeconfig and not os.path.exists(kubeconfig):
        raise UsageError(f"kubeconfig file {kubeconfig} does not exist")
    existing = [p for p in paths if os.path.exists(p)]
    in_cluster = not existing and not kubeconfig and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
    if not existing and not in_cluster:
        raise ClusterError(
            "no kubeconfig found (looked at " + ", ".join(paths) + ") and not running inside a cluster",
            hint="set KUBECONFIG or pass --kubeconfig",
        )

    from kubernetes import config as kconfig  # heavy: only when a cluster is actually needed
    from kubernetes.client import Configuration

    cfg = Configuration()
    context_name: str | None = None
    context_ns: str | None = None
    try:
        if in_cluster:
            kconfig.load_incluster_config(client_configuration=cfg)
            context_ns = _read_in_cluster_namespace()
        else:
            config_file = os.pathsep.join(existing) if len(existing) > 1 else existing[0]
            kconfig.load_kube_config(config_file=config_file, context=context, client_configuration=cfg,
                                     persist_config=False)
            contexts, active = kconfig.list_kube_config_contexts(config_file=config_file)
            chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
            if chosen:
                context_name = chosen.get("name")
                context_ns = (chosen.get("context") or {}).get("namespace")
    except kconfig.ConfigException as exc:
        raise ClusterError(f"cannot load cluster configuration: {_one_line(exc)}") from None
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot load cluster configuration: {_one_line(exc)}") from None

    return ClusterConfig(
        host=cfg.host.rstrip("/"),
        namespace=namespace or context_ns or "default",
        context=context_name,
        verify_ssl=bool(cfg.verify_ssl),
        ca_file=cfg.ssl_ca_cert,
        cert_file=cfg.cert_file,
        key_file=cfg.key_file,
        tls_server_name=getattr(cfg, "tls_server_name", None),
        proxy=cfg.proxy,
        auth_headers=lambda: _auth_headers(cfg),
    )


def _auth_headers(cfg: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    for setting in cfg.auth_settings().values():
        if setting.get("in") == "header" and setting.get("value"):
            headers[setting["key"]] = setting["value"]
    if getattr(cfg, "username", None) and getattr(cfg, "password", None):
        headers["authorization"] = cfg.get_basic_auth_token()
    return headers


def _read_in_cluster_namespace() -> str | None:
    try:
        with open(IN_CLUSTER_NAMESPACE_FILE, encoding="utf-8") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
