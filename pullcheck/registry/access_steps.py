"""Steps that decide access: credentials, the manifest request, and not-found findings.

Anonymous and authenticated outcomes together settle what a bare "401" or "not found"
means: a missing or refused login, a private repository, a missing repository or tag.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Tuple

from pullcheck.registry import auth, distribution, model, ratelimit, suggest
from pullcheck.registry.challenge import Challenge, parse_challenges, preferred
from pullcheck.registry.endpoint import is_digest
from pullcheck.registry.probe_run import (BLOCKED, BROKEN, DENIED, FOUND, LIMITED, NOT_FOUND, TOKEN_REFUSED, Attempt,
                                          ProbeRun)
from pullcheck.registry.transport import STAGE_HTTP, Authorization, Failure, Response, origin_of


class AccessSteps(ProbeRun):
    def _authorize(self, credential: Optional[model.Credential], scope: Optional[str],
                   challenge: Optional[Challenge] = None
                   ) -> Tuple[Optional[Authorization], Optional[auth.TokenOutcome]]:
        """An Authorization for the registry as credential (or anonymously) under the challenge."""
        state = self.state
        challenge = challenge or state.challenge
        origin = origin_of(state.base_url)
        if challenge is None:
            return None, None
        if challenge.scheme == "basic":
            if credential is None:
                return None, None
            return Authorization.basic(credential.username, credential.password, origin), None
        assert self.session is not None
        outcome = auth.fetch_token(self.session, challenge, scope, credential, origin, self.step_deadline())
        if outcome.authorization is not None:
            self._sent.append(outcome.authorization)
        return outcome.authorization, outcome

    def check_credentials(self) -> None:
        """Log in with each credential, as `docker login` would, under the challenge seen so far."""
        state = self.state
        state.credentials_checked = True
        sources = [c.source or c.username for c in self.credentials]
        if not self.options.use_credentials:
            self.add("credentials", model.SKIPPED, f"not tried ({len(self.credentials)} available; "
                     "use_credentials is off)", sources=sources)
            return
        if state.challenge is None:
            self.add("credentials", model.SKIPPED, "the registry asks for no authentication; containerd sends "
                     "credentials only when challenged", sources=sources)
            return
        lines: List[str] = []
        errors: List[Tuple[str, str]] = []
        for credential in self.credentials:
            who = f"{credential.source or 'credential'} (user {credential.username!r})"
            if state.challenge.scheme == "basic":
                verdict, line, cause = self._basic_login(credential)
            else:
                _, outcome = self._authorize(credential, None)
                assert outcome is not None
                line = "; ".join(outcome.evidence) or outcome.summary
                verdict = {auth.GRANTED: "accepted", auth.REFUSED: "rejected"}.get(outcome.status, "error")
                cause = model.RATE_LIMITED if outcome.status == auth.LIMITED else (
                    outcome.failure.cause if outcome.failure else model.REGISTRY_ERROR)
            lines.append(f"{who}: {verdict}: {line}")
            if verdict == "accepted":
                state.accepted.append(credential)
            elif verdict == "rejected":
                state.rejected.append(credential)
            else:
                errors.append((cause, line))
        data = dict(accepted=[c.source for c in state.accepted], rejected=[c.source for c in state.rejected])
        if state.accepted:
            self.add("credentials", model.OK, f"{len(state.accepted)} of {len(self.credentials)} credentials "
                     "accepted", lines, **data)
        elif not errors:
            state.facts["rejected"] = ", ".join(c.source or c.username for c in state.rejected)
            self.add("credentials", model.FAILED, "the registry rejects every credential given", lines,
                     cause=model.AUTH_REJECTED, **data)
        else:
            self.add("credentials", model.FAILED, f"credentials could not be checked: {errors[0][1]}", lines,
                     cause=errors[0][0], **data)

    def _basic_login(self, credential: model.Credential) -> Tuple[str, str, str]:
        assert self.session is not None
        authorization, _ = self._authorize(credential, None)
        url = f"{self.state.base_url}/v2/"
        try:
            response = self.session.request("GET", url, deadline=self.step_deadline(),
                                            body_limit=distribution.ERROR_BODY_LIMIT, authorization=authorization)
        except Failure as failure:
            return "error", failure.summary, failure.cause
        line = f"GET {url} with Basic auth -> {response.status}"
        if response.status == 200:
            return "accepted", line, ""
        if response.status in (401, 403):
            return "rejected", line, ""
        return "error", line, model.RATE_LIMITED if response.status == 429 else model.REGISTRY_ERROR

    def check_manifest(self) -> None:
        state = self.state
        anonymous = Attempt("anonymous", None)
        self._try_manifest(anonymous)
        state.attempts.append(anonymous)
        if self.credentials and not state.credentials_checked and not self.out_of_time("credentials"):
            # /v2/ was open; the repository may still have challenged the anonymous request.
            self.check_credentials()
        if self.options.use_credentials:
            for credential in state.accepted:
                if time.monotonic() >= self.deadline:
                    break
                attempt = Attempt(credential.source or credential.username, credential)
                self._try_manifest(attempt)
                state.attempts.append(attempt)
        lines = [a.line for a in state.attempts]
        data = dict(attempts=[{"auth": a.who, "outcome": a.outcome, "status": a.status, "codes": list(a.codes)}
                              for a in state.attempts])
        found = [a for a in state.attempts if a.outcome == FOUND]
        if found:
            self._report_found(found, lines, data)
            return
        by_outcome = {a.outcome: a for a in reversed(state.attempts)}
        if LIMITED in by_outcome:
            attempt = by_outcome[LIMITED]
            self.add("manifest", model.FAILED, "429 Too Many Requests: the pull rate limit is spent",
                     lines + ratelimit.limit_evidence(attempt.response), cause=model.RATE_LIMITED, **data)
        elif BLOCKED in by_outcome:
            self.add("manifest", model.FAILED, "the registry refuses the pull by policy", lines,
                     cause=model.POLICY, **data)
        elif NOT_FOUND in by_outcome:
            self._settle_not_found(by_outcome[NOT_FOUND], lines, data)
        elif BROKEN in by_outcome and DENIED not in by_outcome and TOKEN_REFUSED not in by_outcome:
            attempt = by_outcome[BROKEN]
            cause = attempt.failure.cause if attempt.failure else model.REGISTRY_ERROR
            self.add("manifest", model.FAILED, attempt.failure.summary if attempt.failure else
                     f"unexpected answer for the manifest ({attempt.status})", lines, cause=cause, **data)
        else:
            self._report_denied(lines, data)

    def _try_manifest(self, attempt: Attempt) -> None:
        state = self.state
        assert self.session is not None
        scope = auth.scope_for(state.repository)
        authorization, outcome = self._authorize(attempt.credential, scope)
        if outcome is not None and outcome.status != auth.GRANTED:
            self._token_trouble(attempt, outcome)
            return
        attempt.authorization = authorization
        try:
            response = distribution.request_manifest(self.session, state.base_url, state.repository,
                                                     self.target.reference, authorization, self.step_deadline())
            challenge = preferred(parse_challenges(response.headers.get_all("www-authenticate")))
            if response.status == 401 and challenge is not None and _differs(challenge, state.challenge):
                # The repository asks for other authentication than /v2/ did: answer that one instead.
                state.challenge = state.challenge or challenge
                if challenge.scheme == "basic" and attempt.credential is None:
                    state.login_required = True
                authorization, outcome = self._authorize(attempt.credential, challenge.scope or scope, challenge)
                if outcome is not None and outcome.status != auth.GRANTED:
                    self._token_trouble(attempt, outcome)
                    return
                if authorization is not None:
                    attempt.authorization = authorization
                    response = distribution.request_manifest(self.session, state.base_url, state.repository,
                                                             self.target.reference, authorization,
                                                             self.step_deadline())
        except Failure as failure:
            attempt.outcome, attempt.failure = BROKEN, failure
            attempt.line = f"{attempt.who}: {failure.summary}"
            return
        self._judge_manifest(attempt, response)

    def _token_trouble(self, attempt: Attempt, outcome: auth.TokenOutcome) -> None:
        attempt.line = f"{attempt.who}: {outcome.summary}"
        attempt.response = outcome.response
        if outcome.status == auth.REFUSED:
            attempt.outcome = TOKEN_REFUSED
            if attempt.credential is None:
                self.state.login_required = True
        elif outcome.status == auth.LIMITED:
            attempt.outcome = LIMITED
        else:
            attempt.outcome, attempt.failure = BROKEN, outcome.failure or Failure(
                model.REGISTRY_ERROR, STAGE_HTTP, outcome.summary, outcome.evidence)

    def _judge_manifest(self, attempt: Attempt, response: Response) -> None:
        attempt.response, attempt.status = response, response.status
        attempt.limits = ratelimit.read_limits(response.headers)
        errors = distribution.parse_errors(response.body)
        attempt.codes = tuple(e.code for e in errors)
        kind = distribution.media_type(response)
        line = f"{attempt.who}: {response.method} {response.url} -> {response.status}"
        for hop in response.hops:
            line += f" (after redirect {hop})"
        if response.status == 200:
            digest = response.headers.get("docker-content-digest", "")
            accepted = distribution.INDEX_TYPES + distribution.MANIFEST_TYPES + distribution.DOCKER_SCHEMA1
            if kind not in accepted:
                attempt.outcome = BROKEN
                attempt.failure = Failure(model.REGISTRY_ERROR, STAGE_HTTP,
                                          f"the registry answered 200 with Content-Type {kind or 'none'}, "
                                          "which is not a manifest")
                attempt.line = line + f" {kind or '(no Content-Type)'}: not a manifest"
                return
            attempt.outcome = FOUND
            attempt.line = line + f" {kind} {digest}".rstrip()
            return
        if errors:
            line += " " + "; ".join(f"{e.code}: {e.message}" for e in errors[:3])
        attempt.line = line
        if response.status == 404:
            attempt.outcome = NOT_FOUND
        elif response.status in (401, 403):
            attempt.outcome = DENIED
            challenge = preferred(parse_challenges(response.headers.get_all("www-authenticate")))
            if challenge is not None and challenge.error:
                attempt.line += f" (error={challenge.error})"
        elif response.status == 429:
            attempt.outcome = LIMITED
        elif response.status == 412:
            attempt.outcome = BLOCKED
            attempt.line += f" {response.text(200)}"
        else:
            attempt.outcome = BROKEN
            attempt.failure = Failure(model.REGISTRY_ERROR, STAGE_HTTP,
                                      f"unexpected {response.status} for the manifest", [line])

    def _report_found(self, found: List[Attempt], lines: List[str], data: Dict[str, object]) -> None:
        state = self.state
        anonymous = next((a for a in found if a.credential is None), None)
        chosen = next((a for a in found if a.credential is not None), anonymous)
        assert chosen is not None and chosen.response is not None
        state.found = chosen
        kind = distribution.media_type(chosen.response)
        digest = chosen.response.headers.get("docker-content-digest")
        works_with = [a.who for a in found if a.credential is not None]
        if anonymous is not None:
            summary = "the manifest exists and anonymous pulls work"
        else:
            summary = f"the manifest exists; anonymous pulls are refused, pulls work with {', '.join(works_with)}"
        if kind in distribution.DOCKER_SCHEMA1:
            lines = lines + ["schema1 manifest: deprecated; containerd 2.x no longer pulls it"]
        data.update(media_type=kind, digest=digest, access="public" if anonymous else "credentials",
                    works_with=works_with, size=chosen.response.headers.get("content-length"))
        self.add("manifest", model.OK, summary, lines, **data)

    def _report_denied(self, lines: List[str], data: Dict[str, object]) -> None:
        state = self.state
        last = state.attempts[-1]
        if last.credential is not None:
            self.add("manifest", model.FAILED, "the credentials are valid but may not pull this repository: it is "
                     "private to another account, or it does not exist", lines,
                     cause=model.AUTH_OR_NOT_FOUND, **data)
        elif not self.credentials and state.login_required:
            self.add("manifest", model.FAILED, "the registry requires authentication for every pull and no "
                     "credentials are available", lines, cause=model.AUTH_MISSING, **data)
            return
        else:
            self.add("manifest", model.FAILED, "anonymous pull refused: the repository is private or does not "
                     "exist (registries do not tell the two apart without credentials)", lines,
                     cause=model.AUTH_OR_NOT_FOUND, **data)
        # Docker Hub answers "denied" for repositories that do not exist: a misspelt name looks like this.
        self._suggest_repositories(last)

    def _settle_not_found(self, attempt: Attempt, lines: List[str], data: Dict[str, object]) -> None:
        state = self.state
        assert self.session is not None
        reference = self.target.reference
        what = "digest" if is_digest(reference) else "tag"
        if "NAME_UNKNOWN" in attempt.codes:
            self.add("manifest", model.FAILED, f"repository {state.repository} does not exist (NAME_UNKNOWN)",
                     lines, cause=model.IMAGE_NOT_FOUND, **data)
            self._suggest_repositories(attempt)
            return
        listing = distribution.walk_list(self.session, distribution.tags_url(state.base_url, state.repository),
                                         "tags", attempt.authorization, self.step_deadline(),
                                         self.options.max_tag_pages)
        status = listing.last.status if listing.last is not None else None
        lines = lines + [f"tags/list: {len(listing.items)} tags in {listing.pages} page(s)" if listing.pages else
                         f"tags/list: {listing.stopped}"]
        if listing.pages:
            self.add("manifest", model.FAILED, f"{what} {reference} is not in {state.repository} "
                     "(the repository exists)", lines, cause=model.TAG_NOT_FOUND, **data)
            self._suggest_tags(listing)
        elif status == 404:
            self.add("manifest", model.FAILED, f"repository {state.repository} does not exist", lines,
                     cause=model.IMAGE_NOT_FOUND, **data)
            self._suggest_repositories(attempt)
        elif "MANIFEST_UNKNOWN" in attempt.codes:
            self.add("manifest", model.FAILED, f"{what} {reference} not found (MANIFEST_UNKNOWN; the tag list "
                     "could not be read to confirm the repository exists)", lines, cause=model.TAG_NOT_FOUND, **data)
        else:
            self.add("manifest", model.FAILED, f"{state.repository}{'@' if what == 'digest' else ':'}{reference} "
                     "not found (the tag list could not be read to tell a missing tag from a missing "
                     "repository)", lines, cause=model.IMAGE_NOT_FOUND, **data)
            self._suggest_repositories(attempt)

    def _suggest_tags(self, listing: distribution.Listing) -> None:
        reference = self.target.reference
        evidence = [f"{len(listing.items)} tags listed" + ("" if listing.complete else f" ({listing.stopped})")]
        if is_digest(reference):
            self.add("tags", model.INFO, "digests are not listed; the repository's tags are", evidence,
                     tags=listing.items[:50], complete=listing.complete)
            return
        picks = suggest.suggest_tags(reference, listing.items)
        self.state.facts["candidates"] = [f"{self.target.host}/{self.target.repository}:{tag}" for tag, _ in picks]
        summary = ("closest tags: " + ", ".join(tag for tag, _ in picks)) if picks else \
            "no tag is close to the one asked for"
        evidence += [f"{tag}: {why}" for tag, why in picks]
        self.add("tags", model.INFO, summary, evidence, suggestions=[t for t, _ in picks],
                 tags=listing.items[:50], complete=listing.complete, pages=listing.pages)

    def _suggest_repositories(self, attempt: Attempt) -> None:
        """Names close to the missing repository: from the registry's catalog when it lets us read
        it (Docker Hub has none), and Docker Hub's official images."""
        state = self.state
        assert self.session is not None and state.endpoint is not None
        catalog: Optional[List[str]] = None
        evidence: List[str] = []
        if not state.endpoint.docker_hub:
            authorization: Optional[Authorization] = attempt.authorization
            if state.challenge is not None and state.challenge.scheme == "bearer":
                authorization, _ = self._authorize(attempt.credential, "registry:catalog:*")
            listing = distribution.walk_list(self.session, distribution.catalog_url(state.base_url), "repositories",
                                             authorization, self.step_deadline(), self.options.max_tag_pages)
            if listing.pages:
                catalog = listing.items
                evidence.append(f"catalog: {len(catalog)} repositories in {listing.pages} page(s)"
                                + ("" if listing.complete else f" ({listing.stopped})"))
        picks = suggest.suggest_repositories(state.repository, state.endpoint.docker_hub, catalog)
        if not picks and catalog is None:
            return                     # nothing to go on: no catalog, no known name close by
        shown = [f"{self.target.host}/{name}:{self.target.reference}" for name, _ in picks]
        self.state.facts["candidates"] = shown
        evidence += [f"{name}: {why}" + ("" if catalog is not None else " (not checked)") for name, why in picks]
        summary = ("similar repositories: " + ", ".join(name for name, _ in picks)) if picks else \
            "no similar repository name found"
        self.add("repository", model.INFO, summary, evidence, suggestions=[n for n, _ in picks],
                 catalog_size=len(catalog) if catalog is not None else None)


def _differs(challenge: Challenge, known: Optional[Challenge]) -> bool:
    if known is None:
        return True
    return (challenge.scheme, challenge.realm, challenge.service) != (known.scheme, known.realm, known.service)
