"""Start kubectl pullcheck from its single-file release: this file is the zipapp's __main__.py.

The packages (pullcheck and its pure-Python dependencies) sit at the root of the archive, which Python
puts first on sys.path. Python can import them straight from the zip, but it never caches bytecode for
zipped modules, so the kubernetes client alone would cost ~3 s on every run. The first run therefore
extracts them once into a per-user cache directory named after the bundle (version and content hash)
and imports from there, where bytecode caching works and data files such as certifi's cacert.pem are
real files. When the cache cannot be written (read-only home, no home), everything is imported from
the archive itself: slower, same behaviour. (Packages stay at the root rather than in a subdirectory
because Python 3.9's zipimport cannot read package data below a subdirectory of a zip.)

Written for any Python 3 (no f-strings, no annotations, hence no `from __future__ import annotations`)
so that an interpreter older than 3.9 reaches the version check and says so, instead of a SyntaxError
or an ImportError deep inside a dependency.
"""
import os
import re
import sys

BUNDLE_ID = "@BUNDLE_ID@"  # "<version>-<content hash>", filled in by tools/build_release.py
MIN_PYTHON = (3, 9)
EXIT_ENVIRONMENT = 2
CACHE_NAME = "kubectl-pullcheck"
MAIN_MODULE = "__main__.py"
# Names of bundle directories (and of half-extracted ones) in the cache, whatever their version.
BUNDLE_DIR_PATTERN = re.compile(r"^[0-9][0-9A-Za-z.+-]*-[0-9a-f]{16}(\.partial-[A-Za-z0-9_]+)?$")


def cache_root():
    """$XDG_CACHE_HOME/kubectl-pullcheck, else ~/Library/Caches/... on macOS, else ~/.cache/..."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = os.path.expanduser("~")
        if sys.platform == "darwin":
            base = os.path.join(home, "Library", "Caches")
        else:
            base = os.path.join(home, ".cache")
    return os.path.join(base, CACHE_NAME)


def extracted_bundle(archive, root):
    """Path of this bundle's extracted packages under root, extracting them first if needed; None if
    impossible.

    Extraction goes to a private staging directory that is renamed into place, so a directory with the
    bundle's name is always complete, and concurrent first runs cannot see half a bundle.
    """
    target = os.path.join(root, BUNDLE_ID)
    if os.path.isdir(target):
        return target
    import shutil
    import tempfile
    import zipfile

    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=BUNDLE_ID + ".partial-", dir=root)
    except OSError:
        return None
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(staging, [name for name in bundle.namelist() if name != MAIN_MODULE])
        os.rename(staging, target)
    except OSError:
        pass  # out of space, or a concurrent first run renamed its copy into place first
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # nothing left there after a successful rename
    if not os.path.isdir(target):
        return None
    remove_other_bundles(root)
    return target


def remove_other_bundles(root):
    """Delete bundles of other releases (left by upgrades); only names this bootstrap would create."""
    import shutil

    for name in os.listdir(root):
        if name.startswith(BUNDLE_ID) or not BUNDLE_DIR_PATTERN.match(name):
            continue
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)


def main():
    if sys.version_info < MIN_PYTHON:
        sys.stderr.write(
            "kubectl pullcheck needs Python %d.%d or newer, but %s is Python %d.%d.\n"
            "Install a newer Python and put it first on PATH as python3, or run it directly,"
            " e.g. python3.12 %s\n"
            % (MIN_PYTHON + (sys.executable or "python3",) + tuple(sys.version_info[:2]) + (sys.argv[0],))
        )
        sys.exit(EXIT_ENVIRONMENT)
    archive = os.path.dirname(os.path.abspath(__file__))
    extracted = extracted_bundle(archive, cache_root())
    if extracted:
        sys.path.insert(0, extracted)
    from pullcheck.cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()
