"""The probe pod: probe.sh run on one node with the node's root, network and processes.

Shape (the same privileges `kubectl debug node/NAME --profile=sysadmin` asks for, plus hostNetwork
and hostPID so the script sees the node's resolver and the runtime's /proc entries):
- spec.nodeName pins it (no scheduler, so cordoned nodes are probed too); tolerations [Exists] get
  it past NoExecute taints; restartPolicy Never; activeDeadlineSeconds is a backstop for the case
  where pullcheck dies before it can delete the pod.
- the host's / is mounted at /host and the container runs `chroot /host /bin/sh -c SCRIPT`: the
  script travels in the pod spec, so no ConfigMap has to be created or cleaned up.
- no service account token: the probe never talks to the API server.

With pull credentials (`pod NAME --on-node --with-credentials`) the pod also mounts a short-lived
Secret (see credentials_secret) read-only with mode 0400, and its command becomes
`/bin/sh -c 'script=$1; shift; exec chroot /host /bin/sh -c "$script" pullcheck-probe "$@" 3< FILE'
pullcheck-credentials SCRIPT ARGS --credentials-fd 3`:
the probe image's shell opens the credentials file as descriptor 3 and the chrooted script reads it
from there, because the mount is not visible under /host. The pod spec names the Secret and the
descriptor, never a credential.
"""
from __future__ import annotations

import re
import secrets
from typing import Any, Dict, List, Optional, Sequence

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "kubectl-pullcheck"
COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT = "node-probe"
PROBE_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY},{COMPONENT_LABEL}={COMPONENT}"
CREDENTIALS_COMPONENT = "node-probe-credentials"
CREDENTIALS_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY},{COMPONENT_LABEL}={CREDENTIALS_COMPONENT}"
NODE_ANNOTATION = "pullcheck.io/node"
CONTAINER = "probe"

# Default namespace of the probe pod. kube-system because a privileged host pod is a node-admin
# action: RBAC there is normally held by cluster admins only, Pod Security admission usually exempts
# or allows it (application namespaces often enforce `baseline`, which rejects this pod), and
# application quotas, LimitRanges and NetworkPolicies do not apply. -n stays the namespace of the
# pod being diagnosed; --probe-namespace moves the probe.
DEFAULT_NAMESPACE = "kube-system"

# busybox 1.36.1 (multi-arch index digest as published on Docker Hub): it has chroot and sh, and is
# used only when the node holds no image with a shell already (see choose_probe_image).
DEFAULT_PROBE_IMAGE = ("docker.io/library/busybox:1.36.1"
                       "@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662")
# Repositories whose images have /bin/sh and chroot: one already on the node avoids a pull.
SHELL_IMAGE_REPOSITORIES = ("busybox", "alpine", "debian", "ubuntu")

_NAME_UNSAFE = re.compile(r"[^a-z0-9-]+")

CREDENTIALS_VOLUME = "pull-credentials"
CREDENTIALS_MOUNT = "/pullcheck-credentials"
CREDENTIALS_KEY = "credentials"
CREDENTIALS_FD = 3
CREDENTIALS_FILE_MODE = 0o400          # root (the probe runs as root) may read it, no one else in the pod
# $1 is the script, the rest its arguments; the redirection opens the file for the exec'd chroot
_WITH_CREDENTIALS_FD = ('script=$1; shift; exec chroot /host /bin/sh -c "$script" pullcheck-probe "$@" '
                        f"{CREDENTIALS_FD}< {CREDENTIALS_MOUNT}/{CREDENTIALS_KEY}")


def probe_pod_name(node: str) -> str:
    """pullcheck-<node>-<random>: chosen here, not by generateName, so that the pod can be deleted
    even when pullcheck is interrupted before the create call answers."""
    stem = _NAME_UNSAFE.sub("-", node.lower()).strip("-")[:40].strip("-") or "node"
    return f"pullcheck-{stem}-{secrets.token_hex(3)}"


def credentials_secret_name(pod_name: str) -> str:
    """The credentials Secret of a probe pod: its name plus a suffix, so each run has its own."""
    return f"{pod_name}-creds"


def choose_probe_image(node: Dict[str, Any], requested: Optional[str] = None) -> str:
    """--probe-image, else a shell image the node already has (by digest when it lists one, so
    IfNotPresent finds it), else the pinned default."""
    if requested:
        return requested
    for image in (node.get("status") or {}).get("images") or []:
        names: List[str] = image.get("names") or []
        fitting = [n for n in names if _repository_basename(n) in SHELL_IMAGE_REPOSITORIES]
        if fitting:
            by_digest = [n for n in fitting if "@sha256:" in n]
            return (by_digest or fitting)[0]
    return DEFAULT_PROBE_IMAGE


def _repository_basename(name: str) -> str:
    repository = name.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def probe_args(images: Sequence[str], registries: Sequence[str], pull_timeout: int) -> List[str]:
    args: List[str] = []
    for registry in registries:
        args += ["--registry", registry]
    for image in images:
        args += ["--image", image]
    return args + ["--pull-timeout", str(pull_timeout)]


def probe_pod(*, name: str, node: str, namespace: str, image: str, script: str, args: Sequence[str],
              deadline_seconds: int, credentials_secret: Optional[str] = None) -> Dict[str, Any]:
    """The pod manifest (what --dry-run prints and what is POSTed); with `credentials_secret`, that
    Secret is mounted and handed to the script as descriptor 3 (see the module docstring)."""
    pod = _pod(name=name, node=node, namespace=namespace, image=image, script=script, args=args,
               deadline_seconds=deadline_seconds)
    if credentials_secret:
        container = pod["spec"]["containers"][0]
        container["command"] = ["/bin/sh", "-c", _WITH_CREDENTIALS_FD, "pullcheck-credentials", script, *args,
                                "--credentials-fd", str(CREDENTIALS_FD)]
        container["volumeMounts"].append({"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_MOUNT,
                                          "readOnly": True})
        pod["spec"]["volumes"].append({"name": CREDENTIALS_VOLUME, "secret": {
            "secretName": credentials_secret, "defaultMode": CREDENTIALS_FILE_MODE}})
    return pod


def credentials_secret(*, name: str, namespace: str, node: str, pod_name: str, pod_uid: str,
                       content: bytes) -> Dict[str, Any]:
    """The Secret holding the probe's pull credentials: owned by the probe pod (so the garbage
    collector removes it with the pod should pullcheck die), labelled for `cleanup`, immutable.
    No blockOwnerDeletion: setting it needs update on pods/finalizers, which the probe's Role lacks."""
    import base64

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": dict(_metadata(name, namespace, node, CREDENTIALS_COMPONENT),
                         ownerReferences=[{"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}]),
        "type": "Opaque",
        "immutable": True,
        "data": {CREDENTIALS_KEY: base64.b64encode(content).decode("ascii")},
    }


def _metadata(name: str, namespace: str, node: str, component: str) -> Dict[str, Any]:
    """Labels `cleanup` finds, and the node the object is about."""
    return {"name": name, "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY, COMPONENT_LABEL: component},
            "annotations": {NODE_ANNOTATION: node}}


def _pod(*, name: str, node: str, namespace: str, image: str, script: str, args: Sequence[str],
         deadline_seconds: int) -> Dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _metadata(name, namespace, node, COMPONENT),
        "spec": {
            "nodeName": node,
            "hostNetwork": True,
            "hostPID": True,
            "dnsPolicy": "Default",
            "restartPolicy": "Never",
            "activeDeadlineSeconds": deadline_seconds,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{
                "name": CONTAINER,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["chroot", "/host", "/bin/sh", "-c", script, "pullcheck-probe", *args],
                "securityContext": {"privileged": True, "runAsUser": 0},
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
            }],
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
        },
    }


def probe_script() -> str:
    """probe.sh as shipped in the package."""
    from importlib.resources import files

    return files("pullcheck.node").joinpath("probe.sh").read_text(encoding="utf-8")


def manifests_yaml(pods: Sequence[Dict[str, Any]], explicit_start: bool = False) -> str:
    """Pod manifests as YAML for --dry-run. Multi-line strings (the probe script) are written as literal
    blocks, so a reviewer reads the script exactly as it will run rather than as one escaped string."""
    import yaml

    class ManifestDumper(yaml.SafeDumper):
        pass

    def string(dumper: yaml.SafeDumper, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    ManifestDumper.add_representer(str, string)
    return yaml.dump_all(pods, Dumper=ManifestDumper, sort_keys=False, width=120, explicit_start=explicit_start)
