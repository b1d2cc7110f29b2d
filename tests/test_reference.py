import re

import pytest

from pullcheck.reference import InvalidReference, digest_problem, parse, split_registry
from tests.captures import CAPTURES, capture_events, capture_pod

SHA256 = "sha256:" + "0123456789abcdef" * 4
SHA512 = "sha512:" + "0123456789abcdef" * 8


# (image, registry, repository, tag, digest, tag_defaulted, registry_defaulted)
VALID = [
    ("busybox", "docker.io", "library/busybox", "latest", None, True, True),
    ("busybox:1.35", "docker.io", "library/busybox", "1.35", None, False, True),
    ("library/busybox", "docker.io", "library/busybox", "latest", None, True, True),
    ("user/app", "docker.io", "user/app", "latest", None, True, True),
    ("user/team/app:v1", "docker.io", "user/team/app", "v1", None, False, True),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None, True, False),
    ("docker.io/user/app", "docker.io", "user/app", "latest", None, True, False),
    ("index.docker.io/busybox", "docker.io", "library/busybox", "latest", None, True, False),
    ("index.docker.io/user/app:1", "docker.io", "user/app", "1", None, False, False),
    ("gcr.io/project/image", "gcr.io", "project/image", "latest", None, True, False),
    ("registry.example.com/a/b/c:tag", "registry.example.com", "a/b/c", "tag", None, False, False),
    ("127.0.0.1:5100/busybox:1.35", "127.0.0.1:5100", "busybox", "1.35", None, False, False),
    ("10.217.255.2:5000/busybox:1.35", "10.217.255.2:5000", "busybox", "1.35", None, False, False),
    ("localhost/foo", "localhost", "foo", "latest", None, True, False),
    ("localhost:5000/foo:1", "localhost:5000", "foo", "1", None, False, False),
    ("registry:5000/foo", "registry:5000", "foo", "latest", None, True, False),
    ("[::1]:5000/foo", "[::1]:5000", "foo", "latest", None, True, False),
    ("[2001:db8::1]/team/app:2", "[2001:db8::1]", "team/app", "2", None, False, False),
    # A single element is never a registry, even with a port-like suffix: it is a tag.
    ("localhost", "docker.io", "library/localhost", "latest", None, True, True),
    ("localhost:5000", "docker.io", "library/localhost", "5000", None, False, True),
    ("example.com", "docker.io", "library/example.com", "latest", None, True, True),
    # An uppercase first element is taken for a registry.
    ("Docker/busybox", "Docker", "busybox", "latest", None, True, False),
    ("EXAMPLE.com/x", "EXAMPLE.com", "x", "latest", None, True, False),
    # A host-shaped first element that is no valid host, but a valid path: no registry at all.
    ("my_registry.local/app", "", "my_registry.local/app", "latest", None, True, False),
    ("busybox@" + SHA256, "docker.io", "library/busybox", None, SHA256, False, True),
    ("busybox:1.35@" + SHA256, "docker.io", "library/busybox", "1.35", SHA256, False, True),
    ("quay.io/a/b@" + SHA512, "quay.io", "a/b", None, SHA512, False, False),
    ("quay.io/a/b@sha384:" + "ab" * 48, "quay.io", "a/b", None, "sha384:" + "ab" * 48, False, False),
    ("a.b/c.d/e_f/g__h/i--j:Tag_1.2-3", "a.b", "c.d/e_f/g__h/i--j", "Tag_1.2-3", None, False, False),
    ("x:" + "a" * 128, "docker.io", "library/x", "a" * 128, None, False, True),
    ("x/" + "a" * 245, "docker.io", "x/" + "a" * 245, "latest", None, True, True),
    # The 255-character limit counts the path only, not the registry.
    ("registry.example.com/" + "a" * 255, "registry.example.com", "a" * 255, "latest", None, True, False),
]


@pytest.mark.parametrize("image, registry, repository, tag, digest, tag_defaulted, registry_defaulted", VALID)
def test_parse_normalizes_like_distribution(image, registry, repository, tag, digest, tag_defaulted,
                                            registry_defaulted):
    ref = parse(image)
    assert (ref.original, ref.registry, ref.repository, ref.tag, ref.digest) == (
        image, registry, repository, tag, digest)
    assert (ref.tag_defaulted, ref.registry_defaulted) == (tag_defaulted, registry_defaulted)


INVALID = [
    ("UPPER/Case:tag", "invalid reference format: repository name (Case) must be lowercase"),
    ("foo/Bar", "invalid reference format: repository name (foo/Bar) must be lowercase"),
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("docker.io/Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("localhost:5000/App:1", "invalid reference format: repository name (App) must be lowercase"),
    # The lowercase check looks at everything before the first colon, digest included.
    ("busybox@SHA256:" + "a" * 64, "invalid reference format: repository name (library/busybox@SHA256) must be lowercase"),
    ("", "invalid reference format"),
    (" ", "invalid reference format"),
    (" busybox", "invalid reference format"),
    ("busybox ", "invalid reference format"),
    ("busybox\n", "invalid reference format"),
    ("busybox:latest\n", "invalid reference format"),
    ("https://registry.example.com/app", "invalid reference format"),
    ("http://localhost:5000/app", "invalid reference format"),
    ("registry.example.com//app", "invalid reference format"),
    ("registry.example.com/app/", "invalid reference format"),
    ("/app", "invalid reference format"),
    ("-app", "invalid reference format"),
    ("app-", "invalid reference format"),
    ("a..b", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("app:", "invalid reference format"),
    ("app:-tag", "invalid reference format"),
    ("app:.tag", "invalid reference format"),
    ("app:t@g", "invalid reference format"),
    ("app:ta\u00e9g", "invalid reference format"),
    ("x:" + "a" * 129, "invalid reference format"),
    ("a:b:c", "invalid reference format"),
    ("registry:port/app", "invalid reference format"),
    ("deislabs:8080:8080/porter-hello:latest", "invalid reference format"),
    ("::1/foo", "invalid reference format"),
    ("[::1/foo", "invalid reference format"),
    ("[fe80::1%25eth0]:5000/foo", "invalid reference format"),
    ("reg_istry.example.com:5000/app", "invalid reference format"),
    ("app@", "invalid reference format"),
    ("app@sha256:", "invalid reference format"),
    ("app@sha256:abc", "invalid reference format"),  # fewer than 32 hex digits
    ("app@latest", "invalid reference format"),
    ("app@" + "a" * 64, "invalid reference format"),
    ("a" * 64, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings" % ("a" * 64)),
    ("x/" + "a" * 254, "repository name must not be more than 255 characters"),
    ("a" * 256, "repository name must not be more than 255 characters"),
    ("app@sha256:" + "a" * 63, "invalid checksum digest length"),
    ("app@sha256:" + "a" * 65, "invalid checksum digest length"),
    ("app@sha512:" + "a" * 64, "invalid checksum digest length"),
    ("app@sha256:" + "A" * 64, "invalid checksum digest format"),
    ("app:1@SHA256:" + "a" * 64, "invalid checksum digest format"),
    ("app@md5:" + "a" * 32, "unsupported digest algorithm"),
    # The KELVIN SIGN lowercases to an ASCII "k", so the lowercased text parses: Go says "uppercase".
    ("busybox:\u212a", "repository name must be lowercase"),
    ("app@sha256+b64:" + "a" * 64, "unsupported digest algorithm"),
]


@pytest.mark.parametrize("image, reason", INVALID)
def test_parse_rejects_with_distributions_reason(image, reason):
    with pytest.raises(InvalidReference) as caught:
        parse(image)
    assert caught.value.reason == reason
    assert str(caught.value) == reason
    assert caught.value.image == image
    assert isinstance(caught.value, ValueError)


def test_invalid_image_reason_is_the_text_of_the_real_kubelet_event():
    """The capture: kubelet 1.36 reports InvalidImageName with distribution's reason."""
    image = capture_pod("invalid-image-name")["spec"]["containers"][0]["image"]
    messages = [e["message"] for e in capture_events("invalid-image-name") if e["reason"] == "InspectFailed"]
    with pytest.raises(InvalidReference) as caught:
        parse(image)
    expected = 'Failed to apply default image tag "%s": couldn\'t parse image name "%s": %s' % (
        image, image, caught.value.reason)
    assert messages == [expected]


def test_every_other_captured_image_parses_and_only_loopback_registries_saw_plain_http():
    """In the captures containerd used https for every registry but loopback ones, where it
    sometimes fell back to http."""
    schemes_seen: dict = {}
    for case in CAPTURES:
        image = capture_pod(case)["spec"]["containers"][0]["image"]
        if case == "invalid-image-name":
            continue
        ref = parse(image)
        assert ref.normalized == image + ("" if ":" in image.rsplit("/", 1)[1] else ":latest")
        for event in capture_events(case):
            used = re.search(r'Head "(https?)://([^/]+)/v2/', event.get("message") or "")
            if used:
                assert used.group(2) == ref.registry
                schemes_seen.setdefault(ref.is_loopback, set()).add(used.group(1))
    assert schemes_seen == {True: {"http", "https"}, False: {"https"}}


@pytest.mark.parametrize("image, normalized, familiar, reference", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest", "latest"),
    ("docker.io/library/busybox:1.35", "docker.io/library/busybox:1.35", "busybox:1.35", "1.35"),
    ("index.docker.io/user/app", "docker.io/user/app:latest", "user/app:latest", "latest"),
    ("library/team/app:1", "docker.io/library/team/app:1", "library/team/app:1", "1"),
    ("busybox@" + SHA256, "docker.io/library/busybox@" + SHA256, "busybox@" + SHA256, SHA256),
    ("busybox:1@" + SHA256, "docker.io/library/busybox:1@" + SHA256, "busybox:1@" + SHA256, SHA256),
    ("localhost:5000/foo", "localhost:5000/foo:latest", "localhost:5000/foo:latest", "latest"),
    ("my_registry.local/app", "my_registry.local/app:latest", "my_registry.local/app:latest", "latest"),
])
def test_normalized_familiar_and_manifest_reference(image, normalized, familiar, reference):
    ref = parse(image)
    assert (ref.normalized, ref.familiar, ref.reference) == (normalized, familiar, reference)


@pytest.mark.parametrize("image, name, api_host, host, port, hub, loopback", [
    ("busybox", "docker.io/library/busybox", "registry-1.docker.io", "docker.io", None, True, False),
    ("gcr.io/p/i", "gcr.io/p/i", "gcr.io", "gcr.io", None, False, False),
    ("127.0.0.1:5100/busybox", "127.0.0.1:5100/busybox", "127.0.0.1:5100", "127.0.0.1", 5100, False, True),
    ("127.8.9.10/x", "127.8.9.10/x", "127.8.9.10", "127.8.9.10", None, False, True),
    ("localhost:5000/foo", "localhost:5000/foo", "localhost:5000", "localhost", 5000, False, True),
    ("localhost/foo", "localhost/foo", "localhost", "localhost", None, False, True),
    ("[::1]:5000/foo", "[::1]:5000/foo", "[::1]:5000", "[::1]", 5000, False, True),
    ("[2001:db8::1]/foo", "[2001:db8::1]/foo", "[2001:db8::1]", "[2001:db8::1]", None, False, False),
    ("10.0.0.1:5000/x", "10.0.0.1:5000/x", "10.0.0.1:5000", "10.0.0.1", 5000, False, False),
    ("localhost.example.com/x", "localhost.example.com/x", "localhost.example.com", "localhost.example.com",
     None, False, False),
    ("my_registry.local/app", "my_registry.local/app", "my_registry.local", "my_registry.local", None, False,
     False),
])
def test_registry_properties(image, name, api_host, host, port, hub, loopback):
    ref = parse(image)
    assert (ref.name, ref.api_host, ref.is_docker_hub, ref.is_loopback) == (name, api_host, hub, loopback)
    assert (ref.host, ref.port) == (host, port)


@pytest.mark.parametrize("registry, expected", [
    ("gcr.io", ("gcr.io", None)),
    ("localhost:5000", ("localhost", 5000)),
    ("[::1]", ("[::1]", None)),
    ("[::1]:443", ("[::1]", 443)),
])
def test_split_registry(registry, expected):
    assert split_registry(registry) == expected


@pytest.mark.parametrize("digest, problem", [
    (SHA256, None),
    (SHA512, None),
    ("sha256", "invalid checksum digest format"),
    (":abc", "invalid checksum digest format"),
    ("sha256:", "invalid checksum digest format"),
    ("sha256:" + "g" * 64, "invalid checksum digest format"),
    ("sha384:" + "a" * 95, "invalid checksum digest length"),
    ("blake3:" + "a" * 64, "unsupported digest algorithm"),
    ("Blake3:" + "a" * 64, "invalid checksum digest format"),
])
def test_digest_problem_follows_go_digest(digest, problem):
    assert digest_problem(digest) == problem


def test_reference_is_a_frozen_value():
    ref = parse("busybox")
    assert ref == parse("busybox") and hash(ref) == hash(parse("busybox"))
    assert ref != parse("docker.io/library/busybox:latest")  # same image, different original text
    with pytest.raises(AttributeError):
        ref.tag = "other"  # type: ignore[misc]


@pytest.mark.parametrize("text", [
    "a" * 5000 + "!",
    "a-" * 3000 + "!",
    "a." * 3000 + "/x!",
    "a/" * 3000 + ":",
    "a__" * 2000 + "___",
    "a.b" * 2000 + "/c!",
    "x@" + "a-" * 2000,
    "a0." * 3000 + ":5000/x!",
])
def test_near_misses_fail_fast(text):
    """distribution's `[-]*` separator would backtrack exponentially in Python's engine."""
    import time

    started = time.perf_counter()
    with pytest.raises(InvalidReference):
        parse(text)
    assert time.perf_counter() - started < 0.5
