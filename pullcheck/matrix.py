"""Classify an image-pull error message with the error-pattern matrix.

``classify`` takes a kubelet event or waiting message, a bare runtime error (``rpc error:
...``, containerd, CRI-O or docker wording) or ``ctr``/``crictl``/``skopeo`` output, and says
which cause it shows, by which rule, with the matrix row, the candidate causes when the wording
cannot tell them apart, and the details worth quoting as evidence. Pure: no I/O, never raises.
The table itself lives in ``pullcheck.matrix_data``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Pattern, Tuple
from urllib.parse import urlsplit

from pullcheck import matrix_data
from pullcheck.kubelet_messages import KubeletMessage, parse_kubelet_message, split_grpc_status

CAUSES: Tuple[str, ...] = matrix_data.CAUSES


@dataclass(frozen=True)
class MatrixRow:
    """What the matrix says about one cause (or one rule's variant of it)."""

    cause: str
    title: str
    family: str
    likelihood: str                          # human form: "typo 80% / missing 20%"
    split: Tuple[Tuple[str, int], ...]       # machine form: (("typo", 80), ("missing", 20))
    immediate_action: str
    success_rate: int                        # expected success of the immediate action, percent
    time_to_resolution: str


@dataclass(frozen=True)
class Candidate:
    """A cause the message is compatible with, how likely it is, and the check that settles it."""

    cause: str
    likelihood: int
    settled_by: str


@dataclass(frozen=True)
class Classification:
    cause: str
    row: MatrixRow
    rule: str                                # rule id; "none" when nothing matched
    matched: str                             # the span of the message the rule matched
    runtime: Optional[str]                   # "containerd" | "cri-o" | "docker" | None
    candidates: Tuple[Candidate, ...]
    details: Dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class _Rule:
    id: str
    pattern: Optional[Pattern[str]]
    cause: str
    runtime: Optional[str]
    registry: Optional[str]
    row: MatrixRow
    candidates: Tuple[Candidate, ...]


def _likelihood_text(split: Tuple[Tuple[str, int], ...]) -> str:
    return " / ".join(f"{name} {percent}%" for name, percent in split)


def _make_row(cause: str, overrides: Optional[dict] = None) -> MatrixRow:
    fields = dict(matrix_data.DEFAULT_ROWS[cause])
    fields.update(overrides or {})
    split = tuple((name, int(percent)) for name, percent in fields["split"])
    return MatrixRow(
        cause=cause, title=fields["title"], family=fields["family"],
        likelihood=_likelihood_text(split), split=split,
        immediate_action=fields["immediate_action"], success_rate=int(fields["success_rate"]),
        time_to_resolution=fields["time_to_resolution"],
    )


def _candidates(cause: str, set_name: Optional[str]) -> Tuple[Candidate, ...]:
    if cause == "unknown":
        return ()
    pairs = matrix_data.CANDIDATE_SETS[set_name] if set_name else ((cause, 100),)
    return tuple(Candidate(name, likelihood, matrix_data.CHECKS[name]) for name, likelihood in pairs)


def _make_rule(spec: dict) -> _Rule:
    pattern = spec.get("pattern")
    return _Rule(
        id=spec["id"],
        pattern=re.compile(pattern, re.IGNORECASE) if pattern else None,
        cause=spec["cause"], runtime=spec.get("runtime"), registry=spec.get("registry"),
        row=_make_row(spec["cause"], spec.get("row")),
        candidates=_candidates(spec["cause"], spec.get("candidates")),
    )


_DEFAULT_ROWS = {cause: _make_row(cause) for cause in CAUSES}
_RULES = tuple(_make_rule(spec) for spec in matrix_data.RULES)
_GRPC_FALLBACKS = {code: _make_rule(spec) for code, spec in matrix_data.GRPC_FALLBACK_RULES.items()}
_RUNTIME_MARKERS = tuple((name, re.compile(rx, re.IGNORECASE | re.MULTILINE))
                         for name, rx in matrix_data.RUNTIME_MARKERS)
_REGISTRY_HOSTS = tuple((name, re.compile(rx, re.IGNORECASE)) for name, rx in matrix_data.REGISTRY_HOSTS)
_PREFERENCE = {cause: rank for rank, cause in enumerate(matrix_data.AGGREGATE_PREFERENCE)}


def matrix_row(cause: str) -> MatrixRow:
    """The default matrix row of ``cause``; ValueError for a cause not in CAUSES."""
    try:
        return _DEFAULT_ROWS[cause]
    except KeyError:
        raise ValueError(f"unknown cause {cause!r}; expected one of {', '.join(CAUSES)}") from None


# ---- input normalisation -------------------------------------------------------------------

# logrus lines of crictl/skopeo/podman/containerd: ... level=fatal msg="..." [error="..."];
# containerd puts the pull error in the error field, the tools in msg.
_LOGRUS_FIELD = re.compile(r'\b(?P<key>msg|error)="(?P<value>(?:[^"\\]|\\.)*)"')
_LOGRUS_ESCAPE = re.compile(r"\\(.)")
_TOOL_PREFIX = re.compile(r"^(?:FATA\[[^\]]*\]\s*|(?:ctr|docker): |pulling image(?: failed)?: )+")


def _strip_tool_output(message: str) -> str:
    if re.search(r"\blevel=\w+ ", message):
        fields = {found.group("key"): found.group("value") for found in _LOGRUS_FIELD.finditer(message)}
        quoted = fields.get("error") or fields.get("msg")
        if quoted is not None:
            message = _LOGRUS_ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), quoted)
    return _TOOL_PREFIX.sub("", message.strip())


# Quoted image references are masked (same length, so match offsets still index the original)
# so that a repository called "timeout" or "denied" cannot trigger a rule.
_QUOTED_TOKEN = re.compile(r'"([^"\s]+)"')


def _mask_references(text: str, image: Optional[str]) -> str:
    references = {token for token in _QUOTED_TOKEN.findall(text)
                  if ("/" in token or ":" in token) and "://" not in token}
    if image and ("/" in image or ":" in image):
        references.add(image)
    for reference in sorted(references, key=len, reverse=True):
        text = text.replace(reference, "_" * len(reference))
    return text


_AGGREGATE_SEPARATOR = re.compile(
    r", (?=rpc error: |failed to |Error response from daemon|error pulling |Error reading manifest|"
    r"reading manifest |initializing source |pull access denied|\[)"
)


def _aggregate_parts(text: str) -> List[str]:
    """The errors of a kubelet aggregate ``[err1, err2]`` (one per credential tried)."""
    if not (text.startswith("[") and text.endswith("]")):
        return [text]
    parts = [part.strip() for part in _AGGREGATE_SEPARATOR.split(text[1:-1]) if part.strip()]
    return parts or [text]


# ---- evidence ------------------------------------------------------------------------------

_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@\"']+@", re.IGNORECASE)
_URL = re.compile(r"\bhttps?://[^\s\"'<>\]\\]+", re.IGNORECASE)
_STATUS_WITH_TEXT = re.compile(r"(?<![\w.:/-])([1-5]\d\d) \(?([A-Z][A-Za-z-]*(?: [A-Z][A-Za-z-]*)*)")
_STATUS_BARE = re.compile(r"\b(?:status code|HTTP status|status)[: ]+([1-5]\d\d)\b", re.IGNORECASE)
_LOOKUP = re.compile(r"\blookup (?P<host>[^\s:]+)(?: on (?P<resolver>\S+?))?: ")
_DIAL_ADDRESS = re.compile(r"\bdial tcp (?P<address>\[[0-9a-fA-F:.]+\]:\d+|[0-9.]+:\d+)")
_HOST = r"(?P<host>[\w.-]+(?::\d+)?)"
_HOST_PHRASES = (
    re.compile(r"pulling from host " + _HOST + r" failed"),
    re.compile(r"pinging (?:container|docker) registry " + _HOST),
    re.compile(r"reading manifest \S+ in " + _HOST + r"/"),
)
# Only URLs of registry requests are evidence; others (help links in messages) are not.
_REGISTRY_URL_PATH = re.compile(r"^/(?:v1|v2)/|token|oauth", re.IGNORECASE)
_IMAGE_PHRASES = (
    re.compile(r'(?:failed to pull and unpack image|failed to resolve reference|failed to pull image) "(?P<image>[^"]+)"',
               re.IGNORECASE),
    re.compile(r'initializing source docker://(?P<image>[^\s"]+?):? '),
)
_PLATFORMS = (
    re.compile(r"no matching manifest for (?P<platform>\S+?) in the manifest list"),
    re.compile(r'for architecture (?P<arch>[^\s,]+), variant "?(?P<variant>[^",]*)"?, OS (?P<os>\S+)'),
)
_SERVER_MESSAGE = re.compile(r"[Ss]erver message: (?P<message>[^\n]+)")
_REGISTRY_ERROR_CODE = re.compile(
    r"\b(?P<message>(?:toomanyrequests|unauthorized|denied|manifest unknown|name unknown|blob unknown"
    r"|insufficient_scope): [^\n]+)"
)


def _redact(text: str) -> str:
    """Hide URL user information (proxy or registry passwords) in anything we pass on."""
    return _USERINFO.sub(r"\1***@", text)


def _image_host(image: str) -> str:
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _registry_product(host: str) -> Optional[str]:
    name = _hostname(host).lower()
    for product, pattern in _REGISTRY_HOSTS:
        if pattern.search(name):
            return product
    return None


def _details(text: str, image: Optional[str], grpc_code: Optional[str],
             registry: Optional[str], reference_is_valid: bool = True) -> Dict[str, str]:
    details: Dict[str, str] = {}
    if not image:
        for pattern in _IMAGE_PHRASES:
            found = pattern.search(text)
            if found:
                image = found.group("image")
                break
    if image:
        details["image"] = image
    host = None
    for url in _URL.finditer(text):
        candidate = urlsplit(url.group(0).rstrip(":,.;)"))
        if _REGISTRY_URL_PATH.search(candidate.path) or "token" in candidate.query:
            details["url"] = candidate.geturl()
            host = candidate.netloc.rpartition("@")[2] or None
            break
    if host is None:
        for pattern in _HOST_PHRASES:
            found = pattern.search(text)
            if found:
                host = found.group("host").rstrip(":")
                break
    lookup = _LOOKUP.search(text)
    if lookup:
        details["lookup_host"] = lookup.group("host")
        if lookup.group("resolver"):
            details["resolver"] = lookup.group("resolver")
        host = host or lookup.group("host")
    dial = _DIAL_ADDRESS.search(text)
    if dial:
        details["dial_address"] = dial.group("address")
    if host is None and image and reference_is_valid:
        host = _image_host(image)
    if host:
        details["host"] = host
    status = _STATUS_WITH_TEXT.search(text)
    if status:
        details["http_status"], details["http_status_text"] = status.group(1), status.group(2)
    else:
        status = _STATUS_BARE.search(text)
        if status:
            details["http_status"] = status.group(1)
    for pattern in _PLATFORMS:
        found = pattern.search(text)
        if found:
            parts = found.groupdict()
            details["platform"] = parts.get("platform") or "/".join(
                value for value in (parts["os"], parts["arch"], parts["variant"]) if value)
            break
    message = _SERVER_MESSAGE.search(text) or _REGISTRY_ERROR_CODE.search(text)
    if message:
        details["server_message"] = message.group("message").strip()
    if grpc_code:
        details["grpc_code"] = grpc_code
    product = registry or (_registry_product(host) if host else None)
    if product:
        details["registry"] = product
    return {key: _redact(value) for key, value in details.items()}


def _runtime_of(text: str) -> Optional[str]:
    for name, pattern in _RUNTIME_MARKERS:
        if pattern.search(text):
            return name
    return None


# ---- classification ------------------------------------------------------------------------

_NO_ERROR_KINDS = ("pulling", "pulled", "already-present")


def _unknown(image: Optional[str], grpc_code: Optional[str], text: str, runtime: Optional[str]) -> Classification:
    return Classification(
        cause="unknown", row=_DEFAULT_ROWS["unknown"], rule="none", matched="", runtime=runtime,
        candidates=(), details=_details(text, image, grpc_code, None),
    )


def _match_error(error: str, grpc_code: Optional[str], image: Optional[str],
                 message: str) -> Classification:
    """Classify one runtime error (no aggregate, gRPC prefix already split off)."""
    masked = _mask_references(error, image)
    for rule in _RULES:
        found = rule.pattern.search(masked)
        if found:
            return Classification(
                cause=rule.cause, row=rule.row, rule=rule.id,
                matched=_redact(error[found.start():found.end()]),
                runtime=rule.runtime or _runtime_of(message), candidates=rule.candidates,
                details=_details(error, image, grpc_code, rule.registry,
                                 reference_is_valid=rule.cause != "invalid-reference"),
            )
    fallback = _GRPC_FALLBACKS.get(grpc_code or "")
    if fallback:
        code_span = re.search(r"code = \w+", message)
        return Classification(
            cause=fallback.cause, row=fallback.row, rule=fallback.id,
            matched=code_span.group(0) if code_span else f"code = {grpc_code}",
            runtime=_runtime_of(message), candidates=fallback.candidates,
            details=_details(error, image, grpc_code, None),
        )
    return _unknown(image, grpc_code, error, _runtime_of(message))


def _classify_aggregate(parts: List[str], image: Optional[str], message: str) -> Classification:
    results = []
    for part in parts:
        code, error = split_grpc_status(part)
        results.append(_match_error(error, code, image, part))
    best = min(results, key=lambda result: _PREFERENCE.get(result.cause, len(_PREFERENCE)))
    details = dict(best.details)
    details["aggregate_errors"] = str(len(parts))
    others = sorted({result.cause for result in results if result is not best} - {best.cause})
    if others:
        details["other_causes"] = ",".join(others)
    return Classification(
        cause=best.cause, row=best.row, rule=best.rule, matched=best.matched,
        runtime=best.runtime or _runtime_of(message), candidates=best.candidates, details=details,
    )


def classify(message: str) -> Classification:
    """Classify one image-pull message; cause ``unknown`` when nothing matches. Never raises."""
    if not isinstance(message, str):
        message = "" if message is None else str(message)
    text = _strip_tool_output(message)
    parsed: KubeletMessage = parse_kubelet_message(text)
    if parsed.kind in _NO_ERROR_KINDS or (parsed.kind == "backoff" and parsed.error is None):
        return _unknown(parsed.image, None, text, None)
    error = parsed.error if parsed.error is not None else text
    parts = _aggregate_parts(error)
    if parts == [error]:
        return _match_error(error, parsed.grpc_code, parsed.image, text)
    return _classify_aggregate(parts, parsed.image, text)
