"""The parts of the OCI distribution API the probe reads: manifests, tag and catalog lists.

Every manifest request carries all four media types in Accept: without them
distribution converts a schema2 image to schema1 (different digest), refuses OCI
manifests, or picks the linux/amd64 child of an index on its own.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple
from urllib.parse import quote, urljoin

from pullcheck.registry.transport import Authorization, Failure, Response, Session, origin_of

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

MANIFEST_LIMIT = 4 << 20
ERROR_BODY_LIMIT = 1 << 20
LIST_PAGE_LIMIT = 1 << 20
CATALOG_PAGE_SIZE = 100
MAX_LISTED = 100_000

_LINK_RE = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


@dataclass(frozen=True)
class RegistryError:
    code: str
    message: str
    detail: str


def parse_errors(body: bytes) -> List[RegistryError]:
    """The {"errors": [...]} of an error response; empty for anything else."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return []
    entries = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return []
    found = []
    for entry in entries[:20]:
        if isinstance(entry, dict):
            detail = entry.get("detail")
            found.append(RegistryError(code=str(entry.get("code", ""))[:64].upper(),
                                       message=str(entry.get("message", ""))[:300],
                                       detail=json.dumps(detail)[:300] if detail not in (None, "") else ""))
    return found


def media_type(response: Response) -> str:
    return (response.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def manifest_url(base_url: str, repository: str, reference: str) -> str:
    return f"{base_url}/v2/{repository}/manifests/{quote(reference, safe=':')}"


def request_manifest(session: Session, base_url: str, repository: str, reference: str,
                     authorization: Optional[Authorization], deadline: float, method: str = "HEAD") -> Response:
    """HEAD (or GET) one manifest; falls back to GET when HEAD is refused with 405."""
    url = manifest_url(base_url, repository, reference)
    headers = {"Accept": MANIFEST_ACCEPT}
    limit = MANIFEST_LIMIT if method == "GET" else ERROR_BODY_LIMIT
    response = session.request(method, url, deadline=deadline, body_limit=limit, headers=headers,
                               authorization=authorization)
    if method == "HEAD" and response.status == 405:
        response = session.request("GET", url, deadline=deadline, body_limit=MANIFEST_LIMIT, headers=headers,
                                   authorization=authorization)
    return response


def next_link(response: Response) -> Optional[str]:
    """The absolute URL of rel="next" in the Link headers, if any (RFC 8288)."""
    for header in response.headers.get_all("link"):
        for target, params in _LINK_RE.findall(header):
            rels = re.findall(r'rel\s*=\s*"?([^";]+)"?', params)
            if any("next" in rel.lower().split() for rel in rels):
                return urljoin(response.url, target.strip())
    return None


@dataclass
class Listing:
    """Result of walking a paginated list (tags or catalog)."""

    items: List[str] = field(default_factory=list)
    pages: int = 0
    complete: bool = False
    last: Optional[Response] = None
    stopped: str = ""              # why the walk stopped before the end


def walk_list(session: Session, url: str, key: str, authorization: Optional[Authorization],
              deadline: float, max_pages: int) -> Listing:
    """Follow Link rel="next" from url, collecting document[key], for at most max_pages pages.

    Stops at a page that is not 200/JSON, at a loop, at a next link that leaves the
    registry's origin (credentials would not follow it anyway), and at the page bound.
    """
    listing = Listing()
    seen = set()
    origin = origin_of(url)
    while True:
        seen.add(url)
        try:
            response = session.request("GET", url, deadline=deadline, body_limit=LIST_PAGE_LIMIT,
                                       headers={"Accept": "application/json"}, authorization=authorization)
        except Failure as failure:
            listing.stopped = failure.summary
            return listing
        listing.last = response
        if response.status != 200:
            listing.stopped = f"GET {url} -> {response.status}"
            return listing
        listing.pages += 1
        entries = _entries(response, key)
        if entries is None:
            listing.stopped = f"GET {url} -> 200 but not a JSON list of {key}"
            return listing
        listing.items.extend(entries[:MAX_LISTED - len(listing.items)])
        following = next_link(response)
        if following is None:
            listing.complete = True
            return listing
        if following in seen:
            listing.stopped = f"pagination loops back to {following}"
            return listing
        if origin_of(following) != origin:
            listing.stopped = f"next page is on another host ({following}); not followed"
            return listing
        if listing.pages >= max_pages or len(listing.items) >= MAX_LISTED:
            listing.stopped = f"stopped after {listing.pages} pages ({len(listing.items)} entries)"
            return listing
        url = following


def _entries(response: Response, key: str) -> Optional[List[str]]:
    if response.truncated:
        return None
    try:
        document: Any = json.loads(response.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    entries = document.get(key)
    if entries is None:                       # distribution answers "tags": null for an emptied repo
        return []
    if not isinstance(entries, list):
        return None
    return [entry for entry in entries if isinstance(entry, str)]


def tags_url(base_url: str, repository: str) -> str:
    """The first tags page; no `n`, so each registry uses its own page size and Link."""
    return f"{base_url}/v2/{repository}/tags/list"


def catalog_url(base_url: str) -> str:
    return f"{base_url}/v2/_catalog?n={CATALOG_PAGE_SIZE}"


def parse_manifest(response: Response) -> Tuple[Optional[dict], str]:
    """(document, problem): the JSON manifest body, or why it is unusable."""
    if response.truncated:
        return None, f"manifest larger than {MANIFEST_LIMIT >> 20} MiB"
    try:
        document = json.loads(response.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"manifest is not JSON ({type(exc).__name__})"
    if not isinstance(document, dict):
        return None, "manifest is not a JSON object"
    return document, ""
