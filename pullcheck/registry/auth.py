"""Answering a registry's challenge: Basic directly, Bearer through its token server.

Follows the Docker token authentication spec: GET <realm>?service=<service>&scope=<scope>
with the user's Basic credentials (if any); the JSON answer carries "token" or
"access_token". A 401 there means the token server refused the credentials.

Credentials are only ever sent to the registry origin itself and to the realm the
registry named, and never to a plain-HTTP realm when the registry itself speaks HTTPS.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import List, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

from pullcheck.registry import model
from pullcheck.registry.challenge import Challenge
from pullcheck.registry.endpoint import parse_ip
from pullcheck.registry.transport import Authorization, Failure, Origin, Response, Session

TOKEN_BODY_LIMIT = 1 << 20

# Token outcomes.
GRANTED = "granted"
REFUSED = "refused"            # the token server said 401/403
LIMITED = "rate-limited"
BROKEN = "broken"              # malformed challenge or answer, or a transport failure


@dataclass
class TokenOutcome:
    status: str
    authorization: Optional[Authorization] = None
    summary: str = ""
    evidence: List[str] = field(default_factory=list)
    response: Optional[Response] = None
    failure: Optional[Failure] = None


def scope_for(repository: str) -> str:
    return f"repository:{repository}:pull"


def _is_loopback_host(host: str) -> bool:
    address = parse_ip(host)
    return host == "localhost" or (address is not None and address.is_loopback)


def _token_url(realm: str, service: Optional[str], scope: Optional[str]) -> str:
    parts = urlsplit(realm)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if service:
        query.append(("service", service))
    if scope:
        query.append(("scope", scope))
    return parts._replace(query=urlencode(query)).geturl()


def fetch_token(session: Session, challenge: Challenge, scope: Optional[str],
                credential: Optional[model.Credential], registry_origin: Origin,
                deadline: float) -> TokenOutcome:
    """Ask the realm of a Bearer challenge for a pull token, as `credential` or anonymously."""
    realm = challenge.realm or ""
    parts = urlsplit(realm)
    who = f"as {credential.username!r} ({credential.source})" if credential else "anonymously"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return TokenOutcome(BROKEN, summary=f"the Bearer challenge has no usable realm: {realm[:200]!r}",
                            evidence=[challenge.describe()[:300]])
    if (credential is not None and parts.scheme.lower() == "http" and registry_origin[0] == "https"
            and not _is_loopback_host(parts.hostname.lower())):
        return TokenOutcome(BROKEN, summary=f"token realm {realm} is plain HTTP although the registry speaks "
                                            "HTTPS; credentials were not sent there",
                            evidence=[challenge.describe()[:300]])
    url = _token_url(realm, challenge.service, scope)
    authorization = None
    if credential is not None:
        realm_origin = (parts.scheme.lower(), parts.hostname.lower(),
                        parts.port or (443 if parts.scheme.lower() == "https" else 80))
        authorization = Authorization.basic(credential.username, credential.password, realm_origin)
    try:
        response = session.request("GET", url, deadline=deadline, body_limit=TOKEN_BODY_LIMIT,
                                   headers={"Accept": "application/json"}, authorization=authorization)
    except Failure as failure:
        return TokenOutcome(BROKEN, summary=f"token server {parts.netloc}: {failure.summary}",
                            evidence=list(failure.evidence), failure=failure)
    how = "with credentials" if credential else "anonymously"
    line = f"GET {url} {how} -> {response.status} {response.text(200)}"
    if response.status in (401, 403):
        return TokenOutcome(REFUSED, summary=f"token server {parts.netloc} refused a token {who}: "
                                             f"{response.status}", evidence=[line], response=response)
    if response.status == 429:
        return TokenOutcome(LIMITED, summary=f"token server {parts.netloc} rate-limits us: 429",
                            evidence=[line], response=response)
    if response.status != 200:
        return TokenOutcome(BROKEN, summary=f"token server {parts.netloc} answered {response.status}",
                            evidence=[line], response=response)
    try:
        document = json.loads(response.body.decode("utf-8"))
        token = document.get("token") or document.get("access_token") if isinstance(document, dict) else None
    except (ValueError, UnicodeDecodeError):
        token = None
    if not isinstance(token, str) or not token or not token.isascii() or not token.isprintable():
        return TokenOutcome(BROKEN, summary=f"token server {parts.netloc} answered 200 without a usable token",
                            evidence=[f"GET {url} {how} -> 200, body is not a token document"
                                      f"{' (cut at the size limit)' if response.truncated else ''}"],
                            response=response)
    return TokenOutcome(GRANTED, authorization=Authorization(f"Bearer {token}", registry_origin),
                        summary=f"token granted {who}", evidence=[f"GET {url} {how} -> 200 (token issued)"],
                        response=response)
