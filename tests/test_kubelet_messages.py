"""Tests for pullcheck.kubelet_messages: every message kind, old and new kubelet wordings."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pullcheck.kubelet_messages import (
    KINDS,
    KubeletMessage,
    parse_go_duration,
    parse_kubelet_message,
    split_grpc_status,
)

CAPTURES = Path(__file__).parent / "data" / "kubelet-1.36-containerd-1.6"

# Verbatim runtime error of the nonexistent-tag capture (containerd 1.6 via CRI).
NOT_FOUND_ERROR = (
    'failed to pull and unpack image "127.0.0.1:5100/busybox:nosuchtag": failed to resolve reference '
    '"127.0.0.1:5100/busybox:nosuchtag": 127.0.0.1:5100/busybox:nosuchtag: not found'
)


# ---- durations -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("30ms", 0.03),
    ("1.234s", 1.234),
    ("1m2.5s", 62.5),
    ("250\u00b5s", 0.00025),          # Go prints micro with U+00B5
    ("250\u03bcs", 0.00025),          # and accepts U+03BC
    ("250us", 0.00025),
    ("1h2m3s", 3723.0),
    ("0s", 0.0),
    ("0", 0.0),
    ("-1.5h", -5400.0),
    ("4m37.523590901s", 277.523590901),   # 1.20-1.26 event, untruncated nanoseconds
    ("3m53.352084967s", 233.352084967),
    ("500ns", 5e-7),
])
def test_parse_go_duration(text, seconds):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1", "s", "1x", "1s2", "1.2.3s", "ms", "1 s", "abc", "+", "1s ms"])
def test_parse_go_duration_rejects_non_durations(text):
    with pytest.raises(ValueError):
        parse_go_duration(text)


# ---- gRPC prefix -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, code, rest", [
    ("rpc error: code = NotFound desc = " + NOT_FOUND_ERROR, "NotFound", NOT_FOUND_ERROR),
    ("rpc error: code = Unknown desc = Error response from daemon: manifest unknown", "Unknown",
     "Error response from daemon: manifest unknown"),
    ("rpc error: code = 2 desc = manifest unknown: manifest unknown", "Unknown", "manifest unknown: manifest unknown"),
    ("rpc error: code = 4 desc = x", "DeadlineExceeded", "x"),
    ("rpc error: code = 99 desc = x", "99", "x"),
    (NOT_FOUND_ERROR, None, NOT_FOUND_ERROR),
])
def test_split_grpc_status(text, code, rest):
    assert split_grpc_status(text) == (code, rest)


# ---- every kind --------------------------------------------------------------------------------

def test_pulling_new_and_old_case():
    assert parse_kubelet_message('Pulling image "127.0.0.1:5100/busybox:1.35"') == KubeletMessage(
        kind="pulling", image="127.0.0.1:5100/busybox:1.35")
    # kubelets before 1.14 wrote it in lower case (kubeup/okdc#11)
    old = parse_kubelet_message('pulling image "gcr.io/google_containers/kubernetes-dashboard-amd64:v1.6.3"')
    assert old.kind == "pulling" and old.image == "gcr.io/google_containers/kubernetes-dashboard-amd64:v1.6.3"


def test_pulled_1_30_with_size():
    parsed = parse_kubelet_message(
        'Successfully pulled image "127.0.0.1:5101/private/busybox:1.35" in 30ms (30ms including waiting). '
        'Image size: 1032392 bytes.')
    assert parsed.kind == "pulled" and parsed.image == "127.0.0.1:5101/private/busybox:1.35"
    assert parsed.pull_seconds == pytest.approx(0.03)
    assert parsed.pull_seconds_including_waiting == pytest.approx(0.03)
    assert parsed.image_size_bytes == 1032392


def test_pulled_1_27_with_waiting_no_size():
    # dandi/dandi-hub#89: waiting time much longer than the pull itself
    parsed = parse_kubelet_message('Successfully pulled image "alpine" in 1.466729067s (3m53.352084967s including waiting)')
    assert parsed.kind == "pulled" and parsed.image == "alpine"
    assert parsed.pull_seconds == pytest.approx(1.466729067)
    assert parsed.pull_seconds_including_waiting == pytest.approx(233.352084967)
    assert parsed.image_size_bytes is None


def test_pulled_1_20_duration_only():
    parsed = parse_kubelet_message('Successfully pulled image "portworx/oci-monitor:2.11.4" in 4m37.523590901s')
    assert (parsed.kind, parsed.image) == ("pulled", "portworx/oci-monitor:2.11.4")
    assert parsed.pull_seconds == pytest.approx(277.523590901)
    assert parsed.pull_seconds_including_waiting is None and parsed.image_size_bytes is None


def test_pulled_before_1_20_without_duration():
    parsed = parse_kubelet_message('Successfully pulled image "nginx:1.14.2"')
    assert (parsed.kind, parsed.image, parsed.pull_seconds) == ("pulled", "nginx:1.14.2", None)


def test_pulled_with_large_size():
    parsed = parse_kubelet_message(
        'Successfully pulled image "g1g1/py-kube" in 15.981s (15.981s including waiting). Image size: 129338587 bytes.')
    assert parsed.image_size_bytes == 129338587 and parsed.pull_seconds == pytest.approx(15.981)


@pytest.mark.parametrize("message", [
    'Container image "gcr.io/google_containers/pause:0.8.0" already present on machine',
    'Container image "127.0.0.1:5100/busybox:1.35" already present on machine and can be accessed by the pod',
])
def test_already_present(message):
    parsed = parse_kubelet_message(message)
    assert parsed.kind == "already-present" and parsed.image.startswith(("gcr.io/", "127.0.0.1:5100/"))


def test_pull_failed_keeps_grpc_code_and_strips_prefix():
    parsed = parse_kubelet_message(
        'Failed to pull image "127.0.0.1:5100/busybox:nosuchtag": rpc error: code = NotFound desc = ' + NOT_FOUND_ERROR)
    assert parsed.kind == "pull-failed" and parsed.image == "127.0.0.1:5100/busybox:nosuchtag"
    assert parsed.error == NOT_FOUND_ERROR and parsed.grpc_code == "NotFound"


def test_pull_failed_without_grpc_prefix_1_36():
    # kubelet 1.36 drops "rpc error: code = Unknown desc = " (auth-no-secret capture)
    parsed = parse_kubelet_message(
        'Failed to pull image "127.0.0.1:5101/private/busybox:1.35": failed to pull and unpack image '
        '"127.0.0.1:5101/private/busybox:1.35": failed to resolve reference "127.0.0.1:5101/private/busybox:1.35": '
        'pulling from host 127.0.0.1:5101 failed with status code [manifests 1.35]: 401 Unauthorized')
    assert parsed.grpc_code is None
    assert parsed.error.startswith("failed to pull and unpack image") and parsed.error.endswith("401 Unauthorized")


def test_pull_failed_numeric_grpc_code():
    parsed = parse_kubelet_message(
        'Failed to pull image "aerokube/logger:cad1da0af14ee43856ce3ca635daf0e79ebb1fef": '
        'rpc error: code = 2 desc = manifest unknown: manifest unknown')
    assert parsed.grpc_code == "Unknown" and parsed.error == "manifest unknown: manifest unknown"


def test_pull_failed_signature_validation_keeps_runtime_text():
    # kubernetes/website blog 2023-06-29, CRI-O with kubelet 1.28
    parsed = parse_kubelet_message(
        'Failed to pull image "quay.io/crio/unsigned": SignatureValidationFailed: Source image rejected: '
        'A signature was required, but no signature exists')
    assert parsed.kind == "pull-failed" and parsed.image == "quay.io/crio/unsigned"
    assert parsed.error == "SignatureValidationFailed: Source image rejected: A signature was required, but no signature exists"


def test_pull_failed_aggregate_is_left_whole():
    message = ('Failed to pull image "acrname.azurecr.io/preprocess": [rpc error: code = Unknown desc = Error response '
               'from daemon: manifest for acrname.azurecr.io/preprocess:latest not found: manifest unknown: manifest '
               'unknown, rpc error: code = Unknown desc = Error response from daemon: Get '
               'https://acrname.azurecr.io/v2/preprocess/manifests/latest: unauthorized: authentication required]')
    parsed = parse_kubelet_message(message)
    assert parsed.kind == "pull-failed" and parsed.grpc_code is None
    assert parsed.error.startswith("[rpc error:") and parsed.error.endswith("]")


def test_backoff_event_and_waiting_message():
    event = parse_kubelet_message('Back-off pulling image "127.0.0.1:5100/busybox:nosuchtag"')
    assert event == KubeletMessage(kind="backoff", image="127.0.0.1:5100/busybox:nosuchtag")
    waiting = parse_kubelet_message(
        'Back-off pulling image "127.0.0.1:5100/busybox:nosuchtag": ErrImagePull: rpc error: code = NotFound desc = '
        + NOT_FOUND_ERROR, reason="ImagePullBackOff")
    assert (waiting.kind, waiting.image, waiting.reason) == ("backoff", "127.0.0.1:5100/busybox:nosuchtag", "ErrImagePull")
    assert waiting.error == NOT_FOUND_ERROR and waiting.grpc_code == "NotFound"


def test_backoff_after_signature_failure_unwraps_eval_cri_wording():
    # waiting message built by the kubelet as "Back-off pulling image %q: %s: %s" (err, evalCRIPullErr msg)
    parsed = parse_kubelet_message(
        'Back-off pulling image "quay.io/crio/unsigned": SignatureValidationFailed: image pull failed for '
        'quay.io/crio/unsigned because the signature validation failed: Source image rejected: A signature was '
        'required, but no signature exists')
    assert parsed.kind == "backoff" and parsed.reason == "SignatureValidationFailed"
    assert parsed.error == "Source image rejected: A signature was required, but no signature exists"


@pytest.mark.parametrize("message, image, error", [
    # evalCRIPullErr (1.28+): "image pull failed for %s because the registry is unavailable%s"
    ("image pull failed for registry.example/app:1 because the registry is unavailable: dial tcp 10.0.0.5:443: "
     "connect: no route to host", "registry.example/app:1", "dial tcp 10.0.0.5:443: connect: no route to host"),
    # kubelets before 1.20: "image pull failed for %s because the registry is unavailable."
    ("image pull failed for registry.example/app:1 because the registry is unavailable.", "registry.example/app:1",
     "registry is unavailable"),
])
def test_registry_unavailable_wording(message, image, error):
    parsed = parse_kubelet_message(message)
    assert (parsed.kind, parsed.image, parsed.error, parsed.reason) == ("pull-failed", image, error, "RegistryUnavailable")


@pytest.mark.parametrize("reason", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                                    "SignatureValidationFailed"])
def test_error_reason(reason):
    assert parse_kubelet_message("Error: " + reason) == KubeletMessage(kind="error-reason", reason=reason)


def test_inspect_failed_default_tag():
    parsed = parse_kubelet_message(
        'Failed to apply default image tag "UPPER/Case:tag": couldn\'t parse image name "UPPER/Case:tag": '
        'invalid reference format: repository name (Case) must be lowercase', reason="InspectFailed")
    assert (parsed.kind, parsed.image, parsed.reason) == ("inspect-failed", "UPPER/Case:tag", "InspectFailed")
    assert parsed.error.startswith("couldn't parse image name") and "invalid reference format" in parsed.error


def test_inspect_failed_runtime_error():
    # 1.33+ prints the (empty) image ref: "Failed to inspect image %q: %v"
    parsed = parse_kubelet_message('Failed to inspect image "": rpc error: code = Unavailable desc = connection error')
    assert (parsed.kind, parsed.image, parsed.grpc_code, parsed.error) == (
        "inspect-failed", None, "Unavailable", "connection error")


def test_never_pull():
    parsed = parse_kubelet_message(
        'Container image "127.0.0.1:5100/busybox:not-cached" is not present with pull policy of Never',
        reason="ErrImageNeverPull")
    assert (parsed.kind, parsed.image, parsed.reason) == ("never-pull", "127.0.0.1:5100/busybox:not-cached",
                                                          "ErrImageNeverPull")


@pytest.mark.parametrize("message, names", [
    ("Unable to retrieve some image pull secrets (rig-auth-creds); attempting to pull the image may not succeed.",
     ("rig-auth-creds",)),
    ("Unable to retrieve some image pull secrets (a, b); attempting to pull the image may not succeed.", ("a", "b")),
])
def test_pull_secrets_missing(message, names):
    parsed = parse_kubelet_message(message)
    assert parsed.kind == "pull-secrets-missing" and parsed.secret_names == names


def test_bare_error_of_err_image_pull_waiting_state():
    # the ErrImagePull waiting message is the runtime's error itself (timeout-http-hang-after-close)
    error = ('failed to pull and unpack image "localhost:5102/busybox:1.35": failed to resolve reference '
             '"localhost:5102/busybox:1.35": failed to do request: Head "http://localhost:5102/v2/busybox/manifests/1.35": '
             'read tcp 127.0.0.1:58222->127.0.0.1:5102: read: connection reset by peer')
    parsed = parse_kubelet_message(error, reason="ErrImagePull")
    assert (parsed.kind, parsed.error, parsed.reason) == ("pull-failed", error, "ErrImagePull")


def test_other_text_is_returned_as_error_without_grpc_prefix():
    parsed = parse_kubelet_message("rpc error: code = DeadlineExceeded desc = context deadline exceeded")
    assert (parsed.kind, parsed.error, parsed.grpc_code) == ("other", "context deadline exceeded", "DeadlineExceeded")
    assert parse_kubelet_message("Container created", reason="Created").kind == "other"
    assert parse_kubelet_message("   ").error is None


# ---- the captures ----------------------------------------------------------------------------

EXPECTED_KIND_BY_REASON = {
    "Pulling": {"pulling"},
    "Pulled": {"pulled", "already-present"},
    "Failed": {"pull-failed", "error-reason"},
    "BackOff": {"backoff"},
    "InspectFailed": {"inspect-failed"},
    "ErrImageNeverPull": {"never-pull"},
    "FailedToRetrieveImagePullSecret": {"pull-secrets-missing"},
    "ImagePullBackOff": {"backoff"},
    "ErrImagePull": {"pull-failed"},
    "InvalidImageName": {"inspect-failed"},
}


def _capture_messages():
    for events in sorted(CAPTURES.glob("*/events.json")):
        for event in json.loads(events.read_text())["items"]:
            if event.get("reportingComponent") == "kubelet" and event["reason"] in EXPECTED_KIND_BY_REASON:
                yield event["reason"], event["message"]
    for pod in sorted(CAPTURES.glob("*/pod.json")):
        for status in json.loads(pod.read_text())["status"].get("containerStatuses", []):
            waiting = status["state"].get("waiting") or {}
            if waiting.get("message"):
                yield waiting["reason"], waiting["message"]


def test_every_capture_message_parses_to_its_kind():
    seen = set()
    for reason, message in _capture_messages():
        parsed = parse_kubelet_message(message, reason)
        assert parsed.kind in EXPECTED_KIND_BY_REASON[reason], (reason, message, parsed)
        if parsed.kind in ("pull-failed", "backoff") and parsed.error:
            assert not parsed.error.startswith(("Failed to pull image", "Back-off", "rpc error"))
        seen.add(parsed.kind)
    assert seen >= {"pulling", "pulled", "already-present", "pull-failed", "backoff", "error-reason",
                    "inspect-failed", "never-pull", "pull-secrets-missing"}


def test_never_raises_on_garbage():
    rng = random.Random(20261122)
    alphabet = 'Failed to pull image "Back-off: rpc error: code = desc = Error:()[],;.\u00b5 \n\x00abcXYZ0123456789'
    for _ in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        parsed = parse_kubelet_message(text, rng.choice([None, "ErrImagePull", "Failed"]))
        assert parsed.kind in KINDS
