"""One read of the cluster for `pod NAME`: every object fetched once, independent reads in parallel.

Round trips: the pod; then, at once, its events (field selector on the pod's UID, so a recreated
StatefulSet pod's old events are not mixed in), its service account, each pull secret, the nodes and the
owner; then only where needed, the service account's extra secrets and a metadata-only search of other
namespaces for a missing secret. A forbidden or failed read becomes a Skipped entry, never a crash.
"""
from __future__ import annotations

import difflib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from pullcheck.errors import ClusterError, UsageError
from pullcheck.kube.client import (METADATA_ONLY_LIST, ApiError, Forbidden, KubeClient, NotFound, cluster_scoped,
                                   namespaced)
from pullcheck.secrets import decode_pull_secret, redact_secret
from pullcheck.snapshot import Owner, PodSnapshot, SecretLookup, Skipped, controller_ref

WORKERS = 8


def gather_pod(client: KubeClient, namespace: str, name: str) -> PodSnapshot:
    pod = _read_pod(client, namespace, name)
    uid = pod.get("metadata", {}).get("uid", "")
    sa_name = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    pod_secret_names = _secret_names(pod.get("spec") or {})
    skipped: list[Skipped] = []

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        events_f = pool.submit(_guard, skipped, "events", lambda: _events(client, namespace, name, uid))
        nodes_f = pool.submit(_guard, skipped, "nodes (os/arch, image cache)",
                              lambda: list(client.list(cluster_scoped("nodes"), page_size=100)))
        owner_f = pool.submit(_guard, skipped, "owner", lambda: _owner(client, namespace, pod))
        sa_f = pool.submit(_service_account, client, namespace, sa_name)
        secret_fs = {n: pool.submit(_secret, client, namespace, n) for n in pod_secret_names}

        service_account, sa_status = sa_f.result()
        if sa_status == "forbidden":
            skipped.append(Skipped("service account", f"forbidden: cannot get serviceaccounts in {namespace}"))
        for extra in _secret_names(service_account or {}):
            if extra not in secret_fs:
                secret_fs[extra] = pool.submit(_secret, client, namespace, extra)
        secrets = {n: f.result() for n, f in secret_fs.items()}

        missing = [s for s in secrets.values() if s.status == "missing"]
        searches = {s.name: pool.submit(_search_other_namespaces, client, s.name) for s in missing}
        for secret_name, future in searches.items():
            secrets[secret_name].elsewhere, secrets[secret_name].found_in = future.result()
        if any(s.status == "forbidden" for s in secrets.values()):
            skipped.append(Skipped("pull secret contents",
                                   f"forbidden: cannot get secrets in {namespace}; existence and registry "
                                   "matching not checked"))
        events, nodes, owner = events_f.result(), nodes_f.result(), owner_f.result()

    return PodSnapshot(pod=pod, events=events, service_account=service_account,
                       service_account_status=sa_status, secrets=secrets, nodes=nodes, owner=owner,
                       skipped=skipped, source="cluster")


def _read_pod(client: KubeClient, namespace: str, name: str) -> dict:
    try:
        return client.get(namespaced(namespace, "pods", name))
    except NotFound:
        raise UsageError(_pod_not_found(client, namespace, name)) from None
    except ApiError as exc:
        raise ClusterError(exc.message) from None


def _pod_not_found(client: KubeClient, namespace: str, name: str) -> str:
    """Say whether the namespace exists, and suggest similar pod names (prefix matches first)."""
    try:
        client.get(cluster_scoped("namespaces", namespace))
    except NotFound:
        return f'namespace "{namespace}" not found'
    except (ApiError, ClusterError):
        pass
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


def _secret(client: KubeClient, namespace: str, name: str) -> SecretLookup:
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


def _search_other_namespaces(client: KubeClient, name: str) -> tuple[str, tuple[str, ...]]:
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


def _owner(client: KubeClient, namespace: str, pod: dict) -> Owner | None:
    """The workload to act on: the Deployment behind a ReplicaSet, the CronJob behind a Job."""
    ref = controller_ref(pod)
    if ref is None:
        return None
    owner = Owner(ref["kind"], ref["name"])
    if ref["kind"] in _OWNER_GROUPS:
        group, resource = _OWNER_GROUPS[ref["kind"]]
        try:
            parent = controller_ref(client.get(namespaced(namespace, resource, ref["name"], group=group)))
        except (ApiError, ClusterError):  # keep the ReplicaSet/Job itself when its parent is unreadable
            parent = None
        if parent and parent.get("kind") in ("Deployment", "CronJob"):
            owner = Owner(parent["kind"], parent["name"])
    return owner
