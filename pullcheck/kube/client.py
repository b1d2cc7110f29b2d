"""A small JSON client for the Kubernetes API.

Why not the `kubernetes` client's API classes: they build model objects for every item (slow for big
lists) and their call signatures changed across releases. We reuse its configuration loaders
(pullcheck.kube.config) and speak plain HTTP with urllib3, parsing only the JSON we need.
"""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable, Iterator
from urllib.parse import quote, urlencode

from pullcheck.errors import ClusterError
from pullcheck.kube.config import ClusterConfig

METADATA_ONLY_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
MAX_THROTTLE_RETRIES = 3
MAX_RETRY_AFTER = 5.0


class ApiError(Exception):
    """The API server answered with an error Status."""

    def __init__(self, status: int, reason: str, message: str, path: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.path = path


class NotFound(ApiError):
    pass


class Forbidden(ApiError):
    pass


class KubeClient:
    """GET/LIST against one API server; thread-safe; counts and optionally logs every request."""

    def __init__(self, config: ClusterConfig, *, timeout: float = 30.0,
                 log: Callable[[str], None] | None = None) -> None:
        import urllib3  # shipped with the kubernetes client; imported only for live clusters

        self.config = config
        self.namespace = config.namespace
        self._timeout = urllib3.Timeout(connect=min(5.0, timeout), read=timeout)
        self._log = log
        self._lock = threading.Lock()
        self.requests_made = 0
        pool_args: dict[str, Any] = {"maxsize": 8, "retries": False}
        if config.host.startswith("https"):
            pool_args["cert_reqs"] = "CERT_REQUIRED" if config.verify_ssl else "CERT_NONE"
            if config.ca_file:
                pool_args["ca_certs"] = config.ca_file
            if config.cert_file:
                pool_args["cert_file"] = config.cert_file
            if config.key_file:
                pool_args["key_file"] = config.key_file
            if config.tls_server_name:
                pool_args["server_hostname"] = config.tls_server_name
            if not config.verify_ssl:
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if config.proxy:
            proxy_url, proxy_headers = _proxy_parts(config.proxy)
            self._pool = urllib3.ProxyManager(proxy_url, proxy_headers=proxy_headers, **pool_args)
        else:
            self._pool = urllib3.PoolManager(**pool_args)
        self._urllib3 = urllib3

    # -- requests -------------------------------------------------------------------------------
    def get(self, path: str, query: dict[str, Any] | None = None, *, accept: str = "application/json") -> dict:
        """GET one JSON document; raises NotFound / Forbidden / ApiError / ClusterError."""
        url = self.config.host + path + ("?" + urlencode(query) if query else "")
        headers = {"Accept": accept, "User-Agent": "kubectl-pullcheck"}
        headers.update(self.config.auth_headers())
        for attempt in range(MAX_THROTTLE_RETRIES + 1):
            started = time.monotonic()
            try:
                resp = self._pool.request("GET", url, headers=headers, timeout=self._timeout,
                                          preload_content=True, redirect=False)
            except self._urllib3.exceptions.HTTPError as exc:
                self._note("GET", path, query, "error", started)
                raise ClusterError(f"cannot reach the API server at {self.config.host}: {_reason(exc)}") from None
            self._note("GET", path, query, resp.status, started)
            if resp.status == 429 or (resp.status in (503, 504) and "Retry-After" in resp.headers):
                if attempt < MAX_THROTTLE_RETRIES:
                    time.sleep(_retry_after(resp.headers.get("Retry-After")))
                    continue
            if resp.status >= 400:
                raise _api_error(resp.status, resp.data, path)
            try:
                return json.loads(resp.data)
            except ValueError:
                raise ClusterError(f"the API server sent invalid JSON for {path}") from None
        raise AssertionError("unreachable")

    def list(self, path: str, query: dict[str, Any] | None = None, *, page_size: int = 500,
             accept: str = "application/json") -> Iterator[dict]:
        """Yield every item of a collection, following `continue` tokens page by page."""
        params = dict(query or {})
        params["limit"] = page_size
        while True:
            doc = self.get(path, params, accept=accept)
            yield from doc.get("items") or ()
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return
            params["continue"] = token

    def create(self, path: str, body: dict, query: dict[str, Any] | None = None) -> dict:
        """POST a new object to a collection; returns the object as stored (`dryRun=All` in `query`
        lets admission judge it without storing it)."""
        return json.loads(self._send("POST", path, query, json.dumps(body).encode()).data)

    def delete(self, path: str, query: dict[str, Any] | None = None) -> dict:
        """DELETE one object; raises NotFound when it is already gone."""
        return json.loads(self._send("DELETE", path, query).data)

    def text(self, path: str, query: dict[str, Any] | None = None) -> str:
        """GET a plain-text subresource such as pods/NAME/log."""
        return self._send("GET", path, query, accept="text/plain, */*").data.decode("utf-8", "replace")

    def watch(self, path: str, query: dict[str, Any] | None = None, *, seconds: int = 60) -> Iterator[dict]:
        """Yield watch events ({"type", "object"}) of a collection for at most `seconds`; the caller
        may stop early (closing the generator releases the connection)."""
        params = dict(query or {}, watch="true", timeoutSeconds=max(1, int(seconds)))
        timeout = self._urllib3.Timeout(connect=self._timeout.connect_timeout, read=seconds + 5)
        resp = self._send("GET", path, params, preload=False, timeout=timeout)
        buffer = b""
        try:
            for chunk in resp.stream(65536):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except self._urllib3.exceptions.ReadTimeoutError:
            return
        finally:
            resp.release_conn()

    def _send(self, method: str, path: str, query: dict[str, Any] | None = None, body: bytes | None = None, *,
              accept: str = "application/json", preload: bool = True, timeout: Any = None) -> Any:
        """One request without retries (writes are not idempotent); errors raised as in get()."""
        url = self.config.host + path + ("?" + urlencode(query) if query else "")
        headers = {"Accept": accept, "User-Agent": "kubectl-pullcheck"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        headers.update(self.config.auth_headers())
        started = time.monotonic()
        try:
            resp = self._pool.request(method, url, body=body, headers=headers, timeout=timeout or self._timeout,
                                      preload_content=preload, redirect=False)
        except self._urllib3.exceptions.HTTPError as exc:
            self._note(method, path, query, "error", started)
            raise ClusterError(f"cannot reach the API server at {self.config.host}: {_reason(exc)}") from None
        self._note(method, path, query, resp.status, started)
        if resp.status >= 400:
            data = resp.data if preload else resp.read()
            raise _api_error(resp.status, data, path)
        return resp

    def _note(self, method: str, path: str, query: dict[str, Any] | None, status: object, started: float) -> None:
        with self._lock:
            self.requests_made += 1
        if self._log:
            shown = path + ("?" + urlencode(query) if query else "")
            self._log(f"{method} {shown} -> {status} in {(time.monotonic() - started) * 1000:.0f} ms")


def namespaced(namespace: str, resource: str, name: str | None = None, group: str = "") -> str:
    """API path of a namespaced resource: core (group "") or a named group version like "apps/v1"."""
    base = "/api/v1" if not group else f"/apis/{group}"
    path = f"{base}/namespaces/{quote(namespace, safe='')}/{resource}"
    return path + (f"/{quote(name, safe='')}" if name else "")


def _proxy_parts(proxy: str) -> tuple[str, dict[str, str] | None]:
    """(proxy URL without user:password, the Proxy-Authorization header they make), as Go sends them; the
    ClusterError names the proxy without its password."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    from pullcheck.registry.proxy import redact_proxy_url

    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme not in ("http", "https"):
        raise ClusterError(f"proxy {redact_proxy_url(proxy)}: only http:// and https:// proxies are supported "
                           f"here, not {parts.scheme}://")
    if parts.username is None:
        return urlunsplit(parts), None
    import base64

    netloc = parts.netloc.rpartition("@")[2]
    userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    header = "Basic " + base64.b64encode(userinfo.encode("utf-8")).decode("ascii")
    return urlunsplit(parts._replace(netloc=netloc)), {"Proxy-Authorization": header}


def cluster_scoped(resource: str, name: str | None = None) -> str:
    return f"/api/v1/{resource}" + (f"/{quote(name, safe='')}" if name else "")


def _api_error(status: int, body: bytes, path: str) -> ApiError:
    reason, message = "", ""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict):
            reason, message = str(doc.get("reason") or ""), str(doc.get("message") or "")
    except ValueError:
        message = body[:200].decode("utf-8", "replace").strip()
    message = message or f"HTTP {status} for {path}"
    cls = NotFound if status == 404 else Forbidden if status == 403 else ApiError
    return cls(status, reason, message, path)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, min(float(value or 1), MAX_RETRY_AFTER))
    except ValueError:
        return 1.0


def _reason(exc: Exception) -> str:
    """The innermost cause of a urllib3 error, in words an engineer recognises."""
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    if "Unable to connect to proxy" in text:
        status = re.search(r"Tunnel connection failed: (\d{3}[^'\"]*)", text)
        if status:
            hint = " (check the user and password in the proxy URL)" if status.group(1).startswith("407") else ""
            return f"the proxy refused the tunnel: {status.group(1).strip()}{hint}"
        original = getattr(inner, "original_error", None)
        return "cannot connect to the proxy: " + (_reason(original) if original is not None else
                                                  " ".join(text.split())[:200])
    for marker in ("Connection refused", "timed out", "Name or service not known", "No route to host",
                   "CERTIFICATE_VERIFY_FAILED", "nodename nor servname", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower() if marker != "CERTIFICATE_VERIFY_FAILED" else "TLS certificate verify failed"
    return " ".join(text.split())[:200] or type(exc).__name__
