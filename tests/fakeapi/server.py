"""HTTP transport for the fake API server: a ThreadingHTTPServer on 127.0.0.1 (plain HTTP, or HTTPS with a
self-signed certificate), HTTP/1.1 keep-alive, chunked streaming for watches and followed logs."""
from __future__ import annotations

import shutil
import socket
import ssl
import sys
import tempfile
import threading
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from . import requestinfo, status
from .handlers import Api, Response
from .requestlog import RequestRecord


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, owner: "ApiServer") -> None:
        self.owner = owner
        self.ssl_context: Optional[ssl.SSLContext] = None
        self.connections: Set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> Tuple[Any, Any]:
        sock, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake happens on first read, in the connection's own thread.
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.connections_lock:
                self.connections.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timed-out read, a stopped watch) is normal here; anything else is a
        bug in the fake, kept for the test to see."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError)):
            self.owner.cluster.server_errors.append(traceback.format_exc())

    def drop_connections(self) -> None:
        with self.connections_lock:
            open_connections = list(self.connections)
        for sock in open_connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        """Quiet: the request log is the record."""

    def send_response(self, code: int, message: Optional[str] = None) -> None:
        # No Server header: Go's net/http (and so kube-apiserver) sends none.
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: List[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        owner = self.server.owner
        cluster = owner.cluster
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = parse_qs(split.query, keep_blank_values=True)
        headers: Dict[str, str] = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body()
        authorization = headers.get("authorization", "")
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
        user = cluster.user_for_token(token)
        record = RequestRecord(self.command, path, query, headers.get("accept", ""), headers.get("content-type", ""),
                               headers.get("user-agent", ""), user or "", "", "", "", "", "")
        try:
            if user is None:
                raise status.unauthorized()
            info = requestinfo.parse(self.command, path, query)
            record.verb, record.resource, record.subresource = info.verb, info.resource, info.subresource
            record.namespace, record.name = info.namespace, info.name
            wait, failure = cluster.faults.evaluate(info, user)
            if wait:
                owner.stop_event.wait(wait)
            if failure is not None:
                raise failure
            response = owner.api.handle(info, headers, body)
        except status.ApiError as err:
            payload, content_type = err.body()
            response = Response(err.code, payload, content_type, err.headers)
        except Exception:  # a bug in the fake: answer 500 and keep the traceback for the test to see
            cluster.server_errors.append(traceback.format_exc())
            payload, content_type = status.internal_error("fake API server bug, see cluster.server_errors").body()
            response = Response(500, payload, content_type)
        record.status = response.code
        cluster.requests.add(record)
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", response.content_type)
        if response.content_type.startswith("text/plain; charset"):
            self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.chunks is None:
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in response.chunks:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            close = getattr(response.chunks, "close", None)
            if close is not None:
                close()


class ApiServer:
    def __init__(self, cluster: Any, tls: bool = False) -> None:
        self.cluster = cluster
        self.stop_event = threading.Event()
        self._httpd = _Server(self)
        self._tmp: Optional[str] = None
        self.ca_file: Optional[str] = None
        if tls:
            self._tmp = tempfile.mkdtemp(prefix="fakeapi-tls-")
            from .tls import self_signed_certificate
            cert, key = self_signed_certificate(Path(self._tmp))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert), str(key))
            self._httpd.ssl_context = context
            self.ca_file = str(cert)
        host, port = self._httpd.server_address[:2]
        self.url = f"{'https' if tls else 'http'}://{host}:{port}"
        self.api = Api(cluster, self.stop_event, f"{host}:{port}")
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="fake-kube-apiserver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._httpd.shutdown()
        self._httpd.drop_connections()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
