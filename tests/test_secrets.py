import base64
import copy
import dataclasses
import json
import pickle
from datetime import datetime, timedelta, timezone

import pytest

from pullcheck.reference import parse
from pullcheck.secrets import (
    DOCKER_CONFIG_JSON_TYPE,
    DOCKERCFG_TYPE,
    ECR_TOKEN_LIFETIME,
    RegistryCredential,
    decode_pull_secret,
    ecr_region,
    ecr_token_expiry,
    is_ecr_host,
    key_mismatch_reason,
    keyring_key,
    mask_key,
    matching_credentials,
    redact_secret,
    registry_key_matches,
)


def b64(text) -> str:
    return base64.b64encode(text if isinstance(text, bytes) else text.encode()).decode()


def auth(user: str, password: str) -> str:
    return b64("%s:%s" % (user, password))


def secret(document, secret_type=DOCKER_CONFIG_JSON_TYPE, key=None, name="pull", namespace="app", raw=None):
    """A Secret as the API returns it."""
    if key is None:
        key = ".dockercfg" if secret_type == DOCKERCFG_TYPE else ".dockerconfigjson"
    payload = raw if raw is not None else b64(json.dumps(document))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "uid": "u-1", "resourceVersion": "7",
                     "creationTimestamp": "2026-11-22T02:00:00Z"},
        "type": secret_type,
        "data": {key: payload},
    }


def config(**entries):
    return {"auths": entries}


def decode(document, **kwargs):
    return decode_pull_secret(secret(document, **kwargs))


def creds(*keys, namespace="app", name="pull"):
    return [RegistryCredential.from_entry(k, "user", "pw", secret="%s/%s" % (namespace, name)) for k in keys]


# --- decoding ------------------------------------------------------------------------------


def test_dockerconfigjson_with_auth_and_with_fields():
    decoded = decode({"auths": {
        "127.0.0.1:5101": {"auth": auth("testuser", "testpass")},
        "https://index.docker.io/v1/": {"username": "bob", "password": "hunter2", "email": "b@x"},
    }})
    assert (decoded.namespace, decoded.name, decoded.type) == ("app", "pull", DOCKER_CONFIG_JSON_TYPE)
    assert decoded.problems == ()
    assert decoded.read_by_kubelet and not decoded.breaks_pulls and decoded.kubelet_error is None
    assert [(c.key, c.username, c.has_password, c.match_key, c.secret) for c in decoded.credentials] == [
        ("127.0.0.1:5101", "testuser", True, "127.0.0.1:5101", "app/pull"),
        ("https://index.docker.io/v1/", "bob", True, "index.docker.io", "app/pull"),
    ]
    assert [c.secret_password() for c in decoded.credentials] == ["testpass", "hunter2"]
    assert decoded.kubelet_credentials == decoded.credentials


def test_dockercfg_is_the_bare_registry_map():
    decoded = decode({"registry.example.com": {"auth": auth("u", "p:with:colons")}}, secret_type=DOCKERCFG_TYPE)
    assert decoded.problems == ()
    (cred,) = decoded.kubelet_credentials
    assert (cred.username, cred.secret_password()) == ("u", "p:with:colons")


def test_auth_wins_over_username_and_password_fields():
    decoded = decode(config(**{"r.io": {"username": "field", "password": "fieldpw", "auth": auth("a", "b")}}))
    (cred,) = decoded.credentials
    assert (cred.username, cred.secret_password()) == ("a", "b")


def test_unpadded_auth_and_newlines_are_accepted_like_go():
    unpadded = auth("user", "pw").rstrip("=")
    assert len(unpadded) % 4
    decoded = decode(config(**{"a.io": {"auth": unpadded}, "b.io": {"auth": "dXNlcjpwYXNz\n"}}))
    assert decoded.problems == ()
    assert [(c.username, c.secret_password()) for c in decoded.credentials] == [("user", "pw"), ("user", "pass")]


def test_go_json_matches_field_names_case_insensitively_and_merges_auths():
    decoded = decode({"Auths": {"a.io": {"Username": "u1", "PASSWORD": "p1"}},
                      "auths": {"b.io": {"AUTH": auth("u2", "p2")}}})
    assert decoded.problems == ()
    assert [(c.key, c.username) for c in decoded.credentials] == [("a.io", "u1"), ("b.io", "u2")]


def test_username_with_empty_password_and_password_only():
    decoded = decode(config(**{"a.io": {"auth": b64("user:")}, "b.io": {"password": "p"}}))
    assert [(c.username, c.has_password) for c in decoded.credentials] == [("user", False), (None, True)]
    assert decoded.problems == ()


def test_non_utf8_auth_bytes_survive_for_the_probe():
    decoded = decode(config(**{"a.io": {"auth": base64.b64encode(b"us\xe9r:p\xffw").decode()}}))
    (cred,) = decoded.credentials
    assert cred.secret_password().encode("utf-8", "surrogateescape") == b"p\xffw"


@pytest.mark.parametrize("secret_type", ["Opaque", "kubernetes.io/opaque", "kubernetes.io/basic-auth"])
def test_wrong_type_is_ignored_by_the_kubelet_but_still_shows_its_registries(secret_type):
    decoded = decode(config(**{"r.io": {"auth": auth("u", "p")}}), secret_type=secret_type)
    assert decoded.problems == ("wrong type %s (the kubelet ignores it)" % secret_type,)
    assert not decoded.read_by_kubelet and not decoded.breaks_pulls
    assert [c.key for c in decoded.credentials] == ["r.io"]
    assert decoded.kubelet_credentials == ()


def test_wrong_type_without_docker_config_data():
    raw = {"metadata": {"name": "tls", "namespace": "app"}, "type": "kubernetes.io/tls",
           "data": {"tls.crt": b64("cert"), "tls.key": b64("key")}}
    decoded = decode_pull_secret(raw)
    assert decoded.problems == ("wrong type kubernetes.io/tls (the kubelet ignores it)",)
    assert decoded.credentials == ()


def test_missing_type():
    decoded = decode_pull_secret({"metadata": {"name": "x"}, "data": {}})
    assert decoded.problems == ("wrong type (none) (the kubelet ignores it)",)


@pytest.mark.parametrize("data, problem", [
    ({}, "data key .dockerconfigjson is missing (the kubelet ignores the secret)"),
    ({".dockercfg": b64("{}")}, "data key .dockerconfigjson is missing (the kubelet ignores the secret)"),
    ({".dockerconfigjson": ""}, "data key .dockerconfigjson is empty (the kubelet ignores the secret)"),
])
def test_missing_or_empty_data_key_makes_the_kubelet_skip_the_secret(data, problem):
    decoded = decode_pull_secret({"metadata": {"name": "s", "namespace": "n"}, "type": DOCKER_CONFIG_JSON_TYPE,
                                  "data": data})
    assert decoded.problems == (problem,)
    assert not decoded.read_by_kubelet and not decoded.breaks_pulls and decoded.credentials == ()


def test_data_value_that_is_not_base64():
    decoded = decode(None, raw="not base64!")
    assert decoded.problems == ("data key .dockerconfigjson is not valid base64",)
    assert decoded.credentials == () and not decoded.breaks_pulls


@pytest.mark.parametrize("raw_json, problem", [
    (b"{not json", "data key .dockerconfigjson is not valid JSON (Expecting property name enclosed in double quotes)"),
    (b"", None),  # empty: handled as empty data, see above
    (b'{"auths": {"a.io": {"auth": NaN}}}', "data key .dockerconfigjson is not valid JSON (NaN is not JSON)"),
    (b"\xef\xbb\xbf{}", "data key .dockerconfigjson is not valid JSON (Unexpected UTF-8 BOM (decode using utf-8-sig))"),
    (b"[1, 2]", "data key .dockerconfigjson is not a JSON object"),
    (b'"text"', "data key .dockerconfigjson is not a JSON object"),
    (b'{"auths": []}', "auths is not a JSON object"),
    (b'{"auths": {}, "HttpHeaders": {"X": 1}}', "HttpHeaders is not a JSON object of strings"),
])
def test_documents_the_kubelet_cannot_decode_break_every_pull(raw_json, problem):
    decoded = decode(None, raw=b64(raw_json))
    if problem is None:
        assert not decoded.read_by_kubelet
        return
    assert problem in decoded.problems
    assert decoded.read_by_kubelet and decoded.breaks_pulls
    assert decoded.kubelet_credentials == ()


@pytest.mark.parametrize("document, problem", [
    ({}, "no auths"),
    ({"auths": {}}, "no auths"),
    ({"auths": None}, "no auths"),
    (None, "no auths"),
    ({"Auths": {"r.io": {"auth": auth("u", "p")}}, "auths": None}, "no auths"),  # null resets Go's map
    ({"registry.example.com": {"auth": auth("u", "p")}},
     'no auths (its top level looks like .dockercfg registry entries; put them under "auths")'),
])
def test_no_auths_is_a_finding_not_an_error(document, problem):
    decoded = decode(document)
    assert decoded.problems == (problem,)
    assert decoded.read_by_kubelet and not decoded.breaks_pulls and decoded.credentials == ()


def test_empty_dockercfg():
    decoded = decode({}, secret_type=DOCKERCFG_TYPE)
    assert decoded.problems == ("no registry entries",)


def test_config_json_content_in_a_dockercfg_secret():
    decoded = decode(config(**{"r.io": {"auth": auth("u", "p")}}), secret_type=DOCKERCFG_TYPE)
    assert [c.key for c in decoded.credentials] == ["auths"]
    assert "entry for auths has no credentials (no username, password or auth)" in decoded.problems
    assert any("looks like a config.json" in p for p in decoded.problems)


def test_docker_desktop_config_with_a_credential_store():
    decoded = decode({"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"})
    assert decoded.problems == (
        "the config names a credential helper (credsStore/credHelpers), which the kubelet does not "
        "run: it reads only auths",
        "entry for https://index.docker.io/v1/ has no credentials (no username, password or auth)",
    )
    (cred,) = decoded.kubelet_credentials  # the kubelet still offers the empty credential
    assert (cred.username, cred.has_password) == (None, False)


@pytest.mark.parametrize("entry, problems", [
    ({}, ["entry for r.io has no credentials (no username, password or auth)"]),
    (None, ["entry for r.io has no credentials (no username, password or auth)"]),
    ({"auth": ""}, ["entry for r.io has no credentials (no username, password or auth)"]),
    ({"identitytoken": "tok"}, ["entry for r.io has identitytoken, which the kubelet ignores",
                                "entry for r.io has no credentials (no username, password or auth)"]),
    ({"username": "u", "password": "p", "registrytoken": "t"},
     ["entry for r.io has registrytoken, which the kubelet ignores"]),
])
def test_entries_without_usable_credentials(entry, problems):
    decoded = decode(config(**{"r.io": entry}))
    assert list(decoded.problems) == problems
    assert not decoded.breaks_pulls and len(decoded.credentials) == 1


@pytest.mark.parametrize("entry, problem, kubelet_error", [
    ({"auth": "!!!"}, "entry for r.io: auth is not valid base64 (kubelet: illegal base64 data at input byte 0)",
     "illegal base64 data at input byte 0"),
    ({"auth": "dXNlcjpw="}, "entry for r.io: auth is not valid base64 (kubelet: illegal base64 data at input byte 8)",
     "illegal base64 data at input byte 8"),
    ({"auth": "dXNl cjpw"}, "entry for r.io: auth is not valid base64 (kubelet: illegal base64 data at input byte 4)",
     "illegal base64 data at input byte 4"),
    ({"auth": "dXNlcjpwYXNz-_"},
     "entry for r.io: auth is not valid base64 (kubelet: illegal base64 data at input byte 12)",
     "illegal base64 data at input byte 12"),
    ({"auth": b64("no-colon-here")},
     "entry for r.io: auth does not decode to username:password (kubelet: unable to parse auth field, must be "
     "formatted as base64(username:password))",
     "unable to parse auth field, must be formatted as base64(username:password)"),
    ({"username": 7}, "entry for r.io: username is not a string", None),
    ({"Password": ["p"]}, "entry for r.io: password is not a string", None),
    ("user:pass", "entry for r.io is not a JSON object", None),
    ([], "entry for r.io is not a JSON object", None),
])
def test_malformed_entries_break_every_pull_with_the_kubelets_error(entry, problem, kubelet_error):
    decoded = decode(config(**{"r.io": entry, "ok.io": {"auth": auth("u", "p")}}))
    assert decoded.problems == (problem,)
    assert decoded.breaks_pulls and decoded.kubelet_error == kubelet_error
    assert [c.key for c in decoded.credentials] == ["ok.io"]
    assert decoded.kubelet_credentials == ()


def test_the_first_broken_entry_is_the_error_the_kubelet_reports():
    decoded = decode(config(**{"a.io": {"auth": b64("nocolon")}, "b.io": {"auth": "!!"}}))
    assert decoded.kubelet_error == "unable to parse auth field, must be formatted as base64(username:password)"
    assert len(decoded.problems) == 2


def test_a_wrong_type_secret_with_a_broken_entry_does_not_break_pulls():
    decoded = decode(config(**{"r.io": {"auth": "!!!"}}), secret_type="Opaque")
    assert not decoded.breaks_pulls and decoded.kubelet_error is None
    assert len(decoded.problems) == 2


@pytest.mark.parametrize("key", ["registry example.com", "host:abc", "https://[::1", "https://user:pa ss@reg.io",
                                 "reg.io/%zz"])
def test_keys_go_cannot_parse_are_skipped_by_the_kubelet(key):
    decoded = decode(config(**{key: {"auth": auth("u", "p")}}))
    (cred,) = decoded.credentials
    assert cred.match_key is None
    assert decoded.problems == ("key %s is not a valid URL (the kubelet ignores this entry)" % mask_key(key),)
    assert not decoded.breaks_pulls
    assert matching_credentials(parse("registry.example.com/x"), decoded.credentials) == []
    assert cred.mismatch_reason(parse("busybox")) == "the kubelet ignores this key: it is not a valid URL"


# --- keyring keys and matching ---------------------------------------------------------------


@pytest.mark.parametrize("key, expected", [
    ("registry.example.com", "registry.example.com"),
    ("https://registry.example.com", "registry.example.com"),
    ("http://registry.example.com/", "registry.example.com"),
    ("registry.example.com/", "registry.example.com"),
    ("https://index.docker.io/v1/", "index.docker.io"),
    ("index.docker.io/v1/", "index.docker.io"),
    ("https://registry.example.com/v2/", "registry.example.com"),
    ("registry.example.com/v2/team", "registry.example.com/team"),
    ("registry.example.com/v1", "registry.example.com/v1"),  # only "/v1/" is dropped
    ("registry.example.com/team/", "registry.example.com/team/"),
    ("registry.example.com:5000/team?x=1#frag", "registry.example.com:5000/team"),
    ("https://user:secret@registry.example.com/team", "registry.example.com/team"),
    ("[::1]:5000", "[::1]:5000"),
    ("HTTPS://registry.example.com", "HTTPS://registry.example.com"),  # the scheme test is case-sensitive
    ("reg.io/a%20b", "reg.io/a b"),
    ("registry example.com", None),
    ("host:abc", None),
])
def test_keyring_key(key, expected):
    assert keyring_key(key) == expected


# (key as written, image, matches)
MATCHES = [
    # Docker Hub: the kubelet's aliases.
    ("https://index.docker.io/v1/", "busybox", True),
    ("https://index.docker.io/v1/", "docker.io/library/busybox", True),
    ("https://index.docker.io/v1/", "index.docker.io/user/app", True),
    ("index.docker.io", "user/app:1", True),
    ("index.docker.io/v1/", "busybox", True),
    ("docker.io", "busybox", True),
    ("https://docker.io", "index.docker.io/library/busybox", True),
    ("docker.io/library", "busybox", True),
    ("docker.io/user", "busybox", False),
    ("registry-1.docker.io", "busybox", False),  # Docker's API host is no key the kubelet matches
    ("https://index.docker.io/v1/", "quay.io/app", False),
    ("docker.io", "quay.io/app", False),
    ("quay.io", "busybox", False),
    # Globs, per dot-separated label.
    ("*.example.com", "a.example.com/app", True),
    ("*.example.com", "a.b.example.com/app", False),
    ("*.example.com", "example.com/app", False),
    ("*.*.example.com", "a.b.example.com/app", True),
    ("*.example.com", "a.example.com:5000/app", False),
    ("a*.example.com", "abc.example.com/x", True),
    ("a[b-c].example.com", "ab.example.com/x", True),
    ("a[^b-c].example.com", "ab.example.com/x", False),
    ("a[b-.example.com", "ab.example.com/x", False),  # malformed glob: no match
    ("reg?stry.example.com", "registry.example.com/x", False),  # for url.Parse "?" starts a query
    ("[a-c].example.com", "b.example.com/x", False),  # url.Parse rejects it (an IPv6 literal gone wrong)
    # Ports.
    ("registry.example.com:5000", "registry.example.com:5000/app", True),
    ("registry.example.com:5000", "registry.example.com/app", False),
    ("registry.example.com", "registry.example.com:5000/app", False),
    ("registry.example.com:443", "registry.example.com/app", False),
    ("127.0.0.1:5101", "127.0.0.1:5101/private/busybox:1.35", True),
    ("localhost:5000", "localhost:5000/foo", True),
    ("[::1]:5000", "[::1]:5000/foo", True),
    # Paths: a plain string prefix.
    ("registry.example.com/team", "registry.example.com/team/app", True),
    ("registry.example.com/team", "registry.example.com/team", True),
    ("registry.example.com/team", "registry.example.com/team-b/app", True),
    ("registry.example.com/team", "registry.example.com/other/app", False),
    ("registry.example.com/team/", "registry.example.com/team/app", True),
    ("registry.example.com/team/", "registry.example.com/team", False),
    ("https://registry.example.com/v2/team", "registry.example.com/team/app", True),
    # Schemes and trailing slashes.
    ("https://registry.example.com", "registry.example.com/app", True),
    ("http://registry.example.com/", "registry.example.com/app", True),
    ("https://registry.example.com/v2/", "registry.example.com/app", True),
    ("HTTPS://registry.example.com", "registry.example.com/app", False),
    # Case: hosts compare exactly.
    ("Registry.Example.com", "registry.example.com/app", False),
    ("EXAMPLE.com", "EXAMPLE.com/app", True),
    # ECR.
    ("https://123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
     True),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", False),
]


@pytest.mark.parametrize("key, image, matches", MATCHES)
def test_registry_key_matches(key, image, matches):
    ref = parse(image)
    assert registry_key_matches(key, ref) is matches
    assert (key_mismatch_reason(key, ref) is None) is matches
    (cred,) = creds(key)
    assert (cred.mismatch_reason(ref) is None) is matches
    assert (matching_credentials(ref, [cred]) == [cred]) is matches


@pytest.mark.parametrize("key, image, reason", [
    ("registry.example.com:5000", "registry.example.com/app", "port 5000 differs from the image's (none)"),
    ("registry.example.com", "registry.example.com:5000/app", "port (none) differs from the image's 5000"),
    ("*.example.com", "a.b.example.com/app",
     "host *.example.com has 3 dot-separated labels, the image's host a.b.example.com has 4"),
    ("registry.example.com/team", "registry.example.com/other/app",
     "path /team is not a prefix of the image's path /other/app"),
    ("registry.example.org", "registry.example.com/app", "host label 'org' does not match 'com'"),
    ("https://index.docker.io/v1/", "quay.io/app", "index.docker.io credentials are used only for Docker Hub images"),
    ("host:abc", "busybox", "the kubelet ignores this key: it is not a valid URL"),
])
def test_key_mismatch_reasons(key, image, reason):
    assert key_mismatch_reason(key, parse(image)) == reason


def test_matches_come_most_specific_first_in_reverse_lexicographic_order():
    offered = creds("quay.io", "quay.io/team", "quay.io/team/app", "quay.io/other")
    ordered = matching_credentials(parse("quay.io/team/app:1"), offered)
    assert [c.key for c in ordered] == ["quay.io/team/app", "quay.io/team", "quay.io"]


def test_a_literal_host_comes_before_a_glob():
    offered = creds("*.example.com", "a.example.com")
    assert [c.key for c in matching_credentials(parse("a.example.com/x"), offered)] == ["a.example.com",
                                                                                           "*.example.com"]


def test_all_matches_are_kept_including_the_same_key_from_several_secrets_in_pod_order():
    first = creds("https://registry.example.com", name="first")
    second = creds("registry.example.com/", name="second")
    third = creds("registry.example.com/team", name="third")
    ordered = matching_credentials(parse("registry.example.com/team/app"), first + second + third)
    assert [c.secret for c in ordered] == ["app/third", "app/first", "app/second"]


def test_docker_hub_key_is_used_only_when_nothing_else_matched():
    offered = creds("https://index.docker.io/v1/", "docker.io")
    assert [c.key for c in matching_credentials(parse("busybox"), offered)] == ["docker.io"]
    only_hub = creds("https://index.docker.io/v1/", "index.docker.io")
    assert [c.key for c in matching_credentials(parse("busybox"), only_hub)] == [
        "https://index.docker.io/v1/", "index.docker.io"]


def test_docker_hub_fallback_also_covers_registries_without_a_dot_or_port():
    """The kubelet's isDefaultRegistryMatch looks for '.' or ':' only, so localhost counts."""
    offered = creds("https://index.docker.io/v1/")
    assert matching_credentials(parse("localhost/foo"), offered) == offered
    assert matching_credentials(parse("localhost:5000/foo"), offered) == []


def test_no_credentials_no_match():
    assert matching_credentials(parse("busybox"), []) == []


# --- ECR -------------------------------------------------------------------------------------


def ecr_token(expiration) -> str:
    """An ECR password as `aws ecr get-login-password` prints it."""
    document = {"payload": b64(b"\x01" * 96), "datakey": b64(b"\x02" * 64), "version": "2",
                "type": "DATA_KEY", "expiration": expiration}
    return b64(json.dumps(document, separators=(",", ":")))


@pytest.mark.parametrize("host, region", [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
    ("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/", "eu-west-1"),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com:443", "eu-west-1"),
    ("123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM", "us-east-1"),
    ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"),
    ("123456789012.dkr-ecr.us-east-1.on.aws", "us-east-1"),
    ("12345678901.dkr.ecr.us-east-1.amazonaws.com", None),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.io", None),
    ("public.ecr.aws", None),
    ("gcr.io", None),
])
def test_ecr_hosts(host, region):
    assert ecr_region(host) == region
    assert is_ecr_host(host) is (region is not None)


def test_ecr_token_expiry_read_from_a_realistic_token():
    issued = datetime(2026, 11, 22, 2, 0, 0, tzinfo=timezone.utc)
    expires = issued + ECR_TOKEN_LIFETIME
    token = ecr_token(int(expires.timestamp()))
    assert token.startswith("eyJwYXlsb2FkIjoi")  # what real tokens start with
    assert ecr_token_expiry(token) == expires
    assert ecr_token_expiry(token.rstrip("=")) == expires


@pytest.mark.parametrize("password", ["hunter2", "", b64("not json"), b64("[1]"), ecr_token("soon"),
                                      ecr_token(True), b64('{"payload": "x"}'), ecr_token(10 ** 20)])
def test_passwords_that_are_no_ecr_tokens(password):
    assert ecr_token_expiry(password) is None


def test_ecr_credential_in_a_secret_carries_its_expiry():
    expires = datetime(2026, 11, 22, 14, 0, 0, tzinfo=timezone.utc)
    host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    decoded = decode(config(**{"https://" + host: {"auth": auth("AWS", ecr_token(int(expires.timestamp())))}}))
    (cred,) = decoded.credentials
    assert (cred.username, cred.expires_at) == ("AWS", expires)
    assert not cred.expired(expires - timedelta(minutes=1))
    assert cred.expired(expires)
    assert matching_credentials(parse(host + "/app:1"), decoded.kubelet_credentials) == [cred]
    plain = decode(config(**{"r.io": {"auth": auth("u", "p")}})).credentials[0]
    assert plain.expires_at is None and not plain.expired(expires)


# --- redaction and secrecy --------------------------------------------------------------------

SENTINELS = ["S3NT1NEL-PASSWORD", "KEYPASSWORD9", "IDTOKEN-XYZ", "REGTOKEN-XYZ"]


def leaky_secrets():
    """Secrets in every shape, each holding secret values that must never come out again."""
    pw = SENTINELS[0]
    ecr = ecr_token(2000000000)
    documents = [
        config(**{"r.io": {"auth": auth("alice", pw)}}),
        config(**{"r.io": {"username": "alice", "password": pw, "identitytoken": SENTINELS[2]}}),
        config(**{"https://alice:%s@r.io/team" % SENTINELS[1]: {"password": pw, "registrytoken": SENTINELS[3]}}),
        config(**{"r.io": {"auth": auth("alice", pw)}, "bad.io": {"auth": b64("nocolon" + pw)}}),
        config(**{"r.io": {"auth": auth("alice", pw)}, "bad.io": {"auth": pw + "!"}}),
        config(**{"123456789012.dkr.ecr.us-east-1.amazonaws.com": {"auth": auth("AWS", ecr)}}),
        {"r.io": {"auth": auth("alice", pw)}},
    ]
    made = [secret(d) for d in documents]
    made.append(secret(documents[6], secret_type=DOCKERCFG_TYPE))
    made.append(secret(documents[0], secret_type="Opaque"))
    made.append(secret(None, raw=b64('{"auths": {"r.io": {"auth": "%s"' % auth("a", pw))))  # broken JSON
    opaque = secret(None, secret_type="Opaque", key="password", raw=b64(pw))
    opaque["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(opaque)}
    opaque["metadata"]["managedFields"] = [{"fieldsV1": {"f:data": {"f:password": {}}}}]
    opaque["stringData"] = {"password": pw}
    made.append(opaque)
    return made, [pw, ecr] + SENTINELS


def forbidden_fragments(raw_secret, values):
    fragments = set(values)
    for value in values:
        fragments.add(b64(value))
        fragments.add(auth("alice", value))
        fragments.add(auth("AWS", value))
    fragments.update(v for v in (raw_secret.get("data") or {}).values() if len(v) > 8)
    return fragments


def test_no_secret_value_appears_in_any_output():
    made, values = leaky_secrets()
    images = [parse("r.io/team/app"), parse("busybox"), parse("123456789012.dkr.ecr.us-east-1.amazonaws.com/x")]
    for raw_secret in made:
        decoded = decode_pull_secret(raw_secret)
        redacted = redact_secret(raw_secret)
        outputs = [repr(decoded), str(decoded), repr(dataclasses.asdict(decoded)), json.dumps(redacted),
                   repr(decode_pull_secret(redacted)), repr(copy.deepcopy(decoded))]
        for cred in decoded.credentials:
            outputs += [repr(cred), str(cred), repr(dataclasses.asdict(cred)), repr(vars(cred)),
                        repr(dataclasses.replace(cred)), repr(copy.copy(cred))]
            outputs += [str(cred.mismatch_reason(image)) for image in images]
            outputs += [repr(matching_credentials(image, [cred])) for image in images]
        text = "\n".join(outputs)
        fragments = forbidden_fragments(raw_secret, values)
        assert any(fragment in json.dumps(raw_secret) for fragment in fragments)  # the check has teeth
        for fragment in fragments:
            assert fragment not in text, (fragment, raw_secret["metadata"])


def test_the_sentinels_really_are_in_the_inputs():
    """Guards the test above: it would pass vacuously if the values never got decoded."""
    made, _ = leaky_secrets()
    passwords = {c.secret_password() for s in made for c in decode_pull_secret(s).credentials}
    assert SENTINELS[0] in passwords


def test_secret_values_cannot_be_pickled():
    (cred,) = creds("r.io")
    with pytest.raises(TypeError):
        pickle.dumps(cred)
    assert copy.deepcopy(cred).secret_password() == "pw"


def test_equality_ignores_the_password():
    a = RegistryCredential.from_entry("r.io", "u", "one")
    b = RegistryCredential.from_entry("r.io", "u", "two")
    assert a == b and hash(a) == hash(b)
    assert "password" not in {f.name for f in dataclasses.fields(a)}


def test_userinfo_in_a_key_is_masked():
    assert mask_key("https://alice:pw@r.io/team") == "https://***@r.io/team"
    assert mask_key("alice@r.io") == "***@r.io"
    assert mask_key("r.io/team@x") == "r.io/team@x"
    assert mask_key("r.io") == "r.io"


def test_redact_keeps_identity_and_registries_only():
    raw = secret(config(**{"r.io": {"auth": auth("alice", "pw")}, "https://index.docker.io/v1/": {}}))
    raw["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
    raw["metadata"]["labels"] = {"team": "a"}
    raw["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    assert redact_secret(raw) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "pull", "namespace": "app", "uid": "u-1", "creationTimestamp": "2026-11-22T02:00:00Z"},
        "type": DOCKER_CONFIG_JSON_TYPE,
        "redactedBy": "kubectl-pullcheck",
        "dataKeys": [".dockerconfigjson"],
        "registries": [
            {"key": "r.io", "username": "alice", "hasPassword": True, "keyValid": True, "expiresAt": None},
            {"key": "https://index.docker.io/v1/", "username": None, "hasPassword": False, "keyValid": True,
             "expiresAt": None},
        ],
        "problems": ["entry for https://index.docker.io/v1/ has no credentials (no username, password or auth)"],
        "readByKubelet": True,
        "breaksPulls": False,
        "kubeletError": None,
    }


def test_redact_an_unrelated_secret():
    raw = {"metadata": {"name": "db", "namespace": "app"}, "type": "Opaque",
           "data": {"password": b64("x"), "user": b64("y")}}
    assert redact_secret(raw) == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "app"},
                                  "type": "Opaque", "redactedBy": "kubectl-pullcheck", "dataKeys": ["password", "user"]}


def test_a_redacted_secret_decodes_to_the_same_findings_without_passwords():
    expires = datetime(2026, 11, 22, 14, 0, 0, tzinfo=timezone.utc)
    raw = secret(config(**{
        "123456789012.dkr.ecr.us-east-1.amazonaws.com": {"auth": auth("AWS", ecr_token(int(expires.timestamp())))},
        "host:abc": {"auth": auth("u", "p")},
        "bad.io": {"auth": b64("nocolon")},
    }))
    original = decode_pull_secret(raw)
    saved = json.loads(json.dumps(redact_secret(raw)))
    replayed = decode_pull_secret(saved)
    assert replayed.redacted and not original.redacted
    assert replayed.credentials == original.credentials  # key, username, has_password, match_key, expiry
    assert [c.secret_password() for c in replayed.credentials] == ["", ""]
    assert (replayed.problems, replayed.read_by_kubelet, replayed.breaks_pulls, replayed.kubelet_error) == (
        original.problems, original.read_by_kubelet, original.breaks_pulls, original.kubelet_error)
    assert redact_secret(saved) == saved
