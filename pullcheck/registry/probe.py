"""Check one image against its registry from the workstation, step by step.

Steps, each with its own timeout inside the whole-probe budget:
  reference   is the reference well formed; where is the registry API
  dns         does the host resolve (from here, or through the given DNS server)
  connect     TCP to the registry (or to the proxy)
  tls         the handshake and the certificate (skipped for plain HTTP)
  api         GET /v2/ anonymously: is there a registry, what authentication it asks for
  credentials each credential at the registry or its token server ("docker login")
  manifest    HEAD the manifest anonymously and with each accepted credential
  tags / repository   on not-found: what exists nearby
  platform    does the index have an entry the node can run
  rate-limit  Docker Hub style pull limits
  registry    hints for the registry product
The report's cause is the cause of the first failed step: None when the image is pullable.
"""
from __future__ import annotations

import concurrent.futures
import ssl
import time
from typing import Iterable, List, Sequence, Tuple

from pullcheck.registry import advice, lookup, model
from pullcheck.registry.access_steps import AccessSteps
from pullcheck.registry.connection_steps import ConnectionSteps
from pullcheck.registry.image_steps import ImageSteps
from pullcheck.registry.transport import Session, make_ssl_context


class _Probe(ConnectionSteps, AccessSteps, ImageSteps):
    """The steps in order; each mixin holds the steps of one concern."""

    def run(self) -> model.ProbeReport:
        try:
            self._run()
        except Exception as exc:  # a library surprise must become a finding, not a crash of the CLI
            self.add("internal", model.FAILED, f"the probe stopped: {type(exc).__name__}: {exc}",
                     cause=model.UNKNOWN)
        finally:
            if self.session is not None:
                self.session.close()
        cause = next((s.cause for s in self.steps if s.status == model.FAILED), None)
        facts = dict(self.state.facts, host=self.target.host, image=str(self.target),
                     repository=self.state.repository or self.target.repository, reference=self.target.reference)
        suggestions = advice.suggestions_for(cause, facts) if cause else []
        return model.ProbeReport(target=self.target, steps=tuple(self.steps), cause=cause,
                                 suggestions=tuple(suggestions), elapsed=time.monotonic() - self.started)

    def _run(self) -> None:
        if not self.check_reference() or self.out_of_time("dns") or not self.resolve():
            return
        self.session = Session(self._ssl_context(), self.state.pins, self._resolver(),
                               user_agent=_user_agent())
        if self.out_of_time("connect") or not self.connect():
            return
        if self.credentials and self.state.challenge is not None and not self.out_of_time("credentials"):
            self.check_credentials()
        if self.out_of_time("manifest"):
            return
        self.check_manifest()
        if self.state.found is not None and not self.out_of_time("platform"):
            self.check_platform()
        self.report_rate_limits()
        self.report_hints()

    def _ssl_context(self) -> ssl.SSLContext:
        return make_ssl_context(self.options.ca_file)

    def _resolver(self):
        server = self.options.dns_server
        if server is None:
            return None

        def resolve(host: str, timeout: float) -> List[str]:
            found = lookup.resolve(host, server, min(timeout, self.options.step_timeout))
            if found.status != lookup.RESOLVED:
                raise LookupError(f"cannot resolve {host}: {found.detail}")
            return found.addresses
        return resolve


def _user_agent() -> str:
    from pullcheck import __version__

    return f"kubectl-pullcheck/{__version__}"


def probe_image(target: model.Target, credentials: Sequence[model.Credential],
                options: model.ProbeOptions) -> model.ProbeReport:
    """Probe one image; never raises for network or registry trouble, which become findings."""
    return _Probe(target, credentials, options).run()


def probe_images(targets_with_credentials: Iterable[Tuple[model.Target, Sequence[model.Credential]]],
                 options: model.ProbeOptions) -> List[model.ProbeReport]:
    """Probe several images, each distinct (target, credentials) pair once, concurrently.

    Reports come back in input order; repeated pairs share one report.
    """
    keys = [(target, tuple(credentials)) for target, credentials in targets_with_credentials]
    unique = list(dict.fromkeys(keys))
    if not unique:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
        futures = {key: pool.submit(probe_image, key[0], key[1], options) for key in unique}
        reports = {key: future.result() for key, future in futures.items()}
    return [reports[key] for key in keys]
