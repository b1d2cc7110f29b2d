"""What to do about each cause the probe settles, worded for the engineer on call."""
from __future__ import annotations

from typing import Dict, List

from pullcheck.registry import model

_TLS_ADVICE = {
    "unknown-authority": "Nodes must trust the CA that signed {host}'s certificate: put it in "
                         "/etc/containerd/certs.d/{host}/hosts.toml (ca = \"/path/ca.crt\") or in the node's "
                         "system trust store; to reproduce from here pass the CA with --ca-file.",
    "expired": "{host}'s certificate has expired: renew it on the registry.",
    "not-yet-valid": "{host}'s certificate is not valid yet: check the clocks of the registry and the nodes.",
    "hostname-mismatch": "{host}'s certificate does not name {host}: reference the image by a name the "
                         "certificate covers, or reissue the certificate with {host} in its subjectAltName.",
    "plain-http": "{host} speaks plain HTTP: either serve TLS, or tell containerd on every node with "
                  "/etc/containerd/certs.d/{host}/hosts.toml containing server = \"http://{host}\" and a "
                  "[host.\"http://{host}\"] table.",
    "https-only": "{host} speaks only HTTPS but is configured as plain HTTP: drop it from the insecure "
                  "registries, or point hosts.toml at https://{host}.",
}


def suggestions_for(cause: str, facts: Dict[str, object]) -> List[str]:
    """Advice for a settled cause; facts carries host, repository, reference and step data."""
    host = facts.get("host", "the registry")
    image = facts.get("image", "the image")
    fill = dict(host=host, image=image)
    items: List[str] = []
    if cause == model.INVALID_REFERENCE:
        items.append(f"Fix the image reference in the pod spec: {facts.get('problem', 'it is not valid')}.")
    elif cause == model.DNS:
        items.append(f"Check the registry host name {host}. If it only resolves inside the cluster's network "
                     "(private DNS zone), check from a node: kubectl debug node/<node> -it --image=busybox -- "
                     f"nslookup {host}")
    elif cause == model.CONNECTION_REFUSED:
        items.append(f"Nothing accepts connections at {host}: check that the registry runs and the port in "
                     "the image reference is right.")
    elif cause == model.NETWORK_TIMEOUT:
        items.append(f"Traffic to {host} is dropped or the registry hangs: check firewalls, security groups "
                     "and egress rules between the nodes and the registry, and the registry's health.")
    elif cause == model.TLS:
        items.append(_TLS_ADVICE.get(str(facts.get("tls_kind")), "Fix the TLS setup of {host}.").format(**fill))
    elif cause == model.PROXY:
        items.append("Check the proxy settings (HTTPS_PROXY / HTTP_PROXY / NO_PROXY). Nodes have their own: "
                     "containerd reads them from its service environment.")
    elif cause == model.AUTH_MISSING:
        items.append(f"{host} requires authentication: create a docker-registry secret and list it under "
                     "imagePullSecrets of the pod or its service account.")
    elif cause == model.AUTH_REJECTED:
        items.append(f"The registry refuses the credentials from {facts.get('rejected', 'the pull secret')}: "
                     "recreate the secret with valid credentials (kubectl create secret docker-registry).")
    elif cause == model.AUTH_OR_NOT_FOUND:
        items.append(f"{image} is private or does not exist: check the repository name, and that the pull "
                     "secret's account may read it.")
    elif cause == model.IMAGE_NOT_FOUND:
        items.append(f"{host} has no repository {facts.get('repository')}: check the name.")
    elif cause == model.TAG_NOT_FOUND:
        items.append(f"{facts.get('repository')} has no {facts.get('reference')}: push it or use a "
                     "published tag.")
    elif cause == model.PLATFORM_MISMATCH:
        items.append(f"{image} has no build for {facts.get('platform')}: publish one (multi-arch build), or "
                     f"schedule the pod on nodes that match ({facts.get('available')}) with a nodeSelector "
                     "on kubernetes.io/arch.")
    elif cause == model.RATE_LIMITED:
        items.append("Docker Hub's pull limit is spent: authenticate pulls with an imagePullSecret, or pull "
                     "through a mirror / pull-through cache; the limit resets as the window moves.")
    elif cause == model.POLICY:
        items.append(f"{host} refuses the pull by its own policy (see the evidence): ask its administrators.")
    elif cause == model.REGISTRY_ERROR:
        items.append(f"{host} misbehaves (see the evidence): check the registry's health and logs, or the "
                     "proxy/load balancer in front of it.")
    for candidate in facts.get("candidates", ()) or ():
        items.append(f"Did you mean {candidate}?")
    return items
