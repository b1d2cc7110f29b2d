"""Pull-secret audit, with no registry traffic and no secret values.

What the kubelet uses is the pod's own spec.imagePullSecrets: the service account's secrets reach a pod
only through admission, once, at creation, and only when the pod lists none itself. So a secret added to
the service account later, or pod-level secrets that hide the service account's, need the pod recreated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pullcheck.containers import pod_level_events
from pullcheck.report import SecretMatch
from pullcheck.snapshot import PodSnapshot, SecretLookup
from pullcheck.timeutil import format_time, human_duration


@dataclass
class ImageSecretAudit:
    """How the pod's pull secrets relate to one image's registry."""

    rows: list[SecretMatch]
    kubelet_has_credentials: bool | None     # None: could not tell (secrets unreadable / not captured)
    expired: list[str] = field(default_factory=list)    # "secret/registry expired at T"


def secret_sources(snapshot: PodSnapshot) -> dict[str, str]:
    """name -> pod | serviceaccount | pod+serviceaccount, in the order the kubelet would see them."""
    pod_names = [r.get("name") for r in (snapshot.pod.get("spec") or {}).get("imagePullSecrets") or ()
                 if isinstance(r, dict) and r.get("name")]
    sa_names = [r.get("name") for r in (snapshot.service_account or {}).get("imagePullSecrets") or ()
                if isinstance(r, dict) and r.get("name")]
    sources: dict[str, str] = {n: "pod" for n in pod_names}
    for name in sa_names:
        sources[name] = "pod+serviceaccount" if name in sources else "serviceaccount"
    return sources


def audit_image(snapshot: PodSnapshot, image, now: datetime) -> ImageSecretAudit:
    """Audit the pull secrets against one parsed image reference (pullcheck.reference.ImageReference)."""
    from pullcheck.secrets import matching_credentials

    rows: list[SecretMatch] = []
    expired: list[str] = []
    usable = False
    unknown = False
    for name, source in secret_sources(snapshot).items():
        lookup = snapshot.secrets.get(name) or SecretLookup(name=name, status="unknown")
        row = SecretMatch(name=name, source=source, status=lookup.status, used_by_kubelet="pod" in source.split("+"))
        if lookup.decoded is not None:
            decoded = lookup.decoded
            row.type = decoded.type
            row.registries = [c.key + (f" ({c.username})" if c.username else "") for c in decoded.credentials]
            # only what the kubelet reads counts: a wrongly typed or undecodable secret gives it nothing
            matches = matching_credentials(image, decoded.kubelet_credentials) if image is not None else []
            row.matches = bool(matches)
            for cred in matches:
                if cred.expires_at is not None and cred.expires_at <= now:
                    expired.append(f"secret {name}: the token for {cred.key} expired at "
                                   f"{format_time(cred.expires_at)} ({human_duration((now - cred.expires_at).total_seconds())} ago)")
            if row.used_by_kubelet and matches:
                usable = True
        elif row.used_by_kubelet and lookup.status in ("unknown", "forbidden", "error"):
            unknown = True
        rows.append(row)
    if usable:
        verdict: bool | None = True
    elif unknown:
        verdict = None
    else:
        verdict = False
    return ImageSecretAudit(rows=rows, kubelet_has_credentials=verdict, expired=expired)


def pod_findings(snapshot: PodSnapshot, *, credentials_matter: bool = True) -> list[str]:
    """Pod-level pull-secret findings: missing or misplaced secrets, admission surprises, kubelet warnings.
    Having no pull secrets at all is only worth saying when a cause involves credentials."""
    findings: list[str] = []
    ns = snapshot.namespace
    sources = secret_sources(snapshot)
    for name, source in sources.items():
        lookup = snapshot.secrets.get(name)
        if lookup is None:
            continue
        where = "the pod" if source.startswith("pod") else f"service account {_sa_name(snapshot)}"
        if lookup.status == "missing":
            text = f'secret "{name}" referenced by {where} does not exist in namespace {ns}'
            if lookup.found_in:
                text += f"; a secret of that name exists in namespace(s) {', '.join(lookup.found_in)}" \
                        " (secrets are namespaced: the kubelet only reads the pod's namespace)"
            elif lookup.elsewhere == "checked":
                text += " (nor in any other namespace)"
            findings.append(text)
        if lookup.decoded is not None:
            findings.extend(f"secret {name}: {p}" for p in lookup.decoded.problems)
    for event in pod_level_events(snapshot.events, "FailedToRetrieveImagePullSecret"):
        findings.append(f"kubelet event FailedToRetrieveImagePullSecret x{event.count}: {event.message}")
    sa_only = [n for n, s in sources.items() if s == "serviceaccount"]
    pod_listed = [n for n, s in sources.items() if s.startswith("pod")]
    if sa_only and snapshot.service_account_status == "found":
        if pod_listed:
            findings.append(
                f"service account {_sa_name(snapshot)} lists {', '.join(sa_only)} but the pod does not use "
                f"{'it' if len(sa_only) == 1 else 'them'}: the pod lists its own imagePullSecrets, which hide the "
                "service account's (admission adds them only to pods that list none)")
        else:
            findings.append(
                f"service account {_sa_name(snapshot)} lists {', '.join(sa_only)} but the pod does not have "
                f"{'it' if len(sa_only) == 1 else 'them'}: the secret was linked after the pod was created; "
                "admission copies service-account pull secrets only at creation, so recreate the pod")
    if credentials_matter and snapshot.service_account_status == "found" \
            and not (snapshot.service_account or {}).get("imagePullSecrets") and not pod_listed:
        findings.append(f"neither the pod nor service account {_sa_name(snapshot)} has any imagePullSecrets")
    if snapshot.service_account_status == "missing":
        findings.append(f"service account {_sa_name(snapshot)} does not exist in namespace {ns}")
    return findings


def _sa_name(snapshot: PodSnapshot) -> str:
    return (snapshot.pod.get("spec") or {}).get("serviceAccountName") or "default"
