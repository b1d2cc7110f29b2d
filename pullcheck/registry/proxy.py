"""Which proxy a request would go through, decided the way Go programs decide it.

containerd, kubelet, docker and skopeo all use Go's environment rules, so the probe
follows them rather than httpx's (which ignores CIDR entries in NO_PROXY and proxies
loopback addresses):

- HTTPS_PROXY/https_proxy for https URLs, HTTP_PROXY/http_proxy for http URLs (the
  uppercase name wins; HTTP_PROXY is ignored when REQUEST_METHOD is set, as under CGI);
- localhost and loopback IPs are never proxied;
- NO_PROXY entries: "*", an IP, an IP/CIDR, "[v6]:port", a domain that also matches its
  subdomains ("example.com"), only subdomains (".example.com" or "*.example.com"), each
  optionally with ":port", which then has to match too.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple
from urllib.parse import urlsplit

from pullcheck.registry.endpoint import parse_ip, split_host_port


@dataclass(frozen=True)
class ProxyChoice:
    """A proxy URL for one request; its credentials stay out of repr and display."""

    url: str = field(repr=False)
    display: str = ""                 # the URL without userinfo
    variable: str = ""                # which environment variable named it


def _first_set(env: Mapping[str, str], *names: str) -> Tuple[str, str]:
    for name in names:
        value = env.get(name, "")
        if value:
            return name, value
    return "", ""


def redact_proxy_url(url: str) -> str:
    """The proxy URL without its user:password part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()


def _no_proxy_matches(no_proxy: str, host: str, port: int) -> bool:
    host = host.lower()
    address = parse_ip(host)
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if address is not None and address in network:
                return True
            continue
        try:
            entry_host, entry_port = split_host_port(entry)
        except ValueError:
            continue
        if not entry_host:
            continue
        if entry_port is not None and entry_port != str(port):
            continue
        entry_address = parse_ip(entry_host)
        if entry_address is not None:
            if address is not None and address == entry_address:
                return True
            continue
        if entry_host.startswith("*."):
            entry_host = entry_host[1:]
        if entry_host.startswith("."):
            if host.endswith(entry_host):
                return True
        elif host == entry_host or host.endswith("." + entry_host):
            return True
    return False


def proxy_for(scheme: str, host: str, port: int,
              env: Optional[Mapping[str, str]] = None) -> Optional[ProxyChoice]:
    """The proxy for scheme://host:port, or None to connect directly."""
    env = os.environ if env is None else env
    if host.lower() == "localhost":
        return None
    address = parse_ip(host)
    if address is not None and address.is_loopback:
        return None
    if scheme == "https":
        variable, value = _first_set(env, "HTTPS_PROXY", "https_proxy")
    elif env.get("REQUEST_METHOD"):
        variable, value = "", ""
    else:
        variable, value = _first_set(env, "HTTP_PROXY", "http_proxy")
    if not value:
        return None
    _, no_proxy = _first_set(env, "NO_PROXY", "no_proxy")
    if no_proxy and _no_proxy_matches(no_proxy, host, port):
        return None
    url = value if "://" in value else f"http://{value}"
    return ProxyChoice(url=url, display=redact_proxy_url(url), variable=variable)
