"""Plain values the registry probe takes and returns.

They carry no behaviour, so the CLI can build them from whatever it gathered without
importing the network code. Secrets live only in Credential.password, which is kept out
of repr().
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Optional, Tuple

# Cause ids: stable strings shared with the classifier and the renderer.
IMAGE_NOT_FOUND = "image-not-found"
TAG_NOT_FOUND = "tag-not-found"
AUTH_MISSING = "auth-missing"
AUTH_REJECTED = "auth-rejected"
AUTH_OR_NOT_FOUND = "auth-or-not-found"
RATE_LIMITED = "rate-limited"
DNS = "dns"
NETWORK_TIMEOUT = "network-timeout"
CONNECTION_REFUSED = "connection-refused"
TLS = "tls"
PROXY = "proxy"
PLATFORM_MISMATCH = "platform-mismatch"
INVALID_REFERENCE = "invalid-reference"
NEVER_PULL = "never-pull"
RUNTIME_STORAGE = "runtime-storage"
REGISTRY_ERROR = "registry-error"
POLICY = "policy"
UNKNOWN = "unknown"

CAUSES = (
    IMAGE_NOT_FOUND, TAG_NOT_FOUND, AUTH_MISSING, AUTH_REJECTED, AUTH_OR_NOT_FOUND,
    RATE_LIMITED, DNS, NETWORK_TIMEOUT, CONNECTION_REFUSED, TLS, PROXY, PLATFORM_MISMATCH,
    INVALID_REFERENCE, NEVER_PULL, RUNTIME_STORAGE, REGISTRY_ERROR, POLICY, UNKNOWN,
)

# Step statuses.
OK = "ok"
FAILED = "failed"
SKIPPED = "skipped"
INFO = "info"


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: Optional[str] = None

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)


@dataclass(frozen=True)
class Target:
    """One image as written in the pod spec, already split.

    host is as in the image reference ("docker.io", "127.0.0.1:5000", "[::1]:5000");
    reference is a tag or a "sha256:..." digest; platform is the node's, when known.
    """

    host: str
    repository: str
    reference: str
    platform: Optional[Platform] = None

    def __str__(self) -> str:
        separator = "@" if ":" in self.reference else ":"
        return f"{self.host}/{self.repository}{separator}{self.reference}"


@dataclass(frozen=True)
class Credential:
    """A username/password pair for one registry host; source names where it came from."""

    username: str
    password: str = field(repr=False)
    source: str = ""


@dataclass(frozen=True)
class ProbeOptions:
    timeout: float = 20.0                 # whole probe of one image
    step_timeout: float = 5.0             # each step
    dns_server: Optional[str] = None      # "ip" or "ip:port"; None = the system resolver config
    ca_file: Optional[str] = None         # extra CA bundle (PEM) trusted on top of the system's
    insecure_registries: FrozenSet[str] = frozenset()   # hosts spoken to over plain HTTP
    use_credentials: bool = True
    max_tag_pages: int = 10


@dataclass(frozen=True)
class StepResult:
    step: str
    status: str                            # OK | FAILED | SKIPPED | INFO
    cause: Optional[str] = None
    summary: str = ""
    evidence: Tuple[str, ...] = ()
    data: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ProbeReport:
    target: Target
    steps: Tuple[StepResult, ...]
    cause: Optional[str]                   # what the evidence settles; None = pullable
    suggestions: Tuple[str, ...]
    elapsed: float

    def step(self, name: str) -> Optional[StepResult]:
        """The first step with this name, or None."""
        return next((s for s in self.steps if s.step == name), None)
