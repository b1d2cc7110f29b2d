"""Push tiny images over the registry HTTP API (no docker): blobs, manifests, indexes."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import ssl
import tarfile
from typing import Dict, List, Optional, Tuple

import httpx

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

Descriptor = Tuple[str, int, str]          # (digest, size, media type)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(text: bytes) -> Tuple[bytes, bytes]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(text), 0, 0o644
        archive.addfile(info, io.BytesIO(text))
    return raw.getvalue(), gzip.compress(raw.getvalue(), mtime=0)


class _ChallengeAuth(httpx.Auth):
    """Answer Basic or Bearer challenges with one user's credentials (test code, not the probe)."""

    def __init__(self, user: Optional[str], password: Optional[str], verify) -> None:
        self._basic = httpx.BasicAuth(user, password or "") if user else None
        self._token_client = httpx.Client(timeout=10, verify=verify)
        self._tokens: Dict[str, str] = {}          # challenge -> token, reused for the same scope

    def close(self) -> None:
        self._token_client.close()

    def auth_flow(self, request):
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("WWW-Authenticate", "")
        if challenge.startswith("Basic") and self._basic is not None:
            yield from self._basic.auth_flow(request)
        elif challenge.startswith("Bearer"):
            if challenge not in self._tokens:
                params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
                query = {"service": params.get("service", "")}
                if "scope" in params:
                    query["scope"] = params["scope"]
                answer = self._token_client.get(params["realm"], params=query, auth=self._basic)
                answer.raise_for_status()
                self._tokens[challenge] = answer.json()["token"]
            request.headers["Authorization"] = "Bearer " + self._tokens[challenge]
            yield request


class Pusher:
    def __init__(self, base_url: str, *, ca_file: Optional[str] = None, user: Optional[str] = None,
                 password: Optional[str] = None) -> None:
        verify = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._auth = _ChallengeAuth(user, password, verify)
        self._client = httpx.Client(base_url=base_url, verify=verify, timeout=10, auth=self._auth)
        self._tar, self._gz = _layer(b"hello from the pullcheck test image\n")

    def close(self) -> None:
        self._client.close()
        self._auth.close()

    def __enter__(self) -> "Pusher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def blob(self, repository: str, data: bytes) -> str:
        digest = sha256(data)
        if self._client.head(f"/v2/{repository}/blobs/{digest}").status_code == 200:
            return digest
        started = self._client.post(f"/v2/{repository}/blobs/uploads/")
        started.raise_for_status()
        location = started.headers["Location"]
        separator = "&" if "?" in location else "?"
        self._client.put(f"{location}{separator}digest={digest}", content=data,
                         headers={"Content-Type": "application/octet-stream"}).raise_for_status()
        return digest

    def manifest(self, repository: str, reference: str, body: bytes, media_type: str) -> Descriptor:
        response = self._client.put(f"/v2/{repository}/manifests/{reference}", content=body,
                                    headers={"Content-Type": media_type})
        if response.status_code >= 300:
            raise RuntimeError(f"manifest PUT {repository}:{reference}: {response.status_code} {response.text}")
        return sha256(body), len(body), media_type

    def image(self, repository: str, tag: Optional[str], architecture: str = "amd64", os_name: str = "linux",
              variant: Optional[str] = None, oci: bool = False) -> Descriptor:
        """A single-platform image; pushed by digest only when tag is None."""
        config: Dict[str, object] = {"architecture": architecture, "os": os_name, "config": {"Cmd": ["/hello.txt"]},
                                     "rootfs": {"type": "layers", "diff_ids": [sha256(self._tar)]}}
        if variant:
            config["variant"] = variant
        config_bytes = json.dumps(config, sort_keys=True).encode()
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        body = json.dumps({
            "schemaVersion": 2, "mediaType": media_type,
            "config": {"mediaType": OCI_CONFIG if oci else DOCKER_CONFIG, "size": len(config_bytes),
                       "digest": self.blob(repository, config_bytes)},
            "layers": [{"mediaType": OCI_LAYER if oci else DOCKER_LAYER, "size": len(self._gz),
                        "digest": self.blob(repository, self._gz)}],
        }).encode()
        return self.manifest(repository, tag or sha256(body), body, media_type)

    def index(self, repository: str, tag: str, entries: List[Tuple[Descriptor, Dict[str, str]]],
              oci: bool = False) -> Descriptor:
        """An index/list of (manifest descriptor, platform) entries."""
        media_type = OCI_INDEX if oci else DOCKER_LIST
        body = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
            {"mediaType": mt, "size": size, "digest": digest, "platform": platform}
            for (digest, size, mt), platform in entries]}).encode()
        return self.manifest(repository, tag, body, media_type)
