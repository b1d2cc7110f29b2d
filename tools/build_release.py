#!/usr/bin/env python3
"""Build the release archive of kubectl pullcheck: dist/kubectl-pullcheck_v<version>.tar.gz.

The archive holds exactly what krew installs: `kubectl-pullcheck`, an executable zipapp that runs on
any python3 >= 3.9 with nothing else installed, and LICENSE. The zipapp is tools/pyz_main.py as its
__main__.py plus, beside it, the pullcheck package (the files setup.cfg ships) and the contents of the
dependency wheels pinned with hashes in tools/bundle-requirements.txt.

Reproducible: the same sources and pinned wheels give the same bytes (entries sorted, fixed
timestamps, modes and owners, gzip header without name or time). Wheels are fetched with
`pip download` into build/wheelhouse/ the first time only; later builds run offline.

    python tools/build_release.py [--out DIR] [--wheelhouse DIR]
"""
from __future__ import annotations

import argparse
import ast
import configparser
import gzip
import hashlib
import io
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pullcheck"
BIN_NAME = "kubectl-pullcheck"
LICENSE_NAME = "LICENSE"
REQUIREMENTS = ROOT / "tools" / "bundle-requirements.txt"
BOOTSTRAP = ROOT / "tools" / "pyz_main.py"
BUNDLE_ID_PLACEHOLDER = "@BUNDLE_ID@"
DEFAULT_OUT = ROOT / "dist"
DEFAULT_WHEELHOUSE = ROOT / "build" / "wheelhouse"

SHEBANG = b"#!/usr/bin/env python3\n"
MAIN_MODULE = "__main__.py"
# 1980-01-01T00:00:00Z: the earliest time a zip entry can carry; used for every entry of both archives.
FIXED_EPOCH = 315532800
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_SYSTEM_UNIX = 3
FILE_MODE = 0o644
EXEC_MODE = 0o755
BUNDLE_HASH_CHARS = 16

# Which wheel files pip may pick for the pins: pure wheels, and the one platform wheel whose pure-Python
# part is bundled (see ALLOWED_PURE_PARTS). The hashes in the requirements file choose among them.
DOWNLOAD_TARGET = [
    "--only-binary=:all:", "--python-version", "3.9", "--implementation", "cp",
    "--abi", "cp39", "--abi", "none", "--platform", "manylinux2014_x86_64", "--platform", "any",
]
# Distributions that ship a C extension but work without it: their extension modules are left out,
# and so are RECORD and WHEEL, which would describe the binary wheel. PyYAML falls back to pure Python.
ALLOWED_PURE_PARTS = frozenset({"pyyaml"})
EXTENSION_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")


class BuildError(Exception):
    """The build cannot produce a correct artifact; the message says why."""


@dataclass(frozen=True)
class Pin:
    """One line of the requirements file: an exact version and the sha256 of the file allowed for it."""

    name: str
    version: str
    hashes: frozenset


@dataclass(frozen=True)
class Release:
    path: Path
    sha256: str
    version: str
    bundle_id: str


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_version(root: Path = ROOT) -> str:
    """__version__ from pullcheck/__init__.py, read without importing the package."""
    tree = ast.parse((root / PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise BuildError(f"no __version__ in {PACKAGE}/__init__.py")


def archive_name(version: str) -> str:
    return f"{BIN_NAME}_v{version}.tar.gz"


def read_pins(path: Path = REQUIREMENTS) -> list[Pin]:
    """Parse `name==version --hash=sha256:...` entries (with backslash continuations, # comments)."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    pins = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)", line)
        if not match:
            raise BuildError(f"{path.name}: expected `name==version --hash=sha256:...`, got: {line}")
        hashes = frozenset(re.findall(r"sha256:([0-9a-f]{64})", match.group(3)))
        pins.append(Pin(normalize_name(match.group(1)), match.group(2), hashes))
    return pins


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheels_by_hash(wheelhouse: Path) -> dict[str, Path]:
    return {sha256_file(p): p for p in sorted(wheelhouse.glob("*.whl"))} if wheelhouse.is_dir() else {}


def fetch_wheels(pins: list[Pin], wheelhouse: Path, requirements: Path = REQUIREMENTS) -> dict[str, Path]:
    """The wheel file of every pin, downloading (hash-checked by pip) only when the wheelhouse lacks one."""
    available = _wheels_by_hash(wheelhouse)
    if any(not pin.hashes & available.keys() for pin in pins):
        wheelhouse.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                   "--no-deps", "--require-hashes", *DOWNLOAD_TARGET, "--dest", str(wheelhouse),
                   "--requirement", str(requirements)]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise BuildError("pip download failed:\n" + done.stdout.strip())
        available = _wheels_by_hash(wheelhouse)
    wheels = {}
    for pin in pins:
        found = sorted(available[h] for h in pin.hashes if h in available)
        if not found:
            raise BuildError(f"no wheel with a pinned sha256 for {pin.name}=={pin.version} in {wheelhouse}")
        wheels[pin.name] = found[0]
    return wheels


def wheel_files(pin: Pin, wheel: Path) -> dict[str, bytes]:
    """The files a wheel contributes to the bundle: all of a pure wheel, the pure part of an allowed one."""
    pure_wheel = wheel.name.endswith("-none-any.whl")
    if not pure_wheel and pin.name not in ALLOWED_PURE_PARTS:
        raise BuildError(f"{wheel.name} is not a pure-Python wheel and {pin.name} has no known pure fallback")
    files = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.endswith("/"):
                continue
            top = name.split("/", 1)[0]
            if top.endswith(".data"):
                raise BuildError(f"{wheel.name} installs files outside site-packages ({name}); not supported")
            if name.endswith(EXTENSION_SUFFIXES) or (".so." in name):
                if pure_wheel:
                    raise BuildError(f"{wheel.name} is tagged pure but contains {name}")
                continue
            if not pure_wheel and top.endswith(".dist-info") and name.rsplit("/", 1)[-1] in ("RECORD", "WHEEL"):
                continue
            files[name] = zf.read(name)
    return files


def _package_data_patterns(root: Path) -> dict[str, list[str]]:
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg", encoding="utf-8")
    if not cfg.has_section("options.package_data"):
        return {}
    return {pkg.strip(): [p.strip() for p in value.replace("\n", ",").split(",") if p.strip()]
            for pkg, value in cfg.items("options.package_data")}


def project_files(root: Path = ROOT) -> dict[str, bytes]:
    """The files `pip install .` installs for the pullcheck package: modules of every directory that is a
    package (has __init__.py), plus the package_data patterns of setup.cfg."""
    base = root / PACKAGE
    source_dirs = sorted({p.parent for p in base.rglob("*.py") if "__pycache__" not in p.parts})
    missing = [d for d in source_dirs if not (d / "__init__.py").exists()]
    if missing:
        shown = ", ".join(str(d.relative_to(root)) for d in missing)
        raise BuildError(f"{shown}: Python files without __init__.py; setuptools (packages = find:) would "
                         "leave them out of `pip install .`, so add an __init__.py")
    files = {}
    for directory in source_dirs:
        for module in sorted(directory.glob("*.py")):
            files[module.relative_to(root).as_posix()] = module.read_bytes()
    for package, patterns in _package_data_patterns(root).items():
        package_dir = root / package.replace(".", "/")
        for pattern in patterns:
            for path in sorted(package_dir.glob(pattern)):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def bundle_contents(pins: list[Pin], wheels: dict[str, Path], root: Path = ROOT) -> dict[str, bytes]:
    """Everything that goes into the zipapp beside __main__.py, keyed by path; clashes are errors."""
    contents: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    sources = [(PACKAGE, project_files(root))] + [(pin.name, wheel_files(pin, wheels[pin.name])) for pin in pins]
    for source, files in sources:
        for name, data in files.items():
            if name == MAIN_MODULE or (name in contents and contents[name] != data):
                raise BuildError(f"{name} from {source} clashes with {origin.get(name, 'the bootstrap')}")
            contents[name] = data
            origin[name] = source
    return contents


def bundle_id(version: str, contents: dict[str, bytes]) -> str:
    """Version plus a hash of every bundled path and its bytes: names the bootstrap's cache directory."""
    digest = hashlib.sha256()
    for name in sorted(contents):
        data = contents[name]
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return f"{version}-{digest.hexdigest()[:BUNDLE_HASH_CHARS]}"


def bootstrap_source(identity: str, path: Path = BOOTSTRAP) -> bytes:
    text = path.read_text(encoding="utf-8")
    if text.count(BUNDLE_ID_PLACEHOLDER) != 1:
        raise BuildError(f"{path.name} must contain {BUNDLE_ID_PLACEHOLDER} exactly once")
    return text.replace(BUNDLE_ID_PLACEHOLDER, identity).encode("utf-8")


def build_pyz(main_py: bytes, contents: dict[str, bytes]) -> bytes:
    """A zipapp (shebang + zip with __main__.py) whose bytes depend only on its inputs."""
    entries = dict(contents)
    entries[MAIN_MODULE] = main_py
    out = io.BytesIO()
    out.write(SHEBANG)
    with zipfile.ZipFile(out, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.create_system = ZIP_SYSTEM_UNIX
            info.external_attr = (0o100000 | FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def build_tarball(members: list[tuple[str, bytes, int]]) -> bytes:
    """A .tar.gz of (name, bytes, mode) regular files at the archive root, owned by 0:0, fixed mtime."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = FIXED_EPOCH
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue()


def build_release(out_dir: Path = DEFAULT_OUT, wheelhouse: Path = DEFAULT_WHEELHOUSE, root: Path = ROOT) -> Release:
    """Build dist/kubectl-pullcheck_v<version>.tar.gz and return where it is and its sha256."""
    version = project_version(root)
    pins = read_pins()
    contents = bundle_contents(pins, fetch_wheels(pins, wheelhouse), root)
    identity = bundle_id(version, contents)
    pyz = build_pyz(bootstrap_source(identity), contents)
    license_text = (root / LICENSE_NAME).read_bytes()
    tarball = build_tarball([(BIN_NAME, pyz, EXEC_MODE), (LICENSE_NAME, license_text, FILE_MODE)])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / archive_name(version)
    path.write_bytes(tarball)
    return Release(path=path, sha256=hashlib.sha256(tarball).hexdigest(), version=version, bundle_id=identity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: dist/)")
    parser.add_argument("--wheelhouse", type=Path, default=DEFAULT_WHEELHOUSE,
                        help="where pinned wheels are cached (default: build/wheelhouse/)")
    args = parser.parse_args(argv)
    try:
        release = build_release(args.out, args.wheelhouse)
    except BuildError as exc:
        print(f"build_release: {exc}", file=sys.stderr)
        return 1
    print(f"{release.sha256}  {release.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
