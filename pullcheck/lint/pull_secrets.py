"""The `pull-secret` lint rule: do the pull secrets a pod will get work for its images? With --live every
listed secret is read from the cluster; with -f only the Secrets in the input are judged (a chart that ships
its own pull secret), and one that is not in the input is not assumed missing.

The kubelet uses the pod's imagePullSecrets; a pod that lists none gets its service account's at creation
(the ServiceAccount admission plugin), so a template is judged with the secrets its pods will carry. A secret
that does not exist is skipped with a FailedToRetrieveImagePullSecret event and the pull goes on without it;
one the kubelet cannot decode fails every pull of the pod; one of another type is ignored; credentials are
offered only for the registry keys that match the image (pullcheck.secrets.matching_credentials).

Only the secrets' registry hosts, usernames and token expiry are read out of them: never a password.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from pullcheck.lint.manifests import Workload
from pullcheck.timeutil import format_time, human_duration

RULE = "pull-secret"
ERROR, WARNING = "error", "warning"


def pod_pull_secrets(workload: Workload, service_accounts: Mapping[tuple[str, str], list[str]]
                     ) -> tuple[list[str], str]:
    """(secret names the workload's pods will carry, who lists them); names [] when none or unknown."""
    if workload.pull_secrets:
        return workload.pull_secrets, "the pod"
    account = workload.service_account
    return list(service_accounts.get((workload.namespace, account)) or ()), f"service account {account}"


def check_pull_secrets(workload: Workload, ref: Any, lookups: Mapping[tuple[str, str], Any],
                       service_accounts: Mapping[tuple[str, str], list[str]], needs_credentials: bool,
                       now: datetime, add: Callable[..., None]) -> None:
    """Add `pull-secret` findings for one container image. lookups: (namespace, name) -> SecretLookup of
    every secret read; a secret absent from it (or forbidden) was not checked and is not judged."""
    from pullcheck.secrets import matching_credentials

    names, holder = pod_pull_secrets(workload, service_accounts)
    known = [(name, lookups.get((workload.namespace, name))) for name in names]
    known = [(name, lookup) for name, lookup in known if lookup is not None and lookup.status in ("found", "missing")]
    if not known:
        return
    namespace, registry = workload.namespace, ref.registry or ref.host
    found = [lookup.decoded for _, lookup in known if lookup.status == "found"]
    matched = matching_credentials(ref, [c for secret in found for c in secret.kubelet_credentials])
    # the kubelet will send nothing for this registry (judged only when every listed secret is known: with -f,
    # a secret not in the input may well exist in the cluster)
    stranded = needs_credentials and not matched and len(known) == len(names)

    for secret in found:
        replace = f"kubectl delete secret {secret.name} -n {namespace} && " + _recreate(secret.name, registry, namespace)
        if secret.breaks_pulls:
            add(RULE, f"pull secret {secret.name} cannot be decoded by the kubelet "
                      f"({secret.kubelet_error or _first(secret.problems)}): every pull of these pods fails",
                replace, ERROR)
        elif not secret.read_by_kubelet:
            add(RULE, f"pull secret {secret.name}: {_first(secret.problems)}", replace,
                ERROR if stranded else WARNING)
    missing = [name for name, lookup in known if lookup.status == "missing"]
    if missing:
        listed = ", ".join(missing)
        one = len(missing) == 1
        message = (f"{holder} lists pull secret{'' if one else 's'} {listed}, which do{'es' if one else ''} not exist "
                   f"in namespace {namespace}: the kubelet pulls without {'it' if one else 'them'}")
        if stranded:
            message += f", and no other listed secret holds credentials for {registry}"
        add(RULE, message, _recreate(missing[0], registry, namespace) + f", or drop {listed} from imagePullSecrets",
            ERROR if stranded else WARNING)
    elif stranded and found and all(s.read_by_kubelet and not s.breaks_pulls for s in found):
        hosts = sorted({c.key for s in found for c in s.kubelet_credentials})
        held = f"they hold {', '.join(hosts)}" if hosts else "they hold no registry entries"
        add(RULE, f"none of the pull secrets {holder} lists ({', '.join(names)}) holds credentials for {registry}: "
                  f"{held}", f"add an entry keyed {registry} (the kubelet matches host[:port][/path] exactly, "
                             "with * only as a whole label)", WARNING)
    for credential in matched:
        if credential.expired(now):
            add(RULE, f"the token for {credential.key} in pull secret {credential.secret.rsplit('/', 1)[-1]} expired at "
                      f"{format_time(credential.expires_at)} ({human_duration((now - credential.expires_at).total_seconds())}"
                      " ago): the registry will refuse it",
                "refresh it (ECR tokens last 12 hours): a scheduled job, or the kubelet's ECR credential provider "
                "instead of a pull secret", ERROR)


def secrets_to_read(workloads: Sequence[Workload], service_accounts: Mapping[tuple[str, str], list[str]]
                    ) -> list[tuple[str, str]]:
    """Each (namespace, name) the workloads' pods will carry, once."""
    wanted: dict[tuple[str, str], None] = {}
    for workload in workloads:
        for name in pod_pull_secrets(workload, service_accounts)[0]:
            wanted[(workload.namespace, name)] = None
    return list(wanted)


def _first(problems: Sequence[str]) -> str:
    return problems[0] if problems else "unreadable"


def _recreate(name: str, registry: str, namespace: str) -> str:
    return (f"kubectl create secret docker-registry {name} --docker-server={registry} --docker-username=<user> "
            f"--docker-password=<password> -n {namespace}")
