"""A tiny authoritative DNS server (dnspython, UDP) with controllable failures.

- names in the zone answer their A/AAAA records, CNAMEs are followed inside the zone;
- a zone name without the asked type answers NOERROR with no records (NODATA);
- *.servfail.test answers SERVFAIL; *.timeout.test never answers;
- anything else is NXDOMAIN.
"""
from __future__ import annotations

import socket
import threading
from typing import Dict, List, Optional

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

Zone = Dict[str, Dict[str, List[str]]]      # "name." -> {"A": [...], "AAAA": [...], "CNAME": ["target."]}


class DnsServer:
    def __init__(self, zone: Zone) -> None:
        self.zone = {name.lower(): records for name, records in zone.items()}
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.queries: List[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-server", daemon=True)

    def start(self) -> "DnsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._socket.close()

    def _answer(self, wire: bytes) -> Optional[bytes]:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text().lower()
        rtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append(f"{name} {rtype}")
        if name.endswith(".timeout.test."):
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name.endswith(".servfail.test."):
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        if name not in self.zone:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        current, hops = name, 0
        while "CNAME" in self.zone.get(current, {}) and rtype != "CNAME" and hops < 8:
            target = self.zone[current]["CNAME"][0].lower()
            response.answer.append(dns.rrset.from_text_list(current, 60, "IN", "CNAME", [target]))
            current, hops = target, hops + 1
        records = self.zone.get(current, {})
        if rtype in records:
            response.answer.append(dns.rrset.from_text_list(current, 60, "IN", rtype, records[rtype]))
        return response.to_wire()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                data, peer = self._socket.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                answer = self._answer(data)
            except Exception:  # a malformed query must not stop the server
                continue
            if answer is not None:
                self._socket.sendto(answer, peer)
