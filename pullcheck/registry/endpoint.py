"""Where a Target's registry API lives, and whether the reference is well formed.

The grammar follows the distribution reference grammar that kubelet and containerd use:
lowercase path components joined by "/", tags of at most 128 word characters, and
"algorithm:hex" digests.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Tuple

DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
DOCKER_HUB_API_HOST = "registry-1.docker.io"

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"^{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*$")
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$")
_SHA256_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
MAX_REPOSITORY_LENGTH = 255


@dataclass(frozen=True)
class Endpoint:
    """The API host of a registry: docker.io already mapped to registry-1.docker.io."""

    host: str                 # lowercase hostname or bare IP (no brackets)
    port: Optional[int]       # as written; None = scheme default
    ip: Optional[str]         # the canonical IP when host is an IP literal
    loopback: bool
    docker_hub: bool

    def netloc(self) -> str:
        """host[:port] for URLs and the Host header (IPv6 bracketed)."""
        host = f"[{self.host}]" if self.ip and ":" in self.ip else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def port_for(self, scheme: str) -> int:
        return self.port if self.port is not None else (443 if scheme == "https" else 80)

    def base_url(self, scheme: str) -> str:
        return f"{scheme}://{self.netloc()}"


def split_host_port(hostport: str) -> Tuple[str, Optional[str]]:
    """("host", "port") from "host[:port]" or "[v6]:port"; the port is None when absent."""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise ValueError(f"unclosed '[' in {hostport!r}")
        host, rest = hostport[1:close], hostport[close + 1:]
        if rest and not rest.startswith(":"):
            raise ValueError(f"unexpected text after ']' in {hostport!r}")
        return host, (rest[1:] if rest else None)
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, port
    return hostport, None


def parse_ip(host: str) -> Optional[ipaddress._BaseAddress]:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def endpoint_for(target_host: str) -> Endpoint:
    """The API endpoint for an image host; raises ValueError for a malformed host."""
    written = target_host.strip()
    host, port_text = split_host_port(written)
    if ":" in host and not written.startswith("["):
        raise ValueError(f"IPv6 address must be written in brackets: {target_host!r}")
    if not host:
        raise ValueError("empty registry host")
    port: Optional[int] = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"invalid port {port_text!r} in registry host {target_host!r}")
        port = int(port_text)
    address = parse_ip(host)
    if address is None and not _DOMAIN_RE.match(host):
        raise ValueError(f"invalid registry host {target_host!r}")
    lowered = host.lower()
    docker_hub = lowered in DOCKER_HUB_ALIASES and port is None
    if docker_hub:
        lowered = DOCKER_HUB_API_HOST
    return Endpoint(
        host=str(address) if address is not None else lowered,
        port=port,
        ip=str(address) if address is not None else None,
        loopback=(address.is_loopback if address is not None else lowered == "localhost"),
        docker_hub=docker_hub,
    )


def api_repository(endpoint: Endpoint, repository: str) -> str:
    """The repository name the API expects: Docker Hub official images live under library/."""
    if endpoint.docker_hub and "/" not in repository:
        return f"library/{repository}"
    return repository


def reference_problems(repository: str, reference: str) -> Tuple[str, ...]:
    """Why the repository/reference pair cannot be pulled as written; empty when valid."""
    problems = []
    if not repository:
        problems.append("the repository name is empty")
    elif len(repository) > MAX_REPOSITORY_LENGTH:
        problems.append(f"the repository name is longer than {MAX_REPOSITORY_LENGTH} characters")
    else:
        for component in repository.split("/"):
            if _PATH_COMPONENT_RE.match(component):
                continue
            if component != component.lower() and _PATH_COMPONENT_RE.match(component.lower()):
                problems.append(f"repository name ({component}) must be lowercase")
            else:
                problems.append(f"repository path component {component!r} is not valid "
                                "(lowercase letters, digits and single . _ __ - separators)")
    if not reference:
        problems.append("the tag or digest is empty")
    elif ":" in reference:
        if not _DIGEST_RE.match(reference):
            problems.append(f"digest {reference!r} is not algorithm:hex")
        elif reference.lower().startswith("sha256:") and not _SHA256_RE.match(reference):
            problems.append("a sha256 digest must be 64 lowercase hex characters")
    elif not _TAG_RE.match(reference):
        problems.append(f"tag {reference!r} is not valid (at most 128 of A-Z a-z 0-9 _ . -, "
                        "not starting with . or -)")
    return tuple(problems)


def is_digest(reference: str) -> bool:
    return ":" in reference


def host_matches(target_host: str, endpoint: Endpoint, entries: Iterable[str]) -> bool:
    """Whether a host list (insecure registries) names this registry.

    An entry matches the host as written in the image ("myreg:5000"), the bare host, or,
    written as a CIDR, the registry's IP.
    """
    written = target_host.strip().lower()
    for entry in entries:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry in (written, endpoint.netloc().lower()) or (entry == endpoint.host and endpoint.port is None):
            return True
        if "/" in entry and endpoint.ip:
            try:
                if ipaddress.ip_address(endpoint.ip) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False
