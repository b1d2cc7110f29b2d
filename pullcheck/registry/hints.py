"""Registry-specific advice, recognised from the host name or the token realm."""
from __future__ import annotations

from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from pullcheck.registry.known import REALM_PRODUCTS, REGISTRY_HINTS


def hints_for(api_host: str, realm: Optional[str]) -> List[Tuple[str, str]]:
    """(registry name, hint) pairs that apply to this registry."""
    found: List[Tuple[str, str]] = []
    for pattern, name, hint in REGISTRY_HINTS:
        match = pattern.match(api_host)
        if match:
            found.append((name, hint.format(**match.groupdict())))
            break
    if realm:
        path = urlsplit(realm).path
        for pattern, name, hint in REALM_PRODUCTS:
            if pattern.search(path) and all(name != known for known, _ in found):
                found.append((name, hint))
                break
    return found
