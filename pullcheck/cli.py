"""Command line: kubectl-style options, subcommands, exit codes.

kubectl passes everything after the plugin name to us, and users type options after the subcommand
(`kubectl pullcheck pod web-1 -n shop`), so the global options are accepted both before and after it.
The CLI stays thin: it resolves options, calls gather/diagnose/render, and maps errors to exit codes.
Heavy modules are imported inside the commands that need them.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

import click

from pullcheck import __version__
from pullcheck.errors import EXIT_USAGE, PullcheckError, UsageError

EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130
OUTPUT_FORMATS = ("table", "wide", "json", "yaml")
_SETTINGS_KEY = "pullcheck.settings"


@dataclass
class Settings:
    """Global options, wherever on the command line they were given."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    output: str = "table"
    color: bool = True
    verbose: bool = False
    request_timeout: float = 30.0

    def log(self, message: str) -> None:
        if self.verbose:
            click.echo(f"pullcheck: {message}", err=True)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Store a global option given at any level; the innermost explicit value wins."""
    root = ctx.find_root()
    settings = root.meta.setdefault(_SETTINGS_KEY, Settings())
    source = ctx.get_parameter_source(param.name or "")
    if source not in (click.core.ParameterSource.DEFAULT, None):
        setattr(settings, param.name or "", value)
    return value


def _global_options(func: Callable) -> Callable:
    options = [
        click.option("--kubeconfig", metavar="PATH", help="Path to the kubeconfig file.",
                     expose_value=False, callback=_remember),
        click.option("--context", metavar="NAME", help="The kubeconfig context to use.",
                     expose_value=False, callback=_remember),
        click.option("-n", "--namespace", metavar="NS",
                     help="Namespace (default: the context's namespace, else 'default').",
                     expose_value=False, callback=_remember),
        click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), help="Output format (default: table).",
                     expose_value=False, callback=_remember),
        click.option("--request-timeout", type=click.FloatRange(min=0.1), metavar="SECONDS",
                     help="Timeout of each API request (default: 30).", expose_value=False, callback=_remember),
        click.option("--no-color", "color", flag_value=False, default=None,
                     help="No colours (also when NO_COLOR is set or output is not a terminal).",
                     expose_value=False, callback=_remember),
        click.option("-v", "--verbose", is_flag=True, default=None,
                     help="Log API calls and timings to stderr (never secret values).",
                     expose_value=False, callback=_remember),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def settings() -> Settings:
    ctx = click.get_current_context()
    current = ctx.find_root().meta.setdefault(_SETTINGS_KEY, Settings())
    if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
        current.color = False
    return current


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             invoke_without_command=True)
@click.version_option(__version__, "--version", prog_name="kubectl pullcheck",
                      message="%(prog)s %(version)s")
@_global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Explain why a pod cannot pull its image, with evidence and the next commands.

    \b
    Examples:
      kubectl pullcheck pod web-7d4b9c-x2x9q -n shop
      kubectl pullcheck pod -f examples/auth-secret-wrong-namespace.json
      kubectl pullcheck explain 'pull access denied, repository does not exist or may require authorization'

    Exit codes: 0 no pull problem, 1 pull problem found, 2 usage or input error,
    3 cluster access error, 4 internal error.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command("pod")
@click.argument("name", required=False)
@click.option("-f", "--filename", "capture", metavar="FILE",
              help="Analyse a saved capture instead of the cluster: `kubectl get pod NAME -o json`, "
                   "`kubectl get pod,events -o json`, or a bundle from --save ('-' for stdin).")
@click.option("-c", "--container", metavar="NAME", help="Only this container.")
@click.option("--save", metavar="FILE",
              help="Also write everything read (pod, events, service account, secret metadata WITHOUT values, "
                   "nodes) to FILE as a bundle that `pod -f` can analyse later.")
@_global_options
def pod_command(name: str | None, capture: str | None, container: str | None, save: str | None) -> None:
    """Diagnose image pull problems of pod NAME."""
    from pullcheck import diagnose, render
    from pullcheck.snapshot import load_capture, save_bundle

    opts = settings()
    if capture:
        if save:
            raise UsageError("--save reads from the cluster; it cannot be combined with -f")
        snapshot = load_capture(capture, name=name)
    else:
        if not name:
            raise UsageError("pod NAME is required (or -f FILE for a saved capture)")
        from pullcheck.kube.gather import gather_pod

        client = _client(opts)
        snapshot = gather_pod(client, client.namespace, name)
        opts.log(f"{client.requests_made} API requests")
    if save:
        save_bundle(snapshot, save)
        click.echo(f"saved {snapshot.namespace}/{snapshot.name} to {save}", err=True)
    report = diagnose.diagnose_pod(snapshot, container=container)
    click.echo(render.render_pod(report, opts.output, color=opts.color), nl=False)
    sys.exit(report.exit_code)


@cli.command("explain")
@click.argument("message", nargs=-1, required=True)
@_global_options
def explain_command(message: tuple[str, ...]) -> None:
    """Classify a kubelet/runtime MESSAGE (from an alert or a chat; '-' reads stdin)."""
    from pullcheck import diagnose, render

    opts = settings()
    text = sys.stdin.read() if message == ("-",) else " ".join(message)
    if not text.strip():
        raise UsageError("MESSAGE is empty")
    report = diagnose.explain_message(text)
    click.echo(render.render_explanation(report, opts.output, color=opts.color), nl=False)
    sys.exit(report.exit_code)


@cli.command("node")
@click.argument("name", required=False)
@_global_options
def node_command(name: str | None) -> None:
    """Probe pulling from a node (not available yet)."""
    raise UsageError("`node` is not available yet in this version; use `pod NAME` for now")


def _client(opts: Settings):  # -> pullcheck.kube.client.KubeClient
    from pullcheck.kube import config
    from pullcheck.kube.client import KubeClient

    cluster = config.load(opts.kubeconfig, opts.context, opts.namespace)
    opts.log(f"API server {cluster.host}, context {cluster.context or '(in-cluster)'}, namespace {cluster.namespace}")
    return KubeClient(cluster, timeout=opts.request_timeout, log=opts.log if opts.verbose else None)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn every failure into one line and an exit code."""
    verbose = "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv)
    try:
        cli.main(args=argv, prog_name="kubectl pullcheck", standalone_mode=False)
    except PullcheckError as exc:
        click.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        if verbose:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback; please report it)",
                   err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)
