"""Image pull secrets: decode them and match them to an image the way the kubelet does.

The kubelet (pkg/credentialprovider: secrets.go, config.go, keyring.go) reads a pod's pull secrets
like this:

* only type kubernetes.io/dockerconfigjson with a non-empty ``.dockerconfigjson`` (a docker
  config.json: ``{"auths": {KEY: ENTRY}}``) and type kubernetes.io/dockercfg with a non-empty
  ``.dockercfg`` (the bare ``{KEY: ENTRY}`` map) are read; any other secret is skipped silently;
* an ENTRY gives a username and password, either as fields or as ``auth`` = base64(user:pass),
  which wins over the fields; "identitytoken" and "registrytoken" are not read;
* if any read secret fails to decode (bad JSON, wrong JSON types, an ``auth`` that is not base64
  or has no colon), building the keyring fails and so does every image pull of the pod;
* a KEY is taken as a URL ("https://" added when there is no http(s) scheme); its host and its
  path (with a leading /v1/ or /v2/ dropped) form the index key; keys Go's url.Parse rejects are
  skipped;
* for an image, every index key that matches registry/repository contributes its credentials, in
  reverse lexicographic order of the keys (so "quay.io/team" comes before "quay.io"); a key matches
  when the port is the same, the host has as many dot-separated labels, each label matches as a
  glob ("*.example.com"), and the key's path is a plain string prefix of the image's path;
* only when nothing matched, credentials under "index.docker.io" (also written
  "https://index.docker.io/v1/") are used, for Docker Hub images and for any registry without
  a '.' or ':' in its name (such as localhost); a key "registry-1.docker.io" never matches;
* the kubelet tries the credentials in that order and stops at the first successful pull.

Secret values never leave this module by accident: passwords are kept outside the dataclass fields
(so repr(), str(), dataclasses.asdict() and equality never see them) and are read only through
RegistryCredential.secret_password().
"""
from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import InitVar, dataclass
from datetime import datetime, timedelta, timezone

from pullcheck.reference import ImageReference

DOCKER_CONFIG_JSON_TYPE = "kubernetes.io/dockerconfigjson"
DOCKER_CONFIG_JSON_KEY = ".dockerconfigjson"
DOCKERCFG_TYPE = "kubernetes.io/dockercfg"
DOCKERCFG_KEY = ".dockercfg"
PULL_SECRET_DATA_KEYS = {DOCKER_CONFIG_JSON_TYPE: DOCKER_CONFIG_JSON_KEY, DOCKERCFG_TYPE: DOCKERCFG_KEY}

DOCKER_HUB_KEYRING_KEY = "index.docker.io"  # what "https://index.docker.io/v1/" is indexed as
REDACTED_BY = "kubectl-pullcheck"  # marks the output of redact_secret()
ECR_TOKEN_LIFETIME = timedelta(hours=12)

# The host of a private ECR registry (the pattern of amazon-ecr-credential-helper); group 3: region.
_ECR_HOST = (
    r"(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\."
    r"(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)"
    r"|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)"
)
_AUTH_FIELD_ERROR = "unable to parse auth field, must be formatted as base64(username:password)"
_ENTRY_STRING_FIELDS = ("username", "password", "email", "auth")  # what the kubelet decodes
_IGNORED_TOKEN_FIELDS = ("identitytoken", "registrytoken")


class _Hidden:
    """Holds a secret value so that no repr, str, vars() or pickle shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<hidden>"

    def __reduce__(self) -> tuple:
        raise TypeError("secret values cannot be pickled")

    def __copy__(self) -> _Hidden:
        return self

    def __deepcopy__(self, memo: dict) -> _Hidden:
        return self


@dataclass(frozen=True)
class RegistryCredential:
    """One registry entry of a pull secret; the password is reachable only via secret_password().

    key: the registry key as written in the secret, with any "user:password@" in it masked.
    match_key: how the kubelet indexes the key (see keyring_key); None when it skips the entry.
    expires_at: for AWS ECR tokens, the expiry the token carries.
    secret: "namespace/name" of the pull secret.
    """

    key: str
    username: str | None
    has_password: bool
    match_key: str | None
    expires_at: datetime | None = None
    secret: str = ""
    password: InitVar[str | None] = None

    def __post_init__(self, password: str | None) -> None:
        object.__setattr__(self, "_password", _Hidden(password or ""))

    @classmethod
    def from_entry(cls, key: str, username: str, password: str, secret: str = "") -> RegistryCredential:
        """Build a credential from a decoded entry, deriving the match key and any ECR expiry."""
        return cls(
            key=mask_key(key),
            username=username or None,
            has_password=bool(password),
            match_key=keyring_key(key),
            expires_at=ecr_token_expiry(password) if password else None,
            secret=secret,
            password=password,
        )

    def secret_password(self) -> str:
        """The password, for the registry probe only. Never print or log it.

        Exact bytes: ``.encode("utf-8", "surrogateescape")`` (an ``auth`` may hold any bytes).
        Empty for credentials rebuilt from a redacted secret or copied with dataclasses.replace().
        """
        hidden: _Hidden = self.__dict__["_password"]
        return hidden.reveal()

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def mismatch_reason(self, image: ImageReference) -> str | None:
        """Why the kubelet would not offer this credential for the image; None if it would."""
        return _mismatch_reason(self.match_key, image)


@dataclass(frozen=True)
class DecodedSecret:
    """What the kubelet makes of one pull secret.

    read_by_kubelet: the type and data key are right, so the kubelet reads the secret.
    breaks_pulls: the kubelet's decoding fails, which fails every image pull of a pod using it.
    kubelet_error: the kubelet's exact error text in that case, where it is known (auth fields).
    problems: findings in plain words, never secret values.
    """

    namespace: str
    name: str
    type: str
    credentials: tuple[RegistryCredential, ...]
    problems: tuple[str, ...]
    read_by_kubelet: bool
    breaks_pulls: bool = False
    kubelet_error: str | None = None
    redacted: bool = False

    @property
    def kubelet_credentials(self) -> tuple[RegistryCredential, ...]:
        """The credentials the kubelet actually uses from this secret."""
        return self.credentials if self.read_by_kubelet and not self.breaks_pulls else ()


class _Findings:
    """Accumulates what decoding finds, and which error the kubelet would report.

    Go's encoding/json stops at the first error an entry's UnmarshalJSON returns (that error is
    reported), while a type mismatch outside the entries is remembered and decoding goes on.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.fatal = False
        self.entry_failed = False
        self.kubelet_error: str | None = None

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def fail(self, problem: str) -> None:
        self.problems.append(problem)
        self.fatal = True

    def fail_entry(self, problem: str, kubelet_error: str | None = None) -> None:
        self.fail(problem)
        if not self.entry_failed:
            self.entry_failed, self.kubelet_error = True, kubelet_error


def decode_pull_secret(secret: dict) -> DecodedSecret:
    """Decode a Secret as returned by the API (data values base64) or by redact_secret()."""
    metadata = _mapping(secret.get("metadata"))
    namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
    secret_type = str(secret.get("type") or "")
    if secret.get("redactedBy") == REDACTED_BY:
        return _decode_redacted(secret, namespace, name, secret_type)

    findings = _Findings()
    data = _mapping(secret.get("data"))
    expected_key = PULL_SECRET_DATA_KEYS.get(secret_type)
    read_by_kubelet = expected_key is not None
    if expected_key is None:
        findings.note("wrong type %s (the kubelet ignores it)" % (secret_type or "(none)"))
        # Still decode a docker config stored under the wrong type: it shows what was meant.
        data_key = next((k for k in (DOCKER_CONFIG_JSON_KEY, DOCKERCFG_KEY) if k in data), None)
    elif expected_key not in data:
        findings.note("data key %s is missing (the kubelet ignores the secret)" % expected_key)
        read_by_kubelet, data_key = False, None
    else:
        data_key = expected_key

    credentials: list[RegistryCredential] = []
    if data_key is not None:
        raw = _decode_data_value(data[data_key])
        if raw is None:
            findings.note("data key %s is not valid base64" % data_key)
        elif not raw:
            findings.note("data key %s is empty (the kubelet ignores the secret)" % data_key)
            read_by_kubelet = False
        else:
            source = "%s/%s" % (namespace, name)
            for key, entry in _config_entries(raw, data_key, findings):
                credential = _entry_credential(key, entry, source, findings)
                if credential is not None:
                    credentials.append(credential)
    return DecodedSecret(
        namespace=namespace,
        name=name,
        type=secret_type,
        credentials=tuple(credentials),
        problems=tuple(findings.problems),
        read_by_kubelet=read_by_kubelet,
        breaks_pulls=read_by_kubelet and findings.fatal,
        kubelet_error=findings.kubelet_error if read_by_kubelet else None,
    )


def _decode_data_value(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _config_entries(raw: bytes, data_key: str, findings: _Findings) -> list[tuple[str, object]]:
    """The (registry key, entry) pairs of a .dockerconfigjson or .dockercfg document."""
    import json  # only decoding needs it; keeps the module cheap to import

    try:
        document = json.loads(raw.decode("utf-8", "replace"), parse_constant=_reject_constant)
    except ValueError as exc:  # neither message quotes the input
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        findings.fail("data key %s is not valid JSON (%s)" % (data_key, detail))
        return []
    if document is None:
        document = {}
    if not isinstance(document, dict):
        findings.fail("data key %s is not a JSON object" % data_key)
        return []

    if data_key == DOCKERCFG_KEY:
        entries = list(document.items())
        if not entries:
            findings.note("no registry entries")
        elif any(_folds_to(key, "auths") for key, _ in entries):
            findings.note(
                "it looks like a config.json (it has an auths key), but a .dockercfg holds the "
                "registry map itself; use type %s for config.json content" % DOCKER_CONFIG_JSON_TYPE
            )
        return entries

    merged: dict[str, object] = {}
    if any(_fold(key) in ("credsstore", "credhelpers") for key in document):
        findings.note("the config names a credential helper (credsStore/credHelpers), which the "
                      "kubelet does not run: it reads only auths")
    for key, value in document.items():
        # Go's encoding/json matches struct fields case-insensitively and merges into one map.
        if _folds_to(key, "auths"):
            if isinstance(value, dict):
                merged.update(value)
            elif value is None:
                merged.clear()  # JSON null sets a Go map to nil
            else:
                findings.fail("auths is not a JSON object")
        elif _folds_to(key, "httpheaders") and not _is_string_map(value):
            findings.fail("HttpHeaders is not a JSON object of strings")
    if not merged and not findings.fatal:
        hint = ""
        if any(isinstance(value, dict) and "." in key for key, value in document.items()):
            hint = " (its top level looks like .dockercfg registry entries; put them under \"auths\")"
        findings.note("no auths" + hint)
    return list(merged.items())


def _entry_credential(key: str, entry: object, source: str, findings: _Findings) -> RegistryCredential | None:
    label = mask_key(key)
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        findings.fail_entry("entry for %s is not a JSON object" % label)
        return None
    fields: dict[str, str] = {}
    for field_name, value in entry.items():
        folded = _fold(field_name)
        if folded in _ENTRY_STRING_FIELDS:
            if value is not None and not isinstance(value, str):
                findings.fail_entry("entry for %s: %s is not a string" % (label, folded))
                return None
            if value is not None:
                fields[folded] = value
        elif folded in _IGNORED_TOKEN_FIELDS and value:
            findings.note("entry for %s has %s, which the kubelet ignores" % (label, folded))

    username, password = fields.get("username", ""), fields.get("password", "")
    auth = fields.get("auth", "")
    if auth:
        decoded, bad_offset = _go_base64_decode(auth, padded=auth.strip().endswith("="))
        if decoded is None:
            error = "illegal base64 data at input byte %d" % bad_offset
            findings.fail_entry("entry for %s: auth is not valid base64 (kubelet: %s)" % (label, error), error)
            return None
        user_bytes, colon, password_bytes = decoded.partition(b":")
        if not colon:
            findings.fail_entry(
                "entry for %s: auth does not decode to username:password (kubelet: %s)"
                % (label, _AUTH_FIELD_ERROR),
                _AUTH_FIELD_ERROR,
            )
            return None
        username = user_bytes.decode("utf-8", "surrogateescape")
        password = password_bytes.decode("utf-8", "surrogateescape")
    if not username and not password:
        findings.note("entry for %s has no credentials (no username, password or auth)" % label)

    credential = RegistryCredential.from_entry(key, username, password, secret=source)
    if credential.match_key is None:
        findings.note("key %s is not a valid URL (the kubelet ignores this entry)" % label)
    return credential


def _decode_redacted(secret: dict, namespace: str, name: str, secret_type: str) -> DecodedSecret:
    """Rebuild a DecodedSecret from redact_secret() output: keys and usernames, no passwords."""
    source = "%s/%s" % (namespace, name)
    credentials = []
    for record in secret.get("registries") or []:
        record = _mapping(record)
        key = str(record.get("key") or "")
        credentials.append(
            RegistryCredential(
                key=key,
                username=str(record.get("username") or "") or None,
                has_password=bool(record.get("hasPassword")),
                match_key=keyring_key(key) if record.get("keyValid", True) else None,
                expires_at=_parse_iso(record.get("expiresAt")),
                secret=source,
            )
        )
    return DecodedSecret(
        namespace=namespace,
        name=name,
        type=secret_type,
        credentials=tuple(credentials),
        problems=tuple(str(p) for p in secret.get("problems") or []),
        read_by_kubelet=bool(secret.get("readByKubelet")),
        breaks_pulls=bool(secret.get("breaksPulls")),
        kubelet_error=str(secret["kubeletError"]) if secret.get("kubeletError") else None,
        redacted=True,
    )


def _parse_iso(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _mapping(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def redact_secret(secret: dict) -> dict:
    """A Secret safe to save in a bundle: identity, type, data key names and, for pull secrets,
    registry keys and usernames. Every value is dropped, as are annotations and managedFields
    (kubectl's last-applied-configuration annotation embeds the data)."""
    metadata = _mapping(secret.get("metadata"))
    decoded = decode_pull_secret(secret)
    if decoded.redacted:
        data_keys = [str(key) for key in secret.get("dataKeys") or []]
    else:
        data_keys = sorted(str(key) for key in _mapping(secret.get("data")))
    redacted: dict = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            field: str(metadata[field])
            for field in ("name", "namespace", "uid", "creationTimestamp")
            if metadata.get(field) is not None
        },
        "type": str(secret.get("type") or ""),
        "redactedBy": REDACTED_BY,
        "dataKeys": data_keys,
    }
    if decoded.redacted or decoded.credentials or decoded.type in PULL_SECRET_DATA_KEYS:
        return _with_findings(redacted, decoded)
    return redacted


def _with_findings(base: dict, decoded: DecodedSecret) -> dict:
    """A redacted Secret dict plus a decoded pull secret's value-free findings."""
    result = dict(base)
    result["registries"] = [
        {
            "key": cred.key,
            "username": cred.username,
            "hasPassword": cred.has_password,
            "keyValid": cred.match_key is not None,
            "expiresAt": cred.expires_at.isoformat() if cred.expires_at else None,
        }
        for cred in decoded.credentials
    ]
    result["problems"] = list(decoded.problems)
    result["readByKubelet"] = decoded.read_by_kubelet
    result["breaksPulls"] = decoded.breaks_pulls
    result["kubeletError"] = decoded.kubelet_error
    return result


# --- matching --------------------------------------------------------------------------------


def matching_credentials(
    image: ImageReference, credentials: Iterable[RegistryCredential]
) -> list[RegistryCredential]:
    """The credentials the kubelet offers for the image, in the order it tries them.

    ``credentials``: from the pod's pull secrets in pod order (use DecodedSecret.kubelet_credentials).
    Credentials of the node (its config.json, credential provider plugins) come after these and
    are not visible here.
    """
    by_key: dict[str, list[RegistryCredential]] = {}
    for credential in credentials:
        if credential.match_key is not None:
            by_key.setdefault(credential.match_key, []).append(credential)
    target = image.name
    matched: list[RegistryCredential] = []
    for key in sorted(by_key, reverse=True):
        if _urls_mismatch(key, target) is None:
            matched.extend(by_key[key])
    if not matched and _is_default_registry_match(target):
        matched = list(by_key.get(DOCKER_HUB_KEYRING_KEY, []))
    return matched


def registry_key_matches(key: str, image: ImageReference) -> bool:
    """Whether a registry key as written in a secret serves the image.

    A Docker Hub key ("index.docker.io", "https://index.docker.io/v1/") counts as matching a
    Docker Hub image, although the kubelet uses it only when no other key matched.
    """
    return key_mismatch_reason(key, image) is None


def key_mismatch_reason(key: str, image: ImageReference) -> str | None:
    """Why a registry key as written does not serve the image; None when it does."""
    return _mismatch_reason(keyring_key(key), image)


def _mismatch_reason(match_key: str | None, image: ImageReference) -> str | None:
    if match_key is None:
        return "the kubelet ignores this key: it is not a valid URL"
    target = image.name
    if match_key == DOCKER_HUB_KEYRING_KEY:
        if _is_default_registry_match(target):
            return None
        return "%s credentials are used only for Docker Hub images" % DOCKER_HUB_KEYRING_KEY
    return _urls_mismatch(match_key, target)


def keyring_key(key: str) -> str | None:
    """How the kubelet indexes a registry key: host plus path, scheme and /v1/ or /v2/ dropped.

    None when Go's url.Parse rejects the key, in which case the kubelet skips the entry.
    """
    value = key if key.startswith(("https://", "http://")) else "https://" + key
    parsed = _go_parse_url(value)
    if parsed is None:
        return None
    host, path = parsed
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return host + path if path not in ("", "/") else host


def _urls_mismatch(glob: str, target: str) -> str | None:
    """credentialprovider.URLsMatchStr, answering why not instead of false."""
    glob_url, target_url = _go_parse_url("https://" + glob), _go_parse_url("https://" + target)
    if glob_url is None or target_url is None:
        return "the kubelet ignores this key: it is not a valid URL"
    (glob_host, glob_path), (target_host, target_path) = glob_url, target_url
    glob_labels, glob_port = _split_url_host(glob_host)
    target_labels, target_port = _split_url_host(target_host)
    if glob_port != target_port:
        return "port %s differs from the image's %s" % (glob_port or "(none)", target_port or "(none)")
    if len(glob_labels) != len(target_labels):
        return "host %s has %d dot-separated labels, the image's host %s has %d" % (
            ".".join(glob_labels), len(glob_labels), ".".join(target_labels), len(target_labels))
    if not target_path.startswith(glob_path):
        return "path %s is not a prefix of the image's path %s" % (glob_path, target_path)
    for glob_label, target_label in zip(glob_labels, target_labels):
        if not _go_glob_match(glob_label, target_label):
            return "host label %r does not match %r" % (glob_label, target_label)
    return None


def _is_default_registry_match(image_name: str) -> bool:
    """credentialprovider.isDefaultRegistryMatch."""
    first, slash, _ = image_name.partition("/")
    if not first:
        return False
    if not slash or first in ("docker.io", "index.docker.io"):
        return True
    return "." not in first and ":" not in first


def _split_url_host(host: str) -> tuple[list[str], str]:
    """credentialprovider.SplitURL: dot-separated labels and port (Go's net.SplitHostPort)."""
    split = _go_split_host_port(host)
    name, port = split if split is not None else (host, "")
    return name.split("."), port


# --- Go standard library behaviour the kubelet relies on --------------------------------------


def _go_parse_url(raw: str) -> tuple[str, str] | None:
    """(host, path) as Go's net/url.Parse gives them for "http(s)://...", or None on error."""
    without_fragment, _, fragment = raw.partition("#")
    if re.search("[\x00-\x1f\x7f]", without_fragment) or _go_unescape(fragment) is None:
        return None
    rest = without_fragment.split("://", 1)[1]
    if rest.endswith("?") and rest.count("?") == 1:
        rest = rest[:-1]
    else:
        rest = rest.partition("?")[0]
    authority, slash, path = rest.partition("/")
    host = _go_parse_authority(authority)
    path = _go_unescape(slash + path)
    if host is None or path is None:
        return None
    return host, path


def _go_parse_authority(authority: str) -> str | None:
    userinfo, at, hostport = authority.rpartition("@")
    host = _go_parse_host(hostport)
    if host is None:
        return None
    if at:
        if re.search(r"[^A-Za-z0-9\-._:~!$&'()*+,;=%@]", userinfo):
            return None
        if any(_go_unescape(part) is None for part in userinfo.split(":", 1)):
            return None
    return host


def _go_parse_host(host: str) -> str | None:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0 or not _valid_optional_port(host[end + 1:]):
            return None
    else:
        colon = host.rfind(":")
        if colon >= 0 and not _valid_optional_port(host[colon:]):
            return None
    return _go_unescape(host, host_mode=True)


def _valid_optional_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and all("0" <= c <= "9" for c in port[1:]))


# ASCII characters Go's url package allows unescaped in a host ("%" is handled on its own).
_HOST_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,;=:[]<>\""
)


def _go_unescape(text: str, host_mode: bool = False) -> str | None:
    """net/url's unescape: None where Go reports an error."""
    if "%" not in text and not host_mode:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            pair = text[i + 1:i + 3]
            if len(pair) != 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                return None
            if host_mode and int(pair[0], 16) < 8 and pair != "25":
                return None  # a host may escape only non-ASCII bytes
            out.append(int(pair, 16))
            i += 3
            continue
        if host_mode and ord(char) < 0x80 and char not in _HOST_ASCII:
            return None
        out += char.encode("utf-8", "surrogatepass")
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _go_split_host_port(hostport: str) -> tuple[str, str] | None:
    """net.SplitHostPort; None where Go returns an error."""
    colon = hostport.rfind(":")
    if colon < 0:
        return None
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != colon:
            return None
        host, scan_open, scan_close = hostport[1:end], 1, end + 1
    else:
        host, scan_open, scan_close = hostport[:colon], 0, 0
        if ":" in host:
            return None
    if "[" in hostport[scan_open:] or "]" in hostport[scan_close:]:
        return None
    return host, hostport[colon + 1:]


def _go_glob_match(pattern: str, name: str) -> bool:
    """path/filepath.Match on Unix; a malformed pattern matches nothing (the kubelet's reading)."""
    regex = _go_glob_regex(pattern)
    return regex is not None and re.fullmatch(regex, name, re.DOTALL) is not None


def _go_glob_regex(pattern: str) -> str | None:
    parts: list[str] = []
    i, size = 0, len(pattern)
    while i < size:
        char = pattern[i]
        i += 1
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "\\":
            if i >= size:
                return None
            parts.append(re.escape(pattern[i]))
            i += 1
        elif char == "[":
            negated = i < size and pattern[i] == "^"
            i += negated
            ranges: list[tuple[str, str]] = []
            while not (i < size and pattern[i] == "]" and ranges):
                low, i = _go_glob_class_char(pattern, i)
                if low is None:
                    return None
                high = low
                if pattern[i] == "-":
                    high, i = _go_glob_class_char(pattern, i + 1)
                    if high is None:
                        return None
                ranges.append((low, high))
            i += 1
            members = "".join(
                "\\U%08x-\\U%08x" % (ord(low), ord(high)) for low, high in ranges if low <= high
            )
            if negated:
                parts.append("[^%s]" % members if members else "[\\s\\S]")
            else:
                parts.append("[%s]" % members if members else "(?!)")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


def _go_glob_class_char(pattern: str, i: int) -> tuple[str | None, int]:
    """filepath's getEsc: one class character, or None for ErrBadPattern."""
    if i >= len(pattern) or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            return None, i
    char, i = pattern[i], i + 1
    if i >= len(pattern):
        return None, i
    return char, i


_BASE64_ALPHABET = {c: v for v, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _go_base64_decode(text: str, padded: bool) -> tuple[bytes | None, int]:
    """encoding/base64 StdEncoding (padded) or RawStdEncoding: (bytes, 0) or (None, bad offset).

    A port of Go's decodeQuantum, so that the offset is the one in the kubelet's
    "illegal base64 data at input byte N".
    """
    src = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    si, size = 0, len(src)
    while si < size:
        quantum: list[int] = []
        end_reached = False
        while len(quantum) < 4:
            if si == size:
                if not quantum:
                    return bytes(out), 0
                if len(quantum) == 1 or padded:
                    return None, si - len(quantum)
                end_reached = True
                break
            char = src[si]
            si += 1
            if char in _BASE64_ALPHABET:
                quantum.append(_BASE64_ALPHABET[char])
                continue
            if char in b"\r\n":
                continue
            if not padded or char != ord("="):
                return None, si - 1
            if len(quantum) < 2:
                return None, si - 1
            if len(quantum) == 2:  # a second "=" must follow
                while si < size and src[si] in b"\r\n":
                    si += 1
                if si == size:
                    return None, size
                if src[si] != ord("="):
                    return None, si - 1
                si += 1
            while si < size and src[si] in b"\r\n":
                si += 1
            if si < size:
                return None, si  # trailing garbage after padding
            end_reached = True
            break
        value = 0
        for index in range(4):
            value = (value << 6) | (quantum[index] if index < len(quantum) else 0)
        out += value.to_bytes(3, "big")[: len(quantum) - 1]
        if end_reached:
            break
    return bytes(out), 0


def _fold(name: str) -> str:
    return name.casefold()


def _folds_to(name: str, field_name: str) -> bool:
    """Go's encoding/json field matching: case-insensitive (with Unicode folding)."""
    return _fold(name) == field_name


def _is_string_map(value: object) -> bool:
    return value is None or (isinstance(value, dict) and all(
        v is None or isinstance(v, str) for v in value.values()))


def _reject_constant(name: str) -> None:
    raise ValueError("%s is not JSON" % name)


# --- AWS ECR --------------------------------------------------------------------------------


def is_ecr_host(host: str) -> bool:
    """A private AWS ECR registry (123456789012.dkr.ecr.REGION.amazonaws.com); scheme, port and
    path are ignored."""
    return ecr_region(host) is not None


def ecr_region(host: str) -> str | None:
    match = re.fullmatch(_ECR_HOST, _bare_host(host).lower())
    return match.group(3) if match else None


def ecr_token_expiry(password: str) -> datetime | None:
    """When an ECR authorization token expires, read from the token itself.

    ECR's password (what ``aws ecr get-login-password`` prints; user "AWS") is base64 of JSON
    {"payload": ..., "datakey": ..., "version": "2", "type": "DATA_KEY", "expiration": <unix s>};
    tokens live 12 hours. None when the password is not such a token.
    """
    import json  # only decoding needs it; keeps the module cheap to import

    try:
        raw = base64.b64decode(password + "=" * (-len(password) % 4), validate=True)
        document = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):
        return None
    expiration = document.get("expiration") if isinstance(document, dict) else None
    if isinstance(expiration, bool) or not isinstance(expiration, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(expiration, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _bare_host(text: str) -> str:
    rest = text.split("://", 1)[-1]
    hostport = re.split("[/?#]", rest, 1)[0].rpartition("@")[2]
    split = _go_split_host_port(hostport)
    return split[0] if split is not None else hostport


def mask_key(key: str) -> str:
    """The key with any "user:password@" in its authority replaced by "***@"."""
    start = key.find("://")
    start = start + 3 if start >= 0 else 0
    end = re.search("[/?#]|$", key[start:]).start() + start  # type: ignore[union-attr]
    at = key.rfind("@", start, end)
    return key if at < 0 else key[:start] + "***@" + key[at + 1:]
