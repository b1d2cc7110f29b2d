"""Stop the bleeding: what `rollout undo`, deleting the pod, `rollout restart` and scaling to zero would do
for a failing pod of a Deployment, StatefulSet or DaemonSet, and the risk of each. Pure: it reads the
snapshot and the diagnosed report; pullcheck prints the commands and runs none.

A rollback restores an older revision's pod template. It helps only when that revision pulls something
else (another image, pull policy or pull secrets), and only when that can be pulled now: an image cached
on every node that can run it needs no pull (IfNotPresent), one that must be pulled goes to its registry,
and when the failing pull shows that registry down, rate-limiting or refusing these credentials, that pull
fails too. A revision whose pull secret is gone is not offered.
"""
from __future__ import annotations

from dataclasses import dataclass

from pullcheck import backoff
from pullcheck import nextsteps as ns
from pullcheck.audit import secret_sources
from pullcheck.diagnose import image_info, nodes_with_image
from pullcheck.report import (AFTER_FIX, NOT_FOR_THIS_CAUSE, NOT_OFFERED, NOW, PROBLEM_STATUSES, RISKY, SAFE,
                              UNCHECKED, BleedingAction, ContainerReport, NextStep, PodReport, RollbackImage,
                              RollbackOption, RollbackSecret, StopTheBleeding)
from pullcheck.snapshot import PodSnapshot, Revision, RolloutHistory, TemplateContainer
from pullcheck.verdict import AUTH_CAUSES, REGISTRY_CAUSES, TEMPLATE_CAUSES

ROLLABLE = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
SCALABLE = frozenset({"Deployment", "StatefulSet"})
_SPEC_LISTS = {"container": "containers", "init": "initContainers", "ephemeral": "ephemeralContainers"}


@dataclass(frozen=True)
class Failure:
    """A failing container of the pod: what it pulls, from where, and why that fails."""

    container: str
    kind: str
    image: str
    registry: str | None
    cause: str


def stop_the_bleeding(snapshot: PodSnapshot, report: PodReport) -> StopTheBleeding | None:
    """The section for a pod with a pull problem owned by a Deployment, StatefulSet or DaemonSet."""
    owner = snapshot.owner
    # an ephemeral (debug) container is not part of the workload's template: no workload action concerns it
    failing = [c for c in report.containers if c.status in PROBLEM_STATUSES and c.kind != "ephemeral"]
    if owner is None or owner.kind not in ROLLABLE or not failing:
        return None
    failures = [Failure(c.name, c.kind, c.image.written, c.image.registry, c.verdict.cause if c.verdict else "unknown")
                for c in failing]
    names = _names(snapshot, failing[0])
    history = snapshot.revisions
    current = history.current if history else None
    section = StopTheBleeding(workload=f"{owner.kind}/{owner.name}",
                              history_source=history.source if history else None,
                              current_revision=current.number if current else None,
                              pod_revision=history.pod_revision if history else None)
    if history is None:
        section.rollbacks.append(RollbackOption(
            to_revision=None, from_revision=None, verdict=UNCHECKED,
            summary="the rollout history was not read (or is not in the capture): what `rollout undo` would "
                    "restore, and whether it can be pulled, is unchecked; look before you run it",
            steps=[ns.rollout_history(names), ns.rollout_undo(names)]))
    else:
        section.rollbacks.extend(assess_rollbacks(snapshot, history, failures, names))
        if current and history.pod_revision is not None and history.pod_revision != current.number:
            section.notes.append(f"pod {snapshot.name} was created from revision {history.pod_revision}; "
                                 f"{section.workload} is at revision {current.number}")
    section.actions = _actions(snapshot, failing, failures, names, history)
    if owner.kind not in SCALABLE:
        section.notes.append(f"a {owner.kind} cannot be scaled: `rollout restart` is its hard reset")
    return section


# -- rollback ----------------------------------------------------------------------------------------------
def assess_rollbacks(snapshot: PodSnapshot, history: RolloutHistory, failures: list[Failure],
                     names: ns.Names) -> list[RollbackOption]:
    """`rollout undo` to the previous revision; when that one repeats the failing pull, also the newest
    older revision that does not (`--to-revision`)."""
    revisions = history.revisions
    current = history.current
    if current is None or len(revisions) < 2:
        only = f"revision {current.number} is the only revision" if current else "no revision was found"
        return [RollbackOption(to_revision=None, from_revision=current.number if current else None,
                               verdict=NOT_OFFERED,
                               summary=f"`rollout undo` is not offered: {only}; there is nothing to go back to")]
    previous = revisions[-2]
    options = [_assess(snapshot, history, previous, failures, names, is_previous=True)]
    if not _changes_failing_pull(previous, current, failures):
        older = next((r for r in reversed(revisions[:-2]) if _changes_failing_pull(r, current, failures)), None)
        if older is not None:
            options.append(_assess(snapshot, history, older, failures, names, is_previous=False))
    return options


def _changes_failing_pull(target: Revision, current: Revision, failures: list[Failure]) -> bool:
    return _pull_inputs(target) != _pull_inputs(current) and not _repeats(target, current, failures)


def _assess(snapshot: PodSnapshot, history: RolloutHistory, target: Revision, failures: list[Failure],
            names: ns.Names, *, is_previous: bool) -> RollbackOption:
    current = history.current
    assert current is not None
    blocks: list[str] = []
    if _pull_inputs(target) == _pull_inputs(current):
        blocks.append(f"revision {target.number} pulls the same images with the same pull policies and pull secrets "
                      f"as revision {current.number}: `rollout undo` would not change the failing pull (the cause is "
                      "elsewhere: a secret's contents, the registry, the network)")
    else:
        blocks.extend(_repeats(target, current, failures))
    secrets, secret_blocks, risks = _secrets(snapshot, target)
    blocks.extend(secret_blocks)
    same_credentials = {s.name for s in secrets} == set(_pod_secret_names(snapshot))
    images = []
    for container in target.containers:
        row, invalid = _image_row(snapshot, history, target, container, failures, same_credentials)
        images.append(row)
        if invalid:
            blocks.append(f"container {row.container}: {row.risk}")
        elif row.risk:
            risks.append(f"container {row.container} ({row.image}): {row.risk}")
    option = RollbackOption(to_revision=target.number, from_revision=current.number, verdict=SAFE, summary="",
                            changes=_changes(target, current), reasons=blocks + risks, images=images,
                            secrets=secrets)
    if blocks:
        option.verdict = NOT_OFFERED
        option.summary = f"`rollout undo` to revision {target.number} is not offered: {blocks[0]}"
        return option
    undo = ns.rollout_undo(names, None if is_previous else target.number)
    if risks:
        option.verdict = RISKY
        option.summary = f"rolling back to revision {target.number} is risky: {risks[0]}"
        option.steps = [ns.rollout_history(names, target.number), undo]
    else:
        option.reasons = [f"container {i.container} ({i.image}): {i.note}" for i in images if i.note]
        option.summary = f"rolling back to revision {target.number} is safe: " + "; ".join(
            option.changes + [f"{i.container}: {i.note}" for i in images if i.note])
        option.steps = [undo]
    if history.kind == "StatefulSet":
        option.steps.append(NextStep(
            f"then delete pod {names.pod}: with its template reverted, a StatefulSet still waits for a pod that never "
            "became Ready instead of replacing it (kubernetes/kubernetes#67250)", ns.delete_pod(names).command))
    return option


def _pull_inputs(revision: Revision) -> tuple:
    """Everything of a revision that decides what the kubelet pulls and with which credentials."""
    return (sorted((c.kind, c.name, c.image, c.pull_policy) for c in revision.containers),
            list(revision.pull_secrets), revision.service_account)


def _repeats(target: Revision, current: Revision, failures: list[Failure]) -> list[str]:
    """Failing pulls the target revision would repeat: the same image, and for a credentials cause also
    the same pull secrets and service account."""
    same_credentials = (target.pull_secrets, target.service_account) == (current.pull_secrets,
                                                                           current.service_account)
    repeated = []
    for failure in failures:
        container = _container(target, failure.kind, failure.container)
        if container is None or container.image != failure.image:
            continue
        if failure.cause in AUTH_CAUSES and not same_credentials:
            continue
        repeated.append(f"container {failure.container} has the same image {failure.image} in revision "
                        f"{target.number}: it would fail the same way ({failure.cause})")
    return repeated


def _secrets(snapshot: PodSnapshot, target: Revision) -> tuple[list[RollbackSecret], list[str], list[str]]:
    """The pull secrets pods of the target revision would get, with what blocks or risks the rollback.
    Pods get the service account's secrets only when their template lists none (admission, at creation)."""
    blocks: list[str] = []
    risks: list[str] = []
    pod_sa = (snapshot.pod.get("spec") or {}).get("serviceAccountName") or "default"
    if target.pull_secrets:
        listed = [(name, "template") for name in target.pull_secrets]
    elif target.service_account != pod_sa:
        listed = []
        risks.append(f"its pods run as service account {target.service_account}, whose pull secrets were not read")
    elif snapshot.service_account_status == "found":
        listed = [(name, "serviceaccount") for name in _secret_names(snapshot.service_account or {})]
    elif snapshot.service_account_status == "missing":
        listed = []
        blocks.append(f"service account {pod_sa} does not exist: no pod of revision {target.number} can be created")
    else:
        listed = []
        risks.append(f"service account {pod_sa} was not read: the pull secrets its pods would get are unknown")
    rows = []
    for name, source in listed:
        lookup = snapshot.secrets.get(name)
        status = lookup.status if lookup else "not read"
        registries = []
        if lookup is not None and lookup.decoded is not None:
            registries = [c.key + (f" ({c.username})" if c.username else "") for c in lookup.decoded.credentials]
        rows.append(RollbackSecret(name=name, source=source, status=status, registries=registries))
        if status == "missing":
            given_by = "listed by the template" if source == "template" else f"from service account {pod_sa}"
            blocks.append(f"pull secret {name} ({given_by}) no longer exists in namespace {snapshot.namespace}: "
                          f"pods of revision {target.number} would pull without it")
        elif status != "found":
            risks.append(f"pull secret {name} could not be checked ({status})")
    return rows, blocks, risks


def _image_row(snapshot: PodSnapshot, history: RolloutHistory, target: Revision, container: TemplateContainer,
               failures: list[Failure], same_credentials: bool) -> tuple[RollbackImage, bool]:
    """The image row, and whether the reference is invalid (no pod of the revision could ever pull it)."""
    current = history.current
    in_current = _container(current, container.kind, container.name) if current else None
    row = RollbackImage(container=container.name, kind=container.kind, image=container.image,
                        current=in_current.image if in_current else None, pull_policy=container.pull_policy)
    info, ref = image_info(container.image)
    if ref is None:
        row.risk = f"{container.image!r} is not a valid image reference ({info.invalid})"
        return row, True
    candidates = _candidate_nodes(snapshot.nodes, target, daemon_set=history.kind == "DaemonSet")
    if candidates is not None:
        row.nodes_with_image = nodes_with_image(candidates, container.image, ref)
        row.nodes_considered = len(candidates)
    row.risk, row.note = _pull_risk(row, ref.registry, target, failures, same_credentials, snapshot.node_name)
    return row, False


def _pull_risk(row: RollbackImage, registry: str, target: Revision, failures: list[Failure], same_credentials: bool,
               pod_node: str | None) -> tuple[str | None, str]:
    """(risk, note) for one image of the target revision: does a pod of it need to pull, and would it fail?"""
    outage = next((f for f in failures if f.registry == registry and f.cause in REGISTRY_CAUSES), None)
    refused = next((f for f in failures if f.registry == registry and f.cause in AUTH_CAUSES), None) \
        if same_credentials else None
    answering = next((f for f in failures if f.registry == registry and f.cause in TEMPLATE_CAUSES), None)
    storage = next((f for f in failures if f.cause == "runtime-storage"), None)
    ready = target.ready_replicas or 0
    running = f"{_count(ready, 'pod')} of revision {target.number} {'is' if ready == 1 else 'are'} Ready now"
    if row.nodes_considered is None:
        failing = outage or refused
        if failing is not None:
            return (f"{registry} fails now ({failing.cause}) and the nodes' image lists were not read: pods may have "
                    "to pull it from there"), ""
        if ready:
            return None, running
        return "the nodes' image lists were not read: whether it is cached or still pullable is unknown", ""
    held, total = len(row.nodes_with_image), row.nodes_considered
    cached = f"cached on {held} of {_count(total, 'ready node')}"
    if total == 0:
        return "no ready node can run it (nodeSelector, taints, cordoned or NotReady nodes)", ""
    if row.pull_policy == "Never":
        if held < total:
            return f"imagePullPolicy Never and {cached}: pods on the other nodes fail with ErrImageNeverPull", ""
        return None, f"{cached}; imagePullPolicy Never"
    if row.pull_policy != "Always" and held == total:
        if refused:
            return (f"{cached}, but {registry} refuses the credentials its pods would use ({refused.cause}); kubelets "
                    "with KubeletEnsureSecretPulledImages (beta since Kubernetes 1.35) re-check credentials even for "
                    "a cached image pulled with a secret"), ""
        return None, f"{cached}: no pull needed"
    if row.pull_policy == "Always":
        where = "every pod pulls it (imagePullPolicy Always)"
    elif held == 0:
        where = "every pod pulls it"
    else:
        where = "pods on the other node pull it" if total - held == 1 else f"pods on the {total - held} other nodes pull it"
    if outage:
        return (f"{cached}; {where} from {registry}, which fails now ({outage.cause}, as container "
                f"{outage.container} shows): those pulls fail too"), ""
    if refused:
        return f"{cached}; {where} from {registry}, which refuses these credentials now ({refused.cause})", ""
    if storage and pod_node and pod_node not in row.nodes_with_image:
        return f"{cached}; node {pod_node} cannot store images now (runtime-storage): a pod placed there fails", ""
    if held or ready:
        evidence = cached if held else running
        tail = (f"; {registry} answers (container {answering.container} fails on its own image only)"
                if answering else "")
        return None, f"pulled before ({evidence}); {where}{tail}"
    return (f"{cached} and no pod of revision {target.number} is Ready: nothing shows it can still be pulled "
            f"from {registry}"), ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _candidate_nodes(nodes: list[dict] | None, target: Revision, *, daemon_set: bool) -> list[dict] | None:
    """Ready nodes the revision's pods can land on: by nodeSelector, and by the NoSchedule / NoExecute taints
    its tolerations allow (node affinity is not evaluated). DaemonSet pods also tolerate cordoned nodes and
    the node.kubernetes.io/* condition taints, as the DaemonSet controller adds those tolerations."""
    if nodes is None:
        return None
    chosen = []
    for node in nodes:
        labels = node.get("metadata", {}).get("labels") or {}
        spec = node.get("spec") or {}
        if not _ready(node) or any(labels.get(k) != v for k, v in target.node_selector.items()):
            continue
        if spec.get("unschedulable") and not daemon_set:
            continue
        if any(_repels(taint, target.tolerations, daemon_set) for taint in spec.get("taints") or ()):
            continue
        chosen.append(node)
    return chosen


def _repels(taint: dict, tolerations: list[dict], daemon_set: bool) -> bool:
    """Whether a taint keeps the pods off the node (the scheduler's rule: PreferNoSchedule never does)."""
    if not isinstance(taint, dict) or taint.get("effect") not in ("NoSchedule", "NoExecute"):
        return False
    if daemon_set and str(taint.get("key", "")).startswith("node.kubernetes.io/"):
        return False
    return not any(_tolerates(toleration, taint) for toleration in tolerations)


def _tolerates(toleration: dict, taint: dict) -> bool:
    """v1 Toleration.ToleratesTaint: the effect matches (empty: all), and the key with Exists (empty key
    with Exists: every key) or the key and value with Equal (the default operator)."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if toleration.get("operator") == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def _ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or ())


def _changes(target: Revision, current: Revision) -> list[str]:
    """What a rollback from `current` to `target` changes, e.g. "web: reg/shop/web:1.4.2 -> :1.4.1"."""
    changes = []
    for container in target.containers:
        now = _container(current, container.kind, container.name)
        if now is None:
            changes.append(f"{container.name}: added, {container.image}")
            continue
        if now.image != container.image:
            changes.append(f"{container.name}: {now.image} -> {_short(container.image, now.image)}")
        if now.pull_policy != container.pull_policy:
            changes.append(f"{container.name}: imagePullPolicy {now.pull_policy} -> {container.pull_policy}")
    for container in current.containers:
        if _container(target, container.kind, container.name) is None:
            changes.append(f"{container.name}: removed")
    if target.pull_secrets != current.pull_secrets:
        changes.append(f"imagePullSecrets: {', '.join(current.pull_secrets) or 'none'} -> "
                       f"{', '.join(target.pull_secrets) or 'none'}")
    if target.service_account != current.service_account:
        changes.append(f"service account: {current.service_account} -> {target.service_account}")
    return changes


def _short(image: str, base: str) -> str:
    """The part of `image` that differs from `base` when both name the same repository (":1.4.1")."""
    _, ref = image_info(image)
    _, base_ref = image_info(base)
    if ref is not None and base_ref is not None and ref.name == base_ref.name:
        return f"@{ref.digest}" if ref.digest else f":{ref.tag}"
    return image


def _container(revision: Revision, kind: str, name: str) -> TemplateContainer | None:
    return next((c for c in revision.containers if c.kind == kind and c.name == name), None)


# -- delete pod, rollout restart, scale ----------------------------------------------------------------------
def _actions(snapshot: PodSnapshot, failing: list[ContainerReport], failures: list[Failure], names: ns.Names,
             history: RolloutHistory | None) -> list[BleedingAction]:
    kind = names.owner_kind or ""
    workload = f"{kind}/{names.owner_name}"
    causes = sorted({f.cause for f in failures})
    template_only = set(causes) <= TEMPLATE_CAUSES
    cause_text = ", ".join(causes)
    late = _late_service_account_secrets(snapshot)
    late_text = (f"service account {names.service_account} lists {', '.join(late)}, which this pod lacks: admission "
                 "copies service-account pull secrets into pods only when they are created") if late else ""
    same_way = (f"the pod template itself is wrong ({cause_text}): pods recreated from it fail the same way; changing "
                "the template (set image, rollout undo) replaces the pods by itself") if template_only else \
        "before the cause is fixed: the new pods fail the same way, and their back-off starts over"
    when = NOW if late else NOT_FOR_THIS_CAUSE if template_only else AFTER_FIX

    delete_helps = (f"{late_text}; the new pod gets them and pulls at once" if late else
                    f"once the cause is fixed, a new pod pulls at once: the back-off belongs to this pod "
                    f"({_backoff_text(failing)}), a new pod starts without it")
    delete_cost = ("only this pod; it comes back with the same name and volumes" if kind == "StatefulSet"
                   else f"only this pod; the {kind} creates a replacement at once")
    actions = [BleedingAction(action="delete-pod", when=when, helps=delete_helps, does_not_help=same_way,
                              cost=delete_cost, step=ns.delete_pod(names))]

    restart_helps = (f"{late_text}; every pod of {workload} is recreated with them" if late else
                     f"after fixing the pull secret, the service account or the registry access: every pod of "
                     f"{workload} is recreated and pulls at once, with the service account's current pull secrets")
    restart_not = same_way
    previous = history.revisions[-2].number if history and len(history.revisions) > 1 else None
    if kind == "Deployment":
        restart_not += ("; a restart also adds a revision, so a later plain `rollout undo` returns to today's "
                        "failing template" + (f": use --to-revision={previous} then" if previous else ""))
    restart_cost = {
        "Deployment": "pods are replaced a few at a time (maxSurge/maxUnavailable); when the new ones cannot pull, "
                      "the rollout stalls and the remaining old pods keep serving",
        "StatefulSet": "one pod at a time from the highest ordinal (RollingUpdate); a pod that cannot pull stops the "
                       "rollout there",
        "DaemonSet": "node by node (maxUnavailable); a pod that cannot pull leaves its node without one",
    }[kind]
    actions.append(BleedingAction(action="rollout-restart", when=when, helps=restart_helps,
                                  does_not_help=restart_not, cost=restart_cost, step=ns.rollout_restart(names)))

    if kind in SCALABLE:
        replicas = history.replicas if history else None
        scale_cost = (f"an outage: {workload} runs no pod between the two scales"
                      + (f" ({replicas} desired)" if replicas is not None else ""))
        if kind == "StatefulSet":
            scale_cost += "; with the default OrderedReady policy its pods stop and start one at a time, in order"
        actions.append(BleedingAction(
            action="scale-to-zero-and-back", when=when,
            helps="the hard reset after the fix: every pod is deleted and created anew, without back-off, including "
                  "pods a stalled rollout left behind",
            does_not_help=same_way + ("" if template_only else "; and meanwhile none of the old pods serve"),
            cost=scale_cost, step=ns.scale_to_zero_and_back(names, replicas)))
    return actions


def _backoff_text(failing: list[ContainerReport]) -> str:
    states = [c.backoff for c in failing if c.backoff is not None and not c.backoff.reset]
    if not states:
        return f"the kubelet waits up to {backoff.CAP_SECONDS // 60} minutes between its retries"
    worst = max(states, key=lambda s: s.delay_seconds)
    cap = f" (the {backoff.CAP_SECONDS}s cap)" if worst.at_cap else f", doubling to {backoff.CAP_SECONDS}s"
    return f"now {worst.delay_seconds}s between retries{cap}"


def _late_service_account_secrets(snapshot: PodSnapshot) -> list[str]:
    """Service-account pull secrets the pod lacks although it lists none of its own: linked after it was created."""
    sources = secret_sources(snapshot)
    if snapshot.service_account_status != "found" or any(s.startswith("pod") for s in sources.values()):
        return []
    return [name for name, source in sources.items() if source == "serviceaccount"]


def _names(snapshot: PodSnapshot, container: ContainerReport) -> ns.Names:
    spec = snapshot.pod.get("spec") or {}
    listed = spec.get(_SPEC_LISTS.get(container.kind, "containers")) or ()
    index = next((i for i, c in enumerate(listed) if c.get("name") == container.name), 0)
    owner = snapshot.owner
    return ns.Names(namespace=snapshot.namespace, pod=snapshot.name, container=container.name,
                    container_kind=container.kind, container_index=index, image=container.image.written,
                    registry=container.image.registry, repository=container.image.repository,
                    node=snapshot.node_name, owner_kind=owner.kind if owner else None,
                    owner_name=owner.name if owner else None,
                    service_account=spec.get("serviceAccountName") or "default",
                    pod_secrets=_pod_secret_names(snapshot))


def _pod_secret_names(snapshot: PodSnapshot) -> list[str]:
    return _secret_names(snapshot.pod.get("spec") or {})


def _secret_names(obj: dict) -> list[str]:
    return [r["name"] for r in obj.get("imagePullSecrets") or () if isinstance(r, dict) and r.get("name")]
