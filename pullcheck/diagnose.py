"""From a snapshot to a report: which containers have a pull problem, what the kubelet said, and why.

For each container this picks the source that still holds the real error (the newest `Failed to pull
image` event, else the waiting message: newer kubelets write `Back-off pulling image "x": ErrImagePull:
<error>` there, older ones only `Back-off pulling image "x"`), counts attempts, places the kubelet in its
back-off, classifies with the matrix and lets verdict.py settle the cause with the pod's context.
"""
from __future__ import annotations

from datetime import datetime

from pullcheck import backoff
from pullcheck.audit import audit_image, pod_findings, secret_sources
from pullcheck.containers import (PULL_WAITING_REASONS, STUCK_AFTER_SECONDS, ContainerView, TimedEvent,
                                  container_views)
from pullcheck.nextsteps import Names
from pullcheck.report import (FAILING, OK, PULLING, RECOVERED, STUCK, ContainerReport, Evidence, Explanation,
                              ImageInfo, NodeCache, PodReport)
from pullcheck.snapshot import PodSnapshot, controller_ref
from pullcheck.timeutil import format_time, human_duration
from pullcheck.verdict import AUTH_CAUSES, Context, build_verdict

NOT_PULL_REASONS = frozenset({"CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError",
                              "RunContainerError", "ContainerCannotRun", "PostStartHookError", "OOMKilled", "Error"})


def diagnose_pod(snapshot: PodSnapshot, container: str | None = None, probes: dict | None = None) -> PodReport:
    """probes: container name -> pullcheck.report.ProbeSection (from pullcheck.probing.probe_pod) to settle with."""
    from pullcheck.errors import UsageError

    pod = snapshot.pod
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    node = snapshot.node()
    report = PodReport(
        namespace=snapshot.namespace, name=snapshot.name, phase=status.get("phase", "Unknown"),
        node=snapshot.node_name, node_platform=_platform(node), service_account=spec.get("serviceAccountName") or "default",
        owner=f"{snapshot.owner.kind}/{snapshot.owner.name}" if snapshot.owner else _owner_from_refs(pod),
        source=snapshot.source, observed_at=snapshot.observed_at, skipped=list(snapshot.skipped))
    views = container_views(pod, snapshot.events)
    if container:
        views = [v for v in views if v.name == container]
        if not views:
            raise UsageError(f'pod {snapshot.name} has no container "{container}"')
    for view in views:
        report.containers.append(_container_report(snapshot, view, node, (probes or {}).get(view.name)))
        reason = view.waiting_reason or (view.terminated or {}).get("reason")
        if reason in NOT_PULL_REASONS:
            detail = (view.state.get("waiting") or view.terminated or {}).get("message") or ""
            report.other_problems.append(f"container {view.name}: {reason}" + (f": {detail}" if detail else ""))
    if not spec.get("nodeName"):
        for condition in status.get("conditions") or ():
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                report.other_problems.append(f"not scheduled: {condition.get('reason', '')}: "
                                             f"{condition.get('message', '')}".rstrip(": "))
    if any(c.status in (FAILING, STUCK) for c in report.containers):
        causes = {c.verdict.cause for c in report.containers if c.verdict}
        report.findings = pod_findings(snapshot, credentials_matter=bool(causes & AUTH_CAUSES) or "unknown" in causes)
        from pullcheck.rollback import stop_the_bleeding

        report.stop_the_bleeding = stop_the_bleeding(snapshot, report)
    return report


def _container_report(snapshot: PodSnapshot, view: ContainerView, node: dict | None, probe=None) -> ContainerReport:
    now = snapshot.observed_at
    info, ref = image_info(view.image)
    failed = _failed_pulls(view)
    result = ContainerReport(name=view.name, kind=view.kind, image=info, pull_policy=view.pull_policy,
                             state=_state_name(view), status=_pull_status(view, failed, now))
    if failed:
        result.attempts = sum(e.count for e in failed)
        result.first_failure = min((e.first for e in failed if e.first), default=None)
        result.last_failure = max((e.last for e in failed if e.last), default=None)
    if result.status == OK:
        return result
    if result.status == RECOVERED:
        pulled = view.events_with("Pulled")
        result.notes.append(f"pulled after {result.attempts} failed attempt(s)"
                            + (f"; {pulled[-1].message}" if pulled else ""))
        return result
    result.node_cache = _node_cache(snapshot, view, ref)
    if result.status == PULLING:
        since = view.events_with("Pulling")[-1].last
        result.notes.append(f"pulling since {format_time(since)} ({human_duration((now - since).total_seconds())}), "
                            "no result yet" if since else "pulling, no result yet")
        return result

    cache = result.node_cache
    if cache is not None and cache.on_pod_node and view.pull_policy == "IfNotPresent":
        result.notes.append(
            f"the image is already on node {snapshot.node_name}, yet the kubelet pulls: it re-verifies credentials "
            "for images first pulled with a pull secret (KubeletEnsureSecretPulledImages, Kubernetes 1.33+), so "
            "this pod needs working credentials of its own")
    message, source, at, evidence = _pick_message(view, failed, now)
    result.message, result.message_source, result.message_at = message, source, at
    if result.status == FAILING and failed and result.last_failure and view.waiting_reason in ("ImagePullBackOff",
                                                                                               "ErrImagePull"):
        result.backoff = backoff.state(result.attempts, result.last_failure, now)
    from pullcheck.matrix import classify

    if result.status == STUCK:
        since = view.events_with("Pulling")[-1].last
        text = (f"pulling since {format_time(since)} ({human_duration((now - since).total_seconds())}) with no "
                "result: a registry or proxy that accepts the connection and never answers (or a very large image)")
        evidence = [Evidence("event Pulling", view.events_with("Pulling")[-1].message), Evidence("timing", text)]
        classification = _without_message("network-timeout", "pull-hung")
        result.message, result.message_source = text, "events"
    elif message is None:
        result.notes.append(
            "the real error is gone: the kubelet's events have expired (1 hour by default) and its waiting message "
            f"holds no error. To see it again: kubectl delete pod {snapshot.name} -n {snapshot.namespace} "
            f"(if a controller recreates it) and run pullcheck again within the hour, or watch: kubectl get events "
            f"-n {snapshot.namespace} --watch")
        classification = _without_message("unknown", "no-message")
    else:
        classification = classify(message)
    audit = audit_image(snapshot, ref, now)
    result.secrets = audit.rows
    ctx = _context(snapshot, view, ref, audit, result.node_cache, node)
    result.verdict = build_verdict(classification, ctx, evidence)
    if probe is not None:
        from pullcheck.probing import settle

        result.probe = probe
        result.verdict = settle(result.verdict, probe, ctx)
    return result


def _without_message(cause: str, rule: str):
    """A classification that rests on timing or absence rather than on a message the matrix read."""
    from pullcheck.matrix import Classification, matrix_row

    return Classification(cause=cause, row=matrix_row(cause), rule=rule, matched="", runtime=None, candidates=(),
                          details={})


def image_info(written: str):
    """(ImageInfo, parsed ImageReference or None) for an image as written in the pod."""
    from pullcheck.reference import InvalidReference, parse

    try:
        ref = parse(written)
    except InvalidReference as exc:
        return ImageInfo(written=written, invalid=exc.reason), None
    return ImageInfo(written=written, normalized=ref.normalized, registry=ref.registry, repository=ref.repository,
                     tag=ref.tag, digest=ref.digest), ref


def _failed_pulls(view: ContainerView) -> list[TimedEvent]:
    """Events that record a failed pull attempt: `Failed to pull image ...` (one per distinct error)."""
    from pullcheck.kubelet_messages import parse_kubelet_message

    return [e for e in view.events_with("Failed")
            if parse_kubelet_message(e.message, e.reason).kind == "pull-failed"]


def _pull_status(view: ContainerView, failed: list[TimedEvent], now: datetime) -> str:
    if view.waiting_reason in PULL_WAITING_REASONS:
        return FAILING
    latest_image_event = view.events[-1] if view.events else None
    if view.running or view.terminated or view.image_id:
        return RECOVERED if failed else OK
    if latest_image_event is None:
        return OK
    if latest_image_event.reason == "Pulling":
        since = latest_image_event.last
        if since and (now - since).total_seconds() > STUCK_AFTER_SECONDS:
            return STUCK
        return PULLING
    if latest_image_event.reason in ("Failed", "BackOff", "InspectFailed", "ErrImageNeverPull"):
        return FAILING
    return OK


def _state_name(view: ContainerView) -> str:
    if view.waiting_reason:
        return view.waiting_reason
    if view.running:
        return "Running"
    if view.terminated:
        return f"Terminated ({view.terminated.get('reason', '')})".replace(" ()", "")
    return "Waiting" if view.status else "NotStarted"


def _pick_message(view: ContainerView, failed: list[TimedEvent], now: datetime):
    """The error text the verdict rests on, where it came from, when, and the evidence lines."""
    from pullcheck.kubelet_messages import parse_kubelet_message

    evidence: list[Evidence] = []
    event_error = None
    if failed:
        latest = failed[-1]
        event_error = parse_kubelet_message(latest.message, latest.reason).error
        evidence.append(Evidence(_event_source(latest, now), latest.message))
    else:
        for reason in ("InspectFailed", "ErrImageNeverPull"):
            found = view.events_with(reason)
            if found:
                latest = found[-1]
                evidence.append(Evidence(_event_source(latest, now), latest.message))
                event_error = latest.message
    waiting = view.waiting_message
    waiting_error = None
    if waiting:
        parsed = parse_kubelet_message(waiting, view.waiting_reason)
        waiting_error = parsed.error if parsed.kind in ("backoff", "pull-failed") else waiting
        if parsed.kind == "backoff" and not parsed.error:
            waiting_error = None
        if waiting_error and waiting_error != event_error:
            evidence.append(Evidence(f"container status ({view.waiting_reason})", waiting))
    if event_error:
        latest = failed[-1] if failed else None
        return event_error, "event" if latest is None else _event_source(latest, now), \
            latest.last if latest else None, evidence
    if waiting_error:
        return waiting_error, f"container status ({view.waiting_reason})", None, evidence
    if waiting:
        evidence.append(Evidence(f"container status ({view.waiting_reason})", waiting))
    return None, None, None, evidence


def _event_source(event: TimedEvent, now: datetime) -> str:
    age = f", {human_duration((now - event.last).total_seconds())} ago" if event.last else ""
    return f"event {event.reason} x{event.count}{age}"


def _node_cache(snapshot: PodSnapshot, view: ContainerView, ref) -> NodeCache | None:
    if snapshot.nodes is None:
        return None
    holders = nodes_with_image(snapshot.nodes, view.image, ref)
    on_pod_node = snapshot.node_name in holders if snapshot.node_name and snapshot.node() else None
    return NodeCache(on_pod_node=on_pod_node, nodes_with_image=sorted(holders), nodes_total=len(snapshot.nodes))


def nodes_with_image(nodes: list[dict], written: str, ref) -> list[str]:
    """Names of the nodes whose status.images lists this image (as written, normalized, familiar, or by
    repo@digest for a digest reference)."""
    names = {written}
    if ref is not None:
        names |= {ref.normalized, ref.familiar}
        if ref.digest:
            names.add(f"{ref.registry}/{ref.repository}@{ref.digest}")
    holders = []
    for node in nodes:
        for image in (node.get("status") or {}).get("images") or ():
            if names & set(image.get("names") or ()):
                holders.append(node.get("metadata", {}).get("name", ""))
                break
    return holders


def _context(snapshot: PodSnapshot, view: ContainerView, ref, audit, node_cache, node) -> Context:
    sources = secret_sources(snapshot)
    pod_secrets = [n for n, s in sources.items() if "pod" in s.split("+")]
    missing = {n: snapshot.secrets[n].found_in for n in pod_secrets
               if n in snapshot.secrets and snapshot.secrets[n].status == "missing"}
    from pullcheck.containers import pod_level_events
    from pullcheck.kubelet_messages import parse_kubelet_message

    unretrievable: list[str] = []
    for event in pod_level_events(snapshot.events, "FailedToRetrieveImagePullSecret"):
        for name in parse_kubelet_message(event.message, event.reason).secret_names:
            if name not in unretrievable and name not in missing:
                unretrievable.append(name)
    owner = snapshot.owner
    names = Names(namespace=snapshot.namespace, pod=snapshot.name, container=view.name, container_kind=view.kind,
                  container_index=view.index, image=view.image,
                  registry=ref.registry if ref else None, repository=ref.repository if ref else None,
                  node=snapshot.node_name, owner_kind=owner.kind if owner else None,
                  owner_name=owner.name if owner else None,
                  service_account=(snapshot.pod.get("spec") or {}).get("serviceAccountName") or "default",
                  pod_secrets=pod_secrets)
    lowercase = None
    if ref is None and view.image != view.image.lower():
        lowercase = view.image.lower()
    return Context(names=names, image=ref, audit=audit, missing_secrets=missing, unretrievable=unretrievable,
                   node_cache=node_cache, node_platform=_platform(node), local_cluster=_local_cluster(snapshot),
                   lowercase_fix=lowercase)


def _platform(node: dict | None) -> str | None:
    if not node:
        return None
    labels = node.get("metadata", {}).get("labels") or {}
    info = (node.get("status") or {}).get("nodeInfo") or {}
    os_name = labels.get("kubernetes.io/os") or info.get("operatingSystem")
    arch = labels.get("kubernetes.io/arch") or info.get("architecture")
    return f"{os_name}/{arch}" if os_name and arch else None


def _local_cluster(snapshot: PodSnapshot) -> tuple[str, str] | None:
    """kind and minikube clusters, told by the nodes' providerID / labels."""
    for node in snapshot.nodes or ():
        provider = (node.get("spec") or {}).get("providerID") or ""
        if provider.startswith("kind://"):
            parts = provider.split("/")
            return "kind", parts[3] if len(parts) > 3 else "kind"
        labels = node.get("metadata", {}).get("labels") or {}
        if "minikube.k8s.io/name" in labels:
            return "minikube", labels["minikube.k8s.io/name"]
    return None


def _owner_from_refs(pod: dict) -> str | None:
    ref = controller_ref(pod)
    return f"{ref['kind']}/{ref['name']}" if ref else None


# -- explain ---------------------------------------------------------------------------------------------
def explain_message(text: str) -> Explanation:
    """Classify a raw message with no pod around it: the matrix answer, its evidence and generic next steps."""
    from pullcheck.kubelet_messages import parse_kubelet_message
    from pullcheck.matrix import classify

    message = " ".join(text.split())
    parsed = parse_kubelet_message(message)
    classification = classify(message)
    info, ref = image_info(parsed.image) if parsed.image else (None, None)
    names = Names(namespace="<namespace>", pod="<pod>", container="<container>", container_kind="container",
                  container_index=0, image=parsed.image or "<image>",
                  registry=ref.registry if ref else classification.details.get("host"),
                  repository=ref.repository if ref else None, node=None, owner_kind=None, owner_name=None,
                  service_account="default")
    evidence = [Evidence("message", classification.matched)] if classification.matched else []
    verdict = build_verdict(classification, Context(names=names, image=ref), evidence)
    return Explanation(message=message, verdict=verdict, image=info)
