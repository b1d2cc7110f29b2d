"""Turn kubeconfig / in-cluster settings into what the HTTP client needs.

The common configurations (kubeconfig files with tokens, token files, client certificates or basic auth; the
in-cluster service account) are read by pullcheck.kube.kubeconfig_fast without importing `kubernetes`, which
costs 0.3 s. The `kubernetes` package's loaders take the rest: exec credential plugins, auth providers, fields
the fast path does not know, and every configuration they would reject, so errors read as they always did.
Neither is imported at module level: commands that never talk to a cluster (explain, pod -f) pay for neither.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from pullcheck.errors import ClusterError, UsageError

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"   # token, ca.crt, namespace
IN_CLUSTER_NAMESPACE_FILE = SERVICE_ACCOUNT_DIR + "/namespace"


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


def load(kubeconfig: str | None, context: str | None, namespace: str | None, *,
         service_account_dir: str | None = None, fast: bool = True) -> ClusterConfig:
    """Load the cluster configuration like kubectl: --kubeconfig, else KUBECONFIG, else ~/.kube/config,
    else in-cluster. The namespace is --namespace, else the context's, else `default`.

    `service_account_dir` replaces /var/run/secrets/kubernetes.io/serviceaccount (tests); `fast=False` skips the
    fast path and uses the `kubernetes` loaders only (the reference the tests compare the fast path with)."""
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
    namespace_file = (os.path.join(service_account_dir, "namespace") if service_account_dir
                      else IN_CLUSTER_NAMESPACE_FILE)
    if fast:
        from pullcheck.kube import kubeconfig_fast  # it builds ClusterConfig, so it imports this module

        try:
            if in_cluster:
                return kubeconfig_fast.from_service_account(os.environ, service_account_dir or SERVICE_ACCOUNT_DIR,
                                                            namespace_file, namespace)
            return kubeconfig_fast.from_kubeconfig_files(existing, context, namespace)
        except kubeconfig_fast.NeedsKubernetesLoader as declined:
            context = context or declined.context  # the loaders would take the last current-context, kubectl the first
    if in_cluster:
        return _load_in_cluster_with_kubernetes(service_account_dir, namespace_file, namespace)
    return _load_kubeconfig_with_kubernetes(existing, context, namespace)


def _load_kubeconfig_with_kubernetes(existing: list[str], context: str | None, namespace: str | None) -> ClusterConfig:
    import yaml
    from kubernetes import config as kconfig  # heavy: only for what the fast path does not read
    from kubernetes.client import Configuration

    cfg = Configuration()
    context_name: str | None = None
    context_ns: str | None = None
    try:
        config_file = os.pathsep.join(existing) if len(existing) > 1 else existing[0]
        kconfig.load_kube_config(config_file=config_file, context=context, client_configuration=cfg,
                                 persist_config=False)
        contexts, active = kconfig.list_kube_config_contexts(config_file=config_file)
        chosen = next((c for c in contexts if c.get("name") == context), None) if context else active
        if chosen:
            context_name = chosen.get("name")
            context_ns = (chosen.get("context") or {}).get("namespace")
    except (kconfig.ConfigException, OSError, ValueError, yaml.YAMLError) as exc:
        raise ClusterError(f"cannot load cluster configuration: {_one_line(exc)}") from None
    return _from_configuration(cfg, namespace or context_ns or "default", context_name)


def _load_in_cluster_with_kubernetes(service_account_dir: str | None, namespace_file: str,
                                     namespace: str | None) -> ClusterConfig:
    from kubernetes.config import incluster_config  # heavy: only for what the fast path does not read
    from kubernetes.client import Configuration

    cfg = Configuration()
    try:
        if service_account_dir:
            incluster_config.InClusterConfigLoader(
                token_filename=os.path.join(service_account_dir, "token"),
                cert_filename=os.path.join(service_account_dir, "ca.crt")).load_and_set(cfg)
        else:
            incluster_config.load_incluster_config(client_configuration=cfg)
    except (incluster_config.ConfigException, OSError, ValueError) as exc:
        raise ClusterError(f"cannot load cluster configuration: {_one_line(exc)}") from None
    return _from_configuration(cfg, namespace or _read_in_cluster_namespace(namespace_file) or "default", None)


def _from_configuration(cfg: Any, namespace: str, context: str | None) -> ClusterConfig:
    return ClusterConfig(
        host=cfg.host.rstrip("/"),
        namespace=namespace,
        context=context,
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


def _read_in_cluster_namespace(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
