"""Name resolution for the DNS step, telling NXDOMAIN, NODATA, SERVFAIL and timeouts apart.

Go programs (containerd, kubelet) read /etc/hosts before asking DNS, so with the system
configuration the hosts file is consulted first. dnspython is imported here only, when a
name actually has to be resolved.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from pullcheck.registry.endpoint import split_host_port

HOSTS_FILE = "/etc/hosts"
_HOSTS_FILE_LIMIT = 1 << 20

# Outcome statuses.
RESOLVED = "resolved"
NXDOMAIN = "nxdomain"
NODATA = "nodata"
SERVFAIL = "servfail"
TIMEOUT = "timeout"
ERROR = "error"


@dataclass
class Resolution:
    status: str
    name: str
    addresses: List[str] = field(default_factory=list)
    cname_chain: List[str] = field(default_factory=list)   # name, alias target, ... (canonical last)
    record_type: str = ""                                   # "A" or "AAAA" that answered
    server: str = ""                                        # who was asked
    detail: str = ""
    elapsed: float = 0.0


def parse_server(dns_server: str) -> Tuple[str, int]:
    """("ip", port) from "ip", "ip:port" or "[v6]:port"; port 53 by default."""
    host, port = split_host_port(dns_server.strip())
    if not host:
        raise ValueError(f"invalid DNS server {dns_server!r}")
    return host, int(port) if port else 53


def hosts_file_addresses(name: str, path: str = HOSTS_FILE) -> List[str]:
    """Addresses /etc/hosts gives for name (case-insensitive), in file order."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            text = handle.read(_HOSTS_FILE_LIMIT)
    except OSError:
        return []
    wanted = name.lower().rstrip(".")
    found: List[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and wanted in (alias.lower().rstrip(".") for alias in fields[1:]):
            if fields[0] not in found:
                found.append(fields[0])
    return found


def _make_resolver(dns_server: Optional[str]):
    import dns.resolver

    if dns_server is None:
        resolver = dns.resolver.Resolver(configure=True)
        return resolver, ", ".join(str(ns) for ns in resolver.nameservers) or "system resolver"
    address, port = parse_server(dns_server)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [address]
    resolver.port = port
    return resolver, f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"


def _cname_chain(name: str, answer) -> List[str]:
    import dns.rdatatype

    targets = {}
    for rrset in answer.response.answer:
        if rrset.rdtype == dns.rdatatype.CNAME:
            for rdata in rrset:
                targets[rrset.name.to_text().lower()] = rdata.target.to_text().lower()
    chain = [name.lower().rstrip(".") + "."]
    while chain[-1] in targets and len(chain) < 16:
        chain.append(targets[chain[-1]])
    return [entry.rstrip(".") for entry in chain] if len(chain) > 1 else []


def resolve(name: str, dns_server: Optional[str], timeout: float,
            hosts_file: str = HOSTS_FILE) -> Resolution:
    """Resolve name to addresses (A first, AAAA when A has none) within timeout seconds."""
    started = time.monotonic()
    if dns_server is None:
        from_file = hosts_file_addresses(name, hosts_file)
        if from_file:
            return Resolution(RESOLVED, name, addresses=from_file, server=hosts_file,
                              detail=f"{hosts_file} maps {name}", elapsed=time.monotonic() - started)
    try:
        import dns.exception
        import dns.resolver

        resolver, server = _make_resolver(dns_server)
    except Exception as exc:  # no resolv.conf, unparsable server address
        return Resolution(ERROR, name, detail=f"cannot set up the resolver: {exc}",
                          elapsed=time.monotonic() - started)
    result = Resolution(NODATA, name, server=server)
    for record_type in ("A", "AAAA"):
        remaining = timeout - (time.monotonic() - started)
        if remaining <= 0:
            result.status, result.detail = TIMEOUT, f"no answer from {server} within {timeout:g}s"
            break
        try:
            answer = resolver.resolve(name, record_type, lifetime=remaining,
                                      search=dns_server is None)
        except dns.resolver.NXDOMAIN:
            result.status, result.detail = NXDOMAIN, f"{server} answered NXDOMAIN: {name} does not exist"
            break
        except dns.resolver.NoAnswer:
            result.detail = f"{server} knows {name} but it has no A or AAAA record (NODATA)"
            continue
        except dns.resolver.NoNameservers as exc:
            text = str(exc)
            rcode = next((code for code in ("SERVFAIL", "REFUSED", "NOTIMP", "FORMERR") if code in text), "")
            result.status = SERVFAIL
            result.detail = (f"{server} answered {rcode}" if rcode else "no name server answered") + f": {text}"
            break
        except dns.exception.Timeout:
            result.status, result.detail = TIMEOUT, f"no answer from {server} within {timeout:g}s"
            break
        except dns.exception.DNSException as exc:
            result.status, result.detail = ERROR, f"{type(exc).__name__}: {exc}"
            break
        result.status, result.record_type = RESOLVED, record_type
        result.addresses = [rdata.address for rdata in answer]
        result.cname_chain = _cname_chain(name, answer)
        result.detail = f"{server} answered {record_type} {', '.join(result.addresses)}"
        break
    result.elapsed = time.monotonic() - started
    return result
