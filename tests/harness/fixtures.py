"""Session-scoped pytest fixtures: real registries with images, a token server, a DNS server.

Register with `pytest_plugins = ["tests.harness.fixtures"]` (conftest.py or a test module).
Every service listens on 127.0.0.1 on an ephemeral port and is stopped by the fixture
that started it; runtime files live under a short /tmp/pc-XXXX directory.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, Iterator, Optional

import pytest

from tests.harness import PASSWORD, USER
from tests.harness import registry as registry_process
from tests.harness.containerd import containerd_node  # noqa: F401 - session fixture, registered here
from tests.harness.dns_server import DnsServer
from tests.harness.pki import Pki, token_signer
from tests.harness.pusher import Descriptor, Pusher
from tests.harness.registry import Registry, write_htpasswd
from tests.harness.token_server import SERVICE, ISSUER, TokenServer

DNS_ZONE_SUFFIX = "pullcheck.test."


@dataclass
class RunningRegistry:
    registry: Registry
    host: str                                  # "127.0.0.1:PORT", as in an image reference
    url: str
    images: Dict[str, Descriptor] = field(default_factory=dict)    # "repo:tag" -> descriptor
    token_server: Optional[TokenServer] = None
    ca_file: Optional[str] = None


def _require_registry() -> None:
    if not registry_process.available():
        pytest.skip("docker-registry is not installed (apt-get install --no-install-recommends docker-registry)")


@pytest.fixture(scope="session")
def harness_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="pc-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def harness_pki(harness_dir: str) -> Pki:
    return Pki.create(os.path.join(harness_dir, "pki"))


def _push_standard_images(pusher: Pusher, images: Dict[str, Descriptor]) -> None:
    """test/hello with versions, OCI and Docker indexes for several platforms; test/world."""
    repo = "test/hello"
    amd64 = pusher.image(repo, "v1")
    images[f"{repo}:v1"] = amd64
    for tag in ("v1.2.3", "v1.2.4", "v1.3.0", "Latest"):
        images[f"{repo}:{tag}"] = pusher.image(repo, tag)
    arm64 = pusher.image(repo, "arm64-single", architecture="arm64", variant="v8")
    images[f"{repo}:arm64-single"] = arm64
    armv7 = pusher.image(repo, None, architecture="arm", variant="v7")
    linux = {"os": "linux"}
    images[f"{repo}:multi"] = pusher.index(repo, "multi", [
        (amd64, dict(linux, architecture="amd64")), (arm64, dict(linux, architecture="arm64", variant="v8"))])
    images[f"{repo}:arm64only"] = pusher.index(repo, "arm64only", [(arm64, dict(linux, architecture="arm64"))])
    images[f"{repo}:armv7only"] = pusher.index(repo, "armv7only", [
        (armv7, dict(linux, architecture="arm", variant="v7"))])
    oci_amd64 = pusher.image(repo, "oci", oci=True)
    oci_arm64 = pusher.image(repo, None, architecture="arm64", oci=True)
    images[f"{repo}:oci"] = oci_amd64
    images[f"{repo}:oci-index"] = pusher.index(repo, "oci-index", [
        (oci_amd64, dict(linux, architecture="amd64")), (oci_arm64, dict(linux, architecture="arm64"))], oci=True)
    images["test/world:v1"] = pusher.image("test/world", "v1")


@pytest.fixture(scope="session")
def plain_registry(harness_dir: str) -> Iterator[RunningRegistry]:
    """Plain HTTP, no auth, with the standard images."""
    _require_registry()
    registry = Registry(os.path.join(harness_dir, "plain")).start()
    running = RunningRegistry(registry, registry.host, registry.url)
    try:
        with Pusher(registry.url) as pusher:
            _push_standard_images(pusher, running.images)
        yield running
    finally:
        registry.stop()


@pytest.fixture(scope="session")
def tls_registry(harness_dir: str, harness_pki: Pki) -> Iterator[RunningRegistry]:
    """TLS with a certificate from the test CA for localhost and 127.0.0.1, no auth."""
    _require_registry()
    cert = harness_pki.server_cert("registry-tls")
    registry = Registry(os.path.join(harness_dir, "tls"), tls=cert).start()
    running = RunningRegistry(registry, registry.host, registry.url, ca_file=harness_pki.ca_file)
    try:
        with Pusher(registry.url, ca_file=harness_pki.ca_file) as pusher:
            running.images["test/hello:v1"] = pusher.image("test/hello", "v1")
        yield running
    finally:
        registry.stop()


@pytest.fixture(scope="session")
def basic_registry(harness_dir: str) -> Iterator[RunningRegistry]:
    """Plain HTTP with htpasswd (bcrypt) Basic auth; private/hello:v1 and private/hello:v2."""
    _require_registry()
    directory = os.path.join(harness_dir, "basic")
    os.makedirs(directory, exist_ok=True)
    htpasswd = os.path.join(directory, "htpasswd")
    write_htpasswd(htpasswd, {USER: PASSWORD})
    registry = Registry(directory, htpasswd=htpasswd).start()
    running = RunningRegistry(registry, registry.host, registry.url)
    try:
        with Pusher(registry.url, user=USER, password=PASSWORD) as pusher:
            for tag in ("v1", "v2"):
                running.images[f"private/hello:{tag}"] = pusher.image("private/hello", tag)
        yield running
    finally:
        registry.stop()


@pytest.fixture(scope="session")
def token_registry(harness_dir: str) -> Iterator[RunningRegistry]:
    """Plain HTTP with token auth; images under private/, public/ and locked/ (see TokenServer)."""
    _require_registry()
    directory = os.path.join(harness_dir, "token")
    os.makedirs(directory, exist_ok=True)
    cert, key = token_signer(directory)
    tokens = TokenServer(cert, key, {USER: PASSWORD}).start()
    registry = Registry(directory, token={"realm": tokens.realm, "service": SERVICE, "issuer": ISSUER,
                                          "rootcertbundle": cert}).start()
    running = RunningRegistry(registry, registry.host, registry.url, token_server=tokens)
    try:
        with Pusher(registry.url, user=USER, password=PASSWORD) as pusher:
            for repo in ("private/hello", "public/hello", "locked/hello"):
                running.images[f"{repo}:v1"] = pusher.image(repo, "v1")
            running.images["private/hello:v1.0.1"] = pusher.image("private/hello", "v1.0.1")
        yield running
    finally:
        registry.stop()
        tokens.stop()


@pytest.fixture(scope="session")
def dns_server() -> Iterator[DnsServer]:
    """Names under pullcheck.test pointing at loopback; see DnsServer for the failure names."""
    zone = {
        f"registry.{DNS_ZONE_SUFFIX}": {"A": ["127.0.0.1"]},
        f"other.{DNS_ZONE_SUFFIX}": {"A": ["127.0.0.1"]},
        f"alias.{DNS_ZONE_SUFFIX}": {"CNAME": [f"middle.{DNS_ZONE_SUFFIX}"]},
        f"middle.{DNS_ZONE_SUFFIX}": {"CNAME": [f"registry.{DNS_ZONE_SUFFIX}"]},
        f"v6only.{DNS_ZONE_SUFFIX}": {"AAAA": ["::1"]},
        f"nodata.{DNS_ZONE_SUFFIX}": {"TXT": ['"no addresses here"']},
    }
    server = DnsServer(zone).start()
    yield server
    server.stop()
