"""The command line itself: help, version, option placement, explain, exit codes for bad input."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pullcheck import __version__
from pullcheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "auth-secret-wrong-namespace.json")
PULL_ACCESS_DENIED = ('Failed to pull image "docker.io/library/ngnix:1.25": rpc error: code = Unknown desc = failed to '
                      'pull and unpack image "docker.io/library/ngnix:1.25": failed to resolve reference '
                      '"docker.io/library/ngnix:1.25": pull access denied, repository does not exist or may require '
                      'authorization: server message: insufficient_scope: authorization failed')


def run(capsys, *args: str) -> tuple:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def test_no_arguments_prints_help_and_version_works(capsys):
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith("Usage: kubectl pullcheck") and "Exit codes:" in out
    code, out, _ = run(capsys, "--version")
    assert (code, out.strip()) == (0, f"kubectl pullcheck {__version__}")


@pytest.mark.parametrize("args", [["-o", "json", "pod", "-f", EXAMPLE], ["pod", "-f", EXAMPLE, "-o", "json"],
                                  ["pod", "-o", "json", "-f", EXAMPLE]])
def test_global_options_before_or_after_the_subcommand(capsys, args):
    code, out, _ = run(capsys, *args)
    assert code == 1 and json.loads(out)["containers"][0]["cause"] == "auth-missing"


def test_the_innermost_explicit_option_wins(capsys):
    code, out, _ = run(capsys, "-o", "yaml", "pod", "-f", EXAMPLE, "-o", "json")
    assert json.loads(out)["kind"] == "PodDiagnosis"


def test_yaml_output_matches_json(capsys):
    yaml = pytest.importorskip("yaml")
    _, as_json, _ = run(capsys, "pod", "-f", EXAMPLE, "-o", "json")
    _, as_yaml, _ = run(capsys, "pod", "-f", EXAMPLE, "-o", "yaml")
    assert yaml.safe_load(as_yaml) == json.loads(as_json)


def test_explain_json_has_the_documented_fields(capsys):
    code, out, _ = run(capsys, "explain", PULL_ACCESS_DENIED, "-o", "json")
    doc = json.loads(out)
    assert code == 1
    assert doc["cause"] == "auth-or-not-found"
    assert {"title", "likelihood", "immediateAction", "successRate", "timeToResolution"} <= set(doc["matrix"])
    assert {c["cause"] for c in doc["candidates"]} == {"auth-missing", "image-not-found"}
    assert doc["evidence"] and doc["image"]["normalized"] == "docker.io/library/ngnix:1.25"


def test_explain_reads_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("toomanyrequests: You have reached your pull rate limit.\n"))
    code, out, _ = run(capsys, "explain", "-")
    assert code == 1 and "Cause: rate-limited" in out


def test_explain_of_an_unrelated_message_is_unknown_and_exit_0(capsys):
    code, out, _ = run(capsys, "explain", "the", "coffee", "machine", "is", "empty", "-o", "json")
    assert code == 0 and json.loads(out)["cause"] == "unknown"


@pytest.mark.parametrize("args, fragment", [
    (["pod"], "pod NAME is required"),
    (["explain", " "], "MESSAGE is empty"),
    (["pod", "-f", EXAMPLE, "--save", "x.json"], "--save reads from the cluster"),
    (["pod", "-f", "/nonexistent/file.json"], "cannot read /nonexistent/file.json"),
    (["-o", "xml", "pod", "x"], "Invalid value for '-o' / '--output'"),
    (["frobnicate"], "No such command 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, fragment):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert fragment in err and "Traceback" not in err


def test_the_checkout_executable_runs_without_installation():
    proc = subprocess.run([sys.executable, str(ROOT / "kubectl-pullcheck"), "pod", "-f", EXAMPLE, "-o", "json"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["pod"]["name"] == "auth-secret-wrong-namespace"


def test_offline_commands_never_import_the_kubernetes_client():
    code = ("import sys; from pullcheck.cli import main\n"
            "try:\n    main(['pod', '-f', %r, '-o', 'json'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['explain', 'manifest unknown'])\nexcept SystemExit:\n    pass\n"
            "print('kubernetes' in sys.modules, 'httpx' in sys.modules, 'dns' in sys.modules, file=sys.stderr)") % EXAMPLE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert proc.stderr.strip().splitlines()[-1] == "False False False"
