"""Lint rules for container images in workload manifests: one Finding per rule, container and image.

Rules, with their severity (errors fail the run; warnings and info do not):

  invalid-reference    error    the kubelet cannot parse the image (InvalidImageName): typos, uppercase,
                                a scheme, an unrendered `{{ .Values.image }}` or `${TAG}`
  invalid-pull-policy  error    imagePullPolicy is not Always, IfNotPresent or Never: the API server rejects it
  registry-not-allowed error    the registry is not in --allowed-registry
  image-not-found      error    --probe: the registry has no such repository, tag or digest
  platform-missing     error    --probe: the image has no variant for a --platform (it would not run there)
  no-pull-secret       warning  the registry looks private and neither the pod nor its service account lists
                                imagePullSecrets. An error when --probe saw the registry refuse anonymous pulls;
                                info for cloud registries (ECR, Artifact Registry / GCR, ACR), whose nodes
                                usually pull with their own identity; dropped when --probe pulled anonymously
  latest-tag           warning  `:latest` or no tag: what runs changes with every push, replicas can differ
                                and a rollback cannot bring the old image back
  pull-policy          warning  imagePullPolicy: IfNotPresent on `:latest` / no tag: nodes keep a stale copy
  never-pull           warning  imagePullPolicy: Never: pods fail with ErrImageNeverPull on every node that
                                does not have the image preloaded
  pull-secret          error    a pull secret the pods will carry (read with --live; with -f, when the input holds
                                it) does not exist, is of a type the kubelet
                                ignores or cannot be decoded, holds no credentials for the image's registry,
                                or holds an expired ECR token. A warning when the registry needs no credentials
                                or another listed secret covers it
  not-verified         warning  --probe could not check the image from here (DNS, TLS, network, rate limit);
                                info when the registry wants credentials the pod has but the probe did not use
  no-digest            info     a version tag not pinned by digest (a re-pushed tag changes what new pods run);
                                `:latest` is reported as latest-tag instead

Pull-policy defaulting is the API server's (SetDefaults_Container): a missing imagePullPolicy becomes Always
when the tag is "latest" (also when none is written and no digest pins the image, and also for
`name:latest@sha256:...`) and IfNotPresent otherwise, a digest-only reference included.

A container without an `image:` field is skipped: pod templates may leave it to kustomize or a controller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from pullcheck.errors import UsageError
from pullcheck.lint.manifests import Container, Position, Workload

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str               # the default; a few rules document when a finding is raised or lowered
    checks: str


RULES = (
    Rule("invalid-reference", ERROR, "the image is a reference the kubelet can parse"),
    Rule("invalid-pull-policy", ERROR, "imagePullPolicy is Always, IfNotPresent or Never"),
    Rule("registry-not-allowed", ERROR, "the registry is one of --allowed-registry"),
    Rule("image-not-found", ERROR, "the registry has the repository and the tag or digest (--probe)"),
    Rule("platform-missing", ERROR, "the image serves every --platform (--probe)"),
    Rule("no-pull-secret", WARNING, "a private registry comes with imagePullSecrets (pod or service account)"),
    Rule("pull-secret", ERROR, "the pull secrets the pods carry exist, are read by the kubelet and hold unexpired "
                               "credentials for the registry (--live, or Secrets in the input)"),
    Rule("latest-tag", WARNING, "the image names a version, not :latest or no tag"),
    Rule("pull-policy", WARNING, "imagePullPolicy fits the tag (no IfNotPresent on :latest)"),
    Rule("never-pull", WARNING, "imagePullPolicy is not Never"),
    Rule("not-verified", WARNING, "the registry probe could check the image (--probe)"),
    Rule("no-digest", INFO, "version tags are pinned by digest"),
)
RULE_BY_ID = {rule.id: rule for rule in RULES}
RULE_ORDER = {rule.id: index for index, rule in enumerate(RULES)}

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
# Registries that serve mostly public images: no pull secret expected unless --probe finds otherwise.
PUBLIC_REGISTRIES = frozenset({
    "docker.io", "registry.k8s.io", "k8s.gcr.io", "quay.io", "ghcr.io", "public.ecr.aws", "mcr.microsoft.com",
    "registry.gitlab.com", "docker.elastic.co", "registry.access.redhat.com", "cgr.dev", "nvcr.io", "lscr.io",
})
# Products (pullcheck.registry.known.REGISTRY_HINTS) whose nodes usually authenticate with a cloud identity.
NODE_IDENTITY_PRODUCTS = frozenset({"Amazon ECR", "Google Artifact Registry", "Google Container Registry",
                                    "Azure Container Registry"})
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})
# Findings about imagePullPolicy point at that field; all others at `image:`.
POLICY_RULES = frozenset({"invalid-pull-policy", "pull-policy", "never-pull"})
AUTH_CAUSES = frozenset({"auth-missing", "auth-or-not-found", "auth-rejected"})
NOT_FOUND_CAUSES = frozenset({"image-not-found", "tag-not-found"})
_PLACEHOLDER = re.compile(r"\{\{|\$\{|\$\(|<[A-Za-z_-]+>")


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    fix: str
    workload: Workload
    container: Container

    @property
    def image(self) -> Any:
        return self.container.image

    @property
    def position(self) -> Position:
        return self.container.policy_position if self.rule in POLICY_RULES else self.container.position


# -- --allowed-registry -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AllowedRegistry:
    """host[:port][/path]: host labels may be `*` globs (one label each, as the kubelet matches
    credentials); the port must match exactly; a path allows that repository prefix only."""

    text: str
    host: str
    path: str

    def matches(self, ref) -> bool:
        registry = (ref.registry or ref.host).lower()
        wanted_host, _, wanted_port = self.host.partition(":")
        host, _, port = registry.partition(":") if not registry.startswith("[") else (registry, "", "")
        if wanted_port != port or not _labels_match(wanted_host, host):
            return False
        return not self.path or ref.repository == self.path or ref.repository.startswith(self.path + "/")

    def example(self, ref) -> str | None:
        """The image moved under this entry, for a fix line; None for globs."""
        if "*" in self.host:
            return None
        repository = ref.repository[len("library/"):] if ref.is_docker_hub and \
            ref.repository.startswith("library/") else ref.repository
        prefix = self.host + (f"/{self.path}" if self.path else "")
        suffix = (f":{ref.tag}" if ref.tag and not ref.tag_defaulted else "") + (f"@{ref.digest}" if ref.digest else "")
        return f"{prefix}/{repository}{suffix}"


def _labels_match(pattern: str, host: str) -> bool:
    from fnmatch import fnmatchcase

    wanted, labels = pattern.split("."), host.split(".")
    return len(wanted) == len(labels) and all(fnmatchcase(label, glob) for glob, label in zip(wanted, labels))


def parse_allowed_registries(entries: Sequence[str]) -> tuple[AllowedRegistry, ...]:
    parsed = []
    for entry in entries:
        text = entry.strip().rstrip("/").lower()
        if "://" in text:
            raise UsageError(f"--allowed-registry {entry!r}: give host[:port][/path] without a scheme")
        host, _, path = text.partition("/")
        if not host or " " in text:
            raise UsageError(f"--allowed-registry {entry!r}: expected host[:port][/path], e.g. ghcr.io/acme")
        parsed.append(AllowedRegistry(entry, "docker.io" if host in DOCKER_HUB_ALIASES else host, path))
    return tuple(parsed)


# -- what a probe tells about one image ----------------------------------------------------------------------
@dataclass
class ImageProbe:
    """The registry probe of one image, reduced to what the rules use."""

    image: str                          # as probed: host/repository:tag or @digest
    cause: str | None                   # None: pullable from here
    summary: str                        # the failed step's, else the manifest step's
    digest: str | None                  # what the tag resolves to now
    anonymous: bool                     # anonymous pulls of the manifest work
    platforms: dict[str, bool | None] = field(default_factory=dict)   # --platform -> served (None: not known)
    available: list[str] = field(default_factory=list)                 # platforms the image serves
    suggestions: list[str] = field(default_factory=list)   # images with the closest tags or repository names
    elapsed: float = 0.0

    @property
    def missing_platforms(self) -> list[str]:
        return [p for p, served in self.platforms.items() if served is False]


def image_probe_from(section, ref, platforms: Sequence[str]) -> ImageProbe:
    """Reduce the pullcheck.report.ProbeSection of `ref` (probed for platforms[0]) to an ImageProbe for all
    platforms."""
    steps = {}
    for step in section.steps:
        steps.setdefault(step.step, step)
    failed = section.failed_step
    manifest = steps.get("manifest")
    found = manifest is not None and manifest.status == "ok"
    data = manifest.data if found else {}
    name = ref.familiar.split("@", 1)[0].rsplit(":", 1)[0] if ref.tag else ref.familiar.split("@", 1)[0]
    host = name[:-len(ref.repository)] if name.endswith(ref.repository) else ""
    separator = "@" if ref.digest else ":"
    suggestions = [f"{name}:{tag}" for tag in (steps["tags"].data or {}).get("suggestions") or ()] \
        if "tags" in steps else []
    suggestions += [f"{host}{repository}{separator}{ref.reference}"
                    for repository in (steps["repository"].data or {}).get("suggestions") or ()] \
        if "repository" in steps else []
    probe = ImageProbe(image=section.image, cause=section.cause,
                       summary=(failed.summary if failed else manifest.summary if manifest else ""),
                       digest=data.get("digest") or None, anonymous=found and data.get("access") == "public",
                       suggestions=suggestions, elapsed=section.elapsed)
    platform_step = steps.get("platform")
    if platforms and platform_step is not None:
        probe.available, probe.platforms = _served(platform_step, platforms)
    elif platforms:
        probe.platforms = {p: None for p in platforms}
    return probe


def _served(step, platforms: Sequence[str]) -> tuple[list[str], dict[str, bool | None]]:
    """Which platforms an image serves, from the probe's platform step (index entries or image config)."""
    from pullcheck.registry.model import Platform
    from pullcheck.registry.platforms import best_match, compatible, normalize

    data = step.data or {}

    def triple(text: str):
        parts = text.split("/")
        return normalize(parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else "")

    def node(text: str) -> Platform:
        parts = text.split("/")
        return Platform(parts[0], parts[1], parts[2] if len(parts) > 2 else None)

    if "available" in data:
        available = [str(p) for p in data["available"]]
        triples = [triple(p) for p in available]
        return available, {p: best_match(node(p), triples) is not None for p in platforms}
    if "image_platform" in data:
        single = str(data["image_platform"])
        return [single], {p: triple(single) in compatible(node(p)) for p in platforms}
    return [], {p: None for p in platforms}


# -- the rules ------------------------------------------------------------------------------------------------
@dataclass
class LintContext:
    service_accounts: dict[tuple[str, str], list[str]]
    accounts_complete: bool
    allowed: tuple[AllowedRegistry, ...] = ()
    probes: dict[str, ImageProbe] = field(default_factory=dict)   # by the image as written
    accounts_unknown: str = "is not in the input"                 # completes "service account X ..."
    secrets: dict[tuple[str, str], Any] | None = None             # (namespace, name) -> SecretLookup; None: unread
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))   # token expiry, one clock per run


def parse_image(image: Any):
    """The parsed ImageReference, or the reason the kubelet would refuse it."""
    from pullcheck.reference import InvalidReference, parse

    if not isinstance(image, str):
        return None, f"the image is a {type(image).__name__}, not a string"
    if not image.strip():
        return None, "the image is empty"
    try:
        return parse(image), None
    except InvalidReference as exc:
        return None, exc.reason


def default_pull_policy(ref) -> str:
    """SetDefaults_Container: Always when the tag is "latest" (written or implied), else IfNotPresent."""
    return "Always" if ref.tag == "latest" else "IfNotPresent"


def lint_workloads(workloads: Sequence[Workload], ctx: LintContext) -> list[Finding]:
    findings = []
    for workload in workloads:
        for container in workload.containers:
            if container.image is None:
                continue
            found = lint_container(workload, container, ctx)
            found.sort(key=lambda f: (SEVERITIES.index(f.severity), RULE_ORDER[f.rule]))
            findings.extend(found)
    return findings


def lint_container(workload: Workload, container: Container, ctx: LintContext) -> list[Finding]:
    out: list[Finding] = []

    def add(rule: str, message: str, fix: str, severity: str | None = None) -> None:
        out.append(Finding(rule, severity or RULE_BY_ID[rule].severity, message, fix, workload, container))

    policy = _check_policy(container.pull_policy, add)
    ref, problem = parse_image(container.image)
    if ref is None:
        add("invalid-reference", f"not a valid image reference: {problem} (kubelet: InvalidImageName)",
            _repair(container.image))
        return out
    probe = ctx.probes.get(container.image)
    mutable = ref.digest is None and ref.tag == "latest"
    if mutable:
        what = "no tag means :latest, which" if ref.tag_defaulted else ":latest"
        add("latest-tag", f"{what} moves with every push: replicas can differ, a rollback cannot restore the "
                          "old image", _pin_fix(ref, probe, version=True))
    elif ref.digest is None and not (probe is not None and probe.cause in NOT_FOUND_CAUSES):
        add("no-digest", f"tag {ref.tag} is not pinned by digest: a re-push changes what new pods run",
            _pin_fix(ref, probe, version=False))
    effective = policy or default_pull_policy(ref)
    if effective == "IfNotPresent" and mutable:
        add("pull-policy", f"imagePullPolicy IfNotPresent with {'no tag' if ref.tag_defaulted else ':latest'}: "
                           "nodes that have the image keep running their stale copy",
            "pin a version tag, or set imagePullPolicy: Always")
    if effective == "Never":
        add("never-pull", "imagePullPolicy Never: ErrImageNeverPull on every node without the image preloaded",
            "use IfNotPresent, unless every node has the image preloaded (kind load, pre-pulled node images)")
    if ctx.allowed and not any(a.matches(ref) for a in ctx.allowed):
        names = ", ".join(a.text for a in ctx.allowed)
        example = next((e for e in (a.example(ref) for a in ctx.allowed) if e), None)
        add("registry-not-allowed", f"registry {ref.registry or ref.host} is not allowed ({names})",
            "mirror the image to an allowed registry" + (f", e.g. {example}" if example else ""))
    _check_pull_secret(workload, ref, probe, ctx, add)
    if ctx.secrets is not None:
        from pullcheck.lint.pull_secrets import check_pull_secrets

        anonymous_ok = probe is not None and probe.anonymous
        check_pull_secrets(workload, ref, ctx.secrets, ctx.service_accounts,
                           _registry_class(ref)[0] != "public" and not anonymous_ok,
                           ctx.now, add)
    if probe is not None:
        _check_probe(ref, probe, add)
    return out


def _check_policy(value: Any, add) -> str | None:
    """The valid explicit policy, or None (absent, or invalid and reported)."""
    if value is None:
        return None
    if value in PULL_POLICIES:
        return str(value)
    close = next((p for p in PULL_POLICIES if isinstance(value, str) and p.lower() == value.strip().lower()), None)
    add("invalid-pull-policy", f"imagePullPolicy {value!r} is not Always, IfNotPresent or Never: the API server "
                               "rejects the object", f"write {close}" if close else
        "write IfNotPresent (with a pinned tag), or drop the field for the default")
    return None


def _pin_fix(ref, probe: ImageProbe | None, *, version: bool) -> str:
    digest = probe.digest if probe is not None else None
    looked_up = probe is not None      # the probe ran: no digest means the registry gave none
    if digest:
        name = ref.familiar.split("@", 1)[0]
        if version:
            return f"pin a version tag, or today's digest: {name.rsplit(':', 1)[0]}@{digest}"
        return f"pin today's digest: {name}@{digest}"
    if version:
        return "pin a version tag" + ("" if looked_up else " (--probe also finds its digest)")
    return f"pin the digest: {ref.familiar}@sha256:..." + ("" if looked_up else " (--probe looks it up)")


def _registry_class(ref) -> tuple[str, str | None]:
    """("public" | "cloud" | "private", product name) for the image's registry."""
    from pullcheck.registry.known import REGISTRY_HINTS

    if ref.is_docker_hub or ref.host.lower() in PUBLIC_REGISTRIES:
        return "public", None
    for pattern, product, _hint in REGISTRY_HINTS:
        if product in NODE_IDENTITY_PRODUCTS and pattern.match(ref.host.lower()):
            return "cloud", product
    return "private", None


def _check_pull_secret(workload: Workload, ref, probe: ImageProbe | None, ctx: LintContext, add) -> None:
    if workload.pull_secrets:
        if probe is not None and probe.cause in AUTH_CAUSES and not probe.anonymous:
            add("not-verified", f"the registry refuses anonymous pulls; the probe did not use the pod's pull "
                                f"secrets ({', '.join(workload.pull_secrets)})",
                "probe with one of them: --probe --secret NAMESPACE/NAME", severity=INFO)
        return
    account = workload.service_account
    account_secrets = ctx.service_accounts.get((workload.namespace, account))
    if account_secrets:
        return
    if probe is not None and (probe.anonymous or probe.cause in NOT_FOUND_CAUSES or probe.cause == "platform-mismatch"):
        return   # the registry answered an anonymous request: no credentials needed
    kind, product = _registry_class(ref)
    # refused: the registry wants credentials (a pull that worked only with --secret's counts too)
    refused = probe is not None and (probe.cause in AUTH_CAUSES or probe.cause is None)
    registry = ref.registry or ref.host
    if account_secrets is not None:
        why = f"service account {account} has none"
    elif ctx.accounts_complete:
        why = f"service account {account} does not exist"
    else:
        why = f"service account {account} {ctx.accounts_unknown}"
    fix = f"list a pull secret for {registry} in imagePullSecrets of the pod or of service account {account}"
    if kind == "cloud":
        if refused:
            add("no-pull-secret", f"{product} refuses anonymous pulls, no imagePullSecrets ({why}): fine only if "
                                  "the nodes pull with their cloud identity",
                "check that the node identity may pull, or " + fix, severity=INFO)
        return
    if refused:
        add("no-pull-secret", f"no imagePullSecrets ({why}), and {probe.summary}", fix, severity=ERROR)
    elif kind == "private" and probe is None:
        add("no-pull-secret", f"private-looking registry and no imagePullSecrets ({why})",
            fix + " (--probe tells if anonymous pulls work)")
    elif kind == "private" and probe.cause is not None:
        add("no-pull-secret", f"private-looking registry and no imagePullSecrets ({why}); the probe could not tell",
            fix)


def _check_probe(ref, probe: ImageProbe, add) -> None:
    if probe.cause in NOT_FOUND_CAUSES:
        fix = "check the name and tag, and that the image was pushed"
        if probe.suggestions:
            fix = f"use {probe.suggestions[0]} (the closest published)" + \
                "".join(f", or {s}" for s in probe.suggestions[1:3])
        add("image-not-found", probe.summary, fix)
        return
    missing = probe.missing_platforms
    if missing:
        served = ", ".join(probe.available) or "none"
        add("platform-missing", f"no {', '.join(missing)} image (serves {served}): pods there fail to pull or to "
                                "start (exec format error)",
            "publish a multi-platform image (docker buildx build --platform ...), or keep the pods off those "
            "nodes (nodeSelector kubernetes.io/arch)")
    if probe.cause is not None and probe.cause not in AUTH_CAUSES and probe.cause != "platform-mismatch":
        add("not-verified", f"not checked from here: {probe.cause}: {probe.summary}",
            f"nodes may see the registry differently: kubectl pullcheck node NODE --image {ref.familiar}")


def _repair(image: Any) -> str:
    """A fix line for an invalid reference: a corrected candidate when simple repairs make it valid."""
    from pullcheck.reference import InvalidReference, parse

    if not isinstance(image, str) or not image.strip():
        return "write the image as [registry[:port]/]repository[:tag][@sha256:digest]"
    if _PLACEHOLDER.search(image):
        return "the image holds a template or variable: render it first (helm template, envsubst, kustomize build)"
    candidate = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", image.strip()).rstrip(":@")
    name, at, digest = candidate.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    repository, tag = (name[:colon], name[colon:]) if colon > slash else (name, "")
    candidate = repository.lower() + tag + at + digest
    if candidate != image:
        try:
            parse(candidate)
        except InvalidReference:
            pass
        else:
            return f"write {candidate}"
    return "write the image as [registry[:port]/]repository[:tag][@sha256:digest], the name in lowercase"


# -- the report -----------------------------------------------------------------------------------------------
@dataclass
class LintReport:
    mode: str                               # files | live
    sources: list[str]                      # files read, or the live scope ("namespace shop")
    workloads: list[Workload]
    findings: list[Finding]
    probes: dict[str, ImageProbe] = field(default_factory=dict)    # by the image as written
    probed: bool = False
    platforms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored_rules: list[str] = field(default_factory=list)
    warn_only: bool = False

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def images(self) -> list[Any]:
        """Distinct images as written, in order of appearance."""
        seen: dict[str, Any] = {}
        for container in self.containers:
            seen.setdefault(repr(container.image), container.image)
        return list(seen.values())

    @property
    def containers(self) -> list[Container]:
        return [c for w in self.workloads for c in w.containers if c.image is not None]

    @property
    def distinct_probes(self) -> list[ImageProbe]:
        return list({p.image: p for p in self.probes.values()}.values())

    @property
    def exit_code(self) -> int:
        from pullcheck.errors import EXIT_OK, EXIT_PROBLEM

        return EXIT_PROBLEM if self.count(ERROR) and not self.warn_only else EXIT_OK
