"""Steps that reach the registry: reference, DNS, TCP, TLS, and the /v2/ API check."""
from __future__ import annotations

import ssl
import time
from typing import List, Optional, Sequence, Tuple

from pullcheck.registry import distribution, lookup, model, ratelimit
from pullcheck.registry.challenge import parse_challenges, preferred
from pullcheck.registry.endpoint import api_repository, endpoint_for, host_matches, is_digest, reference_problems
from pullcheck.registry.probe_run import ProbeRun
from pullcheck.registry.proxy import proxy_for
from pullcheck.registry.transport import STAGE_CONNECT, STAGE_PROXY, STAGE_RESOLVE, STAGE_TLS, Failure, Response

HTTPS_ONLY_MARKER = "client sent an http request to an https server"
EXPIRY_WARNING_DAYS = 14


class ConnectionSteps(ProbeRun):
    def check_reference(self) -> bool:
        target = self.target
        try:
            endpoint = endpoint_for(target.host)
        except ValueError as exc:
            self.state.facts["problem"] = str(exc)
            self.add("reference", model.FAILED, f"invalid registry host: {exc}", [f"image: {target}"],
                     cause=model.INVALID_REFERENCE)
            return False
        problems = reference_problems(target.repository, target.reference)
        if problems:
            self.state.facts["problem"] = "; ".join(problems)
            self.add("reference", model.FAILED, f"invalid reference format: {problems[0]}",
                     [f"image: {target}"] + list(problems[1:]), cause=model.INVALID_REFERENCE)
            return False
        state = self.state
        state.endpoint = endpoint
        state.repository = api_repository(endpoint, target.repository)
        insecure = host_matches(target.host, endpoint, self.options.insecure_registries)
        state.scheme = "http" if insecure else "https"
        evidence = [f"registry API host: {endpoint.netloc()}"]
        if endpoint.docker_hub:
            evidence.append(f"{target.host} is Docker Hub; its API is served by {endpoint.host}")
        if state.repository != target.repository:
            evidence.append(f"repository {target.repository} is {state.repository} on Docker Hub")
        if insecure:
            evidence.append(f"{target.host} is listed as an insecure registry: plain HTTP")
        self.add("reference", model.OK, f"{endpoint.netloc()}/{state.repository}"
                 f"{'@' if is_digest(target.reference) else ':'}{target.reference}", evidence,
                 api_host=endpoint.host, repository=state.repository, insecure=insecure)
        return True

    def resolve(self) -> bool:
        endpoint = self.state.endpoint
        assert endpoint is not None
        if endpoint.ip:
            self.add("dns", model.SKIPPED, f"{endpoint.ip} is an IP address: no lookup")
            return True
        if endpoint.host == "localhost":
            addresses = lookup.hosts_file_addresses("localhost") or ["127.0.0.1", "::1"]
            self.state.pins["localhost"] = addresses
            self.add("dns", model.SKIPPED, "localhost is resolved locally, never through DNS",
                     [f"localhost -> {', '.join(addresses)}"], addresses=addresses)
            return True
        scheme = self.state.scheme
        proxy = proxy_for(scheme, endpoint.host, endpoint.port_for(scheme))
        found = lookup.resolve(endpoint.host, self.options.dns_server,
                               max(self.step_deadline() - time.monotonic(), 0.01))
        evidence = [found.detail]
        if found.cname_chain:
            evidence.append("CNAME chain: " + " -> ".join(found.cname_chain))
        data = dict(addresses=found.addresses, resolver=found.server, outcome=found.status,
                    cname_chain=found.cname_chain, elapsed=round(found.elapsed, 3))
        if found.status == lookup.RESOLVED:
            if proxy is None:
                self.state.pins[endpoint.host] = found.addresses
            if found.record_type == "AAAA":
                evidence.append("only IPv6 addresses: nodes without IPv6 connectivity cannot reach it")
            self.add("dns", model.OK, f"{endpoint.host} -> {', '.join(found.addresses)}", evidence, **data)
            return True
        if proxy is not None:
            self.add("dns", model.INFO, f"{endpoint.host} does not resolve here ({found.status}), but requests go "
                     f"through proxy {proxy.display}, which resolves it", evidence, **data)
            return True
        phrase = {
            lookup.NXDOMAIN: "does not exist (NXDOMAIN)",
            lookup.NODATA: "exists but has no A/AAAA record (NODATA)",
            lookup.SERVFAIL: "cannot be resolved: the DNS server failed (SERVFAIL)",
            lookup.TIMEOUT: "cannot be resolved: DNS timed out",
        }.get(found.status, "cannot be resolved")
        self.add("dns", model.FAILED, f"{endpoint.host} {phrase}", evidence, cause=model.DNS, **data)
        return False

    def _get_v2(self, scheme: str) -> Response:
        assert self.session is not None and self.state.endpoint is not None
        url = f"{self.state.endpoint.base_url(scheme)}/v2/"
        return self.session.request("GET", url, deadline=self.step_deadline(),
                                    body_limit=distribution.ERROR_BODY_LIMIT)

    def connect(self) -> bool:
        endpoint = self.state.endpoint
        assert endpoint is not None
        scheme = self.state.scheme
        fallback_note, fallback_evidence = "", []
        try:
            response = self._get_v2(scheme)
        except Failure as failure:
            if failure.stage != STAGE_TLS or failure.kind != "plain-http":
                self._report_failed_connection(failure, scheme)
                return False
            # TLS was refused because the port speaks plain HTTP: find out what answers there.
            try:
                response = self._get_v2("http")
            except Failure:
                self._report_failed_connection(failure, scheme)
                return False
            if not endpoint.loopback:
                self._report_connected(failure, scheme)
                self.add("tls", model.FAILED, f"{endpoint.netloc()}: http: server gave HTTP response to "
                         "HTTPS client", list(failure.evidence) + [
                             f"plain HTTP GET /v2/ on the same port -> {response.status}"],
                         cause=model.TLS, kind="plain-http")
                self.state.facts["tls_kind"] = "plain-http"
                return False
            scheme = "http"
            fallback_note = ("HTTPS is not spoken on this loopback port; plain HTTP works, which is what "
                             "containerd uses for loopback registries without a hosts.toml")
            fallback_evidence = list(failure.evidence)
        self.state.scheme = scheme
        self.state.base_url = endpoint.base_url(scheme)
        self._report_connected(None, scheme, fallback_note, fallback_evidence)
        return self._report_api(response)

    def _connect_evidence(self, failure: Optional[Failure]) -> Tuple[List[str], Optional[str]]:
        trace = failure.trace if failure else self.session.trace  # type: ignore[union-attr]
        proxy = trace.proxy
        lines = [f"connected to {_hostport(a.address, a.port)} in {a.elapsed:.3f}s" if a.error is None else
                 f"connect to {_hostport(a.address, a.port)} failed: {a.error}" for a in trace.connects]
        if proxy is not None:
            lines.append(f"through proxy {proxy.display} (from {proxy.variable})")
        return lines, (proxy.display if proxy else None)

    def _report_connected(self, failure: Optional[Failure], scheme: str, note: str = "",
                          note_evidence: Sequence[str] = ()) -> None:
        endpoint = self.state.endpoint
        assert endpoint is not None and self.session is not None
        trace = failure.trace if failure else self.session.trace
        lines, proxy = self._connect_evidence(failure)
        netloc = endpoint.netloc()
        summary = f"TCP connection to {netloc} works" + (f" (through proxy {proxy})" if proxy else "")
        if not trace.connects:
            summary, lines = f"{netloc}: connection reused", []
        self.add("connect", model.OK, summary, lines, proxy=proxy)
        if failure is not None:
            return
        if scheme == "http":
            why = note or "the registry is configured as insecure (plain HTTP)"
            self.add("tls", model.INFO if note else model.SKIPPED, f"plain HTTP: {why}", note_evidence,
                     scheme="http")
            return
        tls = next((t for t in trace.tls if t.error is None and t.server_name), None)
        evidence = _certificate_evidence(tls) if tls else []
        summary = f"TLS works ({tls.version}, certificate verified)" if tls else "TLS works"
        if endpoint.loopback:
            evidence.append("note: without a hosts.toml, containerd talks plain HTTP to loopback registries "
                            "and would get 400 from this HTTPS port")
        self.add("tls", model.OK, summary, evidence, scheme="https",
                 tls_version=tls.version if tls else None)

    def _report_failed_connection(self, failure: Failure, scheme: str) -> None:
        if failure.stage in (STAGE_CONNECT, STAGE_PROXY, STAGE_RESOLVE):
            cause_step = "dns" if failure.stage == STAGE_RESOLVE else "connect"
            self.fail(cause_step, failure, proxy=failure.proxy.display if failure.proxy else None)
            return
        self._report_connected(failure, scheme)
        if failure.stage == STAGE_TLS:
            if self.state.endpoint is not None and self.state.endpoint.loopback and failure.cause == model.TLS:
                failure = Failure(failure.cause, failure.stage, failure.summary, list(failure.evidence) + [
                    "note: without a hosts.toml, containerd talks plain HTTP to loopback registries"],
                    failure.trace, failure.proxy, kind=failure.kind)
            self.fail("tls", failure, kind=failure.kind)
            return
        if scheme == "https":
            tls = next((t for t in failure.trace.tls if t.error is None and t.server_name), None)
            self.add("tls", model.OK, f"TLS works ({tls.version})" if tls else "TLS works",
                     _certificate_evidence(tls) if tls else [])
        else:
            self.add("tls", model.SKIPPED, "plain HTTP")
        self.fail("api", failure)

    def _report_api(self, response: Response) -> bool:
        state = self.state
        lines = [f"GET {response.url} -> {response.status} {response.reason}".rstrip()] + \
            [f"redirect {hop}" for hop in response.hops]
        version = response.headers.get("docker-distribution-api-version")
        if version:
            lines.append(f"Docker-Distribution-API-Version: {version}")
        challenges = parse_challenges(response.headers.get_all("www-authenticate"))
        if response.status == 200:
            self.add("api", model.OK, "registry API v2 answers; no authentication asked for", lines,
                     auth="none", api_version=version)
            return True
        if response.status == 401:
            challenge = preferred(challenges)
            if challenge is None or (challenge.scheme == "bearer" and not challenge.realm):
                self.add("api", model.FAILED, "401 without a usable WWW-Authenticate challenge",
                         lines + [f"WWW-Authenticate: {h[:300]}" for h in response.headers.get_all("www-authenticate")],
                         cause=model.REGISTRY_ERROR)
                return False
            state.challenge = challenge
            state.login_required = challenge.scheme == "basic"
            lines.append(f"WWW-Authenticate: {challenge.describe()}")
            self.add("api", model.OK, f"registry API v2 answers; it asks for {challenge.scheme.capitalize()} "
                     "authentication", lines, auth=challenge.scheme, realm=challenge.realm,
                     service=challenge.service, api_version=version)
            return True
        if response.status == 400 and HTTPS_ONLY_MARKER in response.text(500).lower():
            state.facts["tls_kind"] = "https-only"
            self.add("api", model.FAILED, "this port speaks HTTPS, but the registry is configured for plain HTTP "
                     "(400: Client sent an HTTP request to an HTTPS server)", lines + [response.text()],
                     cause=model.TLS, kind="https-only")
            return False
        if response.status == 429:
            self.add("api", model.FAILED, "429 Too Many Requests on /v2/", lines + ratelimit.limit_evidence(response),
                     cause=model.RATE_LIMITED)
            return False
        if response.status == 403:
            self.add("api", model.FAILED, "403: the registry refuses this client outright (IP allowlist or "
                     "firewall rule on the registry?)", lines + [response.text()], cause=model.POLICY)
            return False
        what = "no registry API at /v2/ (is this a registry?)" if response.status == 404 else \
            f"unexpected {response.status} from /v2/"
        self.add("api", model.FAILED, what, lines + ([response.text()] if response.body else []),
                 cause=model.REGISTRY_ERROR)
        return False


def _hostport(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _certificate_evidence(tls) -> List[str]:
    cert = tls.certificate or {}
    lines = [f"{tls.version} {tls.cipher}".strip()]
    subject = ", ".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)
    issuer = ", ".join(f"{k}={v}" for rdn in cert.get("issuer", ()) for k, v in rdn)
    names = ", ".join(f"{kind}:{value}" for kind, value in cert.get("subjectAltName", ()))
    if subject or names:
        lines.append(f"certificate: {subject or '(no subject)'}; names: {names or 'none'}; issuer: {issuer or '?'}")
    not_after = cert.get("notAfter")
    if not_after:
        lines.append(f"valid until {not_after}")
        try:
            days = (ssl.cert_time_to_seconds(not_after) - time.time()) / 86400
        except ValueError:
            days = None
        if days is not None and days < EXPIRY_WARNING_DAYS:
            lines.append(f"warning: the certificate expires in {max(days, 0):.0f} days")
    return lines
