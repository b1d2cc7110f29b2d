"""HTTP exchanges with a registry, bounded in time and size, that never leak credentials.

Built on httpcore (httpx's engine) with a network backend of our own, for three reasons:
- a hard deadline per exchange: httpx timeouts are per socket operation, so a server
  that drips one byte a second would never time out;
- connections go to the addresses the DNS step found (possibly from another DNS server);
- we see which stage failed (TCP connect, TLS handshake, proxy, HTTP), which is the
  difference between "connection refused", "unknown certificate authority" and a
  registry that accepts the connection and then never answers.

Redirects are followed here, not by the library: an Authorization value is bound to
one origin (scheme, host, port) and is dropped on any hop that leaves it.
"""
from __future__ import annotations

import base64
import errno
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import urljoin, urlsplit

from pullcheck.registry import model
from pullcheck.registry.endpoint import parse_ip
from pullcheck.registry.proxy import ProxyChoice, proxy_for

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
Origin = Tuple[str, str, int]

# Failure stages: where in the exchange it broke.
STAGE_RESOLVE = "resolve"
STAGE_CONNECT = "connect"
STAGE_PROXY = "proxy"
STAGE_TLS = "tls"
STAGE_HTTP = "http"


def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


class Authorization:
    """An Authorization header value bound to the one origin it may be sent to."""

    __slots__ = ("_value", "origin", "scheme")

    def __init__(self, value: str, origin: Origin) -> None:
        self._value = value
        self.origin = origin
        self.scheme = value.split(" ", 1)[0]

    @classmethod
    def basic(cls, username: str, password: str, origin: Origin) -> "Authorization":
        token = base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")
        return cls(f"Basic {token}", origin)

    def value_for(self, url: str) -> Optional[str]:
        return self._value if origin_of(url) == self.origin else None

    def redact(self, text: str) -> str:
        """text with this header's secret part replaced, should a server have echoed it."""
        secret = self._value[len(self.scheme) + 1:]
        return text.replace(secret, "<redacted>") if secret else text

    def __repr__(self) -> str:
        return f"Authorization({self.scheme} <redacted> for {self.origin[0]}://{self.origin[1]}:{self.origin[2]})"


class Headers:
    """Response headers: case-insensitive, repeatable."""

    def __init__(self, raw: Iterable[Tuple[bytes, bytes]]) -> None:
        self._items = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        name = name.lower()
        return next((v for k, v in self._items if k == name), default)

    def get_all(self, name: str) -> List[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None


@dataclass
class Response:
    method: str
    url: str                       # the final URL, after redirects
    status: int
    reason: str
    headers: Headers
    body: bytes
    truncated: bool                # the body was longer than the limit and was cut
    hops: List[str] = field(default_factory=list)   # "307 -> URL" for each redirect followed

    def text(self, limit: int = 300) -> str:
        """The start of the body as printable one-line text, for evidence."""
        text = self.body[:limit * 4].decode("utf-8", errors="replace")
        text = "".join(ch if ch.isprintable() else " " for ch in text)
        text = " ".join(text.split())
        return text[:limit] + ("..." if len(text) > limit or self.truncated else "")


@dataclass
class ConnectAttempt:
    host: str
    address: str
    port: int
    error: Optional[BaseException]
    elapsed: float


@dataclass
class TlsAttempt:
    server_name: str
    error: Optional[BaseException] = None
    version: str = ""
    cipher: str = ""
    certificate: Dict = field(default_factory=dict)


@dataclass
class Trace:
    """What the backend saw during one hop of an exchange."""

    connects: List[ConnectAttempt] = field(default_factory=list)
    tls: List[TlsAttempt] = field(default_factory=list)
    resolve_error: str = ""
    proxy: Optional[ProxyChoice] = None
    bytes_in: int = 0
    deadline_hit: bool = False


class Failure(Exception):
    """An exchange that gave no usable HTTP response: cause id, stage and evidence."""

    def __init__(self, cause: str, stage: str, summary: str, evidence: Sequence[str] = (),
                 trace: Optional[Trace] = None, proxy: Optional[ProxyChoice] = None, kind: str = "") -> None:
        super().__init__(summary)
        self.cause = cause
        self.stage = stage
        self.kind = kind                 # finer detail, e.g. the TLS error kind
        self.summary = summary
        self.evidence = tuple(evidence)
        self.trace = trace or Trace()
        self.proxy = proxy


class _DeadlineBackend:
    """httpcore network backend that bounds every operation by the session's deadline."""

    def __init__(self, session: "Session") -> None:
        import httpcore

        self._httpcore = httpcore
        self._inner = httpcore.SyncBackend()
        self._session = session

    def bound(self, timeout: Optional[float], exc_type) -> Tuple[float, bool]:
        remaining = self._session.deadline - time.monotonic()
        if remaining <= 0:
            self._session.trace.deadline_hit = True
            raise exc_type("time budget spent")
        if timeout is None or remaining < timeout:
            return remaining, True
        return timeout, False

    def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None,
                    local_address: Optional[str] = None, socket_options=None):
        httpcore = self._httpcore
        trace = self._session.trace
        try:
            addresses = self._session.addresses_for(host)
        except LookupError as exc:
            trace.resolve_error = str(exc)
            raise httpcore.ConnectError(str(exc)) from exc
        last: Optional[BaseException] = None
        for address in addresses or [host]:
            started = time.monotonic()
            bounded, _ = self.bound(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._inner.connect_tcp(address, port, timeout=bounded,
                                                 local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                trace.connects.append(ConnectAttempt(host, address, port, exc, time.monotonic() - started))
                last = exc
                continue
            trace.connects.append(ConnectAttempt(host, address, port, None, time.monotonic() - started))
            return _DeadlineStream(stream, self)
        assert last is not None
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise self._httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream:
    def __init__(self, inner, backend: _DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        httpcore = self._backend._httpcore
        trace = self._backend._session.trace
        bounded, limited = self._backend.bound(timeout, httpcore.ReadTimeout)
        try:
            data = self._inner.read(max_bytes, bounded)
        except httpcore.ReadTimeout:
            trace.deadline_hit = trace.deadline_hit or limited
            raise
        trace.bytes_in += len(data)
        return data

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        bounded, _ = self._backend.bound(timeout, self._backend._httpcore.WriteTimeout)
        self._inner.write(buffer, bounded)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: Optional[str] = None,
                  timeout: Optional[float] = None):
        httpcore = self._backend._httpcore
        attempt = TlsAttempt(server_name=server_hostname or "")
        self._backend._session.trace.tls.append(attempt)
        bounded, _ = self._backend.bound(timeout, httpcore.ConnectTimeout)
        try:
            stream = self._inner.start_tls(ssl_context, server_hostname, bounded)
        except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
            attempt.error = exc
            raise
        ssl_object = stream.get_extra_info("ssl_object")
        if ssl_object is not None:
            attempt.version = ssl_object.version() or ""
            attempt.cipher = (ssl_object.cipher() or ("",))[0]
            attempt.certificate = ssl_object.getpeercert() or {}
        return _DeadlineStream(stream, self._backend)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def make_ssl_context(ca_file: Optional[str]) -> ssl.SSLContext:
    """System trust plus ca_file, as containerd's hosts.toml `ca` adds to the system pool."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


class Session:
    """One probe's HTTP client: connection pools, pinned addresses, deadline, trace."""

    def __init__(self, ssl_context: ssl.SSLContext, pins: Dict[str, List[str]],
                 resolve: Optional[Callable[[str, float], List[str]]] = None,
                 user_agent: str = "kubectl-pullcheck") -> None:
        self._ssl_context = ssl_context
        self.pins = pins
        self._resolve = resolve
        self._user_agent = user_agent
        self._pools: Dict[Optional[str], object] = {}
        self._proxy_hosts: set = set()
        self._backend = _DeadlineBackend(self)
        self.deadline = 0.0
        self.trace = Trace()

    def addresses_for(self, host: str) -> Optional[List[str]]:
        """Where to connect for host; None lets the system resolver decide."""
        host = host.lower()
        if parse_ip(host) is not None:
            return [host]
        if host in self.pins:
            return self.pins[host]
        if host in self._proxy_hosts or self._resolve is None:
            return None
        self.pins[host] = self._resolve(host, max(self.deadline - time.monotonic(), 0.01))
        return self.pins[host]

    def _pool(self, proxy: Optional[ProxyChoice]):
        import httpcore

        key = proxy.url if proxy else None
        if key not in self._pools:
            if proxy is None:
                self._pools[key] = httpcore.ConnectionPool(
                    ssl_context=self._ssl_context, network_backend=self._backend, retries=0)
            else:
                parts = urlsplit(proxy.url)
                self._proxy_hosts.add((parts.hostname or "").lower())
                headers = []
                if parts.username is not None:
                    auth = Authorization.basic(parts.username, parts.password or "", origin_of(proxy.url))
                    headers.append((b"Proxy-Authorization", auth.value_for(proxy.url).encode("latin-1")))
                plain = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()
                self._pools[key] = httpcore.HTTPProxy(
                    proxy_url=plain, proxy_headers=headers, ssl_context=self._ssl_context,
                    network_backend=self._backend, retries=0)
        return self._pools[key]

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def request(self, method: str, url: str, *, deadline: float, body_limit: int,
                headers: Optional[Dict[str, str]] = None,
                authorization: Optional[Authorization] = None) -> Response:
        """One exchange (following redirects), finished by `deadline` (time.monotonic)."""
        first_url = url
        hops: List[str] = []
        seen = {url}
        while True:
            response = self._send(method, url, deadline, body_limit, headers, authorization)
            location = response.headers.get("location")
            if response.status not in REDIRECT_STATUSES or not location:
                response.hops = hops
                return response
            target = urljoin(url, location.strip())
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                raise Failure(model.REGISTRY_ERROR, STAGE_HTTP,
                              f"{method} {url} redirected to a non-HTTP location", [f"Location: {location[:200]}"])
            hops.append(f"{response.status} -> {target}")
            if target in seen or len(hops) > MAX_REDIRECTS:
                what = "a redirect loop" if target in seen else f"more than {MAX_REDIRECTS} redirects"
                raise Failure(model.REGISTRY_ERROR, STAGE_HTTP, f"{method} {first_url} led into {what}", hops)
            seen.add(target)
            if response.status == 303 and method != "HEAD":
                method = "GET"
            url = target

    def _send(self, method: str, url: str, deadline: float, body_limit: int,
              headers: Optional[Dict[str, str]], authorization: Optional[Authorization]) -> Response:
        import httpcore

        self.deadline, self.trace = deadline, Trace()
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
        proxy = proxy_for(scheme, host, port)
        self.trace.proxy = proxy
        netloc = parts.netloc.rsplit("@", 1)[-1]
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = [("Host", netloc), ("User-Agent", self._user_agent)]
        request_headers += list((headers or {}).items())
        auth_value = authorization.value_for(url) if authorization else None
        if auth_value:
            request_headers.append(("Authorization", auth_value))
        remaining = max(deadline - time.monotonic(), 0.001)
        try:
            pool = self._pool(proxy)
            request = httpcore.Request(
                method=method.encode("ascii"),
                url=httpcore.URL(scheme=scheme.encode("ascii"), host=host.encode("idna"), port=port,
                                 target=target.encode("ascii")),
                headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in request_headers],
                extensions={"timeout": {"connect": remaining, "read": remaining,
                                        "write": remaining, "pool": remaining}},
            )
            response = pool.handle_request(request)
            try:
                body, truncated = _read_body(response, method, body_limit)
            finally:
                response.close()
        except (httpcore.UnsupportedProtocol, httpcore.LocalProtocolError, UnicodeError, ValueError) as exc:
            raise Failure(model.REGISTRY_ERROR, STAGE_HTTP, f"cannot send {method} {url}: {exc}") from None
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                httpcore.ProxyError) as exc:
            raise classify(exc, url, self.trace, proxy) from None
        reason = response.extensions.get("reason_phrase", b"")
        result = Response(method=method, url=url, status=response.status,
                          reason=reason.decode("latin-1", "replace") if isinstance(reason, bytes) else "",
                          headers=Headers(response.headers), body=body, truncated=truncated)
        if proxy is not None and result.status == 407:
            raise Failure(model.PROXY, STAGE_PROXY,
                          f"proxy {proxy.display} (from {proxy.variable}) demands authentication: 407",
                          [f"{method} {url} via {proxy.display} -> 407 {result.reason}"], self.trace, proxy)
        return result


def _read_body(response, method: str, limit: int) -> Tuple[bytes, bool]:
    if method == "HEAD":
        return b"", False
    declared = Headers(response.headers).get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return b"", True
    body = bytearray()
    for chunk in response.iter_stream():
        room = limit - len(body)
        if len(chunk) > room:
            body += chunk[:room]
            return bytes(body), True
        body += chunk
    return bytes(body), False


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return exc


_CERT_KINDS = {
    2: "unknown-authority", 18: "unknown-authority", 19: "unknown-authority",
    20: "unknown-authority", 21: "unknown-authority",
    9: "not-yet-valid", 10: "expired",
    62: "hostname-mismatch", 64: "hostname-mismatch",
}
_CERT_EXPLANATIONS = {
    "unknown-authority": "certificate signed by unknown authority",
    "expired": "certificate has expired",
    "not-yet-valid": "certificate is not yet valid (check the clocks)",
    "hostname-mismatch": "certificate is not valid for this host name",
}


# OpenSSL's reasons when the peer's first bytes are not a TLS record (typically "HTTP/1.1 400").
_NOT_TLS_REASONS = ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG")
_NO_TCP_ANSWER = "no answer to the TCP connect (packets dropped: firewall, security group, route)"


def tls_error_kind(error: BaseException) -> str:
    """unknown-authority | expired | not-yet-valid | hostname-mismatch | plain-http | handshake."""
    root = _root_cause(error)
    if isinstance(root, ssl.SSLCertVerificationError):
        kind = _CERT_KINDS.get(getattr(root, "verify_code", -1))
        if kind:
            return kind
        message = (getattr(root, "verify_message", "") or "").lower()
        if "mismatch" in message:
            return "hostname-mismatch"
        return "unknown-authority" if "issuer" in message or "self" in message else "handshake"
    if isinstance(root, ssl.SSLError) and getattr(root, "reason", "") in _NOT_TLS_REASONS:
        return "plain-http"
    return "handshake"


def _describe_os_error(root: BaseException) -> Tuple[str, str]:
    """(cause, phrase) for a failed TCP connect."""
    if isinstance(root, ConnectionRefusedError):
        return model.CONNECTION_REFUSED, "connection refused (nothing listens on that port, or a firewall rejects)"
    if isinstance(root, (socket.timeout, TimeoutError)):
        return model.NETWORK_TIMEOUT, _NO_TCP_ANSWER
    code = getattr(root, "errno", None)
    if code == errno.ENETUNREACH:
        return model.NETWORK_TIMEOUT, "network is unreachable (no route from here)"
    if code == errno.EHOSTUNREACH:
        return model.NETWORK_TIMEOUT, "no route to host"
    if isinstance(root, socket.gaierror):
        return model.DNS, f"cannot resolve the host name ({root})"
    return model.NETWORK_TIMEOUT, f"connect failed: {root}"


def classify(exc: BaseException, url: str, trace: Trace, proxy: Optional[ProxyChoice]) -> Failure:
    """Turn a transport exception into a Failure with the cause the evidence supports."""
    import httpcore

    root = _root_cause(exc)
    where = f"{urlsplit(url).netloc}"
    via = f" via proxy {proxy.display}" if proxy else ""
    if trace.resolve_error:
        return Failure(model.DNS, STAGE_RESOLVE, trace.resolve_error, [trace.resolve_error], trace, proxy)
    if isinstance(exc, httpcore.ProxyError):
        return Failure(model.PROXY, STAGE_PROXY,
                       f"proxy {proxy.display if proxy else ''} refused the tunnel to {where}: {exc}",
                       [f"CONNECT {where} via {proxy.display if proxy else '?'} -> {exc}"], trace, proxy)
    connected = any(attempt.error is None for attempt in trace.connects)
    if trace.connects and not connected:
        attempts = [f"connect {f'[{a.address}]' if ':' in a.address else a.address}:{a.port}: "
                    f"{_root_cause(a.error) or a.error} ({a.elapsed:.2f}s)" for a in trace.connects]
        last_error = trace.connects[-1].error
        if isinstance(last_error, httpcore.ConnectTimeout):      # also our own deadline, which has no OS cause
            cause, phrase = model.NETWORK_TIMEOUT, _NO_TCP_ANSWER
        else:
            cause, phrase = _describe_os_error(_root_cause(last_error))
        if proxy is not None:
            return Failure(model.PROXY, STAGE_PROXY, f"cannot reach proxy {proxy.display} (from {proxy.variable}): "
                           f"{phrase}", attempts, trace, proxy)
        return Failure(cause, STAGE_CONNECT, f"{where}: {phrase}", attempts, trace, proxy)
    if not trace.connects and isinstance(root, socket.gaierror):
        stage = STAGE_PROXY if proxy else STAGE_RESOLVE
        what = f"proxy {proxy.display}" if proxy else where
        return Failure(model.PROXY if proxy else model.DNS, stage, f"cannot resolve {what}: {root}", [str(root)],
                       trace, proxy)
    failed_tls = next((t for t in trace.tls if t.error is not None), None)
    if failed_tls is not None:
        if isinstance(exc, httpcore.ConnectTimeout):
            return Failure(model.NETWORK_TIMEOUT, STAGE_TLS, f"{where}{via}: TLS handshake timed out (the server "
                           "accepted TCP but did not complete TLS)",
                           [f"TLS handshake with {failed_tls.server_name}: {root}"], trace, proxy)
        kind = tls_error_kind(failed_tls.error)
        detail = _root_cause(failed_tls.error)
        verify = getattr(detail, "verify_message", "")
        if kind in _CERT_EXPLANATIONS:
            summary = f"{where}: x509: {_CERT_EXPLANATIONS[kind]}"
        elif kind == "plain-http":
            summary = f"{where}: the server does not speak TLS on this port (plain HTTP?)"
        else:
            summary = f"{where}: TLS handshake failed: {detail}"
        evidence = [f"TLS handshake with {failed_tls.server_name}: {detail}"]
        if verify:
            evidence.append(f"verify result: {verify} (code {getattr(detail, 'verify_code', '?')})")
        return Failure(model.TLS, STAGE_TLS, summary, evidence, trace, proxy, kind=kind)
    if isinstance(exc, httpcore.ReadTimeout):
        if trace.deadline_hit and trace.bytes_in:
            return Failure(model.REGISTRY_ERROR, STAGE_HTTP,
                           f"{where}{via}: the response trickled in ({trace.bytes_in} bytes) and was not "
                           "complete in time", [f"{url}: {trace.bytes_in} bytes received before the deadline"],
                           trace, proxy)
        return Failure(model.NETWORK_TIMEOUT, STAGE_HTTP,
                       f"{where}{via}: connected, but no HTTP response in time (server hangs, or a middlebox "
                       "swallows the traffic)", [f"{url}: {trace.bytes_in} bytes received, then silence"], trace, proxy)
    if isinstance(exc, httpcore.TimeoutException):
        return Failure(model.NETWORK_TIMEOUT, STAGE_HTTP, f"{where}{via}: timed out ({type(exc).__name__})",
                       [f"{url}: {root}"], trace, proxy)
    if isinstance(exc, (httpcore.RemoteProtocolError, httpcore.LocalProtocolError)):
        return Failure(model.REGISTRY_ERROR, STAGE_HTTP, f"{where}{via}: not a valid HTTP response: {exc}",
                       [f"{url}: {exc}"], trace, proxy)
    if isinstance(exc, httpcore.NetworkError):
        return Failure(model.REGISTRY_ERROR, STAGE_HTTP,
                       f"{where}{via}: the connection broke during the exchange: {root}", [f"{url}: {root}"],
                       trace, proxy)
    return Failure(model.UNKNOWN, STAGE_HTTP, f"{where}{via}: {type(exc).__name__}: {exc}", [], trace, proxy)
