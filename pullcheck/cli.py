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


_PROBE_KEY = "pullcheck.probe"


def _remember_probe(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep the registry probe options given explicitly, for _probe_settings."""
    if ctx.get_parameter_source(param.name or "") not in (click.core.ParameterSource.DEFAULT, None):
        ctx.meta.setdefault(_PROBE_KEY, {})[param.name] = value
    return value


def _probe_options(func: Callable, *, watch: bool = False) -> Callable:
    timeout_help = "Budget of each image's registry probe (default: 20)" + (
        "; with --watch: how long to follow the pods (default: 600)." if watch else ".")
    options = [
        click.option("--timeout", type=click.FloatRange(min=0.5), metavar="SECONDS", help=timeout_help,
                     expose_value=False, callback=_remember_probe),
        click.option("--dns-server", metavar="IP[:PORT]",
                     help="Resolve registry hosts through this DNS server (e.g. the nodes' resolver).",
                     expose_value=False, callback=_remember_probe),
        click.option("--ca-file", metavar="PATH", type=click.Path(exists=True, dir_okay=False),
                     help="Also trust this CA bundle (PEM), as the nodes do through certs.d.",
                     expose_value=False, callback=_remember_probe),
        click.option("--insecure-registry", "insecure_registries", metavar="HOST[:PORT]", multiple=True,
                     help="Speak plain HTTP to this registry (repeatable).", expose_value=False,
                     callback=_remember_probe),
        click.option("--secret", metavar="NS/NAME",
                     help="Probe with this pull secret's credentials (read from the cluster) instead.",
                     expose_value=False, callback=_remember_probe),
        click.option("--no-creds", is_flag=True, default=None, help="Probe anonymously.",
                     expose_value=False, callback=_remember_probe),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _probe_and_watch_options(func: Callable) -> Callable:
    """The probe options of a command that also has --watch, where --timeout bounds the watch too."""
    return _probe_options(func, watch=True)


def _probe_settings(opts: Settings, default_from: str, client=None):  # -> pullcheck.probing.ProbeSettings
    """The probe options given; --secret is read from the cluster here (its values stay in memory)."""
    from pullcheck import probing

    given = click.get_current_context().meta.get(_PROBE_KEY, {})
    if given.get("secret") and given.get("no_creds"):
        raise UsageError("--secret and --no-creds exclude each other")
    credentials_from, secret = default_from, None
    if given.get("no_creds"):
        credentials_from = probing.FROM_NONE
    elif given.get("secret"):
        credentials_from = probing.FROM_SECRET
        secret = probing.read_secret(client or _client(opts), given["secret"])
    return probing.ProbeSettings(timeout=given.get("timeout", 20.0), dns_server=given.get("dns_server"),
                                 ca_file=given.get("ca_file"),
                                 insecure_registries=tuple(given.get("insecure_registries") or ()),
                                 credentials_from=credentials_from, secret=secret)


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
      kubectl pullcheck scan -A
      kubectl pullcheck pod web-7d4b9c-x2x9q -n shop --watch
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
@click.option("--probe", is_flag=True,
              help="Also probe the registry from here (with the pod's pull secrets) to settle the cause.")
@click.option("--on-node", is_flag=True,
              help="Also pull the failing images on the pod's node through its own runtime, from a short-lived "
                   "probe pod (see `node`), to tell configuration problems from infrastructure ones.")
@click.option("--probe-image", metavar="REF", help="With --on-node: image of the probe pod.")
@click.option("--probe-namespace", metavar="NS", help="With --on-node: namespace of the probe pod (default: kube-system).")
@click.option("--compare", is_flag=True,
              help="With --on-node: also probe a healthy node (one that has the image cached, where the owner's other "
                   "pods run) and put the two side by side.")
@click.option("--compare-with", metavar="NODE", help="With --on-node: compare with this node instead.")
@click.option("--with-credentials", is_flag=True,
              help="With --on-node: pull with the credentials the kubelet would use (the pod's pull secrets, or "
                   "--secret NS/NAME to try a fix), passed through a short-lived Secret owned by the probe pod.")
@click.option("--watch", is_flag=True,
              help="Follow the pod (a watch) until its images pull, following a replacement pod in a rollout, or "
                   "--timeout (default 600s) passes; progress on stderr at a terminal. Exit 0 recovered, 1 not.")
@_probe_and_watch_options
@_global_options
def pod_command(name: str | None, capture: str | None, container: str | None, save: str | None,
                probe: bool, on_node: bool, probe_image: str | None, probe_namespace: str | None,
                compare: bool, compare_with: str | None, with_credentials: bool, watch: bool) -> None:
    """Diagnose image pull problems of pod NAME."""
    from pullcheck import diagnose, render
    from pullcheck.snapshot import load_capture, save_bundle

    opts = settings()
    if watch:
        _watch_pod(opts, name, container, capture=capture, save=save, probe=probe, on_node=on_node,
                   with_credentials=with_credentials)
    if (compare or compare_with or with_credentials) and not on_node:
        raise UsageError("--compare, --compare-with and --with-credentials need --on-node")
    given = click.get_current_context().meta.get(_PROBE_KEY, {})
    if with_credentials and given.get("no_creds"):
        raise UsageError("--with-credentials and --no-creds exclude each other")
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
    if probe:
        from pullcheck import probing

        probe_settings = _probe_settings(opts, probing.FROM_POD, None if capture else client)
        probes = probing.probe_pod(snapshot, report, probe_settings, log=opts.log if opts.verbose else None)
        report = diagnose.diagnose_pod(snapshot, container=container, probes=probes)
    elif given and not (with_credentials and set(given) == {"secret"}):
        raise UsageError("the registry probe options need --probe (--secret also works with --with-credentials)")
    if not on_node:
        click.echo(render.render_pod(report, opts.output, color=opts.color), nl=False)
        sys.exit(report.exit_code)
    if capture:
        raise UsageError("--on-node runs a probe pod on the cluster; it cannot be combined with -f")
    from pullcheck.node import command as node
    from pullcheck.report import PROBLEM_STATUSES

    node_name, all_images, _ = node.pod_probe_targets(snapshot.pod)
    images = list(dict.fromkeys(c.image.written for c in report.containers if c.status in PROBLEM_STATUSES))
    request = node.node_request(node_name, images=images or all_images, registries=(), probe_image=probe_image,
                                namespace=probe_namespace, timeout=180)
    if with_credentials:
        from pullcheck import probing
        from pullcheck.node import credentials as node_credentials

        secret = probing.read_secret(client, given["secret"]) if given.get("secret") else None
        request = node_credentials.with_pod_credentials(request, snapshot, secret)
    if compare or compare_with:
        from pullcheck.node.compare import compare_probe

        text, code = compare_probe(client, snapshot, report, request, output=opts.output, color=opts.color,
                                   compare_node=compare_with)
        click.echo(text, nl=False)
        sys.exit(code)
    node_report = node.run_node_report(client, request)
    if with_credentials:
        conclusions = node_credentials.credential_conclusions(node_report, request)
    else:
        conclusions = node.node_conclusions(node_report, request.images)
    click.echo(render.render_pod_with_node(report, node_report, conclusions, opts.output, color=opts.color), nl=False)
    sys.exit(max(report.exit_code, node_report.exit_code))


def _watch_pod(opts: Settings, name: str | None, container: str | None, **excluded: Any) -> None:
    """`pod NAME --watch`: follow the live pod until it recovers; exits."""
    given = click.get_current_context().meta.get(_PROBE_KEY, {})
    if any(excluded.values()) or set(given) - {"timeout"}:
        raise UsageError("--watch follows the live pod: it cannot be combined with -f, --save, --probe, --on-node "
                         "or the registry probe options")
    if not name:
        raise UsageError("pod NAME is required")
    from pullcheck.watch import watch_pod
    from pullcheck.watch_render import TerminalProgress, render_watch

    client = _client(opts)
    outcome = watch_pod(client, client.namespace, name, container=container, timeout=given.get("timeout", 600.0),
                        progress=TerminalProgress() if sys.stderr.isatty() else None)
    opts.log(f"{client.requests_made} API requests")
    click.echo(render_watch(outcome, opts.output, color=opts.color), nl=False)
    sys.exit(outcome.exit_code)


@cli.command("scan")
@click.option("-A", "--all-namespaces", is_flag=True, help="Scan every namespace (default: the current one).")
@click.option("-l", "--selector", metavar="SELECTOR", help="Only pods matching this label selector (e.g. app=web).")
@click.option("--probe", is_flag=True,
              help="Also probe each distinct failing image at its registry from here (anonymously unless --secret).")
@click.option("--watch", is_flag=True,
              help="Then follow the failing pods and their workloads' new pods (a watch) until all pull, or --timeout "
                   "(default 600s) passes. Exit 0 recovered, 1 not.")
@_probe_and_watch_options
@_global_options
def scan_command(all_namespaces: bool, selector: str | None, probe: bool, watch: bool) -> None:
    """Find every pod with an image pull problem, grouped by cause and image.

    Shows the workloads, the nodes that fail (and those that run the same image), whether only new pods
    fail or pods that ran before too, and one summary line for the incident channel.
    Exit codes: 0 no pull problem, 1 pods cannot pull, 2 usage, 3 cluster access error.
    """
    from pullcheck.scan.command import scan
    from pullcheck.scan.render import render_scan

    opts = settings()
    given = click.get_current_context().meta.get(_PROBE_KEY, {})
    if watch and (probe or set(given) - {"timeout"}):
        raise UsageError("--watch cannot be combined with --probe or the registry probe options")
    client = _client(opts)
    probe_settings = None
    if probe:
        from pullcheck import probing

        probe_settings = _probe_settings(opts, probing.FROM_NONE, client)
    elif given and not watch:
        raise UsageError("the registry probe options need --probe")
    report = scan(client, namespace=None if all_namespaces else client.namespace, selector=selector,
                  probe_settings=probe_settings, log=opts.log if opts.verbose else None)
    opts.log(f"{client.requests_made} API requests")
    if not watch:
        click.echo(render_scan(report, opts.output, color=opts.color), nl=False)
        sys.exit(report.exit_code)
    from pullcheck.scan.follow import follow_scope
    from pullcheck.scan.render import render_scan_watch
    from pullcheck.watch_render import TerminalProgress

    if opts.output not in ("json", "yaml"):
        click.echo(render_scan(report, opts.output, color=opts.color), nl=False)
    followed = follow_scope(client, report, timeout=given.get("timeout", 600.0),
                            progress=TerminalProgress() if sys.stderr.isatty() else None)
    click.echo(render_scan_watch(followed, opts.output, color=opts.color), nl=False)
    sys.exit(followed.exit_code)


@cli.command("stats")
@click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace (default: the current one).")
@_global_options
def stats_command(all_namespaces: bool) -> None:
    """Pull attempts, failures and pull times by registry and node, from the events the cluster still holds.

    Flags registries failing > 5% of at least 20 attempts and pulls over 2 min of images under 500 MiB.
    Exit codes: 0 nothing flagged, 1 a threshold is exceeded, 2 usage, 3 cluster access error.
    """
    from pullcheck.stats.command import run_stats

    opts = settings()
    client = _client(opts)
    text, code = run_stats(client, namespace=None, all_namespaces=all_namespaces, output=opts.output,
                           color=opts.color)
    opts.log(f"{client.requests_made} API requests")
    click.echo(text, nl=False)
    sys.exit(code)


@cli.command("lint")
@click.option("-f", "--filename", "paths", multiple=True, metavar="FILE|DIR|-",
              help="Manifests to lint: YAML (multi-document, Lists, Helm output) or JSON; a directory is walked; "
                   "'-' reads stdin (repeatable).")
@click.option("--live", is_flag=True, help="Lint the workloads deployed in the namespace (or -A) instead of files.")
@click.option("-A", "--all-namespaces", is_flag=True, help="With --live: every namespace.")
@click.option("--allowed-registry", "allowed_registries", multiple=True, metavar="HOST[:PORT][/PATH]",
              help="Only these registries (or registry path prefixes) are allowed (repeatable).")
@click.option("--probe", is_flag=True,
              help="Also check at the registry that each image exists (and serves --platform); offers digests.")
@click.option("--platform", "platforms", multiple=True, metavar="OS/ARCH[/VARIANT]",
              help="With --probe: platforms each image must serve (repeatable, e.g. linux/amd64 linux/arm64).")
@click.option("--ignore-rule", "ignore_rules", multiple=True, metavar="RULE", help="Skip this rule (repeatable).")
@click.option("--warn-only", is_flag=True, help="Report errors but exit 0.")
@click.option("--format", "fmt", type=click.Choice(["github"]),
              help="GitHub Actions annotations (::error file=...,line=...) instead of -o.")
@_probe_options
@_global_options
def lint_command(paths: tuple[str, ...], live: bool, all_namespaces: bool, allowed_registries: tuple[str, ...],
                 probe: bool, platforms: tuple[str, ...], ignore_rules: tuple[str, ...], warn_only: bool,
                 fmt: str | None) -> None:
    """Check the images of manifests before `kubectl apply` (or of what is deployed, with --live).

    Flags invalid references, :latest or no tag, no digest pin, pull policies that contradict the tag,
    registries outside --allowed-registry, private registries with no pull secret; pull secrets (with --live,
    or shipped in the input) that are missing, ignored by the kubelet, for another registry or expired; with
    --probe, images that do not exist or lack a platform.
    Exit codes: 0 no errors (warnings allowed), 1 errors found (0 with --warn-only), 2 usage or input error,
    3 cluster access error.
    """
    from pullcheck.lint.command import run_lint

    opts = settings()
    if live and paths:
        raise UsageError("lint reads either files (-f) or the cluster (--live), not both")
    if not live and not paths:
        raise UsageError("name the manifests to lint with -f FILE|DIR|- (or --live for what is deployed)")
    if click.get_current_context().meta.get(_PROBE_KEY) and not probe:
        raise UsageError("the registry probe options need --probe")
    client = _client(opts) if live else None
    probe_settings = None
    if probe:
        from pullcheck import probing

        probe_settings = _probe_settings(opts, probing.FROM_NONE, client)
    text, code = run_lint(paths, live_client=client, namespace=opts.namespace, all_namespaces=all_namespaces,
                          allowed_registries=allowed_registries, probe=probe, probe_settings=probe_settings,
                          platform=platforms, ignore_rules=ignore_rules, output=fmt or opts.output,
                          warn_only=warn_only, color=opts.color, log=opts.log if opts.verbose else None)
    click.echo(text, nl=False)
    sys.exit(code)


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


@cli.command("image")
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("--platform", metavar="OS/ARCH[/VARIANT]",
              help="Check that the image has this platform (e.g. linux/arm64 for arm nodes).")
@_probe_options
@_global_options
def image_command(refs: tuple[str, ...], platform: str | None) -> None:
    """Probe images at their registries from here, with no pod (e.g. before a deploy).

    Exit codes: 0 every image is pullable, 1 one is not, 2 an invalid reference.
    """
    from pullcheck import probing
    from pullcheck.diagnose import image_info
    from pullcheck.render_probe import render_images
    from pullcheck.report import ImageCheck

    opts = settings()
    wanted = probing.parse_platform(platform) if platform else None
    probe_settings = _probe_settings(opts, probing.FROM_NONE)
    parsed = [image_info(ref) for ref in refs]
    probes = iter(probing.probe_references([ref for _, ref in parsed if ref is not None], wanted, probe_settings,
                                           log=opts.log if opts.verbose else None))
    check = ImageCheck([(info, next(probes) if ref is not None else None) for info, ref in parsed])
    click.echo(render_images(check, opts.output, color=opts.color), nl=False)
    sys.exit(check.exit_code)


@cli.command("node")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--all", "all_nodes", is_flag=True,
              help="Probe every Ready, schedulable Linux node (NotReady/cordoned ones are skipped, with the reason).")
@click.option("-l", "--selector", metavar="SELECTOR",
              help="Probe the nodes matching this label selector (NotReady/cordoned ones are skipped).")
@click.option("--parallel", type=click.IntRange(1, 50), default=5, show_default=True, metavar="N",
              help="With several nodes: how many probe pods run at once.")
@click.option("--image", "images", multiple=True, metavar="REF",
              help="Pull REF through the node's runtime, anonymously (repeatable).")
@click.option("--registry", "registries", multiple=True, metavar="HOST",
              help="Check DNS and HTTPS to HOST from the node (repeatable; --image registries are added).")
@click.option("--probe-image", metavar="REF",
              help="Image of the probe pod (default: a shell image the node has, else a pinned busybox).")
@click.option("--probe-namespace", metavar="NS", help="Namespace of the probe pod (default: kube-system).")
@click.option("--timeout", type=click.IntRange(min=10), default=180, show_default=True, metavar="SECONDS",
              help="Limit for the whole probe: pod start, checks, pulls.")
@click.option("--dry-run", is_flag=True, help="Print the probe pod manifest as YAML; create nothing.")
@_global_options
def node_command(names: tuple[str, ...], all_nodes: bool, selector: str | None, parallel: int,
                 images: tuple[str, ...], registries: tuple[str, ...], probe_image: str | None,
                 probe_namespace: str | None, timeout: int, dry_run: bool) -> None:
    """Probe pulling on nodes from short-lived privileged pods (deleted afterwards).

    Checks DNS and HTTPS to each registry, pulls each --image through the node's container runtime,
    and reads the runtime's proxy settings, registry config, credential-provider flags and free disk.
    Several nodes (NAME..., --all, -l) are probed in parallel and shown as a node x check matrix.
    Exit codes: 0 all checks passed, 1 a check failed, 2 usage, 3 the probe could not run.
    """
    opts = settings()
    common = dict(images=images, registries=registries, probe_image=probe_image, namespace=probe_namespace,
                  timeout=timeout, dry_run=dry_run, output=opts.output, color=opts.color)
    if len(names) == 1 and not all_nodes and not selector:
        from pullcheck.node.command import node_probe

        text, code = node_probe(lambda: _client(opts), names[0], **common)
    elif names or all_nodes or selector:
        from pullcheck.node.fleet import fleet_probe

        text, code = fleet_probe(lambda: _client(opts), all_nodes=all_nodes, selector=selector, names=names,
                                 parallel=parallel, **common)
    else:
        raise UsageError("name the nodes to probe: NAME..., --all or -l SELECTOR")
    click.echo(text, nl=False)
    sys.exit(code)


@cli.command("cleanup")
@click.option("--probe-namespace", metavar="NS", help="Namespace of the probe pods (default: kube-system).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Delete probe pods in every namespace.")
@_global_options
def cleanup_command(probe_namespace: str | None, all_namespaces: bool) -> None:
    """Delete probe pods left behind (label app.kubernetes.io/managed-by=kubectl-pullcheck)."""
    from pullcheck.node.command import cleanup_probe_pods

    click.echo(cleanup_probe_pods(_client(settings()), probe_namespace, all_namespaces), nl=False)


def _client(opts: Settings):  # -> pullcheck.kube.client.KubeClient
    from pullcheck.kube import config
    from pullcheck.kube.client import KubeClient

    cluster = config.load(opts.kubeconfig, opts.context, opts.namespace)
    via = ""
    if cluster.proxy:
        from pullcheck.registry.proxy import redact_proxy_url

        via = f", through proxy {redact_proxy_url(cluster.proxy)}"
    opts.log(f"API server {cluster.host}, context {cluster.context or '(in-cluster)'}, namespace {cluster.namespace}"
             + via)
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
