"""Misbehaving network peers for the probe's failure cases, all on loopback ephemeral ports.

- BlackHole: accepts TCP connections and never answers (timeouts);
- RawServer: runs a function on each accepted socket (garbage bytes, slow drip);
- ScriptedHttp: an HTTP(S) server whose routes are Python functions, recording each
  request's headers (rate-limit 429s, redirects to another host, pagination, ...);
- ConnectProxy: an HTTP CONNECT proxy that tunnels, or demands authentication (407);
- closed_port(): a port nothing listens on (connection refused).
"""
from __future__ import annotations

import base64
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Pattern, Tuple


def closed_port() -> int:
    """A loopback port that was free a moment ago and has no listener."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class _Acceptor:
    """Accept loop in a thread; subclasses decide what to do with each connection."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.connections = 0
        self._held: List[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._listener.close()
        for conn in self._held:
            try:
                conn.close()
            except OSError:
                pass

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)
            self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class BlackHole(_Acceptor):
    """Accepts, never reads, never answers."""

    def _handle(self, conn: socket.socket) -> None:
        pass


class RawServer(_Acceptor):
    """Runs behaviour(conn, stopping) in a thread for each connection, then closes it."""

    def __init__(self, behaviour: Callable[[socket.socket, threading.Event], None]) -> None:
        super().__init__()
        self._behaviour = behaviour

    def _handle(self, conn: socket.socket) -> None:
        def run() -> None:
            try:
                self._behaviour(conn, self._stopping)
            except OSError:
                pass
            finally:
                conn.close()
        threading.Thread(target=run, daemon=True).start()


def garbage(conn: socket.socket, stopping: threading.Event) -> None:
    """Reads the request, answers with bytes that are not HTTP, closes."""
    conn.settimeout(2)
    conn.recv(65536)
    conn.sendall(b"\x00\xff\xfeNOT-HTTP garbage \x01\x02\r\n\r\n")


def slow_drip(interval: float = 0.1, limit: float = 10.0):
    """Reads the request, then sends a never-ending status line, one byte per interval."""
    def behaviour(conn: socket.socket, stopping: threading.Event) -> None:
        conn.settimeout(2)
        conn.recv(65536)
        started = time.monotonic()
        payload = b"HTTP/1.1 200 OK\r\nX-Drip: " + b"." * 100000
        for i in range(len(payload)):
            if stopping.is_set() or time.monotonic() - started > limit:
                return
            conn.sendall(payload[i:i + 1])
            time.sleep(interval)
    return behaviour


@dataclass
class Recorded:
    method: str
    path: str
    headers: Dict[str, str]
    handler: object = field(default=None, repr=False, compare=False)   # the live request handler


Route = Tuple[str, Pattern[str], Callable]


@dataclass
class Reply:
    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class ScriptedHttp:
    """HTTP/1.1 server whose routes are (method, path regex, fn(match, recorded) -> Reply or None).

    A route function returning None has written the response itself through
    recorded.handler (for streaming cases).
    """

    def __init__(self, routes: List[Tuple[str, str, Callable]], tls: Optional[Tuple[str, str]] = None) -> None:
        self.routes: List[Route] = [(m, re.compile(p), fn) for m, p, fn in routes]
        self.requests: List[Recorded] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls[0], tls[1])
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="scripted-http",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def start(self) -> "ScriptedHttp":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _dispatch(self) -> None:
                recorded = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self)
                server.requests.append(recorded)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                for method, pattern, fn in server.routes:
                    match = pattern.fullmatch(self.path)
                    if match and method in (self.command, "*"):
                        reply = fn(match, recorded)
                        break
                else:
                    reply = Reply(404, {"Content-Type": "application/json"},
                                  b'{"errors":[{"code":"NOT_FOUND","message":"no such route"}]}')
                if reply is not None:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(reply.body)

            do_GET = do_HEAD = do_POST = do_PUT = _dispatch

        return Handler


def endless_chunks(recorded: Recorded, content_type: str, seconds: float = 10.0) -> None:
    """Stream a chunked body that never ends (until the client leaves or `seconds` pass)."""
    handler = recorded.handler
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"[" * 65536
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    except OSError:
        pass
    handler.close_connection = True


class ConnectProxy(_Acceptor):
    """An HTTP CONNECT proxy. mode "tunnel" relays bytes (names mapped through `hosts`), after checking
    Proxy-Authorization when `credentials` (user, password) are set; mode "auth" answers 407 to everything.
    Records the CONNECT lines it saw."""

    def __init__(self, mode: str = "tunnel", hosts: Optional[Dict[str, str]] = None,
                 credentials: Optional[Tuple[str, str]] = None) -> None:
        super().__init__()
        self.mode = mode
        self.hosts = hosts or {}
        self.seen: List[str] = []
        self.expected_auth = None
        if credentials is not None:
            token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            self.expected_auth = f"Basic {token}"

    def _handle(self, conn: socket.socket) -> None:
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            self.seen.append(request_line)
            method, target, _ = request_line.split(" ", 2)
            fields = [line.partition(":") for line in head.decode("latin-1").split("\r\n")[1:]]
            sent = [value.strip() for name, _, value in fields if name.strip().lower() == "proxy-authorization"]
            refused = self.expected_auth is not None and self.expected_auth not in sent
            if self.mode == "auth" or method != "CONNECT" or refused:
                conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                             b"Proxy-Authenticate: Basic realm=\"test-proxy\"\r\nContent-Length: 0\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((self.hosts.get(host, host), int(port)), timeout=5)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._relay(conn, upstream)
        except OSError:
            return
        finally:
            conn.close()

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self._stopping.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        finally:
            b.close()
