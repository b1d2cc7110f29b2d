"""Steps about the image found: platforms, pull rate limits, registry-specific hints."""
from __future__ import annotations

from pullcheck.registry import distribution, model, platforms, ratelimit
from pullcheck.registry.hints import hints_for
from pullcheck.registry.probe_run import ProbeRun
from pullcheck.registry.transport import Failure

CONFIG_LIMIT = 4 << 20


class ImageSteps(ProbeRun):
    def check_platform(self) -> None:
        state = self.state
        found = state.found
        assert found is not None and found.response is not None and self.session is not None
        kind = distribution.media_type(found.response)
        node = self.target.platform
        if kind in distribution.DOCKER_SCHEMA1:
            self.add("platform", model.SKIPPED, "schema1 manifests carry no platform list")
            return
        if node is None:
            self.add("platform", model.SKIPPED, "the node's platform is not known")
            return
        digest = found.response.headers.get("docker-content-digest") or self.target.reference
        try:
            response = distribution.request_manifest(self.session, state.base_url, state.repository, digest,
                                                     found.authorization, self.step_deadline(), method="GET")
        except Failure as failure:
            self.fail("platform", failure)
            return
        document, problem = distribution.parse_manifest(response) if response.status == 200 else \
            (None, f"GET manifest -> {response.status}")
        if document is None:
            self.add("platform", model.FAILED, f"the manifest cannot be read: {problem}",
                     [f"GET {response.url} -> {response.status} {distribution.media_type(response)}"],
                     cause=model.REGISTRY_ERROR)
            return
        if kind in distribution.INDEX_TYPES:
            self._check_index(node, document)
        else:
            self._check_single(node, document)

    def _check_index(self, node: model.Platform, index: dict) -> None:
        entries = platforms.index_platforms(index)
        available = [triple for triple, _ in entries]
        shown = ", ".join(platforms.describe(t) for t in available) or "none"
        match = platforms.best_match(node, available)
        if match is None:
            self.state.facts.update(platform=str(node), available=shown)
            self.add("platform", model.FAILED, f"no match for platform in manifest: the index has no entry for "
                     f"{node}", [f"available: {shown}"], cause=model.PLATFORM_MISMATCH,
                     available=[platforms.describe(t) for t in available], node=str(node))
            return
        self.add("platform", model.OK, f"{node} node pulls the {platforms.describe(match)} entry",
                 [f"available: {shown}"], available=[platforms.describe(t) for t in available],
                 node=str(node), selected=platforms.describe(match))

    def _check_single(self, node: model.Platform, manifest: dict) -> None:
        """A single-platform manifest pulls on any node; its config tells whether it can run there."""
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        found = self.state.found
        assert self.session is not None and found is not None
        if not isinstance(digest, str) or not digest.startswith("sha256:"):
            self.add("platform", model.SKIPPED, "the manifest names no config blob")
            return
        url = f"{self.state.base_url}/v2/{self.state.repository}/blobs/{digest}"
        try:
            response = self.session.request("GET", url, deadline=self.step_deadline(), body_limit=CONFIG_LIMIT,
                                            authorization=found.authorization)
        except Failure as failure:
            self.fail("platform", failure)
            return
        hops = [f"redirect {hop}" for hop in response.hops]
        document, problem = distribution.parse_manifest(response) if response.status == 200 else \
            (None, f"GET config blob -> {response.status}")
        if document is None:
            self.add("platform", model.INFO, f"the image config cannot be read: {problem}", hops)
            return
        image = platforms.normalize(str(document.get("os", "")), str(document.get("architecture", "")),
                                    str(document.get("variant") or ""))
        shown = platforms.describe(image)
        if image in platforms.compatible(node):
            self.add("platform", model.OK, f"single-platform image {shown} runs on a {node} node", hops,
                     image_platform=shown, node=str(node))
        else:
            self.add("platform", model.INFO, f"single-platform image {shown} on a {node} node: the pull succeeds, "
                     "but the container will fail to start (exec format error)", hops,
                     image_platform=shown, node=str(node))

    def report_rate_limits(self) -> None:
        state = self.state
        endpoint = state.endpoint
        assert endpoint is not None
        lines, relevant = [], None
        for attempt in state.attempts:
            if attempt.limits:
                lines.append(f"{attempt.who}: {ratelimit.describe(attempt.limits)}")
                relevant = attempt.limits if attempt.credential is not None or relevant is None else relevant
        if relevant is None:
            if endpoint.docker_hub and state.attempts:
                self.add("rate-limit", model.INFO, "no rate-limit headers (accounts without a pull limit get none)")
            return
        if relevant.get("remaining") == 0:
            self.add("rate-limit", model.FAILED, f"pull limit spent: {ratelimit.describe(relevant)}", lines,
                     cause=model.RATE_LIMITED, **relevant)
        else:
            self.add("rate-limit", model.INFO, ratelimit.describe(relevant), lines, **relevant)

    def report_hints(self) -> None:
        state = self.state
        assert state.endpoint is not None
        found = hints_for(state.endpoint.host, state.challenge.realm if state.challenge else None)
        if found:
            self.add("registry", model.INFO, ", ".join(name for name, _ in found),
                     [f"{name}: {hint}" for name, hint in found], products=[name for name, _ in found])
