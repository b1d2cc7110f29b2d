"""Pull on the node with the credentials the kubelet would use (`pod NAME --on-node --with-credentials`).

Which credentials: for each image, the pod's imagePullSecrets (read from the pod's namespace) matched
to the image the kubelet's way (pullcheck.secrets.matching_credentials), or the credentials of one
candidate secret (`--secret NS/NAME`) to try a fix before applying it. Every matching credential is
passed, in the kubelet's order: the kubelet tries them one after the other and stops at the first pull
that works, so offering only the first would call a pod broken that the kubelet can pull for. An image
no credential matches is pulled anonymously, as the kubelet does. Credentials of the node itself (its
config.json, credential provider plugins), which the kubelet tries after the pod's, are not offered.

How they travel (the only way they leave this process):
1. the probe pod is created first; its spec names a Secret `<pod>-creds` and descriptor 3, no value;
2. the Secret is created next, already owned by the pod (ownerReference with the pod's uid), so the
   garbage collector deletes it with the pod even if pullcheck dies; it is type Opaque, immutable,
   labelled `app.kubernetes.io/managed-by=kubectl-pullcheck` for `cleanup`, and mounted read-only
   with mode 0400 (the probe runs as root, nothing else runs in the pod). The kubelet retries the
   mount until the Secret exists, which takes one API call;
3. the Secret is deleted explicitly on every way out (success, failure, --timeout, Ctrl-C, SIGTERM),
   before the pod;
4. the probe reads the file once through descriptor 3 and closes it; the pull tool gets them only
   for the pull (see probe.sh: crictl through its environment, ctr on its command line), and its
   output is scrubbed of them on the node and again here.

What remains visible on the node while it runs: the Secret's tmpfs volume under
/var/lib/kubelet/pods/<uid>/volumes/ (root only) while the pod exists, and for the seconds one pull
takes, the runtime tool's process: crictl's environment (root only), or ctr's command line
`--user USER:PASSWORD` (readable by every process on the node and recorded by process auditing).
Nothing else: no environment variable of the pod, no log line, no output or `--save` bundle holds a
value. Without --with-credentials no secret value leaves the workstation.
"""
from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Sequence, Tuple

from pullcheck.node.records import Record

LABEL_PREFIX = "secret:"
ANONYMOUS = "none"        # the probe's `auth` field for an image no credential matched

# Causes (pullcheck.matrix) as the node pull reports them
_AUTH = ("auth-missing", "auth-rejected", "auth-or-not-found")
_REFERENCE = ("image-not-found", "tag-not-found", "platform-mismatch", "invalid-reference")
_UNREACHABLE = ("dns", "network-timeout", "connection-refused", "tls", "proxy")


@dataclass(frozen=True)
class OfferedCredential:
    """One credential the kubelet would try for an image; the password stays inside `credential`
    (pullcheck.secrets.RegistryCredential, whose repr never shows it)."""

    label: str                     # "secret:NS/NAME": what the probe records
    credential: Any                # pullcheck.secrets.RegistryCredential

    @property
    def secret(self) -> str:
        return self.label[len(LABEL_PREFIX):]

    def _userpass(self) -> bytes:
        return f"{self.credential.username or ''}:{self.credential.secret_password()}".encode(
            "utf-8", "surrogateescape")

    def _auth(self) -> str:
        return base64.b64encode(self._userpass()).decode("ascii")


@dataclass(frozen=True)
class NodeCredentials:
    """Per image, the credentials offered on the node, in the order the kubelet tries them."""

    offered: Tuple[Tuple[str, Tuple[OfferedCredential, ...]], ...]
    candidate: Optional[str] = None          # "NS/NAME" of --secret; None: the pod's own pull secrets
    pod_namespace: str = ""
    notes: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        counts = ", ".join(f"{image}: {len(offered)}" for image, offered in self.offered)
        return f"NodeCredentials({counts}; candidate={self.candidate!r})"

    def for_image(self, image: str) -> Tuple[OfferedCredential, ...]:
        return next((offered for name, offered in self.offered if name == image), ())

    def secret_file(self, images: Sequence[str]) -> bytes:
        """The credentials file probe.sh reads (--credentials-fd): IMAGE<TAB>LABEL<TAB>base64(user:password)
        per line, in the kubelet's order. Goes into the probe's Secret and nowhere else."""
        lines = [f"{image}\t{offered.label}\t{offered._auth()}" for image in dict.fromkeys(images)
                 for offered in self.for_image(image)]
        return "".join(line + "\n" for line in lines).encode("ascii")

    def secret_values(self) -> List[str]:
        """Every form a value may take in text (auth string, user:password, password), longest first:
        what is scrubbed from the probe's output as a second line of defence."""
        values = set()
        for _, offered_all in self.offered:
            for offered in offered_all:
                password = offered.credential.secret_password()
                values.update((offered._auth(), offered._userpass().decode("utf-8", "surrogateescape"), password))
        return sorted((v for v in values if v), key=len, reverse=True)


def pod_credentials(snapshot, images: Sequence[str], secret=None) -> NodeCredentials:
    """The credentials the kubelet would use for each image of the pod (snapshot: pullcheck.snapshot.
    PodSnapshot read from the cluster), or with `secret` (a DecodedSecret, e.g. from
    pullcheck.probing.read_secret for --secret NS/NAME) those of that one secret instead."""
    notes: List[str] = []
    if secret is not None:
        available = list(secret.kubelet_credentials)
        candidate: Optional[str] = f"{secret.namespace}/{secret.name}"
        if secret.namespace and secret.namespace != snapshot.namespace:
            notes.append(f"secret {candidate} is in namespace {secret.namespace}, the pod in {snapshot.namespace}: "
                         "the kubelet reads pull secrets from the pod's namespace only, so copy it there to use it")
    else:
        candidate = None
        available = list(_pod_secret_credentials(snapshot, notes))
    offered = []
    for image in dict.fromkeys(images):
        matched = _matching(image, available, notes)
        offered.append((image, tuple(matched)))
    return NodeCredentials(offered=tuple(offered), candidate=candidate, pod_namespace=snapshot.namespace,
                           notes=tuple(notes))


def with_pod_credentials(request, snapshot, secret=None):  # -> pullcheck.node.runner.ProbeRequest
    """`request` (from pullcheck.node.command.node_request) pulling with the credentials of pod_credentials()."""
    return dataclasses.replace(request, credentials=pod_credentials(snapshot, request.images, secret))


def _pod_secret_credentials(snapshot, notes: List[str]) -> Iterator[Any]:
    """RegistryCredentials of the pod's imagePullSecrets, in pod order (what the kubelet reads)."""
    for entry in (snapshot.pod.get("spec") or {}).get("imagePullSecrets") or ():
        name = entry.get("name") if isinstance(entry, dict) else None
        if not name:
            continue
        lookup = snapshot.secrets.get(name)
        status = lookup.status if lookup is not None else "unknown"
        decoded = lookup.decoded if lookup is not None else None
        if status == "missing":
            notes.append(f"pull secret {name} does not exist in namespace {snapshot.namespace}: "
                         "the kubelet skips it, and so does the node pull")
        elif decoded is None:
            notes.append(f"pull secret {name} could not be read ({status}): the kubelet uses it, the node pull cannot")
        elif decoded.breaks_pulls:
            notes.append(f"pull secret {name} cannot be decoded by the kubelet "
                         f"({decoded.kubelet_error or '; '.join(decoded.problems)}): that fails every pull of the "
                         "pod, whatever the node pull with the other credentials shows")
        elif decoded.redacted:
            notes.append(f"pull secret {name} holds no values here (a capture): not offered")
        else:
            yield from decoded.kubelet_credentials


def _matching(image: str, available: Sequence[Any], notes: List[str]) -> List[OfferedCredential]:
    from pullcheck.reference import parse
    from pullcheck.secrets import matching_credentials

    try:
        reference = parse(image)
    except ValueError as exc:
        notes.append(f"{image}: {exc}: pulled without credentials")
        return []
    matched = [OfferedCredential(LABEL_PREFIX + (c.secret or "?"), c)
               for c in matching_credentials(reference, available)]
    if not matched:
        host = reference.registry or reference.name.split("/", 1)[0]
        notes.append(f"{image}: no pull secret matches {host}: pulled anonymously, as the kubelet does")
    return matched


# -- what the node pull says ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CredentialOutcome:
    """outcome: works-with-credentials | works-anonymously | credentials-rejected | credentials-needed |
    not-found-with-credentials | registry-unreachable | pull-failed | not-pulled."""

    image: str
    outcome: str
    message: str


def credential_outcomes(node_report, request) -> List[CredentialOutcome]:
    """Per image of `request` (a ProbeRequest with credentials), what the credentialed node pull shows:
    the credentials are rejected, the node cannot reach the registry, or they work and the pod's
    configuration is what is wrong."""
    credentials: NodeCredentials = request.credentials
    pulls = {c.subject: c for c in node_report.checks if c.check == "pull"}
    return [_outcome(image, pulls.get(image), credentials, node_report.node) for image in request.images]


def credential_conclusions(node_report, request) -> List[str]:
    """credential_outcomes() as one line each: what `pod --on-node --with-credentials` shows."""
    return [outcome.message for outcome in credential_outcomes(node_report, request)]


def _outcome(image: str, check, credentials: NodeCredentials, node: str) -> CredentialOutcome:
    def said(outcome: str, text: str) -> CredentialOutcome:
        return CredentialOutcome(image, outcome, f"{image}: {text}")

    if check is None:
        return said("not-pulled", f"not pulled on node {node} (the probe did not get that far)")
    if check.status not in ("ok", "fail"):
        return said("not-pulled", f"not pulled on node {node}: {check.summary}")
    fields = Record(check.check, check.subject, check.status, check.detail).fields
    used = fields.get("auth", ANONYMOUS)
    offered = credentials.for_image(image)
    who = _who(offered)
    if check.status == "ok":
        if used == ANONYMOUS or not offered:
            return said("works-anonymously", f"pulls on node {node} anonymously (no pull secret matches its "
                        "registry): the registry does not even need credentials; the pod's configuration is "
                        "what is wrong (image name, pull policy)")
        if credentials.candidate:
            namespace, _, name = credentials.candidate.rpartition("/")
            fix = (f"list secret {name} in the pod's imagePullSecrets (or its service account's)"
                   if namespace == credentials.pod_namespace else
                   f"copy secret {name} to namespace {credentials.pod_namespace} and list it in the pod's "
                   "imagePullSecrets (or its service account's)")
            return said("works-with-credentials", f"pulls on node {node} with {_shown(used)}: these credentials "
                        f"work; the pod's configuration is what is wrong: {fix}")
        return said("works-with-credentials", f"pulls on node {node} with the credentials the kubelet uses for it "
                    f"({_shown(used)}): the node, its network, the registry and these credentials all work; the "
                    "pod's configuration is what is wrong (image name, pull policy), or the pod failed before its "
                    "secret was fixed (delete it to retry now)")
    cause = check.cause
    if cause in _AUTH:
        if offered and used != ANONYMOUS:
            every = "every credential the kubelet would try was" if len(offered) > 1 else "these credentials are"
            maybe = " (or the repository does not exist for them)" if cause == "auth-or-not-found" else ""
            return said("credentials-rejected", f"the registry rejects the credentials on node {node}: {every} "
                        f"rejected{maybe} ({who}): fix the user name, password or token in the secret")
        return said("credentials-needed", f"node {node} reaches the registry, which wants credentials ({cause}), "
                    "and no pull secret matches it: the pod needs one for this registry")
    if cause in _REFERENCE:
        how = f"with {who}" if offered else "anonymously"
        return said("not-found-with-credentials", f"the registry answers node {node} {how} that the image is not "
                    f"there ({cause}): the image reference is wrong (name, tag or platform), not the credentials")
    if cause in _UNREACHABLE:
        return said("registry-unreachable", f"node {node} cannot reach the registry ({cause}): the credentials "
                    "were not even checked; an infrastructure problem (network, DNS, proxy, TLS)")
    return said("pull-failed", f"fails on node {node} with {who if offered else 'no credentials'} "
                f"({cause or 'failed'}): an infrastructure problem (registry, runtime), not the credentials")


def _shown(label: str) -> str:
    return "secret " + label[len(LABEL_PREFIX):] if label.startswith(LABEL_PREFIX) else label


def _who(offered: Sequence[OfferedCredential]) -> str:
    return ", ".join(dict.fromkeys(_shown(o.label) for o in offered)) or "no credentials"
