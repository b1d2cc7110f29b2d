"""Evidence -> cause + next steps. This is where ambiguous matrix answers get settled by context.

The matrix classifies the kubelet's words alone. Context settles what words cannot: a 401 from a
basic-auth registry reads the same with no credentials and with wrong ones, but the pull-secret audit
knows whether the kubelet had any; "pull access denied" with no credentials for a private registry leans
auth-missing. Every settlement names what settled it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pullcheck import nextsteps as ns
from pullcheck.audit import ImageSecretAudit
from pullcheck.report import Evidence, NextStep, NodeCache, Verdict

AUTH_CAUSES = frozenset({"auth-missing", "auth-rejected", "auth-or-not-found"})
NOT_FOUND_CAUSES = frozenset({"image-not-found", "tag-not-found", "auth-or-not-found"})
NETWORK_CAUSES = frozenset({"dns", "network-timeout", "connection-refused", "tls", "proxy"})
# Any pull from the same registry fails the same way while these last.
REGISTRY_CAUSES = NETWORK_CAUSES | {"rate-limited", "registry-error"}
# Only a changed pod template fixes these: recreating pods from the same template fails the same way.
TEMPLATE_CAUSES = frozenset({"image-not-found", "tag-not-found", "invalid-reference", "platform-mismatch",
                             "never-pull"})


@dataclass
class Context:
    """What the pod, its secrets and the nodes say, for one container."""

    names: ns.Names
    image: object | None = None                        # pullcheck.reference.ImageReference
    audit: ImageSecretAudit | None = None
    missing_secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)   # kubelet-used, missing -> found in
    unretrievable: list[str] = field(default_factory=list)   # FailedToRetrieveImagePullSecret names
    node_cache: NodeCache | None = None
    node_platform: str | None = None
    local_cluster: tuple[str, str] | None = None       # ("kind", cluster) / ("minikube", profile)
    lowercase_fix: str | None = None                    # for uppercase references

    @property
    def absent_secrets(self) -> dict[str, tuple[str, ...]]:
        """Pull secrets the kubelet went without: missing from the namespace or reported unretrievable
        by the kubelet, each with the other namespaces that hold one of that name."""
        absent = dict(self.missing_secrets)
        for name in self.unretrievable:
            absent.setdefault(name, ())
        return absent


def build_verdict(classification, ctx: Context, evidence: list[Evidence]) -> Verdict:
    """Settle the matrix's answer with the context and attach the next steps."""
    from pullcheck.matrix import matrix_row

    cause = classification.cause
    candidates = list(classification.candidates)
    settled_by = None
    extra: list[Evidence] = []

    if cause in AUTH_CAUSES and ctx.names.registry:
        cause, candidates, settled_by, extra = _settle_auth(cause, candidates, ctx)
    row = classification.row if cause == classification.cause else matrix_row(cause)
    if cause == "never-pull" and ctx.node_cache and ctx.node_cache.nodes_with_image:
        extra.append(Evidence("node image cache", "the image is cached on " +
                              ", ".join(ctx.node_cache.nodes_with_image) + " but not on " + (ctx.names.node or "?")))
    local = _local_image_hint(cause, ctx)
    if local:
        extra.append(local)
    verdict = Verdict(cause=cause, row=row, rule=classification.rule, summary=_summary(cause, ctx, row),
                      candidates=candidates,
                      evidence=evidence + extra, settled_by=settled_by)
    verdict.next_steps = next_steps(cause, ctx, candidates)
    return verdict


def verdict_for_cause(cause: str, ctx: Context, evidence: list[Evidence], *, rule: str | None,
                      settled_by: str) -> Verdict:
    """A verdict for a cause other evidence settled (a registry probe), in the situation's own names."""
    from pullcheck.matrix import matrix_row

    row = matrix_row(cause)
    return Verdict(cause=cause, row=row, rule=rule, summary=_summary(cause, ctx, row), evidence=evidence,
                   settled_by=settled_by, next_steps=next_steps(cause, ctx, []))


def _settle_auth(cause: str, candidates: list, ctx: Context):
    audit = ctx.audit
    host = ctx.names.registry
    extra: list[Evidence] = []
    missing = ctx.absent_secrets
    if missing:
        names = ", ".join(sorted(missing))
        extra.append(Evidence("pull secrets", f"the pod's pull secret {names} does not exist in namespace "
                                              f"{ctx.names.namespace}: the kubelet pulled without it"))
        return "auth-missing", [], f"pull secret {names} missing from namespace {ctx.names.namespace}", extra
    if audit is None or audit.kubelet_has_credentials is None:
        return cause, candidates, None, extra
    if audit.kubelet_has_credentials is False:
        extra.append(Evidence("pull secrets", f"no pull secret of the pod has credentials for {host}"))
        if cause == "auth-or-not-found" and ctx.image is not None and getattr(ctx.image, "is_docker_hub", False):
            return cause, candidates, None, extra   # public Docker Hub repos need no credentials: still open
        return "auth-missing", [], f"no pull secret of the pod has credentials for {host}", extra
    if audit.expired:
        extra.extend(Evidence("pull secrets", text) for text in audit.expired)
        return "auth-rejected", [], "the matching credentials have expired", extra
    users = [r.name for r in audit.rows if r.matches and r.used_by_kubelet]
    extra.append(Evidence("pull secrets", f"pull secret {', '.join(users)} has credentials for {host}"))
    if cause == "auth-missing":
        return "auth-rejected", [], (f"the kubelet had credentials for {host} (secret {', '.join(users)}) and "
                                     "the registry still refused them"), extra
    return cause, candidates, None, extra


def _local_image_hint(cause: str, ctx: Context) -> Evidence | None:
    image = ctx.image
    if image is None or cause not in NOT_FOUND_CAUSES | {"auth-missing"}:
        return None
    if not getattr(image, "registry_defaulted", False) or ctx.local_cluster is None:
        return None
    flavour, cluster = ctx.local_cluster
    return Evidence("cluster", f"this is a {flavour} cluster ({cluster}) and the image names no registry: an image "
                               "built on your workstation is not in Docker Hub; load it into the cluster")


def _summary(cause: str, ctx: Context, row) -> str:
    n = ctx.names
    where = n.registry or "the registry"
    texts = {
        "image-not-found": f"{where} has no repository {n.repository}",
        "tag-not-found": f"{where} has no such tag or digest for {n.repository}",
        "auth-missing": f"{where} wants credentials and the kubelet had none for it",
        "auth-rejected": f"{where} refused the credentials the kubelet sent",
        "auth-or-not-found": f"{where} refused the pull: either the repository does not exist or it needs "
                             "credentials the kubelet does not have",
        "rate-limited": f"{where} is rate-limiting pulls",
        "dns": f"node {n.node or '?'} cannot resolve {_host(n.registry)}",
        "network-timeout": f"node {n.node or '?'} gets no answer from {where} in time",
        "connection-refused": f"{where} refuses connections from node {n.node or '?'}",
        "tls": f"TLS with {where} fails (certificate or protocol)",
        "proxy": f"the proxy between node {n.node or '?'} and {where} fails",
        "platform-mismatch": f"the image has no variant for the node's platform {ctx.node_platform or ''}".rstrip(),
        "invalid-reference": f"the image reference {n.image!r} is not valid",
        "never-pull": f"imagePullPolicy is Never and the image is not on node {n.node or '?'}",
        "runtime-storage": f"the container runtime on node {n.node or '?'} cannot store or unpack the image",
        "registry-error": f"{where} failed on its side",
        "policy": "a signature or image policy rejected the image",
    }
    return texts.get(cause, row.title)


def _host(registry: str | None) -> str:
    """The host name of a registry ("registry:5000" -> "registry"), for DNS and TLS commands."""
    if not registry:
        return "?"
    from pullcheck.reference import split_registry

    return split_registry(registry)[0].strip("[]")


# -- next steps ---------------------------------------------------------------------------------------
def next_steps(cause: str, ctx: Context, candidates: list) -> list[NextStep]:
    steps = _STEPS.get(cause, _unknown_steps)(ctx)
    if cause in NOT_FOUND_CAUSES | {"auth-missing"} and ctx.image is not None and ctx.local_cluster:
        steps = _local_load_steps(ctx) + steps
    return steps


def _not_found_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return ns.inspect_registry(n) + [ns.set_image(n)]


def _tag_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    repo = f"{n.registry}/{n.repository}" if n.registry and n.repository else n.image
    return ns.inspect_registry(n) + [ns.set_image(n, f"{repo}:<correct-tag>")]


def _auth_missing_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    steps: list[NextStep] = []
    missing = ctx.absent_secrets
    for name, where in sorted(missing.items()):
        if where:
            steps.append(ns.copy_secret(n, name, where[0]))
        else:
            steps.extend(ns.create_secret(n, name)[:1])
    if not missing:
        steps.extend(ns.create_secret(n))
    steps.append(ns.restart(n))
    return steps


def _auth_rejected_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    users = [r.name for r in (ctx.audit.rows if ctx.audit else []) if r.matches and r.used_by_kubelet]
    name = users[0] if users else "<secret-name>"
    server = n.registry or "<registry>"
    password = "<password>"
    from pullcheck.secrets import ecr_region, is_ecr_host

    if is_ecr_host(server):
        password = f'"$(aws ecr get-login-password --region {ecr_region(server) or "<region>"})"'
    return [
        NextStep(f"see which registries and users secret {name} holds (prints no passwords)",
                 f"kubectl get secret {ns.q(name)} {n.ns} -o jsonpath='{{.data.\\.dockerconfigjson}}' | base64 -d "
                 "| jq '.auths | map_values({username})'"),
        NextStep(f"replace it with current credentials for {server}",
                 f"kubectl create secret docker-registry {ns.q(name)} --docker-server={ns.q(server)} "
                 f"--docker-username={'AWS' if password != '<password>' else '<user>'} --docker-password={password} "
                 f"{n.ns} --dry-run=client -o yaml | kubectl apply -f -"),
        ns.restart(n),
    ]


def _ambiguous_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    steps = ns.inspect_registry(n)
    if ctx.audit and ctx.audit.kubelet_has_credentials is False:
        steps += ns.create_secret(n)
    steps.append(ns.set_image(n))
    return steps


def _rate_limit_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    check = ('TOKEN=$(curl -s "https://auth.docker.io/token?service=registry.docker.io&scope=repository:'
             'ratelimitpreview/test:pull" | jq -r .token) && curl -s --head -H "Authorization: Bearer $TOKEN" '
             'https://registry-1.docker.io/v2/ratelimitpreview/test/manifests/latest | grep -i ratelimit')
    return [NextStep("see the node's remaining Docker Hub pulls (anonymous limits are per source IP)",
                     ns.node_shell(n, check).command),
            *ns.create_secret(n, "dockerhub-creds"),
            NextStep("or pull through a registry mirror / pull-through cache configured in the node's runtime"),
            ns.restart(n)]


def _dns_steps(ctx: Context) -> list[NextStep]:
    host = _host(ctx.names.registry)
    return [ns.node_shell(ctx.names, f"cat /etc/resolv.conf; getent hosts {host} || nslookup {host}"),
            NextStep("check the registry host name in the image for typos", None)]


def _reach_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [ns.node_shell(n, f"curl -sv --max-time 10 -o /dev/null https://{n.registry}/v2/; "
                             "systemctl show containerd --property=Environment"),
            NextStep("check firewalls / security groups / network policies between the node and the registry, and "
                     "whether the runtime needs an HTTP(S)_PROXY it does not have")]


def _refused_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [ns.node_shell(n, f"curl -sv --max-time 10 -o /dev/null https://{n.registry}/v2/ || "
                             f"curl -sv --max-time 10 -o /dev/null http://{n.registry}/v2/"),
            NextStep(f"check that the registry at {n.registry} is running and listening on that port")]


def _tls_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    host = n.registry or "<registry>"
    from pullcheck.reference import split_registry

    port_host = host if split_registry(host)[1] else f"{host}:443"
    return [ns.node_shell(n, f"openssl s_client -connect {port_host} -servername {_host(host)} </dev/null 2>&1 | "
                             "openssl x509 -noout -subject -issuer -dates"),
            NextStep(f"if the registry uses a private CA, give it to the runtime: containerd "
                     f"/etc/containerd/certs.d/{host}/hosts.toml (ca = ...) or the node's trust store; "
                     "if it speaks plain HTTP, configure it as an insecure registry there")]


def _proxy_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [ns.node_shell(n, "systemctl show containerd --property=Environment; cat /etc/environment; "
                             "cat /etc/systemd/system/containerd.service.d/*.conf 2>/dev/null"),
            NextStep(f"make sure NO_PROXY covers {n.registry} if it is internal, and that the proxy allows it")]


def _platform_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [NextStep("list the platforms the image provides", f"skopeo inspect --raw docker://{ns.q(n.image)} | "
                                                            "jq '.manifests[].platform'"),
            NextStep(f"build/push the image for {ctx.node_platform or 'the node platform'} (e.g. docker buildx "
                     "--platform), or schedule the pod on nodes of a platform it has (nodeSelector kubernetes.io/arch)")]


def _invalid_steps(ctx: Context) -> list[NextStep]:
    return [ns.set_image(ctx.names, ctx.lowercase_fix or "<valid-image-reference>")]


def _never_pull_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    steps = [ns.set_pull_policy(n, "IfNotPresent")]
    if ctx.node_cache and ctx.node_cache.nodes_with_image:
        steps.append(NextStep("or run it on a node that has the image: " + ", ".join(ctx.node_cache.nodes_with_image)))
    steps.append(NextStep(f"or put the image on node {n.node or '?'} before the pod starts (pre-pull / image load)"))
    return steps


def _storage_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [NextStep(f"check node {n.node or '?'} for disk pressure",
                     f"kubectl describe node {ns.q(n.node or '<node>')} | grep -iA3 -E 'pressure|ephemeral'"),
            ns.node_shell(n, "df -h /var/lib/containerd /var/lib/containers 2>/dev/null; crictl rmi --prune")]


def _registry_error_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [NextStep(f"check the status of {n.registry}; a 5xx is usually transient, and the kubelet keeps "
                     "retrying with back-off"), ns.restart(n)]


def _policy_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [NextStep("read the policy verdict in the pod's events",
                     f"kubectl get events {n.ns} --field-selector involvedObject.name={n.pod}"),
            NextStep("check the image signature / the runtime's policy (CRI-O /etc/containers/policy.json, "
                     "admission controllers such as Kyverno or Sigstore policy-controller)")]


def _unknown_steps(ctx: Context) -> list[NextStep]:
    n = ctx.names
    return [NextStep("read the full event history", f"kubectl describe pod {ns.q(n.pod)} {n.ns}"),
            NextStep("classify a message by hand", "kubectl pullcheck explain '<message>'")]


def _local_load_steps(ctx: Context) -> list[NextStep]:
    flavour, cluster = ctx.local_cluster or ("", "")
    image = ctx.names.image
    command = (f"kind load docker-image {ns.q(image)} --name {ns.q(cluster)}" if flavour == "kind"
               else f"minikube image load {ns.q(image)} -p {ns.q(cluster)}")
    return [NextStep(f"load the locally built image into the {flavour} cluster", command),
            ns.set_pull_policy(ctx.names, "IfNotPresent")]


_STEPS: dict[str, Callable[[Context], list[NextStep]]] = {
    "image-not-found": _not_found_steps,
    "tag-not-found": _tag_steps,
    "auth-missing": _auth_missing_steps,
    "auth-rejected": _auth_rejected_steps,
    "auth-or-not-found": _ambiguous_steps,
    "rate-limited": _rate_limit_steps,
    "dns": _dns_steps,
    "network-timeout": _reach_steps,
    "connection-refused": _refused_steps,
    "tls": _tls_steps,
    "proxy": _proxy_steps,
    "platform-mismatch": _platform_steps,
    "invalid-reference": _invalid_steps,
    "never-pull": _never_pull_steps,
    "runtime-storage": _storage_steps,
    "registry-error": _registry_error_steps,
    "policy": _policy_steps,
}
