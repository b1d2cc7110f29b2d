"""Recognise the kubelet's image-pull event and waiting-state messages.

The kubelet wraps the container runtime's error in its own wording, and that wording has
changed across releases (1.20 .. 1.36):

* ``Pulling image "x"`` (very old kubelets wrote ``pulling image "x"``);
* ``Successfully pulled image "x"`` with no duration (< 1.20), ``... in 1.234567891s``
  (1.20-1.26), ``... in 1.2s (1.2s including waiting)`` (1.27-1.29), and the same followed by
  ``. Image size: N bytes.`` (1.30+);
* ``Container image "x" already present on machine`` and, with KubeletEnsureSecretPulledImages,
  ``... already present on machine and can be accessed by the pod``;
* ``Failed to pull image "x": <error>``; the waiting message of ``ErrImagePull`` is the bare
  error; ``Back-off pulling image "x"`` and, since 1.32, ``Back-off pulling image "x": <Reason>:
  <error>`` in the waiting message;
* ``image pull failed for x because the registry is unavailable: ...`` and ``... because the
  signature validation failed: ...`` (RegistryUnavailable / SignatureValidationFailed);
* ``Error: <Reason>`` events, ``Failed to apply default image tag`` / ``Failed to inspect image``
  (InspectFailed), the ErrImageNeverPull message and FailedToRetrieveImagePullSecret.

The runtime's error may start with the gRPC status prefix ``rpc error: code = X desc = `` (old
runtimes print the code as a number). Newer kubelets drop it for code Unknown; both forms are
handled. Pure and stdlib only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

KINDS = (
    "pulling", "pulled", "already-present", "pull-failed", "backoff", "error-reason",
    "inspect-failed", "never-pull", "pull-secrets-missing", "other",
)

# gRPC status codes by number: runtimes built against old grpc-go printed "code = 2".
GRPC_CODE_NAMES = (
    "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated",
)

# Container waiting reasons (and event reasons) whose message is the runtime's bare error.
_BARE_ERROR_REASONS = frozenset({"ErrImagePull", "RegistryUnavailable", "SignatureValidationFailed"})


@dataclass(frozen=True)
class KubeletMessage:
    """One kubelet image message, split into its parts.

    ``error`` is the runtime's own error text: kubelet wrappers and the gRPC status prefix are
    removed (the code is kept in ``grpc_code``). ``reason`` is the kubelet reason word carried
    by the message (``Error: ErrImagePull``, ``Back-off ...: ErrImagePull: ...``) or passed in.
    For text that is no kubelet wording (kind ``other``), ``error`` is the text itself with any
    gRPC prefix removed, so a bare runtime error can be fed straight in.
    """

    kind: str
    image: Optional[str] = None
    error: Optional[str] = None
    grpc_code: Optional[str] = None
    reason: Optional[str] = None
    pull_seconds: Optional[float] = None
    pull_seconds_including_waiting: Optional[float] = None
    image_size_bytes: Optional[int] = None
    secret_names: Tuple[str, ...] = ()


_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
    "s": 1.0, "m": 60.0, "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go ``time.Duration`` string such as ``1m2.5s``, ``30ms`` or ``250µs``.

    Raises ValueError for anything that is not a Go duration.
    """
    body = text.strip()
    sign = 1.0
    if body.startswith(("+", "-")):
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    total, position = 0.0, 0
    for part in _DURATION_PART.finditer(body):
        if part.start() != position:
            break
        total += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
        position = part.end()
    if position == 0 or position != len(body):
        raise ValueError(f"not a Go duration: {text!r}")
    return sign * total


_GRPC_PREFIX = re.compile(r"rpc error: code = (?P<code>\w+) desc = ")


def split_grpc_status(text: str) -> Tuple[Optional[str], str]:
    """Split a leading ``rpc error: code = X desc = `` off ``text``: (code name, rest).

    Numeric codes are named (``2`` -> ``Unknown``). Text without the prefix comes back whole,
    with code None.
    """
    match = _GRPC_PREFIX.match(text)
    if not match:
        return None, text
    code = match.group("code")
    if code.isdigit() and int(code) < len(GRPC_CODE_NAMES):
        code = GRPC_CODE_NAMES[int(code)]
    return code, text[match.end():]


# "image pull failed for <image> because the ...": evalCRIPullErr (1.28+) rewrites these two
# CRI errors; kubelets before 1.20 wrote the registry one with a trailing period.
_EVAL_CRI_WRAPPER = re.compile(
    r"image pull failed for (?P<image>\S+?) because the "
    r"(?P<what>registry is unavailable|signature validation failed)(?P<rest>.*)\Z",
    re.DOTALL,
)
_EVAL_CRI_REASONS = {
    "registry is unavailable": "RegistryUnavailable",
    "signature validation failed": "SignatureValidationFailed",
}


def _unwrap_error(text: str) -> Tuple[Optional[str], Optional[str], Optional[str], str]:
    """(image, reason, grpc code, runtime error) from an error as the kubelet stores it."""
    image = reason = None
    wrapped = _EVAL_CRI_WRAPPER.match(text)
    if wrapped:
        image, reason = wrapped.group("image"), _EVAL_CRI_REASONS[wrapped.group("what")]
        rest = wrapped.group("rest")
        text = rest[2:] if rest.startswith(": ") else wrapped.group("what") + rest.rstrip(".")
    code, error = split_grpc_status(text)
    return image, reason, code, error


_QUOTED = r'"(?P<image>(?:[^"\\]|\\.)*)"'
_PULLING = re.compile(r"[Pp]ulling image " + _QUOTED + r"\Z")
_PULLED = re.compile(
    r"Successfully pulled image " + _QUOTED
    + r"(?: in (?P<took>[^\s(]+?)(?: \((?P<waited>\S+) including waiting\))?)?"
    r"(?:\. Image size: (?P<size>\d+) bytes)?\.?\Z"
)
_ALREADY_PRESENT = re.compile(
    r"Container image " + _QUOTED + r" already present on machine(?: and can be accessed by the pod)?\Z"
)
_NEVER_PULL = re.compile(r"Container image " + _QUOTED + r" is not present with pull policy of Never\Z")
_INSPECT_FAILED = re.compile(
    r"Failed to (?:apply default image tag|inspect image) " + _QUOTED + r": (?P<error>.*)\Z", re.DOTALL
)
_PULL_FAILED = re.compile(r"Failed to pull image " + _QUOTED + r": (?P<error>.*)\Z", re.DOTALL)
_BACKOFF = re.compile(
    r"Back-off pulling image " + _QUOTED + r"(?:: (?P<reason>[A-Za-z]+): (?P<error>.*))?\Z", re.DOTALL
)
_ERROR_REASON = re.compile(r"Error: (?P<reason>[A-Za-z]+)\Z")
_PULL_SECRETS = re.compile(
    r"Unable to retrieve some image pull secrets \((?P<names>[^)]*)\); "
    r"attempting to pull the image may not succeed\.?\Z"
)


def _duration_or_none(text: Optional[str]) -> Optional[float]:
    if text is None:
        return None
    try:
        return parse_go_duration(text)
    except ValueError:
        return None


def _failed(image: Optional[str], error: str, reason: Optional[str]) -> KubeletMessage:
    wrapped_image, wrapped_reason, code, runtime_error = _unwrap_error(error)
    return KubeletMessage(
        kind="pull-failed", image=image or wrapped_image, error=runtime_error,
        grpc_code=code, reason=wrapped_reason or reason,
    )


def parse_kubelet_message(message: str, reason: Optional[str] = None) -> KubeletMessage:
    """Recognise one kubelet event or waiting-state message.

    ``reason`` is the event's or waiting state's reason when known: with ``ErrImagePull``
    (and the two evalCRIPullErr reasons) the message is taken as the bare runtime error.
    Never raises; unrecognised text gives kind ``other``.
    """
    text = message.strip()
    match = _PULLING.match(text)
    if match:
        return KubeletMessage(kind="pulling", image=match.group("image"))
    match = _PULLED.match(text)
    if match:
        size = match.group("size")
        return KubeletMessage(
            kind="pulled", image=match.group("image"),
            pull_seconds=_duration_or_none(match.group("took")),
            pull_seconds_including_waiting=_duration_or_none(match.group("waited")),
            image_size_bytes=int(size) if size else None,
        )
    match = _ALREADY_PRESENT.match(text)
    if match:
        return KubeletMessage(kind="already-present", image=match.group("image"))
    match = _NEVER_PULL.match(text)
    if match:
        return KubeletMessage(kind="never-pull", image=match.group("image"), reason=reason)
    match = _INSPECT_FAILED.match(text)
    if match:
        code, error = split_grpc_status(match.group("error"))
        return KubeletMessage(kind="inspect-failed", image=match.group("image") or None, error=error,
                              grpc_code=code, reason=reason)
    match = _PULL_FAILED.match(text)
    if match:
        return _failed(match.group("image"), match.group("error"), reason)
    match = _BACKOFF.match(text)
    if match:
        if match.group("error") is None:
            return KubeletMessage(kind="backoff", image=match.group("image"), reason=reason)
        failed = _failed(match.group("image"), match.group("error"), match.group("reason"))
        return KubeletMessage(
            kind="backoff", image=failed.image, error=failed.error,
            grpc_code=failed.grpc_code, reason=failed.reason,
        )
    match = _ERROR_REASON.match(text)
    if match:
        return KubeletMessage(kind="error-reason", reason=match.group("reason"))
    match = _PULL_SECRETS.match(text)
    if match:
        names = tuple(name.strip() for name in match.group("names").split(",") if name.strip())
        return KubeletMessage(kind="pull-secrets-missing", secret_names=names, reason=reason)
    if _EVAL_CRI_WRAPPER.match(text) or reason in _BARE_ERROR_REASONS:
        return _failed(None, text, reason)
    code, error = split_grpc_status(text)
    return KubeletMessage(kind="other", error=error or None, grpc_code=code, reason=reason)
