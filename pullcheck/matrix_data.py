"""The error-pattern matrix of kubectl pullcheck, as plain data.

``pullcheck.matrix`` compiles this into rules and rows; nothing here runs.

How to read it:

* ``DEFAULT_ROWS``: one row per cause (title, family, likelihood split, immediate action,
  expected success rate in percent, typical time to resolution). A rule may override fields.
* ``RULES``: tried in order, first match wins, against the runtime's error text (kubelet
  wrappers and the gRPC prefix already removed). Order matters:
    - containerd reports a platform mismatch as ``no match for platform in manifest: not
      found`` and a DNS failure inside ``failed to resolve reference "x": ...``, so the
      platform and DNS rules sit before any "not found" rule;
    - the proxy rules come first among the network rules (``proxyconnect tcp: dial tcp:
      lookup http: ...`` is a proxy problem), then DNS, before "connection refused" and
      "i/o timeout" (``lookup x on y: read udp ...: connection refused`` is DNS);
    - specific auth wordings (expired ECR token, ``no basic auth credentials``, a 5xx from
      the token server) come before the ambiguous ``pull access denied`` wording;
    - network and token-server rules come before the HTTP 5xx rule, because the docker
      daemon reports its own ``HTTP code 500`` around a DNS error.
* ``CANDIDATE_SETS``: for messages that cannot tell causes apart, the causes with their
  likelihoods; ``CHECKS`` gives the check that settles each cause.

Decisions on ambiguous wordings:

* containerd prints the same ``<ref>: not found`` (gRPC NotFound) for a missing repository
  and a missing tag; distribution even answers MANIFEST_UNKNOWN for a missing repository on
  the manifests endpoint. Such messages are classified ``tag-not-found`` (tags change with
  every deploy, repository paths rarely do) with ``image-not-found`` as the second candidate;
  ``GET /v2/<repo>/tags/list`` settles it (404 NAME_UNKNOWN: no repository).
* ``pull access denied, repository does not exist or may require authorization`` (Docker
  Hub, token registries) and Quay's ``access to the requested resource is not authorized``
  are answered for private and for non-existent repositories alike: ``auth-or-not-found``.
* A bare ``401 Unauthorized`` / ``authentication required`` is identical for missing and for
  wrong credentials (seen in the captures and TEST-ENV.md): ``auth-missing`` first, because a
  missing or misplaced imagePullSecret is the commoner mistake, ``auth-rejected`` second.
* A 403 means the registry knew who asked and said no: ``auth-rejected`` first.
"""
from __future__ import annotations

CAUSES = (
    "image-not-found", "tag-not-found", "auth-missing", "auth-rejected", "auth-or-not-found",
    "rate-limited", "dns", "network-timeout", "connection-refused", "tls", "proxy",
    "platform-mismatch", "invalid-reference", "never-pull", "runtime-storage", "registry-error",
    "policy", "unknown",
)

# The likelihood text is rendered from "split" ("typo 80% / missing 20%").
DEFAULT_ROWS = {
    "image-not-found": {
        "title": "Repository does not exist", "family": "not-found",
        "split": (("typo", 80), ("missing", 20)),
        "immediate_action": "Verify name in registry UI",
        "success_rate": 95, "time_to_resolution": "2-5 min",
    },
    "tag-not-found": {
        "title": "Manifest not found (tag or digest)", "family": "not-found",
        "split": (("wrong tag", 70), ("deleted", 30)),
        "immediate_action": "Check available tags",
        "success_rate": 90, "time_to_resolution": "3-7 min",
    },
    "auth-missing": {
        "title": "No credentials sent for the registry", "family": "auth",
        "split": (("no imagePullSecrets", 55), ("secret in another namespace or for another host", 45)),
        "immediate_action": "Verify imagePullSecrets: in the pod's namespace, referenced by the pod "
                            "or its service account, and keyed to the registry host",
        "success_rate": 85, "time_to_resolution": "5-15 min",
    },
    "auth-rejected": {
        "title": "Registry rejected the credentials", "family": "auth",
        "split": (("wrong or expired credentials", 65), ("account lacks pull permission", 35)),
        "immediate_action": "Test the pull secret's credentials against the registry and renew them "
                            "or grant pull access",
        "success_rate": 80, "time_to_resolution": "10-30 min",
    },
    "auth-or-not-found": {
        "title": "Pull access denied (credentials or missing repository)", "family": "auth",
        "split": (("auth", 85), ("network", 15)),
        "immediate_action": "Verify imagePullSecrets",
        "success_rate": 85, "time_to_resolution": "5-15 min",
    },
    "rate-limited": {
        "title": "Registry pull rate limit reached", "family": "registry",
        "split": (("rate limiting", 100),),
        "immediate_action": "Authenticate or use mirrors",
        "success_rate": 80, "time_to_resolution": "10-30 min",
    },
    "dns": {
        "title": "Registry host name does not resolve on the node", "family": "network",
        "split": (("wrong or internal-only host name", 60), ("node resolver failing", 40)),
        "immediate_action": "Resolve the registry host from the node with its own resolv.conf",
        "success_rate": 75, "time_to_resolution": "10-30 min",
    },
    "network-timeout": {
        "title": "Connection to the registry timed out", "family": "network",
        "split": (("network", 100),),
        "immediate_action": "Test connectivity",
        "success_rate": 70, "time_to_resolution": "15-60 min",
    },
    "connection-refused": {
        "title": "Registry port refused or reset the connection", "family": "network",
        "split": (("wrong host or port", 50), ("registry down", 50)),
        "immediate_action": "Check the registry is up and listening on that host:port, from the node",
        "success_rate": 80, "time_to_resolution": "5-30 min",
    },
    "tls": {
        "title": "TLS certificate or scheme problem", "family": "tls",
        "split": (("private CA not trusted by the node", 60), ("expired or mismatched certificate", 25),
                  ("HTTP registry addressed as HTTPS or the reverse", 15)),
        "immediate_action": "Inspect the registry certificate from the node and trust its CA in the "
                            "runtime's registry configuration",
        "success_rate": 85, "time_to_resolution": "15-60 min",
    },
    "proxy": {
        "title": "HTTP proxy on the path to the registry failed", "family": "network",
        "split": (("proxy unreachable", 50), ("proxy authentication", 30), ("registry missing from NO_PROXY", 20)),
        "immediate_action": "Check the runtime's HTTP(S)_PROXY and NO_PROXY and test the proxy from the node",
        "success_rate": 75, "time_to_resolution": "15-45 min",
    },
    "platform-mismatch": {
        "title": "No image for the node's platform", "family": "image",
        "split": (("image built for another architecture", 85), ("pod landed on an unexpected node", 15)),
        "immediate_action": "Compare the manifest list's platforms with the node's kubernetes.io/arch",
        "success_rate": 90, "time_to_resolution": "10-30 min",
    },
    "invalid-reference": {
        "title": "Image reference is not valid", "family": "spec",
        "split": (("typo or uppercase letters", 70), ("broken templating", 30)),
        "immediate_action": "Fix the image field: lowercase repository, one :tag or @sha256: digest",
        "success_rate": 98, "time_to_resolution": "2-5 min",
    },
    "never-pull": {
        "title": "imagePullPolicy Never and the image is not on the node", "family": "spec",
        "split": (("image not preloaded", 80), ("pod on an unexpected node", 20)),
        "immediate_action": "Preload the image on the node or set imagePullPolicy to IfNotPresent",
        "success_rate": 95, "time_to_resolution": "2-10 min",
    },
    "runtime-storage": {
        "title": "Node storage failed while unpacking the image", "family": "node",
        "split": (("disk full", 80), ("disk or filesystem error", 20)),
        "immediate_action": "Check free space under the runtime's root and prune unused images",
        "success_rate": 85, "time_to_resolution": "10-30 min",
    },
    "registry-error": {
        "title": "Registry answered with an error or broke off the transfer", "family": "registry",
        "split": (("registry or mirror outage", 70), ("proxy or mirror misbehaving", 30)),
        "immediate_action": "Check the registry's status and logs, retry, and compare without mirrors",
        "success_rate": 60, "time_to_resolution": "15-120 min",
    },
    "policy": {
        "title": "Image rejected by the runtime's signature policy", "family": "policy",
        "split": (("unsigned image", 60), ("signer or policy mismatch", 40)),
        "immediate_action": "Compare the runtime's signature policy with the image's signatures",
        "success_rate": 80, "time_to_resolution": "15-60 min",
    },
    "unknown": {
        "title": "Unrecognised pull error", "family": "unknown",
        "split": (("unknown", 100),),
        "immediate_action": "Read the runtime's log on the node for the full error",
        "success_rate": 0, "time_to_resolution": "unknown",
    },
}

# The check that settles each cause, worded so that it also tells it apart from the others.
CHECKS = {
    "image-not-found": "GET /v2/<repository>/tags/list with working credentials answers 404 "
                       "NAME_UNKNOWN (or the registry UI has no such repository)",
    "tag-not-found": "GET /v2/<repository>/tags/list answers 200 and the tag is not in the list "
                     "(for a digest: GET /v2/<repository>/manifests/<digest> answers 404)",
    "auth-missing": "The pod has no imagePullSecret for this registry host: none in "
                    "spec.imagePullSecrets or its service account, or a FailedToRetrieveImagePullSecret event",
    "auth-rejected": "A pull secret for this host exists but GET /v2/ with its credentials answers 401 or 403",
    "auth-or-not-found": "GET /v2/<repository>/tags/list with the pull secret's credentials: 200 means "
                         "the pod lacks credentials, 404 means the repository is missing",
    "rate-limited": "The registry answers 429 (Docker Hub: the ratelimit-remaining header is 0)",
    "dns": "Resolving the registry host on the node (its resolv.conf) fails",
    "network-timeout": "A TCP or TLS connection from the node to the registry host:port does not complete",
    "connection-refused": "A TCP connection from the node to the registry host:port is refused or reset",
    "tls": "openssl s_client -connect host:port -servername host from the node fails to verify",
    "proxy": "The same request from the node with the runtime's proxy settings fails at the proxy",
    "platform-mismatch": "The manifest list has no entry for the node's os/architecture",
    "invalid-reference": "The image field does not parse as a reference (uppercase, bad characters, empty)",
    "never-pull": "imagePullPolicy is Never and the runtime's image list on the node lacks the image",
    "runtime-storage": "df on the runtime's root directory shows it full (or the kernel log shows I/O errors)",
    "registry-error": "The registry answers 5xx (or cuts the body short) to a plain GET /v2/ or manifest request",
    "policy": "The runtime's signature policy requires a signature the image does not have",
    "unknown": "No check is known for this message",
}

CANDIDATE_SETS = {
    "repository-or-tag": (("tag-not-found", 65), ("image-not-found", 35)),
    "credentials-or-repository": (("auth-missing", 55), ("image-not-found", 45)),
    "repository-or-credentials": (("image-not-found", 60), ("auth-missing", 40)),
    "missing-or-rejected": (("auth-missing", 60), ("auth-rejected", 40)),
    "rejected-or-missing": (("auth-rejected", 60), ("auth-missing", 40)),
    "rejected-or-repository": (("auth-rejected", 75), ("image-not-found", 25)),
    "server-or-scheme": (("registry-error", 55), ("tls", 45)),
}

# Rules, tried in order. Keys: id, pattern (case-insensitive regex), cause; optional: runtime
# (the runtime whose wording it is; None when shared), registry (a registry product the
# wording belongs to), candidates (a CANDIDATE_SETS key) and row (fields overriding the
# cause's default row).
RULES = (
    # Kubelet's own messages and reasons.
    {"id": "never-pull", "cause": "never-pull",
     "pattern": r"is not present with pull policy of Never|\bErrImageNeverPull\b"},
    {"id": "invalid-reference", "cause": "invalid-reference",
     "pattern": r"invalid reference format|couldn't parse image (?:name|reference)|\bInvalidImageName\b"},
    {"id": "pull-secrets-missing", "cause": "auth-missing",
     "pattern": r"Unable to retrieve (?:some image pull secrets|pull secret)",
     "row": {"immediate_action": "Create the listed secrets in the pod's namespace or fix their names"}},
    # Signature policy.
    {"id": "signature-validation-failed", "cause": "policy",
     "pattern": r"SignatureValidationFailed|signature validation failed"},
    {"id": "source-image-rejected", "cause": "policy", "runtime": "cri-o",
     "pattern": r"Source image rejected"},
    # Proxy: before DNS, refused and timeouts, which a proxy error may contain.
    {"id": "proxyconnect", "cause": "proxy", "pattern": r"proxyconnect tcp"},
    {"id": "proxy-connect-error", "cause": "proxy", "runtime": "docker",
     "pattern": r"error connecting to proxy"},
    {"id": "proxy-auth-required", "cause": "proxy", "pattern": r"Proxy Authentication Required"},
    # DNS: before refused and timeouts, which a failed lookup may end in, and before any
    # "not found" rule, since containerd reports it inside "failed to resolve reference".
    {"id": "dns-no-such-host", "cause": "dns", "pattern": r"no such host"},
    {"id": "dns-server-misbehaving", "cause": "dns", "pattern": r"server misbehaving"},
    {"id": "dns-lookup-failed", "cause": "dns",
     "pattern": r"\blookup \S+(?: on \S+)?: |Temporary failure in name resolution|Name or service not known"},
    # Rate limiting.
    {"id": "toomanyrequests", "cause": "rate-limited",
     "pattern": r"toomanyrequests|429 Too Many Requests|\bStatus 429\b|pull rate limit"},
    # Node storage.
    {"id": "no-space-left", "cause": "runtime-storage",
     "pattern": r"no space left on device|disk quota exceeded"},
    {"id": "storage-io-error", "cause": "runtime-storage",
     "pattern": r"input/output error|read-only file system"},
    {"id": "layer-unpack-failed", "cause": "runtime-storage",
     "pattern": r"failed to (?:extract|register|apply) layer|ApplyLayer exit status|Untar re-exec error"
                r"|Error processing tar file"},
    # Authentication and authorization: specific wordings first.
    {"id": "ecr-token-expired", "cause": "auth-rejected", "registry": "ecr",
     "pattern": r"authorization token has expired",
     "row": {"split": (("expired ECR token", 90), ("clock skew", 10)),
             "immediate_action": "Refresh the ECR credentials (node credential provider or the "
                                 "secret's token, valid for 12 hours)"}},
    {"id": "no-basic-auth-credentials", "cause": "auth-missing", "pattern": r"no basic auth credentials"},
    {"id": "artifact-registry-unauthenticated", "cause": "auth-missing", "registry": "artifact-registry",
     "pattern": r"Unauthenticated requests do not have permission"},
    {"id": "artifact-registry-permission-denied", "cause": "auth-rejected", "registry": "artifact-registry",
     "candidates": "rejected-or-repository",
     "pattern": r"Permission \"?artifactregistry\.\w+\.\w+\"? denied",
     "row": {"immediate_action": "Grant roles/artifactregistry.reader on the repository to the node's "
                                 "service account (or the pull secret's)"}},
    {"id": "token-server-error", "cause": "registry-error",
     "pattern": r"failed to fetch (?:anonymous|oauth) token: unexpected status(?: from \w+ request to \S+)?: 5\d\d"},
    {"id": "oauth-token-rejected", "cause": "auth-rejected", "runtime": "containerd",
     "pattern": r"failed to fetch oauth token: unexpected status(?: from \w+ request to \S+)?: 40[0-3]"},
    {"id": "anonymous-token-denied", "cause": "auth-missing", "runtime": "containerd",
     "candidates": "credentials-or-repository",
     "pattern": r"failed to fetch anonymous token: unexpected status(?: from \w+ request to \S+)?: 40[0-3]"},
    {"id": "bearer-token-bad-request", "cause": "auth-rejected", "runtime": "cri-o",
     "pattern": r"Requesting bearer token: invalid status code from registry 400"},
    {"id": "wrong-username-password", "cause": "auth-rejected",
     "pattern": r"invalid username/password|incorrect username or password"},
    {"id": "harbor-unauthorized", "cause": "auth-rejected", "registry": "harbor",
     "candidates": "rejected-or-missing", "pattern": r"unauthorized to access repository",
     "row": {"immediate_action": "Give the pull secret's user or robot account pull rights on the "
                                 "Harbor project"}},
    {"id": "ghcr-denied", "cause": "auth-rejected", "registry": "ghcr", "candidates": "rejected-or-missing",
     "pattern": r"denied: denied"},
    {"id": "quay-not-authorized", "cause": "auth-or-not-found", "registry": "quay",
     "candidates": "repository-or-credentials",
     "pattern": r"access to the requested resource is not authorized"},
    {"id": "pull-access-denied", "cause": "auth-or-not-found", "candidates": "credentials-or-repository",
     "pattern": r"pull access denied|repository does not exist or may require|does not exist or no pull access"
                r"|requested access to the resource is denied"},
    {"id": "acr-unauthorized", "cause": "auth-missing", "registry": "acr", "candidates": "missing-or-rejected",
     "pattern": r"aka\.ms/acr/authorization",
     "row": {"immediate_action": "Attach the registry to the cluster (az aks update --attach-acr) or add "
                                 "an imagePullSecret for it"}},
    {"id": "authentication-required", "cause": "auth-missing", "candidates": "missing-or-rejected",
     "pattern": r"authentication required"},
    {"id": "http-401", "cause": "auth-missing", "candidates": "missing-or-rejected",
     "pattern": r"\b401 Unauthorized|\bstatus(?: code)?:? 401\b"},
    {"id": "http-403", "cause": "auth-rejected", "candidates": "rejected-or-missing",
     "pattern": r"\b403 Forbidden|:\s*Forbidden\b"},
    {"id": "unauthorized", "cause": "auth-missing", "candidates": "missing-or-rejected",
     "pattern": r"\bunauthorized\b"},
    # Not found: the platform rule first, containerd ends it in ": not found".
    {"id": "name-unknown", "cause": "image-not-found",
     "pattern": r"name unknown|NAME_UNKNOWN|repository name not known to registry"
                r"|repository with name \S+ does not exist"},
    {"id": "repository-does-not-exist", "cause": "image-not-found",
     "pattern": r"repository (?:\S+ )?does not exist|repository \S+ not found|Error: image \S+ not found"},
    {"id": "platform-mismatch", "cause": "platform-mismatch",
     "pattern": r"no match for platform in manifest|no matching manifest for \S+ in the manifest list"
                r"|no supported platform found in manifest list|no image found in manifest list for architecture"
                r"|does not match the specified platform"},
    {"id": "manifest-not-found", "cause": "tag-not-found", "candidates": "repository-or-tag",
     "pattern": r"manifest unknown|MANIFEST_UNKNOWN|manifest for \S+ not found"},
    {"id": "containerd-reference-not-found", "cause": "tag-not-found", "runtime": "containerd",
     "candidates": "repository-or-tag",
     "pattern": r"failed to resolve reference \"[^\"]*\": \S+: not found"},
    {"id": "blob-not-found", "cause": "registry-error",
     "pattern": r"could not fetch content descriptor \S+ \([^)]*\) from remote: not found|blob unknown"
                r"|BLOB_UNKNOWN"},
    # TLS.
    {"id": "x509-unknown-authority", "cause": "tls",
     "pattern": r"certificate signed by unknown authority|unable to get local issuer certificate"
                r"|self[- ]signed certificate|certificate is not trusted"},
    {"id": "x509-expired", "cause": "tls", "pattern": r"certificate has expired|is not yet valid"},
    {"id": "x509-name-mismatch", "cause": "tls",
     "pattern": r"x509: certificate is valid for|certificate is not valid for any names"
                r"|cannot validate certificate for|IP address mismatch|Hostname mismatch"},
    {"id": "http-response-to-https-client", "cause": "tls",
     "pattern": r"server gave HTTP response to HTTPS client",
     "row": {"immediate_action": "Configure the runtime to use plain HTTP for this registry, or serve it "
                                 "over TLS"}},
    {"id": "not-a-tls-handshake", "cause": "tls",
     "pattern": r"first record does not look like a TLS handshake|wrong version number"
                r"|Client sent an HTTP request to an HTTPS server"},
    # Timeouts.
    {"id": "tls-handshake-timeout", "cause": "network-timeout", "pattern": r"TLS handshake timeout"},
    {"id": "dial-tcp-timeout", "cause": "network-timeout",
     "pattern": r"dial tcp \S+: (?:connect: )?(?:i/o timeout|connection timed out)|connect: connection timed out"},
    {"id": "http-client-timeout", "cause": "network-timeout",
     "pattern": r"Client\.Timeout exceeded|request canceled while waiting for connection|awaiting headers"},
    {"id": "context-deadline-exceeded", "cause": "network-timeout",
     "pattern": r"context deadline exceeded|\bDeadlineExceeded\b"},
    {"id": "io-timeout", "cause": "network-timeout", "pattern": r"i/o timeout|timed out"},
    # Refused, reset, unreachable.
    {"id": "connection-refused", "cause": "connection-refused", "pattern": r"connection refused"},
    {"id": "connection-reset", "cause": "connection-refused", "pattern": r"connection reset by peer|broken pipe"},
    {"id": "no-route-to-host", "cause": "connection-refused",
     "pattern": r"no route to host|network is unreachable|host is unreachable"},
    {"id": "tls-error", "cause": "tls", "pattern": r"\bx509: |\btls: |handshake failure"},
    # Registry-side errors.
    {"id": "registry-unavailable", "cause": "registry-error",
     "pattern": r"registry is unavailable|\bRegistryUnavailable\b"},
    {"id": "http-5xx", "cause": "registry-error",
     "pattern": r"Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out"
                r"|\b(?:status|code)(?: code)?:? 5\d\d\b|\bregistry 5\d\d\b"},
    {"id": "http-400", "cause": "registry-error", "candidates": "server-or-scheme",
     "pattern": r"\b400 Bad Request|\bregistry 400\b"},
    {"id": "transfer-cut-short", "cause": "registry-error",
     "pattern": r"unexpected EOF|: EOF\b|failed size validation|unexpected commit digest"},
    {"id": "unexpected-http-status", "cause": "registry-error",
     "pattern": r"unexpected status code|invalid status code from registry|received unexpected HTTP status"
                r"|unexpected status from \w+ request|unexpected status: \d{3}"},
)

# When no rule matches the text, the gRPC status code alone still says something.
GRPC_FALLBACK_RULES = {
    "NotFound": {"id": "grpc-not-found", "cause": "tag-not-found", "candidates": "repository-or-tag"},
    "DeadlineExceeded": {"id": "grpc-deadline-exceeded", "cause": "network-timeout"},
}

# Wordings that give away the runtime that produced a message.
RUNTIME_MARKERS = (
    ("containerd", r"failed to pull and unpack image|failed to resolve reference|failed to do request"
                   r"|httpRead(?:er)?Seeker|failed to extract layer|failed commit on ref|^ctr: "),
    ("cri-o", r"initializing source docker://|reading manifest \S+ in |pinging (?:container|docker) registry"
              r"|choosing image instance|Source image rejected|Requesting bearer token|copying system image"),
    ("docker", r"Error response from daemon|failed to register layer|error pulling image configuration"
               r"|Error while pulling image|pull access denied for |manifest for \S+ not found"
               r"|no matching manifest for |does not exist or no pull access"),
)

# Registry products recognised from the registry host name.
REGISTRY_HOSTS = (
    ("ecr", r"(?:^|\.)dkr\.ecr\.[\w-]+\.amazonaws\.com(?:\.cn)?$|^public\.ecr\.aws$"),
    ("acr", r"\.azurecr\.(?:io|cn|us)$"),
    ("artifact-registry", r"(?:^|[.-])docker\.pkg\.dev$"),
    ("gcr", r"(?:^|\.)gcr\.io$"),
    ("ghcr", r"^ghcr\.io$"),
    ("quay", r"(?:^|\.)quay\.io$"),
    ("dockerhub", r"^(?:docker\.io|registry-1\.docker\.io|index\.docker\.io|auth\.docker\.io)$"),
)

# For kubelet aggregates ("[error with secret 1, error with secret 2]"): the error that got
# furthest names the cause, since a credential that got past authentication is the one that
# matters. Earlier in this list wins.
AGGREGATE_PREFERENCE = (
    "platform-mismatch", "tag-not-found", "image-not-found", "policy", "runtime-storage",
    "rate-limited", "registry-error", "auth-rejected", "auth-or-not-found", "auth-missing",
    "tls", "proxy", "dns", "network-timeout", "connection-refused", "invalid-reference",
    "never-pull", "unknown",
)
