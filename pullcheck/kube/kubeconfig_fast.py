"""Read the common kubeconfigs and the in-cluster service account without importing `kubernetes`.

Importing the `kubernetes` client takes about 0.3 s, twice what `kubectl describe pod` needs to answer, only to
read a few small YAML files. This module reads what most kubeconfigs hold: a server with its CA (file or data),
insecure-skip-tls-verify, tls-server-name and proxy-url; a user with a token or tokenFile, a client certificate
and key (file or data), or a username and password; and the in-cluster service account. Everything else (exec
plugins, auth providers, impersonation, a field it does not know, a malformed file, anything the loaders would
report as an error) raises NeedsKubernetesLoader, and pullcheck.kube.config hands the case to the `kubernetes`
loaders, which word their errors as before.

The results equal the loaders' except where the loaders and kubectl (client-go) disagree; there it follows kubectl:
- current-context comes from the first file in KUBECONFIG that sets it (the loaders take the last one);
- a user's relative client-certificate/client-key resolve against the user's own file (the loaders resolve them
  against the cluster's file);
- token files (tokenFile, the service-account token) are stripped of surrounding whitespace and re-read at most
  once a minute, keeping the last good token if a re-read fails; the bearer scheme is spelt `Bearer`.
"""
from __future__ import annotations

import atexit
import base64
import binascii
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pullcheck.kube.config import ClusterConfig

TOKEN_REREAD_SECONDS = 60.0   # client-go's cached file token source and the loaders both re-read once a minute

# The fields this module reads (or, for extensions and disable-compression, may safely ignore: we never ask for
# compressed responses). Any other field sends the configuration to the `kubernetes` loaders.
CLUSTER_FIELDS = frozenset({"server", "certificate-authority", "certificate-authority-data",
                            "insecure-skip-tls-verify", "tls-server-name", "proxy-url", "extensions",
                            "disable-compression"})
USER_FIELDS = frozenset({"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
                         "client-key-data", "username", "password", "extensions"})
CONTEXT_FIELDS = frozenset({"cluster", "user", "namespace", "extensions"})
NAMED_LISTS = {"clusters": "cluster", "users": "user", "contexts": "context"}   # list key -> entry's body key


class NeedsKubernetesLoader(Exception):
    """The configuration is outside what this module reads. `context` is the context kubectl would use, when
    known, so that the loaders start from the same one. The reason never holds a secret value."""

    def __init__(self, reason: str, context: str | None = None) -> None:
        super().__init__(reason)
        self.context = context


@dataclass
class _Entry:
    """A named cluster, user or context, with the directory of the file that defined it."""

    body: Any
    base_dir: str


@dataclass
class _MergedConfig:
    current_context: str | None
    clusters: dict[str, _Entry]
    users: dict[str, _Entry]
    contexts: dict[str, _Entry]


# -- kubeconfig files ---------------------------------------------------------------------------------------------
def from_kubeconfig_files(paths: list[str], context: str | None, namespace: str | None) -> ClusterConfig:
    """The configuration for `context` (else the current context) from kubeconfig files merged like kubectl
    merges KUBECONFIG; `namespace` overrides the context's. Raises NeedsKubernetesLoader."""
    merged = _merge_kubeconfigs(paths)
    name = context or merged.current_context
    if not name:
        raise NeedsKubernetesLoader("no current-context")
    context_entry = merged.contexts.get(name)
    if context_entry is None:
        raise NeedsKubernetesLoader(f"context {name!r} not found", name)
    ctx = _fields(context_entry.body, CONTEXT_FIELDS, f"context {name!r}", name)
    cluster_name, user_name, context_namespace = ctx.get("cluster"), ctx.get("user"), ctx.get("namespace")
    if not isinstance(cluster_name, str) or cluster_name not in merged.clusters:
        raise NeedsKubernetesLoader(f"context {name!r} names no known cluster", name)
    if context_namespace is not None and not isinstance(context_namespace, str):
        raise NeedsKubernetesLoader(f"context {name!r} has a malformed namespace", name)
    if user_name is not None and not isinstance(user_name, str):
        raise NeedsKubernetesLoader(f"context {name!r} has a malformed user", name)
    user_entry = merged.users.get(user_name) if user_name else None
    if user_name and user_entry is None:
        raise NeedsKubernetesLoader(f"context {name!r} names an unknown user", name)

    cluster_entry = merged.clusters[cluster_name]
    cluster = _fields(cluster_entry.body, CLUSTER_FIELDS, f"cluster {cluster_name!r}", name)
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise NeedsKubernetesLoader(f"cluster {cluster_name!r} has no http(s) server URL", name)
    host = server.rstrip("/")
    secure = host.startswith("https://")
    user = _fields(user_entry.body, USER_FIELDS, f"user {user_name!r}", name) if user_entry else {}
    user_dir = user_entry.base_dir if user_entry else ""
    return ClusterConfig(
        host=host,
        namespace=namespace or context_namespace or "default",
        context=name,
        verify_ssl=not _optional(cluster, "insecure-skip-tls-verify", bool, name, default=False),
        ca_file=_file_or_data(cluster, "certificate-authority", cluster_entry.base_dir, name) if secure else None,
        cert_file=_file_or_data(user, "client-certificate", user_dir, name) if secure else None,
        key_file=_file_or_data(user, "client-key", user_dir, name) if secure else None,
        tls_server_name=_optional(cluster, "tls-server-name", str, name),
        proxy=_optional(cluster, "proxy-url", str, name) if "proxy-url" in cluster else _environment_proxy(host),
        auth_headers=_user_auth_headers(user, user_dir, name),
    )


def _merge_kubeconfigs(paths: list[str]) -> _MergedConfig:
    """Merge kubeconfig files in order like kubectl: the first file to define a cluster, user or context name
    wins (whole entries, never field by field), and so does the first non-empty current-context."""
    merged = _MergedConfig(current_context=None, clusters={}, users={}, contexts={})
    for path in paths:
        doc = _read_yaml(path)
        if not isinstance(doc, dict):
            raise NeedsKubernetesLoader(f"{path} is empty or not a kubeconfig")
        current = doc.get("current-context")
        if current is not None and not isinstance(current, str):
            raise NeedsKubernetesLoader(f"{path} has a malformed current-context")
        if current and merged.current_context is None:
            merged.current_context = current
        base_dir = os.path.abspath(os.path.dirname(path))
        for list_key, body_key in NAMED_LISTS.items():
            table: dict[str, _Entry] = getattr(merged, list_key)
            seen_in_file: set[str] = set()
            for item in doc.get(list_key) or ():
                name = item.get("name") if isinstance(item, dict) else None
                if not isinstance(name, str) or name in seen_in_file:
                    raise NeedsKubernetesLoader(f"{path} has a nameless or repeated entry in {list_key}")
                seen_in_file.add(name)
                table.setdefault(name, _Entry(item.get(body_key), base_dir))
    return merged


def _read_yaml(path: str) -> Any:
    import yaml  # 15 ms; only when a cluster is needed

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, "rb") as fh:
            return yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError):
        raise NeedsKubernetesLoader(f"cannot read {path}") from None


def _fields(body: Any, known: frozenset, what: str, context: str) -> dict:
    if not isinstance(body, dict):
        raise NeedsKubernetesLoader(f"{what} is not a mapping", context)
    unknown = sorted(set(body) - known)
    if unknown:
        raise NeedsKubernetesLoader(f"{what} uses {', '.join(map(str, unknown))}", context)
    return body


def _optional(body: dict, key: str, kind: type, context: str, default: Any = None) -> Any:
    """A field that may be absent but, when present, must have the right type (the loaders reject null)."""
    if key not in body:
        return default
    value = body[key]
    if not isinstance(value, kind):
        raise NeedsKubernetesLoader(f"{key} is not a {kind.__name__}", context)
    return value


def _file_or_data(body: dict, key: str, base_dir: str, context: str) -> str | None:
    """A PEM file: `key` (relative to the defining file's directory) or `key-data` (base64, written to a private
    temporary file, as urllib3 takes certificates and keys only from files)."""
    data_key = key + "-data"
    if data_key in body and key in body:
        raise NeedsKubernetesLoader(f"both {key} and {data_key} are set", context)
    if data_key in body:
        data = _optional(body, data_key, str, context)
        if not data:
            return None
        try:
            return _private_temp_file(base64.standard_b64decode(data.encode()))
        except (binascii.Error, ValueError):
            raise NeedsKubernetesLoader(f"{data_key} is not base64", context) from None
    path = _optional(body, key, str, context)
    if path is None:
        return None
    full = os.path.normpath(os.path.join(base_dir, path)) if path else ""
    if not full or not os.path.isfile(full):
        raise NeedsKubernetesLoader(f"{key} is not a file", context)
    return full


def _user_auth_headers(user: dict, base_dir: str, context: str) -> Callable[[], dict[str, str]]:
    """Bearer token (inline, else tokenFile), else basic auth, else none: the loaders' order."""
    if "token" in user and "tokenFile" in user:
        raise NeedsKubernetesLoader("both token and tokenFile are set", context)
    token = _optional(user, "token", str, context)
    if token:
        header = {"authorization": "Bearer " + token}
        return lambda: dict(header)
    token_file = _optional(user, "tokenFile", str, context)
    if token_file:
        return _token_file_headers(os.path.normpath(os.path.join(base_dir, token_file)), context)
    if "username" in user and "password" in user:
        username, password = _optional(user, "username", str, context), _optional(user, "password", str, context)
        try:
            credentials = f"{username}:{password}".encode("latin-1")  # what urllib3.make_headers encodes
        except UnicodeEncodeError:
            raise NeedsKubernetesLoader("username or password is not latin-1", context) from None
        header = {"authorization": "Basic " + base64.b64encode(credentials).decode()}
        return lambda: dict(header)
    return _no_auth_headers


def _no_auth_headers() -> dict[str, str]:
    return {}


# -- in-cluster ---------------------------------------------------------------------------------------------------
def from_service_account(environ: Mapping[str, str], directory: str, namespace_file: str,
                         namespace: str | None) -> ClusterConfig:
    """The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the service account's token and CA in
    `directory`; the namespace is `namespace`, else the one in `namespace_file`, else `default`."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise NeedsKubernetesLoader("KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is empty")
    ca_file = os.path.join(directory, "ca.crt")
    if not os.path.isfile(ca_file) or os.path.getsize(ca_file) == 0:
        raise NeedsKubernetesLoader("no service-account CA certificate")
    url = "https://" + (f"[{host}]:{port}" if ":" in host or "%" in host else f"{host}:{port}")
    return ClusterConfig(
        host=url,
        namespace=namespace or _read_stripped(namespace_file) or "default",
        context=None,
        verify_ssl=True,
        ca_file=ca_file,
        cert_file=None,
        key_file=None,
        tls_server_name=None,
        proxy=_environment_proxy(url),
        auth_headers=_token_file_headers(os.path.join(directory, "token")),
    )


# -- shared -------------------------------------------------------------------------------------------------------
def _token_file_headers(path: str, context: str | None = None) -> FileBearerToken:
    token = _read_stripped(path)
    if not token:
        raise NeedsKubernetesLoader(f"token file {path} is missing or empty", context)
    return FileBearerToken(path, token)


class FileBearerToken:
    """Authorization header from a token file that may be rotated (projected service-account tokens): re-read at
    most every TOKEN_REREAD_SECONDS, keeping the last good token when a re-read fails. Thread-safe."""

    def __init__(self, path: str, token: str) -> None:
        self._path = path
        self._token = token
        self._read_at = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            if now - self._read_at >= TOKEN_REREAD_SECONDS:
                self._read_at = now
                self._token = _read_stripped(self._path) or self._token
            return {"authorization": "Bearer " + self._token}

    def __repr__(self) -> str:
        return f"FileBearerToken({self._path!r})"


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def _environment_proxy(server: str) -> str | None:
    """The proxy the environment sets for the API server URL, decided as kubectl (Go's ProxyFromEnvironment)
    decides it: HTTPS_PROXY / HTTP_PROXY by scheme, NO_PROXY with its domains, IPs and CIDRs, loopback never
    proxied, ALL_PROXY ignored."""
    if not any(os.environ.get(name) for name in PROXY_VARIABLES):
        return None
    from urllib.parse import urlsplit

    from pullcheck.registry.proxy import proxy_for

    parts = urlsplit(server)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    choice = proxy_for(parts.scheme, parts.hostname or "", port)
    return choice.url if choice is not None else None


def _read_stripped(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or None
    except (OSError, ValueError):
        return None


_temp_files: list[str] = []


def _private_temp_file(content: bytes) -> str:
    """Write `content` to a new file only we can read (mkstemp: 0600), removed when the process exits."""
    import tempfile

    if not _temp_files:
        atexit.register(_remove_temp_files)
    fd, path = tempfile.mkstemp(prefix="pullcheck-kubeconfig-")
    _temp_files.append(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return path


def _remove_temp_files() -> None:
    while _temp_files:
        try:
            os.remove(_temp_files.pop())
        except OSError:
            pass
