"""Tests for the error-pattern matrix: pullcheck.matrix and pullcheck.matrix_data."""
from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest

from pullcheck import matrix_data
from pullcheck.matrix import CAUSES, Candidate, Classification, classify, matrix_row

DATA = Path(__file__).parent / "data"
CAPTURES = DATA / "kubelet-1.36-containerd-1.6"
REGISTRY_PRODUCTS = {"ecr", "acr", "gcr", "artifact-registry", "ghcr", "quay", "dockerhub", "harbor"}
# containers/image wording is shared by CRI-O, podman and skopeo
RUNTIME_FAMILY = {"podman": "cri-o", "skopeo": "cri-o"}


def _load_corpus():
    rows = []
    for number, line in enumerate((DATA / "message_corpus.tsv").read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#") or line.startswith("cause\t"):
            continue
        cause, runtime, registry, source, message = line.split("\t")
        rows.append((number, cause, runtime, registry, source, message.replace("\\n", "\n")))
    return rows


CORPUS = _load_corpus()


def _corpus_message(fragment):
    """The one corpus message containing ``fragment``."""
    found = [message for _, _, _, _, _, message in CORPUS if fragment in message]
    assert len(found) == 1, (fragment, len(found))
    return found[0]


# ---- the corpus ----------------------------------------------------------------------------------

@pytest.mark.parametrize("number, cause, runtime, registry, source, message", CORPUS,
                         ids=[f"line{row[0]}-{row[1]}" for row in CORPUS])
def test_corpus_line(number, cause, runtime, registry, source, message):
    result = classify(message)
    assert result.cause == cause, (result.rule, result.matched)
    assert result.row.cause == cause
    if result.runtime is not None and runtime != "kubelet":
        assert result.runtime == RUNTIME_FAMILY.get(runtime, runtime)
    if registry in REGISTRY_PRODUCTS and "registry" in result.details:
        assert result.details["registry"] == registry
    if cause != "unknown":
        assert result.matched and (result.matched in message or result.matched in message.replace('\\"', '"'))


def test_corpus_covers_every_cause_runtime_and_registry():
    assert len(CORPUS) >= 80
    assert {row[1] for row in CORPUS} == set(CAUSES)
    assert {"containerd", "cri-o", "docker", "kubelet"} <= {row[2] for row in CORPUS}
    assert REGISTRY_PRODUCTS <= {row[3] for row in CORPUS}
    for _, _, _, _, source, _ in CORPUS:
        assert source == "TEST-ENV.md" or source.startswith(("https://", "tests/data/")), source
        if source.startswith("tests/data/"):
            assert (Path(__file__).parent.parent / source).is_file()


def test_corpus_holds_every_kubelet_message_of_the_captures():
    corpus_messages = {row[5] for row in CORPUS}
    captured = set()
    for events in CAPTURES.glob("*/events.json"):
        captured |= {event["message"] for event in json.loads(events.read_text())["items"]
                     if event.get("reportingComponent") == "kubelet"}
    for pod in CAPTURES.glob("*/pod.json"):
        for status in json.loads(pod.read_text())["status"].get("containerStatuses", []):
            message = (status["state"].get("waiting") or {}).get("message")
            if message:
                captured.add(message)
    assert captured and captured <= corpus_messages


# ---- the rows ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cause, rule, likelihood, split, action, success, time", [
    ("image-not-found", "repository-does-not-exist", "typo 80% / missing 20%", (("typo", 80), ("missing", 20)),
     "Verify name in registry UI", 95, "2-5 min"),
    ("tag-not-found", "manifest-not-found", "wrong tag 70% / deleted 30%", (("wrong tag", 70), ("deleted", 30)),
     "Check available tags", 90, "3-7 min"),
    ("auth-or-not-found", "pull-access-denied", "auth 85% / network 15%", (("auth", 85), ("network", 15)),
     "Verify imagePullSecrets", 85, "5-15 min"),
    ("rate-limited", "toomanyrequests", "rate limiting 100%", (("rate limiting", 100),),
     "Authenticate or use mirrors", 80, "10-30 min"),
    ("network-timeout", "dial-tcp-timeout", "network 100%", (("network", 100),), "Test connectivity", 70, "15-60 min"),
])
def test_seed_rows(cause, rule, likelihood, split, action, success, time):
    row = matrix_row(cause)
    assert (row.likelihood, row.split, row.immediate_action, row.success_rate, row.time_to_resolution) == (
        likelihood, split, action, success, time)
    assert any(spec["id"] == rule and spec["cause"] == cause and "row" not in spec for spec in matrix_data.RULES)


@pytest.mark.parametrize("fragment, rule", [
    ("unknown: repository hub/library/busybox not found", "repository-does-not-exist"),
    ("manifest for lachlanevenson/k8s-kubectl:v1.18.20 not found", "manifest-not-found"),
    ("pull access denied for rmeuser-auth", "pull-access-denied"),
    ("registry-1.docker.io/v2/library/centos/manifests", "toomanyrequests"),
    ('Back-off pulling image "10.217.255.2:5000/busybox:1.35": ErrImagePull', "dial-tcp-timeout"),
])
def test_seed_rows_reach_real_messages(fragment, rule):
    result = classify(_corpus_message(fragment))
    assert result.rule == rule and result.row == matrix_row(result.cause)


def test_every_cause_has_a_consistent_default_row():
    for cause in CAUSES:
        row = matrix_row(cause)
        assert row.cause == cause and row.title and row.family and row.immediate_action
        assert sum(percent for _, percent in row.split) == 100
        assert row.likelihood == " / ".join(f"{name} {percent}%" for name, percent in row.split)
        assert 0 <= row.success_rate <= 100
    with pytest.raises(ValueError):
        matrix_row("no-such-cause")


def test_rule_can_override_its_row():
    result = classify(_corpus_message("smartsitealfaacr.azurecr.io/aem6.5"))
    assert (result.cause, result.rule) == ("auth-missing", "acr-unauthorized")
    assert "attach-acr" in result.row.immediate_action
    assert result.row.title == matrix_row("auth-missing").title
    assert result.row.immediate_action != matrix_row("auth-missing").immediate_action


def test_rule_table_is_well_formed():
    ids = [spec["id"] for spec in matrix_data.RULES] + [spec["id"] for spec in matrix_data.GRPC_FALLBACK_RULES.values()]
    assert len(ids) == len(set(ids))
    for spec in list(matrix_data.RULES) + list(matrix_data.GRPC_FALLBACK_RULES.values()):
        assert spec["cause"] in CAUSES and spec["cause"] != "unknown"
        assert spec.get("runtime") in (None, "containerd", "cri-o", "docker")
        if "pattern" in spec:
            re.compile(spec["pattern"])
        if "candidates" in spec:
            causes = [cause for cause, _ in matrix_data.CANDIDATE_SETS[spec["candidates"]]]
            if spec["cause"] == "auth-or-not-found":     # it stands for "one of these"
                assert "auth-or-not-found" not in causes and len(causes) > 1
            else:
                assert causes[0] == spec["cause"]
        assert set(spec.get("row", {})) <= set(matrix_data.DEFAULT_ROWS[spec["cause"]])
    for pairs in matrix_data.CANDIDATE_SETS.values():
        assert sum(likelihood for _, likelihood in pairs) == 100
        assert all(cause in CAUSES for cause, _ in pairs)
    assert set(matrix_data.DEFAULT_ROWS) == set(CAUSES) == set(matrix_data.CHECKS)
    assert set(matrix_data.AGGREGATE_PREFERENCE) == set(CAUSES)


# ---- rule order ----------------------------------------------------------------------------------

def _rule_index(rule_id):
    return [spec["id"] for spec in matrix_data.RULES].index(rule_id)


@pytest.mark.parametrize("earlier, later", [
    ("platform-mismatch", "containerd-reference-not-found"),
    ("platform-mismatch", "manifest-not-found"),
    ("dns-no-such-host", "containerd-reference-not-found"),
    ("dns-lookup-failed", "manifest-not-found"),
    ("proxyconnect", "dns-lookup-failed"),
    ("dns-lookup-failed", "connection-refused"),
    ("dns-lookup-failed", "io-timeout"),
    ("no-basic-auth-credentials", "pull-access-denied"),
    ("ecr-token-expired", "pull-access-denied"),
    ("token-server-error", "anonymous-token-denied"),
    ("tls-handshake-timeout", "tls-error"),
    ("dns-server-misbehaving", "http-5xx"),
    ("name-unknown", "repository-does-not-exist"),
    ("pull-access-denied", "repository-does-not-exist"),
])
def test_rule_order(earlier, later):
    assert _rule_index(earlier) < _rule_index(later)


@pytest.mark.parametrize("fragment, cause, rule", [
    # containerd's platform mismatch ends in ": not found" but is no missing tag
    ("v1-arm64only\": no match for platform in manifest: not found", "platform-mismatch", "platform-mismatch"),
    # a DNS failure inside "failed to resolve reference" is DNS, not a missing reference
    ("busybox/manifests/latest\": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53", "dns", "dns-no-such-host"),
    # the proxy's own DNS failure is a proxy problem
    ("proxyconnect tcp: dial tcp: lookup http", "proxy", "proxyconnect"),
    # "connection refused" and "i/o timeout" while talking to the DNS server are DNS problems
    ("read udp 192.168.64.6:43004->192.168.64.1:53: read: connection refused", "dns", "dns-lookup-failed"),
    ("read udp 192.168.49.2:48049->192.168.49.1:53: i/o timeout", "dns", "dns-lookup-failed"),
    # the docker daemon wraps a DNS error in its own HTTP 500
    ("k8s.gcr.io/v2/: dial tcp: lookup k8s.gcr.io on 192.168.49.1", "dns", "dns-lookup-failed"),
    # "pull access denied" with a specific reason behind it
    ("denied: Your authorization token has expired", "auth-rejected", "ecr-token-expired"),
    # a token server that is down is no auth problem, nor is an unreachable one
    ("failed to fetch anonymous token: unexpected status: 503", "registry-error", "token-server-error"),
    ("dial tcp 199.59.149.230:443: connect: connection refused", "connection-refused", "connection-refused"),
    ("failed to fetch anonymous token: Get \"https://auth.docker.io/token?scope=repository%!A", "network-timeout",
     "dial-tcp-timeout"),
    ('Back-off pulling image "127.0.0.1:5102/busybox:1.35": ErrImagePull', "network-timeout",
     "tls-handshake-timeout"),
    ("ctr: failed to resolve reference \"127.0.0.1:5000/test/hello:nope\"", "tag-not-found",
     "containerd-reference-not-found"),
])
def test_order_sensitive_messages(fragment, cause, rule):
    result = classify(_corpus_message(fragment))
    assert (result.cause, result.rule) == (cause, rule)


def test_no_basic_auth_credentials_wins_over_pull_access_denied():
    # containerd 2.x wording (containerd/containerd#11103)
    result = classify("failed to resolve reference \"harbor.example/lan/app:1\": pull access denied, repository does "
                      "not exist or may require authorization: authorization failed: no basic auth credentials")
    assert (result.cause, result.rule) == ("auth-missing", "no-basic-auth-credentials")


def test_quoted_image_names_cannot_trigger_rules():
    # the nonexistent-tag capture with the repository renamed: the name must not look like an error
    template = json.loads((CAPTURES / "nonexistent-tag" / "events.json").read_text())["items"]
    message = next(e["message"] for e in template if e["message"].startswith("Failed to pull image"))
    renamed = message.replace("127.0.0.1:5100/busybox:nosuchtag", "127.0.0.1:5100/unauthorized:timeout")
    assert classify(renamed).cause == "tag-not-found"
    assert classify('Pulling image "registry.local/denied:toomanyrequests"').cause == "unknown"


# ---- candidates ----------------------------------------------------------------------------------

def test_containerd_not_found_carries_repository_and_tag_candidates():
    for case in ("nonexistent-repo", "nonexistent-tag"):
        message = json.loads((CAPTURES / case / "pod.json").read_text())[
            "status"]["containerStatuses"][0]["state"]["waiting"]["message"]
        result = classify(message)
        assert result.cause == "tag-not-found" and result.details["grpc_code"] == "NotFound"
        assert [c.cause for c in result.candidates] == ["tag-not-found", "image-not-found"]
        assert sum(c.likelihood for c in result.candidates) == 100
        assert all("tags/list" in c.settled_by for c in result.candidates)
        assert "NAME_UNKNOWN" in result.candidates[1].settled_by


def test_auth_or_not_found_carries_both_candidates():
    result = classify(_corpus_message("docker.io/library/controller:latest\": pull"))
    assert result.cause == "auth-or-not-found"
    causes = {c.cause: c for c in result.candidates}
    assert set(causes) == {"auth-missing", "image-not-found"}
    assert sum(c.likelihood for c in result.candidates) == 100
    assert "imagePullSecret" in causes["auth-missing"].settled_by
    assert "NAME_UNKNOWN" in causes["image-not-found"].settled_by
    assert result.details["server_message"] == "insufficient_scope: authorization failed"


def test_plain_401_carries_missing_and_rejected_candidates():
    result = classify(_corpus_message("ctr: failed to resolve reference \"localhost:5444/private/hello:v1\""))
    assert result.cause == "auth-missing"
    assert [(c.cause, c.likelihood) for c in result.candidates] == [("auth-missing", 60), ("auth-rejected", 40)]


def test_unambiguous_cause_has_a_single_certain_candidate():
    result = classify(_corpus_message("dial tcp: lookup registry-1.docker.io on 192.168.64.1:53: server misbehaving"))
    assert result.candidates == (Candidate("dns", 100, matrix_data.CHECKS["dns"]),)


def test_aggregate_prefers_the_error_that_got_furthest():
    result = classify(_corpus_message("acrname.azurecr.io/preprocess"))
    assert (result.cause, result.rule) == ("tag-not-found", "manifest-not-found")
    assert result.details["aggregate_errors"] == "2" and result.details["other_causes"] == "auth-missing"


def test_grpc_code_alone_is_a_fallback():
    result = classify("rpc error: code = DeadlineExceeded desc = something the matrix does not know")
    assert (result.cause, result.rule, result.matched) == ("network-timeout", "grpc-deadline-exceeded",
                                                           "code = DeadlineExceeded")


@pytest.mark.parametrize("message", [
    "", "Error: ErrImagePull", "Error: ImagePullBackOff", "Container created",
    'Back-off pulling image "127.0.0.1:5100/busybox:nosuchtag"', "something else entirely",
])
def test_messages_without_an_error_are_unknown(message):
    result = classify(message)
    assert (result.cause, result.rule, result.matched, result.candidates) == ("unknown", "none", "", ())
    assert result.row == matrix_row("unknown")


# ---- details -----------------------------------------------------------------------------------

def test_details_of_a_dns_failure():
    details = classify(_corpus_message("ctr: failed to resolve reference \"nosuch.invalid/test/hello:v1\"")).details
    assert details["host"] == "nosuch.invalid" and details["lookup_host"] == "nosuch.invalid"
    assert details["resolver"] == "10.255.255.53:53"
    assert details["url"] == "https://nosuch.invalid/v2/test/hello/manifests/v1"
    assert details["image"] == "nosuch.invalid/test/hello:v1"


def test_details_of_a_rate_limit():
    details = classify(_corpus_message("registry-1.docker.io/v2/library/centos/manifests")).details
    assert (details["http_status"], details["http_status_text"]) == ("429", "Too Many Requests")
    assert details["server_message"].startswith("toomanyrequests: You have reached your pull rate limit.")
    assert details["host"] == "registry-1.docker.io" and details["registry"] == "dockerhub"
    assert details["grpc_code"] == "Unknown" and details["image"] == "centos"


def test_details_of_a_plain_401_and_a_refused_dial():
    details = classify(_corpus_message("registry.app.xxx.net/XXXXX/partsgo42")).details
    assert (details["http_status"], details["http_status_text"], details["host"]) == (
        "401", "Unauthorized", "registry.app.xxx.net")
    refused = classify(_corpus_message("ctr: failed to resolve reference \"127.0.0.1:5997/test/hello:v1\"")).details
    assert refused["dial_address"] == "127.0.0.1:5997" and refused["host"] == "127.0.0.1:5997"


@pytest.mark.parametrize("fragment, platform", [
    ("Error choosing image instance: no image found in manifest list for architecture arm, variant v8", "linux/arm/v8"),
    ("docker: no matching manifest for linux/amd64", "linux/amd64"),
    ("for architecture amd64, variant \\\"\\\", OS linux", "linux/amd64"),
])
def test_details_platform(fragment, platform):
    assert classify(_corpus_message(fragment)).details["platform"] == platform


def test_details_registry_products_and_5xx():
    assert classify(_corpus_message("artifactregistry.repositories.downloadArtifacts")).details["registry"] == \
        "artifact-registry"
    details = classify(_corpus_message("invalid status code from registry 502")).details
    assert (details["http_status"], details["http_status_text"]) == ("502", "Bad Gateway")


def test_credentials_in_urls_are_redacted():
    result = classify('failed to do request: Head "https://alice:s3cret@registry.example/v2/app/manifests/1": '
                      "proxyconnect tcp: dial tcp 10.0.0.1:3128: connect: connection refused")
    assert result.cause == "proxy"
    assert "s3cret" not in repr(result)
    assert result.details["url"] == "https://***@registry.example/v2/app/manifests/1"
    assert result.details["host"] == "registry.example"


def test_tool_output_is_accepted():
    logrus = ('time="2024-09-13T10:48:04.953565547+08:00" level=error msg="PullImage \\"docker.io/redis:latest\\" '
              'failed" error="rpc error: code = DeadlineExceeded desc = failed to pull and unpack image '
              '\\"docker.io/library/redis:latest\\": failed to resolve reference \\"docker.io/library/redis:latest\\": '
              'failed to do request: Head \\"https://registry-1.docker.io/v2/library/redis/manifests/latest\\": '
              'dial tcp 34.226.69.105:443: i/o timeout"')
    result = classify(logrus)
    assert (result.cause, result.runtime) == ("network-timeout", "containerd")
    assert result.details["grpc_code"] == "DeadlineExceeded"
    assert result.details["url"] == "https://registry-1.docker.io/v2/library/redis/manifests/latest"


# ---- robustness ----------------------------------------------------------------------------------

def _check(result, text):
    assert isinstance(result, Classification)
    assert result.cause in CAUSES and result.row.cause == result.cause
    assert all(isinstance(value, str) for value in result.details.values())
    if result.rule == "none":
        assert result.cause == "unknown" and result.candidates == ()


def test_classify_never_raises_on_garbage():
    rng = random.Random(1122)
    messages = [row[5] for row in CORPUS]
    alphabet = string.printable + '"[]\\\u00b5\u00e9\x00'
    for _ in range(1000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 160)))
        _check(classify(text), text)
    for _ in range(1000):
        message = rng.choice(messages)
        start = rng.randint(0, len(message))
        text = message[start:rng.randint(start, len(message))]
        _check(classify(text), text)
    for odd in (None, 42, b"bytes", "[", "[]", "[, ]", "\"", "rpc error: code = ", "level=fatal msg=\"", "Failed to pull image \"\": "):
        _check(classify(odd), str(odd))
