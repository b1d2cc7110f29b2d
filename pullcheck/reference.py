"""Image reference grammar, as the kubelet, containerd and Docker parse it.

This follows github.com/distribution/reference v0.6 (``ParseNormalizedNamed``: what the kubelet
calls before every pull, reporting failures as ``InvalidImageName``) and the digest validation of
github.com/opencontainers/go-digest v1.0.0, message for message, so that a reason computed here
is the text the kubelet puts in its event, e.g.::

    Failed to apply default image tag "UPPER/Case:tag": couldn't parse image name
    "UPPER/Case:tag": invalid reference format: repository name (Case) must be lowercase

The grammar (distribution's reference.go)::

    reference   := name [ ":" tag ] [ "@" digest ]
    name        := [domain '/'] remote-name
    domain      := host [':' port-number]
    host        := domain-name | IPv4address | '[' IPv6address ']'
    remote-name := path-component ['/' path-component]*
    tag         := /[\\w][\\w.-]{0,127}/
    digest      := algorithm ":" hex   (hex length fixed per known algorithm)
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB_DOMAIN = "docker.io"
LEGACY_DOCKER_HUB_DOMAIN = "index.docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
OFFICIAL_REPOSITORY_PREFIX = "library/"
DEFAULT_TAG = "latest"
REPOSITORY_PATH_MAX = 255  # distribution v0.6 counts the path only, not the domain

# --- distribution/reference regexp.go, rewritten for Python's backtracking engine -------------
# Go's `\w` is ASCII-only and its `$` never matches before a newline: hence explicit classes and
# fullmatch. distribution's separator `[-]*` may be empty, which is harmless for RE2 but makes a
# backtracking engine exponential on near-misses; `-+` accepts the same language.
_WORD = "[A-Za-z0-9_]"
_ALPHANUMERIC = "[a-z0-9]+"
_SEPARATOR = "(?:[._]|__|-+)"
_PATH_COMPONENT = _ALPHANUMERIC + "(?:" + _SEPARATOR + _ALPHANUMERIC + ")*"
_REMOTE_NAME = _PATH_COMPONENT + "(?:/" + _PATH_COMPONENT + ")*"
_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + ")*"
_IPV6_ADDRESS = r"\[[a-fA-F0-9:]+\]"
_DOMAIN_AND_PORT = "(?:" + _DOMAIN_NAME + "|" + _IPV6_ADDRESS + ")(?::[0-9]+)?"
_TAG = _WORD + "[A-Za-z0-9_.-]{0,127}"
_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = "(?:" + _DOMAIN_AND_PORT + "/)?" + _REMOTE_NAME

# Kept as strings: `re` compiles and caches them on first use, which keeps the import cheap.
_REFERENCE = "(" + _NAME + ")(?::(" + _TAG + "))?(?:@(" + _DIGEST + "))?"
_ANCHORED_NAME = "(?:(" + _DOMAIN_AND_PORT + ")/)?(" + _REMOTE_NAME + ")"
_IDENTIFIER = "[a-f0-9]{64}"

# --- go-digest v1.0.0: algorithms the kubelet links in, and their hex lengths ------------------
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_OCI_DIGEST = "[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"

INVALID_FORMAT = "invalid reference format"
_NAME_CONTAINS_UPPERCASE = "repository name must be lowercase"
_NAME_TOO_LONG = "repository name must not be more than %d characters" % REPOSITORY_PATH_MAX
_DIGEST_INVALID_FORMAT = "invalid checksum digest format"
_DIGEST_INVALID_LENGTH = "invalid checksum digest length"
_DIGEST_UNSUPPORTED = "unsupported digest algorithm"


class InvalidReference(ValueError):
    """The image string is not a reference the kubelet accepts.

    ``reason`` is distribution's error text (what follows "couldn't parse image name ...: " in
    the kubelet's InvalidImageName event); ``image`` is the string that was parsed.
    """

    def __init__(self, image: str, reason: str) -> None:
        super().__init__(reason)
        self.image = image
        self.reason = reason


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalized image reference (fields as distribution normalizes them).

    ``registry`` is "" in one odd case distribution accepts: a first element that looks like a
    host (it has a '.' or ':') but is not a valid one, while the whole is a valid path, as in
    "my_registry.local/app". The kubelet then looks pull secrets up by "my_registry.local/app"
    and containerd takes the first element as the host to contact; ``api_host``, ``host`` and
    ``port`` follow containerd.
    """

    original: str
    registry: str
    repository: str
    tag: str | None
    digest: str | None
    tag_defaulted: bool
    registry_defaulted: bool

    @property
    def name(self) -> str:
        """registry/repository: what the kubelet looks pull secrets up with."""
        return self.registry + "/" + self.repository if self.registry else self.repository

    @property
    def normalized(self) -> str:
        """The fully qualified form, e.g. docker.io/library/busybox:latest."""
        return self.name + self._suffix()

    @property
    def familiar(self) -> str:
        """Docker's short form: docker.io/ and a single-level library/ dropped."""
        if not self.is_docker_hub:
            return self.normalized
        path = self.repository
        if path.startswith(OFFICIAL_REPOSITORY_PREFIX):
            rest = path[len(OFFICIAL_REPOSITORY_PREFIX):]
            if "/" not in rest:
                path = rest
        return path + self._suffix()

    @property
    def reference(self) -> str:
        """What a manifest request names: the digest if there is one, else the tag."""
        if self.digest:
            return self.digest
        assert self.tag is not None  # parse() fills in "latest" when there is no digest
        return self.tag

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB_DOMAIN

    @property
    def api_host(self) -> str:
        """The host:port that serves the registry API (Docker Hub's is not docker.io)."""
        return DOCKER_HUB_API_HOST if self.is_docker_hub else self._contacted_registry()

    @property
    def host(self) -> str:
        """The registry without its port; IPv6 literals keep their brackets."""
        return split_registry(self._contacted_registry())[0]

    @property
    def port(self) -> int | None:
        return split_registry(self._contacted_registry())[1]

    @property
    def is_loopback(self) -> bool:
        """localhost or a loopback IP, the registries containerd may reach over plain HTTP.

        For these containerd falls back from HTTPS to HTTP on some failures (the captures show
        both schemes); every other registry it reaches over HTTPS only, unless configured.
        """
        host = self.host
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if host == "localhost":
            return True
        import ipaddress  # only needed here; keeps the module cheap to import

        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _contacted_registry(self) -> str:
        return self.registry or self.repository.split("/", 1)[0]

    def _suffix(self) -> str:
        suffix = ""
        if self.tag:
            suffix += ":" + self.tag
        if self.digest:
            suffix += "@" + self.digest
        return suffix


def split_registry(registry: str) -> tuple[str, int | None]:
    """Split a grammar-valid registry ("host", "host:5000", "[::1]:5000") into host and port."""
    if registry.startswith("["):
        end = registry.index("]")
        host, rest = registry[: end + 1], registry[end + 1:]
    else:
        host, sep, port = registry.partition(":")
        rest = sep + port
    return host, (int(rest[1:]) if rest[1:] else None)


def parse(text: str) -> ImageReference:
    """Parse an image string the way the kubelet does, or raise InvalidReference.

    Follows distribution's ParseNormalizedNamed: the first path element is a registry when it
    contains '.' or ':', is "localhost", or has uppercase letters; otherwise docker.io is assumed
    (with "library/" for single names). "latest" is filled in when neither tag nor digest is given.
    """
    if re.fullmatch(_IDENTIFIER, text):
        raise InvalidReference(
            text, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings" % text
        )
    domain, remainder, registry_defaulted = _split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(
            text, "%s: repository name (%s) must be lowercase" % (INVALID_FORMAT, remote)
        )

    candidate = domain + "/" + remainder
    match = re.fullmatch(_REFERENCE, candidate)
    if match is None:
        lowered = candidate.lower()  # e.g. a KELVIN SIGN in the tag lowercases to "k"
        if lowered != candidate and re.fullmatch(_REFERENCE, lowered):
            raise InvalidReference(text, _NAME_CONTAINS_UPPERCASE)
        raise InvalidReference(text, INVALID_FORMAT)
    name, tag, digest = match.groups()
    name_match = re.fullmatch(_ANCHORED_NAME, name)
    assert name_match is not None  # the reference pattern embeds the name pattern
    registry, repository = name_match.group(1) or "", name_match.group(2)
    if len(repository) > REPOSITORY_PATH_MAX:
        raise InvalidReference(text, _NAME_TOO_LONG)
    if digest:
        problem = digest_problem(digest)
        if problem:
            raise InvalidReference(text, problem)

    tag_defaulted = not tag and not digest
    return ImageReference(
        original=text,
        registry=registry,
        repository=repository,
        tag=DEFAULT_TAG if tag_defaulted else (tag or None),
        digest=digest or None,
        tag_defaulted=tag_defaulted,
        registry_defaulted=registry_defaulted,
    )


def digest_problem(digest: str) -> str | None:
    """go-digest v1.0.0 Digest.Validate: None when valid, else its error text."""
    algorithm, sep, encoded = digest.partition(":")
    if not sep or not algorithm or not encoded:
        return _DIGEST_INVALID_FORMAT
    expected_length = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected_length is None:
        return _DIGEST_UNSUPPORTED if re.fullmatch(_OCI_DIGEST, digest) else _DIGEST_INVALID_FORMAT
    if len(encoded) != expected_length:
        return _DIGEST_INVALID_LENGTH
    if not re.fullmatch("[a-f0-9]+", encoded):
        return _DIGEST_INVALID_FORMAT
    return None


def _split_docker_domain(name: str) -> tuple[str, str, bool]:
    """distribution's splitDockerDomain, plus whether the default domain was assumed."""
    first, slash, rest = name.partition("/")
    if not slash:
        return DOCKER_HUB_DOMAIN, OFFICIAL_REPOSITORY_PREFIX + name, True
    if first == LEGACY_DOCKER_HUB_DOMAIN:
        domain, remote, defaulted = DOCKER_HUB_DOMAIN, rest, False
    elif first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remote, defaulted = first, rest, False
    else:
        domain, remote, defaulted = DOCKER_HUB_DOMAIN, name, True
    if domain == DOCKER_HUB_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPOSITORY_PREFIX + remote
    return domain, remote, defaulted
