"""One read of the cluster for `pod NAME`: every object fetched once, independent reads in parallel.

Round trips: the pod; then, at once, its events (field selector on the pod's UID, so a recreated
StatefulSet pod's old events are not mixed in), its service account, each pull secret, the nodes and the
owner; then only where needed, the service account's extra secrets and a metadata-only search of other
namespaces for a missing secret. A forbidden or failed read becomes a Skipped entry, never a crash.

When a container is in a pull waiting state and the owner is a Deployment, StatefulSet or DaemonSet, the
owner read goes on to its rollout history (the Deployment's ReplicaSets, listed with the selector the pod's
ReplicaSet carries; or the StatefulSet/DaemonSet and its ControllerRevisions), and pull secrets only older
revisions name are read with the rest: what `rollout undo` would restore, for the rollback advice. A
healthy pod costs no extra request.
"""
from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable

from pullcheck.containers import pull_trouble
from pullcheck.errors import ClusterError, UsageError
from pullcheck.kube.client import (METADATA_ONLY_LIST, ApiError, Forbidden, KubeClient, NotFound, cluster_scoped,
                                   namespaced)
from pullcheck.secrets import decode_pull_secret, redact_secret
from pullcheck.snapshot import Owner, PodSnapshot, Revision, RolloutHistory, SecretLookup, Skipped, controller_ref

WORKERS = 8
HISTORY_CHECK = "rollout history (rollback advice)"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
TEMPLATE_HASH_LABEL = "pod-template-hash"          # added by the Deployment controller to its ReplicaSets' selector
REVISION_HASH_LABEL = "controller-revision-hash"   # StatefulSet pods: the revision's name; DaemonSet pods: its hash
_REVISIONED = {"StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


def gather_pod(client: KubeClient, namespace: str, name: str) -> PodSnapshot:
    pod = _read_pod(client, namespace, name)
    uid = pod.get("metadata", {}).get("uid", "")
    sa_name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    pod_secret_names = _secret_names(pod.get("spec") or {})
    skipped: list[Skipped] = []

    # the rollout history costs requests: read it only when the advice may need it (a pull error, or a pull
    # that may hang: the events, read in parallel, settle that)
    with_history = pull_trouble(pod, datetime.now(timezone.utc)) is not None
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        events_f = pool.submit(_guard, skipped, "events", lambda: _events(client, namespace, name, uid))
        nodes_f = pool.submit(_guard, skipped, "nodes (os/arch, image cache)",
                              lambda: list(client.list(cluster_scoped("nodes"), page_size=100)))
        owner_f = pool.submit(_owner_and_history, client, namespace, pod, skipped, with_history)
        sa_f = pool.submit(_service_account, client, namespace, sa_name)
        secret_fs = {n: pool.submit(read_pull_secret, client, namespace, n) for n in pod_secret_names}

        service_account, sa_status = sa_f.result()
        if sa_status == "forbidden":
            skipped.append(Skipped("service account", f"forbidden: cannot get serviceaccounts in {namespace}"))
        for extra in _secret_names(service_account or {}):
            if extra not in secret_fs:
                secret_fs[extra] = pool.submit(read_pull_secret, client, namespace, extra)
        referenced = set(secret_fs)
        owner, history = owner_f.result()
        for revision in history.revisions if history else ():
            for extra in revision.pull_secrets:
                if extra not in secret_fs:
                    secret_fs[extra] = pool.submit(read_pull_secret, client, namespace, extra)
        secrets = {n: f.result() for n, f in secret_fs.items()}

        missing = [s for s in secrets.values() if s.status == "missing" and s.name in referenced]
        searches = {s.name: pool.submit(search_other_namespaces, client, s.name) for s in missing}
        for secret_name, future in searches.items():
            secrets[secret_name].elsewhere, secrets[secret_name].found_in = future.result()
        if any(s.status == "forbidden" for s in secrets.values()):
            skipped.append(Skipped("pull secret contents",
                                   f"forbidden: cannot get secrets in {namespace}; existence and registry "
                                   "matching not checked"))
        events, nodes = events_f.result(), nodes_f.result()

    return PodSnapshot(pod=pod, events=events, service_account=service_account,
                       service_account_status=sa_status, secrets=secrets, nodes=nodes, owner=owner,
                       skipped=skipped, source="cluster", revisions=history)


def _read_pod(client: KubeClient, namespace: str, name: str) -> dict:
    try:
        return client.get(namespaced(namespace, "pods", name))
    except NotFound:
        raise UsageError(_pod_not_found(client, namespace, name)) from None
    except ApiError as exc:
        raise ClusterError(exc.message) from None


def namespace_missing(client: KubeClient, namespace: str) -> bool:
    """True only when the API server says the namespace does not exist (not when it may not be read)."""
    try:
        client.get(cluster_scoped("namespaces", namespace))
    except NotFound:
        return True
    except (ApiError, ClusterError):
        pass
    return False


def require_namespace(client: KubeClient, namespace: str) -> None:
    """For a scope that came back empty: a mistyped namespace is an error, not "no problems found"."""
    if namespace_missing(client, namespace):
        raise UsageError(f'namespace "{namespace}" not found', hint="list them with: kubectl get namespaces")


def _pod_not_found(client: KubeClient, namespace: str, name: str) -> str:
    """Say whether the namespace exists, and suggest similar pod names (prefix matches first)."""
    if namespace_missing(client, namespace):
        return f'namespace "{namespace}" not found'
    try:
        names = [p["metadata"]["name"] for p in client.list(namespaced(namespace, "pods"), accept=METADATA_ONLY_LIST)]
    except (ApiError, ClusterError):
        return f'pod "{name}" not found in namespace "{namespace}"'
    similar = [n for n in names if n.startswith(name)][:3]
    similar += [n for n in difflib.get_close_matches(name, names, n=3, cutoff=0.6) if n not in similar]
    message = f'pod "{name}" not found in namespace "{namespace}"'
    if similar:
        message += "; did you mean " + ", ".join(similar[:3]) + "?"
    elif not names:
        message += " (the namespace has no pods)"
    return message


def _guard(skipped: list[Skipped], check: str, read: Callable):
    """Run a read; turn RBAC and API failures into a Skipped entry and None."""
    try:
        return read()
    except Forbidden as exc:
        skipped.append(Skipped(check, f"forbidden: {exc.message}"))
    except ApiError as exc:
        skipped.append(Skipped(check, f"API error {exc.status}: {exc.message}"))
    except ClusterError as exc:
        skipped.append(Skipped(check, exc.message))
    return None


def _events(client: KubeClient, namespace: str, name: str, uid: str) -> list[dict]:
    selector = f"involvedObject.uid={uid}" if uid else f"involvedObject.kind=Pod,involvedObject.name={name}"
    return list(client.list(namespaced(namespace, "events"), {"fieldSelector": selector}))


def _secret_names(spec: dict) -> list[str]:
    return [ref["name"] for ref in spec.get("imagePullSecrets") or () if isinstance(ref, dict) and ref.get("name")]


def _service_account(client: KubeClient, namespace: str, name: str) -> tuple[dict | None, str]:
    try:
        return client.get(namespaced(namespace, "serviceaccounts", name)), "found"
    except NotFound:
        return None, "missing"
    except Forbidden:
        return None, "forbidden"
    except (ApiError, ClusterError):
        return None, "unknown"


def read_pull_secret(client: KubeClient, namespace: str, name: str) -> SecretLookup:
    try:
        raw = client.get(namespaced(namespace, "secrets", name))
    except NotFound:
        return SecretLookup(name=name, status="missing")
    except Forbidden as exc:
        return SecretLookup(name=name, status="forbidden", detail=exc.message)
    except (ApiError, ClusterError) as exc:
        return SecretLookup(name=name, status="error", detail=getattr(exc, "message", str(exc)))
    # Only the decoded form (passwords held privately, for the registry probe) and a value-free copy are kept.
    return SecretLookup(name=name, status="found", decoded=decode_pull_secret(raw), redacted=redact_secret(raw))


def search_other_namespaces(client: KubeClient, name: str) -> tuple[str, tuple[str, ...]]:
    """Namespaces holding a secret of this name, reading metadata only (never the values)."""
    try:
        items = client.list("/api/v1/secrets", {"fieldSelector": f"metadata.name={name}"},
                            accept=METADATA_ONLY_LIST)
        return "checked", tuple(sorted(i.get("metadata", {}).get("namespace", "") for i in items))
    except Forbidden:
        return "forbidden", ()
    except (ApiError, ClusterError):
        return "not checked", ()


_OWNER_GROUPS = {"ReplicaSet": ("apps/v1", "replicasets"), "Job": ("batch/v1", "jobs")}


def _owner_and_history(client: KubeClient, namespace: str, pod: dict, skipped: list[Skipped],
                       with_history: bool) -> tuple[Owner | None, RolloutHistory | None]:
    """The owner (see _owner) and, when asked, its rollout history; each failure is its own Skipped entry."""
    found = _guard(skipped, "owner", lambda: _owner(client, namespace, pod))
    owner, controller = found if found else (None, None)
    if not with_history or owner is None:
        return owner, None
    if owner.kind == "Deployment" and controller is not None:
        return owner, _guard(skipped, HISTORY_CHECK, lambda: _deployment_history(client, namespace, owner, controller))
    if owner.kind in _REVISIONED:
        return owner, _guard(skipped, HISTORY_CHECK, lambda: _controller_revisions(client, namespace, owner, pod))
    return owner, None


def _owner(client: KubeClient, namespace: str, pod: dict) -> tuple[Owner, dict | None] | None:
    """The workload to act on (the Deployment behind a ReplicaSet, the CronJob behind a Job) and the
    ReplicaSet/Job read on the way (None when there is none or it is unreadable)."""
    ref = controller_ref(pod)
    if ref is None:
        return None
    owner = Owner(ref["kind"], ref["name"])
    controller = None
    if ref["kind"] in _OWNER_GROUPS:
        group, resource = _OWNER_GROUPS[ref["kind"]]
        try:
            controller = client.get(namespaced(namespace, resource, ref["name"], group=group))
        except (ApiError, ClusterError):  # keep the ReplicaSet/Job itself when its parent is unreadable
            controller = None
        parent = controller_ref(controller) if controller else None
        if parent and parent.get("kind") in ("Deployment", "CronJob"):
            owner = Owner(parent["kind"], parent["name"])
    return owner, controller


def _deployment_history(client: KubeClient, namespace: str, owner: Owner, pod_rs: dict) -> RolloutHistory:
    """The Deployment's ReplicaSets: its selector is the pod's ReplicaSet's without pod-template-hash, and
    its UID is in that ReplicaSet's ownerReference, so the Deployment itself need not be read."""
    parent = controller_ref(pod_rs) or {}
    selector = (pod_rs.get("spec") or {}).get("selector") or {}
    items = client.list(namespaced(namespace, "replicasets", group="apps/v1"),
                        {"labelSelector": label_selector(selector, drop=TEMPLATE_HASH_LABEL)})
    owned = [(_int((rs.get("metadata", {}).get("annotations") or {}).get(REVISION_ANNOTATION)), rs)
             for rs in items if _controlled_by(rs, parent, owner)]
    owned = sorted(((number, rs) for number, rs in owned if number is not None), key=lambda pair: pair[0])
    revisions = [Revision.from_template(number, rs.get("metadata", {}).get("name", ""),
                                        (rs.get("spec") or {}).get("template") or {},
                                        ready_replicas=int((rs.get("status") or {}).get("readyReplicas") or 0),
                                        created=rs.get("metadata", {}).get("creationTimestamp"))
                 for number, rs in owned]
    newest = owned[-1][1] if owned else pod_rs
    replicas = _int((newest.get("metadata", {}).get("annotations") or {}).get(DESIRED_REPLICAS_ANNOTATION))
    pod_revision = _int((pod_rs.get("metadata", {}).get("annotations") or {}).get(REVISION_ANNOTATION))
    return RolloutHistory(kind=owner.kind, name=owner.name, source="replicasets", revisions=revisions,
                          pod_revision=pod_revision, replicas=replicas)


def _controller_revisions(client: KubeClient, namespace: str, owner: Owner, pod: dict) -> RolloutHistory:
    """A StatefulSet's or DaemonSet's ControllerRevisions; each holds the full pod template as a patch
    (data.spec.template)."""
    workload = client.get(namespaced(namespace, _REVISIONED[owner.kind], owner.name, group="apps/v1"))
    spec = workload.get("spec") or {}
    items = client.list(namespaced(namespace, "controllerrevisions", group="apps/v1"),
                        {"labelSelector": label_selector(spec.get("selector") or {})})
    pod_hash = (pod.get("metadata", {}).get("labels") or {}).get(REVISION_HASH_LABEL)
    revisions: list[Revision] = []
    pod_revision = None
    for item in items:
        number = _int(item.get("revision"))
        if number is None or not _controlled_by(item, workload.get("metadata", {}), owner):
            continue
        meta = item.get("metadata", {})
        template = (((item.get("data") or {}).get("spec") or {}).get("template")) or {}
        revisions.append(Revision.from_template(number, meta.get("name", ""), template,
                                                created=meta.get("creationTimestamp")))
        if pod_hash and pod_hash in (meta.get("name"), (meta.get("labels") or {}).get(REVISION_HASH_LABEL)):
            pod_revision = number
    replicas = spec.get("replicas") if owner.kind == "StatefulSet" else None
    return RolloutHistory(kind=owner.kind, name=owner.name, source="controllerrevisions",
                          revisions=sorted(revisions, key=lambda r: r.number), pod_revision=pod_revision,
                          replicas=replicas if isinstance(replicas, int) else None)


def _controlled_by(obj: dict, parent: dict, owner: Owner) -> bool:
    """Owned by this workload: by UID when known (a same-named predecessor's leftovers do not count)."""
    ref = controller_ref(obj) or {}
    if parent.get("uid"):
        return ref.get("uid") == parent["uid"]
    return (ref.get("kind"), ref.get("name")) == (owner.kind, owner.name)


def label_selector(selector: dict, drop: str = "") -> str:
    """A LabelSelector (matchLabels, matchExpressions) as the labelSelector query parameter."""
    terms = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items()) if key != drop]
    for expression in selector.get("matchExpressions") or ():
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or ()
        if not key or key == drop:
            continue
        if operator in ("In", "NotIn"):
            terms.append(f"{key} {operator.lower()} ({','.join(values)})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
