"""probe.sh on this machine as the "node": a real containerd (private socket) pulling from real
docker-registry instances, run exactly as the probe pod runs it (`/bin/sh -c SCRIPT pullcheck-probe
ARGS`, here without chroot). Fallbacks are forced with a PATH of symlinks; node files (proxy
settings, registry configs, a kubelet's flags) come from a fake root via PULLCHECK_ROOT."""
from __future__ import annotations

import base64
import os
import platform
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional

import pytest

from pullcheck.node import podspec
from pullcheck.node.records import ProbeOutput, classify_pull, http_stage, parse_records, pull_error
from tests.harness.containerd import Containerd

# what the script needs from the node besides the HTTP and runtime tools
BASE_TOOLS = ("sh", "cat", "tr", "awk", "sed", "grep", "base64", "mktemp", "rm", "uname", "sort", "cmp", "df",
              "dirname", "head", "tail", "date", "cp", "getent", "timeout", "mkdir")


def run_script(args: List[str], *, env: Optional[Dict[str, str]] = None, path: Optional[str] = None,
               timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    """The probe pod's command minus `chroot /host`."""
    pod = podspec.probe_pod(name="p", node="n", namespace="ns", image="busybox", script=podspec.probe_script(),
                            args=args, deadline_seconds=60)
    command = pod["spec"]["containers"][0]["command"]
    assert command[:3] == ["chroot", "/host", "/bin/sh"]
    full_env = {"PATH": path or os.environ["PATH"], "LC_ALL": "C"}
    full_env.update(env or {})
    return subprocess.run(command[2:], capture_output=True, text=True, env=full_env, timeout=timeout)


def probe(args: List[str], node: Optional[Containerd] = None, **kwargs) -> ProbeOutput:
    env = dict(kwargs.pop("env", None) or {})
    if node is not None:
        env["PULLCHECK_RUNTIME_PID"] = str(node.pid)
    done = run_script(args, env=env, **kwargs)
    assert done.returncode == 0, done.stderr
    output = parse_records(done.stdout)
    assert output.complete and not output.noise, done.stdout + done.stderr
    return output


def tool_dir(tmp_path: Path, tools: Iterable[str]) -> str:
    """A PATH directory holding only `tools` (symlinks to the real ones)."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for tool in tools:
        real = shutil.which(tool)
        if not real:
            pytest.skip(f"{tool} is not installed (apt-get install --no-install-recommends curl wget)")
        (directory / tool).symlink_to(real)
    return str(directory)


@pytest.fixture(scope="module")
def pull_run(containerd_node: Containerd, plain_registry, basic_registry) -> Iterator[ProbeOutput]:
    """One probe run with every pull case (anonymous, as the probe always pulls)."""
    good = f"{plain_registry.host}/test/hello:v1"
    containerd_node.remove_image(good)
    images = [good, f"{plain_registry.host}/test/hello:nope", f"{plain_registry.host}/nosuch/repo:v1",
              f"{basic_registry.host}/private/hello:v1", "127.0.0.1:1/test/hello:v1", "nosuch.invalid/test/hello:v1"]
    args = ["--pull-timeout", "20"]
    for image in images:
        args += ["--image", image]
    for host in (plain_registry.host, "127.0.0.1:1", "nosuch.invalid"):
        args += ["--registry", host]
    yield probe(args, containerd_node)


def test_good_image_pulls_through_ctr(pull_run: ProbeOutput, plain_registry) -> None:
    record = pull_run.one("pull", f"{plain_registry.host}/test/hello:v1")
    assert record is not None and record.status == "ok"
    assert record.fields["via"] == "ctr" and record.fields["exit"] == "0"
    assert classify_pull(record) is None


@pytest.mark.parametrize("image, cause, quoted", [
    ("{plain}/test/hello:nope", "tag-not-found", "{plain}/test/hello:nope: not found"),
    ("{plain}/nosuch/repo:v1", "tag-not-found", "{plain}/nosuch/repo:v1: not found"),
    ("{basic}/private/hello:v1", "auth-missing", "401 Unauthorized"),
    ("127.0.0.1:1/test/hello:v1", "connection-refused", "dial tcp 127.0.0.1:1: connect: connection refused"),
    ("nosuch.invalid/test/hello:v1", "dns", "lookup nosuch.invalid on "),
])
def test_failed_pulls_are_classified(pull_run: ProbeOutput, plain_registry, basic_registry, image: str, cause: str,
                                     quoted: str) -> None:
    image = image.format(plain=plain_registry.host, basic=basic_registry.host)
    record = pull_run.one("pull", image)
    assert record is not None and record.status == "fail"
    assert record.fields["via"] == "ctr" and record.fields["exit"] != "0"
    error = pull_error(record)
    assert error.startswith(f'ctr: failed to resolve reference "{image}": ')     # not ctr's level=info lines
    assert quoted.format(plain=plain_registry.host) in error
    classified = classify_pull(record)
    assert classified is not None and classified.cause == cause
    if image.endswith("nosuch/repo:v1"):
        assert "image-not-found" in [c.cause for c in classified.candidates]


def test_registry_reachability(pull_run: ProbeOutput, plain_registry) -> None:
    plain = plain_registry.host
    assert pull_run.one("dns", plain).status == "skip"                            # an IP address
    https = pull_run.one("https", plain)
    assert https.status == "fail" and http_stage(https) == "tls"                  # plain HTTP registry
    http = pull_run.one("http", plain)
    assert http.status == "ok" and http.fields["http_status"] == "200"
    refused = pull_run.one("https", "127.0.0.1:1")
    assert refused.status == "fail" and http_stage(refused) == "connect"
    assert pull_run.one("http", "127.0.0.1:1") is None                          # no plain-HTTP retry after TCP
    assert pull_run.one("dns", "nosuch.invalid").status == "fail"
    assert http_stage(pull_run.one("https", "nosuch.invalid")) == "dns"


def test_node_context_of_the_real_runtime(pull_run: ProbeOutput, containerd_node: Containerd) -> None:
    runtime = pull_run.one("runtime", "containerd")
    assert runtime.status == "ok"
    assert f"config {containerd_node.config_path}" in runtime.detail
    assert f"socket {containerd_node.socket}" in runtime.detail
    config = pull_run.one("containerd-config", containerd_node.config_path)
    assert containerd_node.hosts_dir in config.detail
    image_fs = pull_run.one("image-fs")
    assert image_fs.subject == containerd_node.root and "GiB available" in image_fs.detail
    assert pull_run.one("arch").detail == platform.machine()
    assert pull_run.one("proxy-compare").status == "ok"


def test_hosts_toml_directories_are_listed(containerd_node: Containerd, tmp_path: Path) -> None:
    mirror = Path(containerd_node.hosts_dir) / "mirror.pullcheck.test"
    mirror.mkdir()
    try:
        (mirror / "hosts.toml").write_text('server = "https://mirror.pullcheck.test"\n'
                                           '[host."https://cache.pullcheck.test"]\n  capabilities = ["pull"]\n'
                                           '  [host."https://cache.pullcheck.test".header]\n'
                                           '    authorization = "Basic c2VjcmV0LXZhbHVl"\n')
        output = probe([], containerd_node)
    finally:
        shutil.rmtree(mirror)
    record = output.one("hosts-toml", "mirror.pullcheck.test")
    assert 'server = "https://mirror.pullcheck.test"' in record.detail and "capabilities" in record.detail
    assert "c2VjcmV0LXZhbHVl" not in record.detail


@pytest.fixture
def fake_node(tmp_path: Path) -> Iterator[Dict[str, str]]:
    """A node root with proxy settings, a containerd config holding a registry password, CRI-O's
    registries.conf, and two stand-in processes named containerd and kubelet (copies of sh that wait)."""
    root = tmp_path / "root"
    (root / "etc/containerd").mkdir(parents=True)
    (root / "etc/crio").mkdir(parents=True)
    (root / "etc/containers").mkdir(parents=True)
    (root / "etc/environment").write_text('PATH="/usr/bin"\nHTTPS_PROXY="http://proxyuser:s3cret-pw@proxy.corp:3128"\n'
                                          "export NO_PROXY=10.0.0.0/8,.svc\n")
    (root / "etc/containerd/config.toml").write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n'
        '  endpoint = ["https://mirror.corp"]\n'
        '[plugins."io.containerd.grpc.v1.cri".registry.configs."mirror.corp".auth]\n'
        '  username = "robot"\n  password = "hunter2-registry"\n')
    (root / "etc/containers/registries.conf").write_text(
        'unqualified-search-registries = ["docker.io"]\n[[registry]]\nlocation = "quay.io"\n')
    binaries = tmp_path / "procs"
    binaries.mkdir()
    waiter = binaries / "wait.sh"
    waiter.write_text("sleep 60\n:\n")
    processes = []
    try:
        for name, args, env in (
                ("containerd", [], {"HTTP_PROXY": "http://other:pw-runtime@proxy2.corp:8080", "NO_PROXY": "local"}),
                ("kubelet", ["--image-credential-provider-config=/etc/kubernetes/credential-provider.yaml",
                             "--image-credential-provider-bin-dir", "/usr/libexec/kubernetes"], {})):
            shutil.copy(shutil.which("sh"), binaries / name)
            processes.append(subprocess.Popen([str(binaries / name), str(waiter), *args], env=env,
                                              start_new_session=True))
        yield {"PULLCHECK_ROOT": str(root), "PULLCHECK_RUNTIME_PID": str(processes[0].pid),
               "PULLCHECK_KUBELET_PID": str(processes[1].pid)}
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_node_files_and_processes_without_leaking_secrets(fake_node: Dict[str, str], tmp_path: Path) -> None:
    done = run_script([], env=fake_node)
    output = parse_records(done.stdout)
    assert output.complete
    everything = done.stdout + done.stderr + "".join(r.detail for r in output.records)
    for secret in ("s3cret-pw", "pw-runtime", "hunter2-registry", "robot"):
        assert secret not in everything
    assert output.one("runtime-proxy", "containerd").detail.splitlines() == [
        "http_proxy=http://***@proxy2.corp:8080", "no_proxy=local"]
    assert output.one("etc-environment-proxy").detail.splitlines() == [
        "https_proxy=http://***@proxy.corp:3128", "no_proxy=10.0.0.0/8,.svc"]
    assert output.one("proxy-compare").status == "warn"
    config = output.one("containerd-config", "/etc/containerd/config.toml")
    assert 'endpoint = ["https://mirror.corp"]' in config.detail and 'mirrors."docker.io"' in config.detail
    crio = output.one("crio-registries")
    assert crio.status == "info" and 'location = "quay.io"' in crio.detail
    provider = output.one("credential-provider", "kubelet")
    assert provider.detail == "config /etc/kubernetes/credential-provider.yaml\nbin-dir /usr/libexec/kubernetes"
    assert not [line for line in done.stdout.splitlines() if not line.startswith("PULLCHECK\t")]


def test_wget_when_curl_is_missing(containerd_node: Containerd, plain_registry, tmp_path: Path) -> None:
    path = tool_dir(tmp_path, BASE_TOOLS + ("wget", "ctr"))
    output = probe(["--registry", plain_registry.host, "--registry", "127.0.0.1:1"], containerd_node, path=path)
    https = output.one("https", plain_registry.host)
    assert https.status == "fail" and https.fields["via"] == "wget" and http_stage(https) == "tls"
    http = output.one("http", plain_registry.host)
    assert http.status == "ok" and http.fields == {"via": "wget", "exit": "0", "http_status": "200"}
    refused = output.one("https", "127.0.0.1:1")
    assert refused.status == "fail" and http_stage(refused) == "connect"


def test_no_http_client_and_no_runtime_tool(containerd_node: Containerd, plain_registry, tmp_path: Path) -> None:
    path = tool_dir(tmp_path, BASE_TOOLS)
    image = f"{plain_registry.host}/test/hello:v1"
    output = probe(["--registry", plain_registry.host, "--image", image], containerd_node, path=path)
    assert output.one("https", plain_registry.host).status == "skip"
    assert output.one("pull", image).status == "skip"
    assert "no crictl, ctr or nerdctl" in output.one("pull", image).detail


def test_ctr_when_crictl_is_missing(containerd_node: Containerd, plain_registry, tmp_path: Path) -> None:
    path = tool_dir(tmp_path, BASE_TOOLS + ("ctr",))
    image = f"{plain_registry.host}/test/world:v1"
    containerd_node.remove_image(image)
    output = probe(["--image", image], containerd_node, path=path)
    record = output.one("pull", image)
    assert record.status == "ok" and record.fields["via"] == "ctr"


def test_records_survive_odd_output() -> None:
    encoded = base64.b64encode(b"line one\n\ttabbed\nline three").decode()
    text = (f"PULLCHECK\tdns\tr.example\tok\t{encoded}\r\nsh: 1: oops: not found\n"
            "PULLCHECK\tdns\tbroken\tok\tnot-base64!\nPULLCHECK\tdns\tx\tweird\t\n")
    output = parse_records(text)
    assert [(r.check, r.subject, r.detail) for r in output.records] == [
        ("dns", "r.example", "line one\n\ttabbed\nline three")]
    assert len(output.noise) == 3 and not output.complete


def test_bad_arguments_are_a_record(tmp_path: Path) -> None:
    done = run_script(["--bogus", "x"])
    assert done.returncode == 2
    record = parse_records(done.stdout).one("probe", "args")
    assert record.status == "fail" and "--bogus" in record.detail
    done = run_script(["--image"])
    assert done.returncode == 2 and "missing value after --image" in parse_records(done.stdout).records[0].detail


def test_end_to_end_through_the_fake_api_server(fake_cluster_factory, containerd_node: Containerd, plain_registry,
                                                 basic_registry) -> None:
    """`node vm` with a stand-in kubelet that runs the probe pod's real command on this machine."""
    import threading

    from pullcheck.kube.client import KubeClient
    from pullcheck.kube.config import load
    from pullcheck.node.report import build_report, render_node
    from pullcheck.node.runner import ProbeRequest, run_probe

    cluster = fake_cluster_factory("debug-node")
    namespace = podspec.DEFAULT_NAMESPACE

    def kubelet() -> None:
        while not cluster.list("Pod", namespace):
            time.sleep(0.02)
        pod = cluster.list("Pod", namespace)[0]
        name = pod["metadata"]["name"]
        command = pod["spec"]["containers"][0]["command"]
        done = subprocess.run(command[2:], capture_output=True, text=True, timeout=60,
                              env={"PATH": os.environ["PATH"], "PULLCHECK_RUNTIME_PID": str(containerd_node.pid)})
        cluster.set_log(name, podspec.CONTAINER, done.stdout, namespace)
        cluster.modify("Pod", name, lambda p: p.update(status={"phase": "Succeeded", "containerStatuses": [
            {"name": podspec.CONTAINER, "state": {"terminated": {"exitCode": done.returncode,
                                                                 "containerID": "containerd://1"}}}]}), namespace)

    thread = threading.Thread(target=kubelet, daemon=True)
    thread.start()
    good, missing = f"{plain_registry.host}/test/world:v1", f"{basic_registry.host}/private/hello:v2"
    containerd_node.remove_image(good)
    client = KubeClient(load(str(cluster.kubeconfig), None, None))
    result = run_probe(client, ProbeRequest(node="vm", images=(good, missing), registries=(plain_registry.host,),
                                            timeout=60, pull_timeout=20))
    thread.join(5)
    report = build_report(result)
    by_key = {(c.check, c.subject): c for c in report.checks}
    assert by_key[("pull", good)].status == "ok"
    assert (by_key[("pull", missing)].status, by_key[("pull", missing)].cause) == ("fail", "auth-missing")
    assert by_key[("https", plain_registry.host)].status == "info"          # plain HTTP registry, not a failure
    assert report.exit_code == 1 and cluster.list("Pod", namespace) == []
    table = render_node(report, "table", color=False)
    assert re.search(rf"^pull +{re.escape(missing)} +fail +auth-missing +", table, re.M)
    assert re.search(r"^1 of \d+ checks failed$", table, re.M)
    print(table)                     # the README's example output comes from here (pytest -s)
