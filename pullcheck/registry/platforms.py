"""Which entries of an image index a node can run, by containerd's platform rules.

containerd normalises names (aarch64 -> arm64, x86_64 -> amd64, armhf -> arm/v7) and
treats arm64 "v8" as no variant. Its default matcher for a node also accepts older
variants: amd64 takes 386, arm/v7 takes v6 and v5, arm64 takes arm/v8 down to arm/v5,
and arm64/v8.x takes v8.(x-1) down to v8.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from pullcheck.registry.model import Platform

Triple = Tuple[str, str, str]      # (os, architecture, variant) normalised; "" = no variant


def normalize(os_name: str, architecture: str, variant: Optional[str]) -> Triple:
    os_name = (os_name or "").lower()
    if os_name == "macos":
        os_name = "darwin"
    arch, var = (architecture or "").lower(), (variant or "").lower()
    if arch == "i386":
        arch, var = "386", ""
    elif arch in ("x86_64", "x86-64", "amd64"):
        arch, var = "amd64", ("" if var == "v1" else var)
    elif arch in ("aarch64", "arm64"):
        arch, var = "arm64", ("" if var in ("8", "v8") else var)
    elif arch == "armhf":
        arch, var = "arm", "v7"
    elif arch == "armel":
        arch, var = "arm", "v6"
    elif arch == "arm":
        if var in ("", "7"):
            var = "v7"
        elif var in ("5", "6", "8"):
            var = "v" + var
    return os_name, arch, var


def _version(variant: str, prefix: str = "v") -> Optional[int]:
    text = variant[len(prefix):] if variant.startswith(prefix) else ""
    return int(text) if text.isdigit() else None


def compatible(node: Platform) -> List[Triple]:
    """The platforms a node accepts, best first (containerd's platformVector)."""
    os_name, arch, variant = normalize(node.os, node.architecture, node.variant)
    vector = [(os_name, arch, variant)]
    if arch == "amd64":
        level = _version(variant)
        if level is not None:
            vector += [(os_name, "amd64", f"v{n}" if n > 1 else "") for n in range(level - 1, 0, -1)]
        vector.append((os_name, "386", ""))
    elif arch == "arm":
        level = _version(variant)
        if level is not None:
            vector += [(os_name, "arm", f"v{n}") for n in range(level - 1, 4, -1)]
    elif arch == "arm64":
        major, _, minor = (variant or "v8").partition(".")
        if major == "v8" and minor.isdigit():
            vector += [(os_name, "arm64", f"v8.{n}" if n else "") for n in range(int(minor) - 1, -1, -1)]
        vector += [(os_name, "arm", f"v{n}") for n in range(8, 4, -1)]
    return vector


def describe(triple: Triple) -> str:
    return "/".join(part for part in triple if part)


def index_platforms(index: dict) -> List[Tuple[Triple, Any]]:
    """(platform, descriptor) for each index entry that names a platform.

    Entries without a platform, and BuildKit attestation manifests ("unknown/unknown"),
    are not runnable images and are left out.
    """
    found = []
    manifests = index.get("manifests")
    for descriptor in manifests if isinstance(manifests, list) else []:
        platform = descriptor.get("platform") if isinstance(descriptor, dict) else None
        if not isinstance(platform, dict):
            continue
        triple = normalize(str(platform.get("os", "")), str(platform.get("architecture", "")),
                           str(platform.get("variant") or ""))
        if "unknown" in triple[:2] or not triple[0] or not triple[1]:
            continue
        found.append((triple, descriptor))
    return found


def best_match(node: Platform, available: List[Triple]) -> Optional[Triple]:
    """The entry containerd would pick for this node, or None."""
    for wanted in compatible(node):
        if wanted in available:
            return wanted
    return None
