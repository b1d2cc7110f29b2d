"""Registry probes for `pod --probe` and `image REF`: what to probe, with which credentials, and what the
evidence changes in the verdict.

The probe runs from this workstation, so its word is final only on facts that are the same from every
network: whether a repository or tag exists, whether the image has the node's platform, and (when it
offered exactly the credentials the kubelet offers) whether the registry wants or accepts them. DNS,
reachability, TLS, proxies and rate limits are seen from here and may differ on the node: those settle
the verdict only when the kubelet's own words did not.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pullcheck import nextsteps as ns
from pullcheck.report import PROBLEM_STATUSES, Evidence, NextStep, ProbeSection, Verdict

FROM_POD = "pod"          # the pod's own pull secrets, as the kubelet uses them
FROM_SECRET = "secret"    # --secret NS/NAME
FROM_NONE = "none"        # --no-creds

# Facts the registry states the same way to everyone who may read the repository.
REGISTRY_FACTS = frozenset({"image-not-found", "tag-not-found", "platform-mismatch"})
# Answers that hold for the kubelet only when the probe offered the kubelet's credentials.
AUTH_CAUSES = frozenset({"auth-missing", "auth-rejected", "auth-or-not-found"})
# Causes on the node's side that no registry answer can overturn.
NODE_CAUSES = frozenset({"never-pull", "runtime-storage", "invalid-reference", "policy"})
MAX_SUGGESTED = 3


@dataclass(frozen=True)
class ProbeSettings:
    """The probe options of the command line, and where credentials come from."""

    timeout: float = 20.0
    dns_server: str | None = None
    ca_file: str | None = None
    insecure_registries: tuple[str, ...] = ()
    credentials_from: str = FROM_POD
    secret: Any = None                # pullcheck.secrets.DecodedSecret for FROM_SECRET

    def options(self):  # -> pullcheck.registry.ProbeOptions
        from pullcheck.registry import ProbeOptions

        return ProbeOptions(timeout=self.timeout, step_timeout=min(5.0, self.timeout),
                            dns_server=self.dns_server, ca_file=self.ca_file,
                            insecure_registries=frozenset(self.insecure_registries))


@dataclass
class _Plan:
    """One image to probe and the credentials offered, with where they came from."""

    target: Any                       # pullcheck.registry.Target
    credentials: list                 # pullcheck.registry.Credential
    sources: list[str]
    kubelet_credentials: bool
    notes: list[str]


# -- what to probe ------------------------------------------------------------------------------------
def target_for(ref, platform: str | None = None):
    """The probe Target for a parsed ImageReference; platform as "os/arch[/variant]"."""
    from pullcheck.registry import Platform, Target

    host, repository = ref.registry, ref.repository
    if not host:   # "my_registry.local/app": containerd contacts the first element
        host, _, repository = repository.partition("/")
    parsed = None
    if platform:
        parts = platform.split("/")
        parsed = Platform(parts[0], parts[1], parts[2] if len(parts) > 2 else None)
    return Target(host=host, repository=repository, reference=ref.reference, platform=parsed)


def parse_platform(text: str) -> str:
    """Check an "os/arch[/variant]" option; returns it unchanged."""
    from pullcheck.errors import UsageError

    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise UsageError(f"--platform {text!r}: expected os/arch or os/arch/variant, e.g. linux/arm64")
    return text


def _offered(ref, credentials: Sequence) -> tuple[list, list[str], list[str]]:
    """The kubelet's matching order applied to RegistryCredentials -> probe Credentials, sources, notes."""
    from pullcheck.registry import Credential
    from pullcheck.secrets import matching_credentials

    offered, sources, notes = [], [], []
    for credential in matching_credentials(ref, credentials):
        source = f"secret {credential.secret}" if credential.secret else credential.key
        password = credential.secret_password()
        if not password:
            notes.append(f"{source} has no password here (captures keep none): not offered")
            continue
        offered.append(Credential(username=credential.username or "", password=password, source=source))
        sources.append(f"{source} (user {credential.username or '-'})")
    return offered, sources, notes


def _pod_credentials(snapshot) -> list:
    """RegistryCredentials of the pod's own pull secrets, in pod order: what the kubelet reads."""
    found = []
    for entry in (snapshot.pod.get("spec") or {}).get("imagePullSecrets") or ():
        lookup = snapshot.secrets.get(entry.get("name")) if isinstance(entry, dict) else None
        if lookup is not None and lookup.decoded is not None:
            found.extend(lookup.decoded.kubelet_credentials)
    return found


def _plan(ref, platform: str | None, settings: ProbeSettings, pod_credentials: Sequence | None) -> _Plan:
    target = target_for(ref, platform)
    if settings.credentials_from == FROM_NONE:
        return _Plan(target, [], [], False, [])
    if settings.credentials_from == FROM_SECRET:
        secret = settings.secret
        offered, sources, notes = _offered(ref, secret.kubelet_credentials if secret is not None else ())
        if not offered:
            notes.append(f"secret {secret.namespace}/{secret.name} has no credentials for {target.host}: "
                         "probed anonymously")
        return _Plan(target, offered, sources, False, notes)
    offered, sources, notes = _offered(ref, pod_credentials or ())
    return _Plan(target, offered, sources, not notes, notes)


# -- running ------------------------------------------------------------------------------------------
def _run(plans: list[_Plan], settings: ProbeSettings, log: Callable[[str], None] | None) -> list[ProbeSection]:
    from pullcheck.registry import probe_images

    for plan in plans:
        if log:
            who = ", ".join(plan.sources) or "no credentials"
            log(f"probing {plan.target} ({plan.target.platform or 'any platform'}) with {who}")
    reports = probe_images([(p.target, p.credentials) for p in plans], settings.options())
    sections = []
    for plan, report in zip(plans, reports):
        if log:
            log(f"probe of {plan.target}: {report.cause or 'pullable'} in {report.elapsed:.2f}s")
        sections.append(ProbeSection(image=str(plan.target), platform=str(plan.target.platform or "") or None,
                                     credentials=plan.sources, credentials_from=settings.credentials_from,
                                     kubelet_credentials=plan.kubelet_credentials, cause=report.cause,
                                     steps=list(report.steps), suggestions=list(report.suggestions),
                                     elapsed=report.elapsed, notes=list(plan.notes)))
    return sections


def probe_pod(snapshot, report, settings: ProbeSettings,
              log: Callable[[str], None] | None = None) -> dict[str, ProbeSection]:
    """Probe each distinct image of the pod's failing containers; container name -> its probe."""
    from pullcheck.reference import parse

    pod_credentials = _pod_credentials(snapshot) if settings.credentials_from == FROM_POD else None
    failing = [c for c in report.containers if c.status in PROBLEM_STATUSES and c.image.invalid is None]
    plans = [_plan(parse(c.image.written), report.node_platform, settings, pod_credentials) for c in failing]
    if snapshot.source != "cluster" and settings.credentials_from == FROM_POD:
        for plan in plans:
            if not plan.sources and not plan.notes:
                plan.notes.append("the capture holds no pull secret values: probed anonymously "
                                  "(--secret NS/NAME reads a secret from the cluster)")
                plan.kubelet_credentials = False
    sections = _run(plans, settings, log)
    return {c.name: section for c, section in zip(failing, sections)}


def probe_references(refs: Sequence, platform: str | None, settings: ProbeSettings,
                     log: Callable[[str], None] | None = None) -> list[ProbeSection]:
    """`image REF...`: probe parsed references with no pod around them."""
    return _run([_plan(ref, platform, settings, None) for ref in refs], settings, log)


def read_secret(client, spec: str):
    """--secret NS/NAME (or NAME in the current namespace) -> its DecodedSecret, read from the cluster."""
    from pullcheck.errors import ClusterError, UsageError
    from pullcheck.kube.client import ApiError, NotFound, namespaced
    from pullcheck.secrets import decode_pull_secret

    namespace, _, name = spec.rpartition("/")
    namespace = namespace or client.namespace
    if not name or "/" in namespace:
        raise UsageError(f"--secret {spec!r}: expected NAMESPACE/NAME or NAME")
    try:
        raw = client.get(namespaced(namespace, "secrets", name))
    except NotFound:
        raise UsageError(f'secret "{name}" not found in namespace "{namespace}"') from None
    except ApiError as exc:
        raise ClusterError(f"cannot read secret {namespace}/{name}: {exc.message}") from None
    decoded = decode_pull_secret(raw)
    del raw  # the values live on only inside the decoded credentials
    if not decoded.kubelet_credentials:
        raise UsageError(f"secret {namespace}/{name} holds no registry credentials the kubelet would read"
                         + (f": {decoded.problems[0]}" if decoded.problems else ""))
    return decoded


# -- what the probe changes in the verdict ------------------------------------------------------------
def settle(verdict: Verdict, probe: ProbeSection, ctx) -> Verdict:
    """The verdict after the probe: its cause when decisive, else the kubelet's with the probe as evidence."""
    from pullcheck.verdict import verdict_for_cause

    failed = probe.failed_step
    evidence = list(verdict.evidence) + _probe_evidence(probe)
    if probe.cause is None:
        evidence.append(Evidence("registry probe", "the workstation's view may differ from the node's (DNS, "
                                                   "proxy, CA, firewall, node credentials): probe from the node"))
        verdict.evidence = evidence
        verdict.next_steps = [_node_probe_step(ctx.names)] + verdict.next_steps
        return verdict
    if _decisive(verdict.cause, probe):
        settled = verdict_for_cause(probe.cause, ctx, evidence, rule=verdict.rule,
                                    settled_by=f"registry probe: {failed.summary}")
        settled.next_steps = _suggested_steps(probe, ctx.names) + settled.next_steps
        return settled
    verdict.evidence = evidence
    if probe.cause == verdict.cause:
        verdict.settled_by = "; ".join(filter(None, [verdict.settled_by, "confirmed by the registry probe"]))
        verdict.candidates = []
        verdict.next_steps = _suggested_steps(probe, ctx.names) + verdict.next_steps
    elif probe.cause in AUTH_CAUSES:
        who = ", ".join(probe.credentials) or "no credentials"
        verdict.evidence.append(Evidence("registry probe", f"with {who} the probe found {probe.cause}; the kubelet "
                                                           f"saw {verdict.cause} with its own credentials"))
    elif verdict.cause not in NODE_CAUSES:
        verdict.evidence.append(Evidence("registry probe", f"the probe from this workstation found "
                                                           f"{probe.cause}, the kubelet saw {verdict.cause}: the "
                                                           "workstation's view may differ from the node's"))
        verdict.next_steps = verdict.next_steps + [_node_probe_step(ctx.names)]
    return verdict


def _decisive(matrix_cause: str, probe: ProbeSection) -> bool:
    cause = probe.cause
    if cause is None or cause == matrix_cause or matrix_cause in NODE_CAUSES:
        return False
    if cause in REGISTRY_FACTS:
        return True
    if cause in AUTH_CAUSES:
        return probe.kubelet_credentials and (cause != "auth-or-not-found" or matrix_cause == "unknown")
    return matrix_cause == "unknown"      # seen from here only: settles nothing the kubelet said


def _probe_evidence(probe: ProbeSection) -> list[Evidence]:
    who = ", ".join(probe.credentials) or "no credentials"
    if probe.cause is None:
        found = next((s for s in probe.steps if s.step == "manifest"), None)
        text = f"{probe.image} is pullable from this workstation with {who}"
        return [Evidence("registry probe", text + (f": {found.summary}" if found else ""))]
    out = [Evidence(f"registry probe ({who})", f"{step.step}: {step.summary}")
           for step in probe.steps if step.status == "failed"]
    out += [Evidence("registry probe", f"{step.step}: {step.summary}")
            for step in probe.steps if step.step in ("tags", "repository")]
    return out


def _suggested_steps(probe: ProbeSection, names: ns.Names) -> list[NextStep]:
    """The probe's closest tags and likely repository names as `kubectl set image` commands."""
    from pullcheck.reference import parse

    try:
        ref = parse(names.image)
    except Exception:  # the image was probed, so it parses; stay safe for odd inputs
        return []
    host = ref.registry or names.registry or ""
    steps = []
    for step in probe.steps:
        picks = list((step.data or {}).get("suggestions") or ())[:MAX_SUGGESTED]
        for rank, pick in enumerate(picks):
            if step.step == "tags":
                image = f"{host}/{ref.repository}:{pick}" if host else f"{ref.repository}:{pick}"
                why = f"use the published tag {pick}, the closest to {ref.reference}" if rank == 0 else \
                    f"or the tag {pick}"
            elif step.step == "repository":
                separator = "@" if ref.digest else ":"
                image = f"{host}/{pick}{separator}{ref.reference}" if host else f"{pick}{separator}{ref.reference}"
                why = f"use the repository {pick}, if that is the one meant" if rank == 0 else \
                    f"or the repository {pick}"
            else:
                continue
            step_out = ns.set_image(names, image)
            steps.append(NextStep(why, step_out.command))
    return steps


def _node_probe_step(names: ns.Names) -> NextStep:
    return NextStep(f"probe from node {names.node or '?'} itself, where the kubelet pulls",
                    f"kubectl pullcheck pod {ns.q(names.pod)} {names.ns} --on-node")
