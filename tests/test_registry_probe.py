"""The registry probe against real registries and misbehaving peers, all on loopback.

Real: docker-registry (plain, TLS, htpasswd, token), the token server, the DNS server.
Scripted (tests/harness/servers.py): black hole, garbage, slow drip, 429, redirects,
pagination, proxies. Slow cases use timeouts of at most 2 s.
"""
from __future__ import annotations

import base64
import json
import os
import re
import time

import pytest

from pullcheck.registry import (Credential, Platform, ProbeOptions, Target, lookup, model, probe_image,
                                probe_images)
from pullcheck.registry.challenge import parse_challenges, preferred
from pullcheck.registry.endpoint import api_repository, endpoint_for, reference_problems
from pullcheck.registry.hints import hints_for
from pullcheck.registry.platforms import best_match, compatible, normalize
from pullcheck.registry.proxy import proxy_for
from pullcheck.registry.ratelimit import parse_value, read_limits
from pullcheck.registry.suggest import edit_distance, suggest_repositories, suggest_tags
from pullcheck.registry.transport import Authorization, Headers
from tests.harness import PASSWORD, USER
from tests.harness.pusher import DOCKER_MANIFEST, sha256
from tests.harness.servers import (BlackHole, ConnectProxy, RawServer, Reply, ScriptedHttp, closed_port,
                                   endless_chunks, garbage, slow_drip)


FAST = ProbeOptions(timeout=6.0, step_timeout=2.0)
GOOD = Credential(USER, PASSWORD, "secret default/good")
BAD = Credential(USER, "wrong-password", "secret default/bad")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
                   "ALL_PROXY", "all_proxy", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch):
    """The workstation's proxy settings must not leak into these loopback tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def options(**changes) -> ProbeOptions:
    values = dict(timeout=FAST.timeout, step_timeout=FAST.step_timeout)
    values.update(changes)
    return ProbeOptions(**values)


def step(report, name):
    found = report.step(name)
    assert found is not None, f"no {name} step in {[s.step for s in report.steps]}"
    return found


def failed_step(report):
    return next(s for s in report.steps if s.status == model.FAILED)


def everything_said(report) -> str:
    """All text a renderer could show, plus the reprs, for leak checks."""
    parts = [repr(report), " ".join(report.suggestions)]
    for s in report.steps:
        parts += [s.summary, " ".join(s.evidence), json.dumps(s.data, default=str)]
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------
# Found, and what the steps say about it


def test_pullable_image_on_loopback_plain_registry_uses_http_like_containerd(plain_registry):
    report = probe_image(Target(plain_registry.host, "test/hello", "v1"), [], FAST)
    assert report.cause is None, report
    assert [s.step for s in report.steps][:6] == ["reference", "dns", "connect", "tls", "api", "manifest"]
    assert step(report, "dns").status == model.SKIPPED
    tls = step(report, "tls")
    assert tls.status == model.INFO and tls.data["scheme"] == "http"
    assert "containerd" in tls.summary and any("WRONG_VERSION_NUMBER" in e or "TLS" in e for e in tls.evidence)
    manifest = step(report, "manifest")
    assert manifest.data["digest"] == plain_registry.images["test/hello:v1"][0]
    assert manifest.data["media_type"] == DOCKER_MANIFEST and manifest.data["access"] == "public"
    assert step(report, "platform").status == model.SKIPPED
    assert report.suggestions == ()


def test_oci_manifest_and_oci_index_are_found_with_their_media_types(plain_registry):
    for tag, media_type in (("oci", "application/vnd.oci.image.manifest.v1+json"),
                            ("oci-index", "application/vnd.oci.image.index.v1+json")):
        report = probe_image(Target(plain_registry.host, "test/hello", tag), [], FAST)
        assert report.cause is None
        assert step(report, "manifest").data["media_type"] == media_type
        assert step(report, "manifest").data["digest"] == plain_registry.images[f"test/hello:{tag}"][0]


def test_pull_by_digest(plain_registry):
    digest = plain_registry.images["test/hello:multi"][0]
    report = probe_image(Target(plain_registry.host, "test/hello", digest, Platform("linux", "amd64")), [], FAST)
    assert report.cause is None
    assert step(report, "platform").data["selected"] == "linux/amd64"


# ------------------------------------------------------------------------------------------
# Not found


@pytest.mark.parametrize("wanted, expected", [
    ("v1.2.5", ["v1.2.4", "v1.2.3"]),   # a version that was never published: its neighbours
    ("latest", ["Latest"]),             # case slip
    ("1.2.3", ["v1.2.3"]),              # missing v prefix
])
def test_missing_tag_is_tag_not_found_with_the_closest_tags(plain_registry, wanted, expected):
    report = probe_image(Target(plain_registry.host, "test/hello", wanted), [], FAST)
    assert report.cause == model.TAG_NOT_FOUND
    assert "the repository exists" in step(report, "manifest").summary
    tags = step(report, "tags")
    assert tags.status == model.INFO
    assert tags.data["suggestions"][:len(expected)] == expected
    assert any(f"test/hello:{expected[0]}" in s for s in report.suggestions)


def test_missing_digest_is_tag_not_found(plain_registry):
    digest = "sha256:" + "0" * 64
    report = probe_image(Target(plain_registry.host, "test/hello", digest), [], FAST)
    assert report.cause == model.TAG_NOT_FOUND
    assert step(report, "manifest").summary.startswith("digest sha256:000")


@pytest.mark.parametrize("repository, expected", [("test/helo", "test/hello"), ("hello", "test/hello"),
                                                  ("test/World", None)])
def test_missing_repository_is_image_not_found_with_names_from_the_catalog(plain_registry, repository, expected):
    report = probe_image(Target(plain_registry.host, repository, "v1"), [], FAST)
    if expected is None:   # uppercase is not a valid reference at all
        assert report.cause == model.INVALID_REFERENCE
        assert "must be lowercase" in step(report, "reference").summary
        return
    assert report.cause == model.IMAGE_NOT_FOUND
    names = step(report, "repository")
    assert names.data["suggestions"][0] == expected
    assert names.data["catalog_size"] == 2
    assert f"Did you mean {plain_registry.host}/{expected}:v1?" in report.suggestions


# ------------------------------------------------------------------------------------------
# Platforms


@pytest.mark.parametrize("tag, node, cause, selected", [
    ("multi", Platform("linux", "arm64"), None, "linux/arm64"),              # v8 variant == no variant
    ("multi", Platform("linux", "arm64", "v8"), None, "linux/arm64"),
    ("multi", Platform("linux", "amd64"), None, "linux/amd64"),
    ("oci-index", Platform("linux", "arm64"), None, "linux/arm64"),
    ("armv7only", Platform("linux", "arm64"), None, "linux/arm/v7"),        # arm64 runs arm/v7 (containerd rule)
    ("arm64only", Platform("linux", "amd64"), model.PLATFORM_MISMATCH, None),
    ("multi", Platform("linux", "riscv64"), model.PLATFORM_MISMATCH, None),
    ("armv7only", Platform("linux", "arm", "v6"), model.PLATFORM_MISMATCH, None),
])
def test_index_platforms_against_the_node(plain_registry, tag, node, cause, selected):
    report = probe_image(Target(plain_registry.host, "test/hello", tag, node), [], FAST)
    assert report.cause == cause
    platform = step(report, "platform")
    if cause is None:
        assert platform.status == model.OK and platform.data["selected"] == selected
    else:
        assert platform.status == model.FAILED
        assert platform.data["available"]
        assert "no match for platform in manifest" in platform.summary
        assert any("nodeSelector" in s for s in report.suggestions)


def test_single_arm64_manifest_pulls_on_amd64_but_is_flagged(plain_registry):
    report = probe_image(Target(plain_registry.host, "test/hello", "arm64-single", Platform("linux", "amd64")),
                         [], FAST)
    assert report.cause is None
    platform = step(report, "platform")
    assert platform.status == model.INFO
    assert platform.data["image_platform"] == "linux/arm64" and "exec format error" in platform.summary


# ------------------------------------------------------------------------------------------
# Invalid references, connection failures


@pytest.mark.parametrize("host, repository, reference, phrase", [
    ("127.0.0.1:5000", "UPPER/Case", "tag", "must be lowercase"),
    ("127.0.0.1:5000", "ok/name", "-bad", "tag '-bad' is not valid"),
    ("127.0.0.1:5000", "ok/name", "sha256:abc", "not algorithm:hex"),
    ("127.0.0.1:99999", "ok/name", "v1", "invalid port"),
    ("bad_host!", "ok/name", "v1", "invalid registry host"),
])
def test_invalid_reference(host, repository, reference, phrase):
    report = probe_image(Target(host, repository, reference), [], FAST)
    assert report.cause == model.INVALID_REFERENCE
    assert [s.step for s in report.steps] == ["reference"]
    assert phrase in step(report, "reference").summary


def test_connection_refused():
    port = closed_port()
    report = probe_image(Target(f"127.0.0.1:{port}", "test/hello", "v1"), [], FAST)
    assert report.cause == model.CONNECTION_REFUSED
    connect = step(report, "connect")
    assert connect.status == model.FAILED and "connection refused" in connect.summary
    assert any(f"127.0.0.1:{port}" in e for e in connect.evidence)


def test_black_hole_over_https_is_a_tls_handshake_timeout():
    hole = BlackHole().start()
    try:
        started = time.monotonic()
        report = probe_image(Target(hole.host, "test/hello", "v1"), [], options(step_timeout=1.0))
        assert time.monotonic() - started < 2.5
    finally:
        hole.stop()
    assert report.cause == model.NETWORK_TIMEOUT
    assert step(report, "connect").status == model.OK
    assert "TLS handshake timed out" in step(report, "tls").summary


def test_black_hole_over_plain_http_is_a_response_timeout():
    hole = BlackHole().start()
    try:
        report = probe_image(Target(hole.host, "test/hello", "v1"), [],
                             options(step_timeout=1.0, insecure_registries=frozenset({hole.host})))
    finally:
        hole.stop()
    assert report.cause == model.NETWORK_TIMEOUT
    assert step(report, "tls").status == model.SKIPPED
    assert "no HTTP response in time" in step(report, "api").summary


def test_whole_probe_budget_bounds_every_step():
    hole = BlackHole().start()
    try:
        started = time.monotonic()
        report = probe_image(Target(hole.host, "test/hello", "v1"), [],
                             ProbeOptions(timeout=0.8, step_timeout=5.0,
                                          insecure_registries=frozenset({hole.host})))
        assert time.monotonic() - started < 1.5
    finally:
        hole.stop()
    assert report.cause == model.NETWORK_TIMEOUT


# ------------------------------------------------------------------------------------------
# TLS


def test_tls_registry_with_unknown_authority(tls_registry):
    report = probe_image(Target(tls_registry.host, "test/hello", "v1"), [], FAST)
    assert report.cause == model.TLS
    tls = step(report, "tls")
    assert tls.data["kind"] == "unknown-authority"
    assert "certificate signed by unknown authority" in tls.summary
    assert any("loopback" in e for e in tls.evidence)
    assert any("hosts.toml" in s for s in report.suggestions)


def test_tls_registry_with_its_ca_works_and_shows_the_certificate(tls_registry):
    report = probe_image(Target(tls_registry.host, "test/hello", "v1"), [], options(ca_file=tls_registry.ca_file))
    assert report.cause is None
    tls = step(report, "tls")
    assert tls.status == model.OK and tls.data["scheme"] == "https"
    assert any("IP Address:127.0.0.1" in e and "pullcheck-test-ca" in e for e in tls.evidence)
    assert any("plain HTTP to loopback" in e for e in tls.evidence)


def test_tls_hostname_mismatch(tls_registry, dns_server):
    port = tls_registry.registry.port
    report = probe_image(Target(f"registry.pullcheck.test:{port}", "test/hello", "v1"), [],
                         options(ca_file=tls_registry.ca_file, dns_server=dns_server.address))
    assert report.cause == model.TLS
    assert step(report, "dns").data["addresses"] == ["127.0.0.1"]
    assert step(report, "tls").data["kind"] == "hostname-mismatch"
    assert "not valid for this host name" in step(report, "tls").summary


def test_tls_expired_certificate(harness_pki):
    server = ScriptedHttp([], tls=harness_pki.server_cert("expired", expired=True)).start()
    try:
        report = probe_image(Target(server.host, "test/hello", "v1"), [], options(ca_file=harness_pki.ca_file))
    finally:
        server.stop()
    assert report.cause == model.TLS
    assert step(report, "tls").data["kind"] == "expired"
    assert "renew" in report.suggestions[0]


def test_plain_http_registry_on_the_https_port_of_a_named_host(plain_registry, dns_server):
    port = plain_registry.registry.port
    report = probe_image(Target(f"registry.pullcheck.test:{port}", "test/hello", "v1"), [],
                         options(dns_server=dns_server.address))
    assert report.cause == model.TLS
    tls = step(report, "tls")
    assert "server gave HTTP response to HTTPS client" in tls.summary
    assert any("plain HTTP GET /v2/ on the same port -> 200" in e for e in tls.evidence)
    assert 'server = "http://' in report.suggestions[0]


def test_https_only_port_configured_as_insecure_gets_400(tls_registry):
    report = probe_image(Target(tls_registry.host, "test/hello", "v1"), [],
                         options(insecure_registries=frozenset({tls_registry.host})))
    assert report.cause == model.TLS
    api = step(report, "api")
    assert api.data["kind"] == "https-only" and "Client sent an HTTP request to an HTTPS server" in api.summary


# ------------------------------------------------------------------------------------------
# DNS


@pytest.mark.parametrize("name, outcome, phrase", [
    ("nosuch.pullcheck.test", "nxdomain", "NXDOMAIN"),
    ("x.servfail.test", "servfail", "SERVFAIL"),
    ("nodata.pullcheck.test", "nodata", "NODATA"),
    ("x.timeout.test", "timeout", "timed out"),
])
def test_dns_failures_are_told_apart(dns_server, name, outcome, phrase):
    started = time.monotonic()
    report = probe_image(Target(f"{name}:5000", "test/hello", "v1"), [],
                         options(step_timeout=1.0, dns_server=dns_server.address))
    assert time.monotonic() - started < 2.5
    assert report.cause == model.DNS
    dns = step(report, "dns")
    assert dns.data["outcome"] == outcome and phrase in dns.summary
    assert dns.data["resolver"] == dns_server.address
    assert [s.step for s in report.steps] == ["reference", "dns"]


def test_cname_chain_is_followed_and_the_connection_uses_the_answer(plain_registry, dns_server):
    host = f"alias.pullcheck.test:{plain_registry.registry.port}"
    report = probe_image(Target(host, "test/hello", "v1"), [],
                         options(dns_server=dns_server.address, insecure_registries=frozenset({host})))
    assert report.cause is None
    dns = step(report, "dns")
    assert dns.data["cname_chain"] == ["alias.pullcheck.test", "middle.pullcheck.test", "registry.pullcheck.test"]
    assert any(e.startswith("connected to 127.0.0.1:") for e in step(report, "connect").evidence)


def test_localhost_is_resolved_locally(plain_registry):
    report = probe_image(Target(f"localhost:{plain_registry.registry.port}", "test/hello", "v1"), [], FAST)
    assert report.cause is None
    dns = step(report, "dns")
    assert dns.status == model.SKIPPED and "127.0.0.1" in dns.data["addresses"]


def test_system_resolution_reads_the_hosts_file_first(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("# comment\n10.9.8.7   Registry.Corp.Example  registry  # trailing\n::1 localhost\n")
    found = lookup.resolve("registry.corp.example", None, 1.0, hosts_file=str(hosts))
    assert (found.status, found.addresses, found.server) == (lookup.RESOLVED, ["10.9.8.7"], str(hosts))
    assert lookup.hosts_file_addresses("registry", str(hosts)) == ["10.9.8.7"]
    assert lookup.hosts_file_addresses("nothing", str(hosts)) == []


def test_ipv6_only_name_connects_to_the_ipv6_address(plain_registry, dns_server):
    report = probe_image(Target(f"v6only.pullcheck.test:{plain_registry.registry.port}", "test/hello", "v1"), [],
                         options(dns_server=dns_server.address))
    assert step(report, "dns").data["addresses"] == ["::1"]
    assert any("only IPv6" in e for e in step(report, "dns").evidence)
    assert report.cause == model.CONNECTION_REFUSED        # the registry listens on 127.0.0.1 only
    assert any("[::1]:" in e for e in step(report, "connect").evidence)


# ------------------------------------------------------------------------------------------
# Authentication: htpasswd (Basic)


def test_basic_auth_without_credentials_is_auth_missing(basic_registry):
    report = probe_image(Target(basic_registry.host, "private/hello", "v1"), [], FAST)
    assert report.cause == model.AUTH_MISSING
    assert step(report, "api").data["auth"] == "basic"
    assert "imagePullSecrets" in report.suggestions[0]


def test_basic_auth_with_a_wrong_password_is_auth_rejected(basic_registry):
    report = probe_image(Target(basic_registry.host, "private/hello", "v1"), [BAD], FAST)
    assert report.cause == model.AUTH_REJECTED
    credentials = step(report, "credentials")
    assert credentials.data["rejected"] == ["secret default/bad"]
    assert "secret default/bad" in report.suggestions[0]


def test_basic_auth_with_good_credentials_works_and_names_them(basic_registry):
    report = probe_image(Target(basic_registry.host, "private/hello", "v1"), [BAD, GOOD], FAST)
    assert report.cause is None
    assert step(report, "credentials").data == {"accepted": ["secret default/good"], "rejected": ["secret default/bad"]}
    manifest = step(report, "manifest")
    assert manifest.data["access"] == "credentials" and manifest.data["works_with"] == ["secret default/good"]
    assert "anonymous pulls are refused" in manifest.summary


def test_basic_auth_missing_tag_with_credentials(basic_registry):
    report = probe_image(Target(basic_registry.host, "private/hello", "v3"), [GOOD], FAST)
    assert report.cause == model.TAG_NOT_FOUND
    assert step(report, "tags").data["suggestions"][:2] == ["v2", "v1"]


# ------------------------------------------------------------------------------------------
# Authentication: token server (Bearer)


def test_token_auth_private_repository_anonymously_is_auth_or_not_found(token_registry):
    report = probe_image(Target(token_registry.host, "private/hello", "v1"), [], FAST)
    assert report.cause == model.AUTH_OR_NOT_FOUND
    assert step(report, "api").data["realm"] == token_registry.token_server.realm
    assert any("insufficient_scope" in e for e in step(report, "manifest").evidence)
    assert report.step("repository") is None     # the catalog is closed to anonymous users: nothing to suggest


def test_token_auth_public_repository_anonymously(token_registry):
    report = probe_image(Target(token_registry.host, "public/hello", "v1"), [], FAST)
    assert report.cause is None
    assert step(report, "manifest").data["access"] == "public"


def test_token_auth_repository_that_refuses_anonymous_tokens_is_auth_missing(token_registry):
    report = probe_image(Target(token_registry.host, "locked/hello", "v1"), [], FAST)
    assert report.cause == model.AUTH_MISSING


def test_token_auth_good_and_bad_credentials(token_registry):
    tokens = token_registry.token_server
    tokens.requests.clear()
    good = probe_image(Target(token_registry.host, "private/hello", "v1"), [GOOD], FAST)
    assert good.cause is None and step(good, "manifest").data["works_with"] == ["secret default/good"]
    assert {r.user for r in tokens.requests} == {None, USER}
    bad = probe_image(Target(token_registry.host, "private/hello", "v1"), [BAD], FAST)
    assert bad.cause == model.AUTH_REJECTED
    assert any("incorrect username or password" in e for e in step(bad, "credentials").evidence)


def test_token_auth_missing_repository_and_tag_with_credentials(token_registry):
    missing_repo = probe_image(Target(token_registry.host, "private/nothing", "v1"), [GOOD], FAST)
    assert missing_repo.cause == model.IMAGE_NOT_FOUND
    missing_tag = probe_image(Target(token_registry.host, "private/hello", "v1.0.2"), [GOOD], FAST)
    assert missing_tag.cause == model.TAG_NOT_FOUND
    assert step(missing_tag, "tags").data["suggestions"][0] == "v1.0.1"


def test_credentials_are_never_shown(token_registry, basic_registry):
    secret = Credential("someone", "s3cret-Pa55word", "secret default/leaky")
    encoded = base64.b64encode(b"someone:s3cret-Pa55word").decode()
    assert "s3cret" not in repr(secret)
    for registry in (token_registry, basic_registry):
        report = probe_image(Target(registry.host, "private/hello", "v1"), [secret, GOOD], FAST)
        said = everything_said(report)
        assert "s3cret-Pa55word" not in said and encoded not in said and PASSWORD not in said
        assert "eyJ" not in said          # no JWT either
    authorization = Authorization.basic("someone", "s3cret-Pa55word", ("https", "example.com", 443))
    assert "s3cret" not in repr(authorization) and encoded not in repr(authorization)


def test_credentials_step_is_skipped_when_use_credentials_is_off(basic_registry):
    report = probe_image(Target(basic_registry.host, "private/hello", "v1"), [GOOD],
                         options(use_credentials=False))
    assert step(report, "credentials").status == model.SKIPPED
    assert report.cause == model.AUTH_OR_NOT_FOUND         # credentials exist but were not checked


def _token_fake(echo: bool) -> ScriptedHttp:
    """A token server: Basic good credentials get "tok-good", anonymous "tok-anon"; others 401
    (with the request's Authorization echoed in the body when echo is set: a hostile server)."""
    good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def token(match, recorded):
        header = recorded.headers.get("authorization")
        if header is None or header == good:
            return Reply(200, {"Content-Type": "application/json"},
                         json.dumps({"token": "tok-good" if header else "tok-anon"}).encode())
        return Reply(401, {"Content-Type": "application/json"},
                     json.dumps({"details": f"bad credentials: {header if echo else ''}"}).encode())

    return ScriptedHttp([("GET", r"/token\?.*", token)]).start()


def test_a_token_server_echoing_credentials_does_not_leak_them():
    tokens = _token_fake(echo=True)
    challenge = {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{tokens.port}/token",service="fake"'}
    registry = ScriptedHttp([("GET", r"/v2/", lambda m, r: Reply(401, challenge))]).start()
    leaky = Credential("someone", "echo-Me-pa55", "secret default/leaky")
    try:
        report = probe_image(Target(registry.host, "app", "v1"), [leaky], FAST)
    finally:
        registry.stop()
        tokens.stop()
    assert report.cause == model.AUTH_REJECTED
    said = everything_said(report)
    assert "echo-Me-pa55" not in said and base64.b64encode(b"someone:echo-Me-pa55").decode() not in said
    assert "bad credentials: Basic <redacted>" in " ".join(step(report, "credentials").evidence)


def test_repository_level_challenge_behind_an_open_v2_endpoint():
    """/v2/ asks for nothing; the repository answers 401 Bearer: credentials are checked then."""
    tokens = _token_fake(echo=False)
    challenge = {"WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{tokens.port}/token",service="fake",'
                                     'scope="repository:app:pull"'}

    def manifest(match, recorded):
        if recorded.headers.get("authorization") == "Bearer tok-good":
            return Reply(200, {"Content-Type": DOCKER_MANIFEST})
        return Reply(401, dict(challenge, **{"Content-Type": "application/json"}))

    registry = ScriptedHttp([("GET", r"/v2/", lambda m, r: Reply(200)),
                             ("HEAD", r"/v2/app/manifests/v1", manifest)]).start()
    try:
        report = probe_image(Target(registry.host, "app", "v1"), [BAD, GOOD], FAST)
        anonymous = probe_image(Target(registry.host, "app", "v1"), [], FAST)
    finally:
        registry.stop()
        tokens.stop()
    assert [s.step for s in report.steps].index("credentials") > [s.step for s in report.steps].index("api")
    assert step(report, "credentials").data == {"accepted": ["secret default/good"],
                                                "rejected": ["secret default/bad"]}
    assert report.cause is None and step(report, "manifest").data["works_with"] == ["secret default/good"]
    assert anonymous.cause == model.AUTH_OR_NOT_FOUND
    assert any("scope=repository%3Aapp%3Apull" in r.path for r in tokens.requests)


# ------------------------------------------------------------------------------------------
# Docker Hub style rate limits (scripted: HEAD answers like Docker Hub)


def _ratelimited_registry(remaining: str, status: int) -> ScriptedHttp:
    limits = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": remaining,
              "docker-ratelimit-source": "192.0.2.7"}

    def manifest(match, recorded):
        if status == 429:
            return Reply(429, dict(limits, **{"Content-Type": "application/json", "Retry-After": "3600"}),
                         b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}')
        return Reply(200, dict(limits, **{"Content-Type": DOCKER_MANIFEST,
                                          "Docker-Content-Digest": "sha256:" + "a" * 64}))

    return ScriptedHttp([("GET", r"/v2/", lambda m, r: Reply(200)),
                         ("HEAD", r"/v2/library/busybox/manifests/.*", manifest)]).start()


@pytest.mark.parametrize("remaining, status, cause, rate_status", [
    ("0;w=21600", 429, model.RATE_LIMITED, model.FAILED),
    ("0;w=21600", 200, model.RATE_LIMITED, model.FAILED),     # HEAD still works, the next GET will not
    ("76;w=21600", 200, None, model.INFO),
])
def test_rate_limit_headers(remaining, status, cause, rate_status):
    server = _ratelimited_registry(remaining, status)
    try:
        report = probe_image(Target(server.host, "library/busybox", "latest"), [], FAST)
    finally:
        server.stop()
    assert report.cause == cause
    rate = step(report, "rate-limit")
    assert rate.status == rate_status
    assert f"{remaining.split(';')[0]} of 100 pulls left per 6 h" in rate.summary
    if status == 429:
        manifest = step(report, "manifest")
        assert manifest.cause == model.RATE_LIMITED
        assert "Retry-After: 3600" in manifest.evidence and manifest.evidence[0].endswith("-> 429")
    assert [s.method for s in server.requests].count("GET") == 1     # only /v2/: no pull spent


# ------------------------------------------------------------------------------------------
# Redirects and credentials


def test_redirect_to_another_host_does_not_carry_credentials():
    cdn = ScriptedHttp([]).start()
    config = json.dumps({"os": "linux", "architecture": "arm64"}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "size": len(config), "digest": sha256(config)}, "layers": []}).encode()
    cdn.routes += [
        (method, re.compile(r"/cdn/manifest"),
         lambda m, r: Reply(200, {"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": sha256(manifest)},
                            manifest)) for method in ("HEAD", "GET")]
    cdn.routes.append(("GET", re.compile(r"/cdn/config"), lambda m, r: Reply(200, {}, config)))
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def guarded(target):
        def route(match, recorded):
            if recorded.headers.get("authorization") != expected:
                return Reply(401, {"WWW-Authenticate": 'Basic realm="fake"'})
            return Reply(307, {"Location": target}) if target else Reply(200)
        return route

    origin = ScriptedHttp([
        ("GET", r"/v2/", guarded(None)),
        ("*", r"/v2/app/manifests/.*", guarded(f"http://localhost:{cdn.port}/cdn/manifest")),
        ("GET", r"/v2/app/blobs/.*", guarded(f"http://localhost:{cdn.port}/cdn/config")),
    ]).start()
    try:
        report = probe_image(Target(origin.host, "app", "v1", Platform("linux", "amd64")), [GOOD], FAST)
    finally:
        origin.stop()
        cdn.stop()
    assert report.cause is None
    assert step(report, "manifest").data["works_with"] == ["secret default/good"]
    assert step(report, "platform").data["image_platform"] == "linux/arm64"
    assert {r.path for r in cdn.requests} == {"/cdn/manifest", "/cdn/config"}
    assert all("authorization" not in r.headers for r in cdn.requests)
    assert any(r.headers.get("authorization") == expected for r in origin.requests)


def test_redirect_loop_is_a_registry_error():
    server = ScriptedHttp([("GET", r"/v2/", lambda m, r: Reply(302, {"Location": "/v2/again"})),
                           ("GET", r"/v2/again", lambda m, r: Reply(302, {"Location": "/v2/"}))]).start()
    try:
        report = probe_image(Target(server.host, "test/hello", "v1"), [],
                             options(insecure_registries=frozenset({server.host})))
    finally:
        server.stop()
    assert report.cause == model.REGISTRY_ERROR
    assert "redirect loop" in step(report, "api").summary


# ------------------------------------------------------------------------------------------
# Hostile or broken registries


def test_garbage_instead_of_http_is_a_registry_error():
    server = RawServer(garbage).start()
    try:
        report = probe_image(Target(server.host, "test/hello", "v1"), [],
                             options(insecure_registries=frozenset({server.host})))
    finally:
        server.stop()
    assert report.cause == model.REGISTRY_ERROR
    assert "not a valid HTTP response" in step(report, "api").summary


def test_slow_drip_is_cut_at_the_step_deadline():
    server = RawServer(slow_drip(interval=0.05)).start()
    try:
        started = time.monotonic()
        report = probe_image(Target(server.host, "test/hello", "v1"), [],
                             options(step_timeout=1.0, insecure_registries=frozenset({server.host})))
        assert time.monotonic() - started < 2.5
    finally:
        server.stop()
    assert report.cause == model.REGISTRY_ERROR
    assert "trickled in" in step(report, "api").summary


def _fake_registry(manifest_route, get_route=None) -> ScriptedHttp:
    routes = [("GET", r"/v2/", lambda m, r: Reply(200)), ("HEAD", r"/v2/test/hello/manifests/.*", manifest_route)]
    if get_route:
        routes.append(("GET", r"/v2/test/hello/manifests/.*", get_route))
    return ScriptedHttp(routes).start()


def test_manifest_answered_with_html_is_a_registry_error():
    server = _fake_registry(lambda m, r: Reply(200, {"Content-Type": "text/html"}, b"<html>login</html>"))
    try:
        report = probe_image(Target(server.host, "test/hello", "v1"), [], FAST)
    finally:
        server.stop()
    assert report.cause == model.REGISTRY_ERROR
    assert "text/html" in step(report, "manifest").summary


def test_endless_index_body_is_cut_at_the_size_limit():
    index_type = "application/vnd.oci.image.index.v1+json"
    server = _fake_registry(lambda m, r: Reply(200, {"Content-Type": index_type,
                                                     "Docker-Content-Digest": "sha256:" + "b" * 64}),
                            lambda m, r: endless_chunks(r, index_type))
    try:
        started = time.monotonic()
        report = probe_image(Target(server.host, "test/hello", "v1", Platform("linux", "amd64")), [], FAST)
        assert time.monotonic() - started < 3.0
    finally:
        server.stop()
    assert report.cause == model.REGISTRY_ERROR
    assert "larger than 4 MiB" in step(report, "platform").summary


def test_garbage_index_json_is_a_registry_error():
    index_type = "application/vnd.docker.distribution.manifest.list.v2+json"
    server = _fake_registry(lambda m, r: Reply(200, {"Content-Type": index_type}),
                            lambda m, r: Reply(200, {"Content-Type": index_type}, b"{not json"))
    try:
        report = probe_image(Target(server.host, "test/hello", "v1", Platform("linux", "amd64")), [], FAST)
    finally:
        server.stop()
    assert report.cause == model.REGISTRY_ERROR
    assert "not JSON" in step(report, "platform").summary


def test_head_refused_with_405_falls_back_to_get():
    body = b'{"schemaVersion": 2}'
    server = _fake_registry(lambda m, r: Reply(405),
                            lambda m, r: Reply(200, {"Content-Type": DOCKER_MANIFEST}, body))
    try:
        report = probe_image(Target(server.host, "test/hello", "v1"), [], FAST)
    finally:
        server.stop()
    assert report.cause is None
    assert [r.method for r in server.requests if "manifests" in r.path] == ["HEAD", "GET"]


def test_tag_pagination_follows_link_headers_within_the_bound():
    pages = {"": (["a1", "a2"], "/v2/test/hello/tags/list?last=a2"),
             "a2": (["b1", "b2"], "/v2/test/hello/tags/list?last=b2"),
             "b2": (["v1.4.1", "v1.4.3"], None)}

    def tags(match, recorded):
        names, following = pages[match.group(1) or ""]
        headers = {"Content-Type": "application/json"}
        if following:
            headers["Link"] = f'<{following}>; rel="next"'
        return Reply(200, headers, json.dumps({"name": "test/hello", "tags": names}).encode())

    server = ScriptedHttp([("GET", r"/v2/", lambda m, r: Reply(200)),
                           ("*", r"/v2/test/hello/manifests/.*", lambda m, r: Reply(404)),
                           ("GET", r"/v2/test/hello/tags/list(?:\?last=(\w+))?", tags)]).start()
    try:
        full = probe_image(Target(server.host, "test/hello", "v1.4.2"), [], FAST)
        bounded = probe_image(Target(server.host, "test/hello", "v1.4.2"), [], options(max_tag_pages=2))
    finally:
        server.stop()
    assert full.cause == bounded.cause == model.TAG_NOT_FOUND
    assert step(full, "tags").data["pages"] == 3 and step(full, "tags").data["complete"]
    assert step(full, "tags").data["suggestions"][:2] == ["v1.4.1", "v1.4.3"]
    assert step(bounded, "tags").data["pages"] == 2 and not step(bounded, "tags").data["complete"]


# ------------------------------------------------------------------------------------------
# Proxies


def _tls_fake_registry(harness_pki, name: str) -> ScriptedHttp:
    cert = harness_pki.server_cert(name.split(".")[0], names=(name,))
    return ScriptedHttp([("GET", r"/v2/", lambda m, r: Reply(200)),
                         ("HEAD", r"/v2/test/hello/manifests/v1",
                          lambda m, r: Reply(200, {"Content-Type": DOCKER_MANIFEST}))], tls=cert).start()


def test_proxy_tunnel_is_used_and_no_proxy_bypasses_it(harness_pki, dns_server, monkeypatch):
    server = _tls_fake_registry(harness_pki, "registry.pullcheck.test")
    proxy = ConnectProxy("tunnel", hosts={"registry.pullcheck.test": "127.0.0.1"}).start()
    host = f"registry.pullcheck.test:{server.port}"
    opts = options(ca_file=harness_pki.ca_file, dns_server=dns_server.address)
    try:
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy.host}")
        through = probe_image(Target(host, "test/hello", "v1"), [], opts)
        assert proxy.seen == [f"CONNECT {host} HTTP/1.1"] * len(proxy.seen) and proxy.seen
        monkeypatch.setenv("NO_PROXY", f"example.com,.pullcheck.test:{server.port}")
        seen_before = len(proxy.seen)
        direct = probe_image(Target(host, "test/hello", "v1"), [], opts)
        assert len(proxy.seen) == seen_before
    finally:
        proxy.stop()
        server.stop()
    assert through.cause is None and direct.cause is None
    assert step(through, "connect").data["proxy"] == f"http://{proxy.host}"
    assert step(direct, "connect").data["proxy"] is None


def test_proxy_demanding_authentication_is_a_proxy_failure(dns_server, monkeypatch):
    proxy = ConnectProxy("auth").start()
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:proxy-secret@{proxy.host}")
    try:
        report = probe_image(Target("registry.pullcheck.test:5000", "test/hello", "v1"), [],
                             options(dns_server=dns_server.address))
    finally:
        proxy.stop()
    assert report.cause == model.PROXY
    connect = step(report, "connect")
    assert "407" in connect.summary
    assert "proxy-secret" not in everything_said(report)


def test_unreachable_proxy_is_a_proxy_failure(dns_server, monkeypatch):
    monkeypatch.setenv("https_proxy", f"127.0.0.1:{closed_port()}")
    report = probe_image(Target("nosuch.pullcheck.test:5000", "test/hello", "v1"), [],
                         options(dns_server=dns_server.address))
    assert report.cause == model.PROXY
    assert step(report, "dns").status == model.INFO      # behind a proxy, the proxy resolves names
    assert "cannot reach proxy" in step(report, "connect").summary


# ------------------------------------------------------------------------------------------
# Several images at once


def test_probe_images_runs_distinct_targets_concurrently_in_input_order(plain_registry):
    holes = [BlackHole().start(), BlackHole().start()]
    slow = [Target(hole.host, "test/hello", "v1") for hole in holes]
    ok = Target(plain_registry.host, "test/hello", "v1")
    refused = Target(f"127.0.0.1:{closed_port()}", "test/hello", "v1")
    try:
        started = time.monotonic()
        reports = probe_images([(slow[0], []), (ok, []), (refused, []), (slow[1], []), (ok, [])],
                               options(step_timeout=1.0, insecure_registries=frozenset(h.host for h in holes)))
        elapsed = time.monotonic() - started
    finally:
        for hole in holes:
            hole.stop()
    assert [r.target for r in reports] == [slow[0], ok, refused, slow[1], ok]
    assert [r.cause for r in reports] == [model.NETWORK_TIMEOUT, None, model.CONNECTION_REFUSED,
                                          model.NETWORK_TIMEOUT, None]
    assert reports[1] is reports[4]
    assert elapsed < 1.9            # the two 1 s time-outs ran side by side
    assert probe_images([], FAST) == []


# ------------------------------------------------------------------------------------------
# Pure pieces


def test_challenge_parsing_handles_quoted_commas_escapes_and_several_challenges():
    header = ('Bearer realm="https://auth.example/token",service="reg istry",'
              'scope="repository:a/b:pull,push",error="insufficient_scope"')
    challenge = preferred(parse_challenges([header]))
    assert (challenge.scheme, challenge.realm, challenge.service, challenge.scope, challenge.error) == (
        "bearer", "https://auth.example/token", "reg istry", "repository:a/b:pull,push", "insufficient_scope")
    several = parse_challenges(['Basic realm="a \\"quoted\\" realm", Bearer realm=https://x/token,service=s'])
    assert [(c.scheme, c.params) for c in several] == [
        ("basic", {"realm": 'a "quoted" realm'}), ("bearer", {"realm": "https://x/token", "service": "s"})]
    assert preferred(several).scheme == "bearer"
    assert parse_challenges(["", ",,,"]) == []


@pytest.mark.parametrize("scheme, host, port, env, expected", [
    ("https", "reg.example.com", 443, {"HTTPS_PROXY": "proxy:3128"}, "http://proxy:3128"),
    ("https", "reg.example.com", 443, {"https_proxy": "http://p:1", "HTTPS_PROXY": "http://P:2"}, "http://P:2"),
    ("http", "reg.example.com", 80, {"HTTPS_PROXY": "http://p:1"}, None),
    ("http", "reg.example.com", 80, {"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, None),
    ("https", "127.0.0.1", 5000, {"HTTPS_PROXY": "http://p:1"}, None),                 # loopback: never
    ("https", "localhost", 5000, {"HTTPS_PROXY": "http://p:1"}, None),
    ("https", "10.1.2.3", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, None),   # CIDR
    ("https", "11.1.2.3", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://p:1"),
    ("https", "reg.example.com", 5000, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com:5000"}, None),
    ("https", "reg.example.com", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com:5000"}, "http://p:1"),
    ("https", "example.com", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example.com"}, "http://p:1"),
    ("https", "a.example.com", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*.example.com"}, None),
    ("https", "notexample.com", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "example.com"}, "http://p:1"),
    ("https", "::2", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "[::2]:443"}, None),
    ("https", "x.y", 443, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": " , *"}, None),
])
def test_proxy_selection_follows_go_rules(scheme, host, port, env, expected):
    choice = proxy_for(scheme, host, port, env)
    assert (choice.url if choice else None) == expected


def test_proxy_display_hides_credentials():
    choice = proxy_for("https", "reg.example.com", 443, {"HTTPS_PROXY": "http://u:pw@proxy:3128"})
    assert choice.display == "http://proxy:3128" and "pw" not in repr(choice)


@pytest.mark.parametrize("node, candidate, ok", [
    (Platform("linux", "amd64"), ("linux", "386", ""), True),
    (Platform("linux", "arm64"), ("linux", "arm64", ""), True),
    (Platform("linux", "aarch64", "8"), ("linux", "arm64", ""), True),
    (Platform("linux", "arm64", "v8.2"), ("linux", "arm64", "v8.1"), True),
    (Platform("linux", "arm64"), ("linux", "arm64", "v8.1"), False),
    (Platform("linux", "arm", "v7"), ("linux", "arm", "v6"), True),
    (Platform("linux", "arm", "v6"), ("linux", "arm", "v7"), False),
    (Platform("linux", "amd64"), ("windows", "amd64", ""), False),
])
def test_platform_compatibility_follows_containerd(node, candidate, ok):
    assert (best_match(node, [candidate]) is not None) == ok
    assert compatible(node)[0] == normalize(node.os, node.architecture, node.variant)


def test_tag_and_repository_suggestions():
    assert edit_distance("ngnix", "nginx") == 1
    assert suggest_tags("v1.35", ["1.35", "1.36", "latest"])[0] == (
        "1.35", "the same version with/without the 'v' prefix")
    assert [t for t, _ in suggest_tags("1.25.4", ["1.25.3", "1.25.5", "1.24.9", "2.0.0", "latest"])][:2] == \
        ["1.25.3", "1.25.5"]
    assert suggest_tags("zzz", ["1.0", "latest"]) == []
    assert suggest_repositories("library/ngnix", docker_hub=True)[0][0] == "library/nginx"
    assert suggest_repositories("library/postgresql", docker_hub=True)[0][0] == "library/postgres"
    assert suggest_repositories("myteam/redis", docker_hub=True)[0][0] == "library/redis"
    assert suggest_repositories("app", docker_hub=False, catalog=["team/app", "other"])[0][0] == "team/app"


def test_endpoint_mapping_and_reference_grammar():
    hub = endpoint_for("docker.io")
    assert (hub.host, hub.docker_hub) == ("registry-1.docker.io", True)
    assert api_repository(hub, "busybox") == "library/busybox"
    v6 = endpoint_for("[::1]:5000")
    assert (v6.host, v6.port, v6.loopback, v6.netloc()) == ("::1", 5000, True, "[::1]:5000")
    assert endpoint_for("localhost:5000").loopback and not endpoint_for("registry.example.com").loopback
    with pytest.raises(ValueError):
        endpoint_for("::1:5000")
    assert reference_problems("a/b_c/d-e", "v1.0") == ()
    assert reference_problems("a/b", "sha256:" + "A" * 64)


def test_rate_limit_and_registry_hints():
    assert parse_value("100;w=21600") == (100, 21600) and parse_value("garbage") is None
    assert read_limits(Headers([(b"RateLimit-Limit", b"200;w=21600"), (b"RateLimit-Remaining", b"199;w=21600")])) == \
        {"limit": 200, "remaining": 199, "window_seconds": 21600}
    assert read_limits(Headers([])) is None
    ecr = hints_for("123456789012.dkr.ecr.eu-west-1.amazonaws.com", None)
    assert ecr[0][0] == "Amazon ECR" and "12 hours" in ecr[0][1] and "eu-west-1" in ecr[0][1]
    assert hints_for("myreg.azurecr.io", None)[0][0] == "Azure Container Registry"
    assert hints_for("europe-docker.pkg.dev", None)[0][0] == "Google Artifact Registry"
    assert hints_for("harbor.corp", "https://harbor.corp/service/token")[0][0] == "Harbor"
    assert hints_for("registry.corp", None) == []


def test_import_is_cheap():
    """The CLI imports pullcheck.registry on its hot path; the network libraries must wait."""
    import subprocess
    import sys
    code = ("import sys, pullcheck.registry; "
            "print(sorted(m for m in ('httpx', 'httpcore', 'dns', 'dns.resolver') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "[]"
