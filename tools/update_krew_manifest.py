#!/usr/bin/env python3
"""Point krew/pullcheck.yaml at a built release archive: version, download URI and sha256.

Every platform entry gets the same archive (the zipapp runs wherever python3 does). The URI is
`<homepage>/releases/download/v<version>/<archive name>`, the layout of GitHub release assets. The
archive is checked first: it must hold an executable `kubectl-pullcheck` and the LICENSE at its root.

    python tools/update_krew_manifest.py [ARCHIVE]          # default: dist/ archive of this version
    python tools/update_krew_manifest.py --check [ARCHIVE]  # exit 1 if the manifest is out of date
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tarfile
from pathlib import Path
from typing import Any

import yaml

from build_release import BIN_NAME, DEFAULT_OUT, LICENSE_NAME, ROOT, archive_name, project_version

MANIFEST = ROOT / "krew" / "pullcheck.yaml"


class ManifestError(Exception):
    pass


def check_archive(path: Path) -> None:
    """Refuse an archive krew could not install: no executable bin or no LICENSE at its root."""
    with tarfile.open(path, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    binary = members.get(BIN_NAME)
    if binary is None or not binary.isfile() or not binary.mode & 0o111:
        raise ManifestError(f"{path.name} has no executable {BIN_NAME} at its root")
    if LICENSE_NAME not in members:
        raise ManifestError(f"{path.name} has no {LICENSE_NAME} at its root")


def release_uri(homepage: str, version: str) -> str:
    return f"{homepage.rstrip('/')}/releases/download/v{version}/{archive_name(version)}"


def updated(manifest: dict[str, Any], version: str, sha256: str) -> dict[str, Any]:
    """The manifest with version, every platform's uri and sha256 set for this release."""
    spec = manifest["spec"]
    spec["version"] = f"v{version}"
    for platform in spec["platforms"]:
        platform["uri"] = release_uri(spec["homepage"], version)
        platform["sha256"] = sha256
    return manifest


class _ManifestDumper(yaml.SafeDumper):
    """Block style, keys in file order, multi-line text as `|` blocks: the layout of krew-index files."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _represent_str)


def render(manifest: dict[str, Any]) -> str:
    return yaml.dump(manifest, Dumper=_ManifestDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1000)


def load(path: Path = MANIFEST) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", nargs="?", type=Path, help="release archive (default: dist/ for this version)")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="default: krew/pullcheck.yaml")
    parser.add_argument("--check", action="store_true", help="only report whether the manifest is up to date")
    args = parser.parse_args(argv)
    version = project_version()
    archive = args.archive or DEFAULT_OUT / archive_name(version)
    try:
        if not archive.is_file():
            raise ManifestError(f"{archive} does not exist; run tools/build_release.py first")
        check_archive(archive)
        if archive.name != archive_name(version):
            raise ManifestError(f"{archive.name} is not the archive of version {version} ({archive_name(version)})")
        sha256 = hashlib.sha256(archive.read_bytes()).hexdigest()
        current = args.manifest.read_text(encoding="utf-8")
        wanted = render(updated(yaml.safe_load(current), version, sha256))
    except (KeyError, TypeError) as exc:
        print(f"update_krew_manifest: {args.manifest} lacks spec.homepage or spec.platforms ({exc})", file=sys.stderr)
        return 1
    except (ManifestError, OSError, yaml.YAMLError) as exc:
        print(f"update_krew_manifest: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if current != wanted:
            print(f"{args.manifest} is out of date for {archive.name}; run tools/update_krew_manifest.py",
                  file=sys.stderr)
            return 1
        return 0
    args.manifest.write_text(wanted, encoding="utf-8")
    print(f"{args.manifest}: v{version} {sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
