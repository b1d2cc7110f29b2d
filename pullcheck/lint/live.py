"""`lint --live`: lint what is deployed, read through the API once per kind (lists are paginated).

Objects made by a controller we also list are skipped, so each pod template is linted once, where it
is written: ReplicaSets of a Deployment, Jobs of a CronJob, Pods of a ReplicaSet / StatefulSet /
DaemonSet / Job / ReplicationController. Objects owned by anything else (an operator's custom resource,
a Node for static pods) are linted themselves. Service accounts are listed once for the whole scope, so
their imagePullSecrets are known here, unlike with -f; each pull secret the pods will carry is then read
once by name (the `pull-secret` rule).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from pullcheck.errors import ClusterError
from pullcheck.lint.manifests import LoadedInput, secret_names, workload_from

WORKERS = 8
# (kind, API group, group version path, resource), in report order.
LIVE_KINDS = (
    ("CronJob", "batch", "batch/v1", "cronjobs"),
    ("Job", "batch", "batch/v1", "jobs"),
    ("Deployment", "apps", "apps/v1", "deployments"),
    ("StatefulSet", "apps", "apps/v1", "statefulsets"),
    ("DaemonSet", "apps", "apps/v1", "daemonsets"),
    ("ReplicaSet", "apps", "apps/v1", "replicasets"),
    ("ReplicationController", "", "v1", "replicationcontrollers"),
    ("Pod", "", "v1", "pods"),
)
LISTED_OWNERS = frozenset((group, kind) for kind, group, _, _ in LIVE_KINDS)


def collection_path(group_version: str, resource: str, namespace: str | None) -> str:
    """The list path of a resource in one namespace, or in all of them when namespace is None."""
    base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    return f"{base}/namespaces/{quote(namespace, safe='')}/{resource}" if namespace else f"{base}/{resource}"


def load_live(client, namespace: str | None = None, all_namespaces: bool = False) -> LoadedInput:
    """Workloads and service accounts of one namespace (default: the client's) or of all namespaces."""
    scope = None if all_namespaces else (namespace or client.namespace)
    where = "all namespaces" if scope is None else f"namespace {scope}"
    loaded = LoadedInput(sources=[where])
    jobs = [(kind, group, collection_path(version, resource, scope), resource)
            for kind, group, version, resource in LIVE_KINDS]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        accounts = pool.submit(_list, client, collection_path("v1", "serviceaccounts", scope))
        lists = [(job, pool.submit(_list, client, job[2])) for job in jobs]
        results = [(job, future.result()) for job, future in lists]
        account_items, account_problem = accounts.result()

    readable = 0
    for (kind, group, _, resource), (items, problem) in results:
        if problem is not None:
            if problem != "not served":
                loaded.notes.append(f"{resource} in {where} not linted: {problem}")
            continue
        readable += 1
        for obj in items:
            obj.setdefault("kind", kind)
            obj.setdefault("apiVersion", f"{group}/v1" if group else "v1")
            if _made_by_listed_controller(obj):
                continue
            workload = workload_from(obj, scope or "default")
            if workload is not None:
                loaded.workloads.append(workload)
    if not readable:
        raise ClusterError(f"cannot list any workload kind in {where}: "
                           + "; ".join(problem for _, (_, problem) in results if problem))
    if account_problem is None:
        for account in account_items:
            meta = account.get("metadata") or {}
            key = (str(meta.get("namespace") or scope or ""), str(meta.get("name") or ""))
            loaded.service_accounts[key] = secret_names(account.get("imagePullSecrets"))
        loaded.accounts_complete = True
    else:
        loaded.accounts_unknown = "could not be read"
        loaded.notes.append(f"service accounts in {where} not read ({account_problem}): their imagePullSecrets "
                            "are unknown")
    loaded.secrets = _read_pull_secrets(client, loaded, where)
    return loaded


def _read_pull_secrets(client, loaded: LoadedInput, where: str) -> dict:
    """Each pull secret the pods will carry, read once (GET by name: a namespace's other secrets stay unread).
    Secrets that cannot be read are left out of the result, with one note."""
    from pullcheck.kube.gather import read_pull_secret
    from pullcheck.lint.pull_secrets import secrets_to_read

    wanted = secrets_to_read(loaded.workloads, loaded.service_accounts)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        lookups = dict(zip(wanted, pool.map(lambda key: read_pull_secret(client, *key), wanted)))
    unread = [(f"{ns}/{name}", lookup) for (ns, name), lookup in lookups.items()
              if lookup.status not in ("found", "missing")]
    if unread:
        first = unread[0][1]
        names = ", ".join(name for name, _ in unread[:3]) + (f" (+{len(unread) - 3} more)" if len(unread) > 3 else "")
        loaded.notes.append(f"pull secrets in {where} not read, so not checked: {names} "
                            f"({first.status}: {first.detail or 'no detail'})")
    return {key: lookup for key, lookup in lookups.items() if lookup.status in ("found", "missing")}


def _list(client, path: str) -> tuple[list, str | None]:
    """All items of a collection, or the reason there are none: "not served", "forbidden: ..."."""
    from pullcheck.kube.client import ApiError, Forbidden, NotFound

    try:
        return list(client.list(path)), None
    except NotFound:
        return [], "not served"
    except Forbidden as exc:
        return [], f"forbidden: {exc.message}"
    except ApiError as exc:
        return [], f"HTTP {exc.status}: {exc.message}"


def _made_by_listed_controller(obj: dict) -> bool:
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(owner, dict) and owner.get("controller"):
            group = str(owner.get("apiVersion") or "").rpartition("/")[0]
            return (group, owner.get("kind")) in LISTED_OWNERS
    return False
