"""A token server for distribution's `auth: token` mode (Docker token authentication spec).

Policy:
- users in `users` get pull (and push) on every repository, and catalog access;
- anonymous clients get pull on public/* only, an empty grant elsewhere (the registry
  then answers 401 insufficient_scope), and no token at all for locked/* (401 here);
- wrong passwords get 401 {"details": "incorrect username or password"}.
Tokens are served both ways the spec has: GET with Basic auth (token.md: {"token": ...}) and the OAuth2
POST password grant (oauth.md: a form with grant_type=password, username, password, scope, service,
client_id; {"access_token": ...}), which containerd tries first when it holds credentials.
Every request is recorded (method, path, user) for assertions; passwords are not.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

ISSUER = "pullcheck-issuer"
SERVICE = "pullcheck-registry"


@dataclass
class TokenRequest:
    method: str
    path: str
    user: Optional[str]
    scopes: List[str]


class TokenServer:
    def __init__(self, cert_path: str, key_path: str, users: Dict[str, str]) -> None:
        with open(key_path, "rb") as handle:
            self._key = handle.read()
        with open(cert_path, "rb") as handle:
            der = x509.load_pem_x509_certificate(handle.read()).public_bytes(Encoding.DER)
        self._x5c = [base64.b64encode(der).decode("ascii")]
        self._users = dict(users)
        self.requests: List[TokenRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="token-server",
                                        daemon=True)

    def start(self) -> "TokenServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _grant(self, scopes: List[str], user: Optional[str]) -> Optional[List[dict]]:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if user is None and name.startswith("locked/"):
                return None
            wanted = actions.split(",")
            if user is not None:
                allowed = wanted
            elif kind == "repository" and name.startswith("public/"):
                allowed = [a for a in wanted if a == "pull"]
            else:
                allowed = []
            access.append({"type": kind, "name": name, "actions": allowed})
        return access

    def _token(self, service: str, access: List[dict], user: Optional[str]) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": user or "", "aud": service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"x5c": self._x5c})

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, code: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                user = password = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                scopes = query.get("scope", [])
                server.requests.append(TokenRequest("GET", parts.path, user, scopes))
                if parts.path != "/token":
                    return self._reply(404, {})
                if user is not None and server._users.get(user) != password:
                    return self._reply(401, {"details": "incorrect username or password"})
                access = server._grant(scopes, user)
                if access is None:
                    return self._reply(401, {"details": "authentication required"})
                self._reply(200, {"token": server._token(query.get("service", [""])[0], access, user),
                                  "expires_in": 300,
                                  "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                user = form.get("username", [None])[0]
                scopes = [scope for field in form.get("scope", []) for scope in field.split()]
                server.requests.append(TokenRequest("POST", parts.path, user, scopes))
                if parts.path != "/token":
                    return self._reply(404, {})
                if form.get("grant_type", [""])[0] != "password" or not form.get("client_id", [""])[0]:
                    return self._reply(400, {"error": "unsupported_grant_type"})
                if user is None or server._users.get(user) != form.get("password", [""])[0]:
                    return self._reply(401, {"details": "incorrect username or password"})
                access = server._grant(scopes, user)
                self._reply(200, {"access_token": server._token(form.get("service", [""])[0], access, user),
                                  "scope": " ".join(scopes), "expires_in": 300,
                                  "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

        return Handler
