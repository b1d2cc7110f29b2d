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


# ---------------------------------------------------------------------------------- pulls with credentials
WRONG_PASSWORD = "not-the-password-4711"


def auth_line(image: str, label: str, user: str, password: str) -> str:
    return f"{image}\t{label}\t{base64.b64encode(f'{user}:{password}'.encode()).decode()}\n"


def secret_forms(user: str, password: str) -> List[str]:
    """Every form a credential could leak in."""
    return [password, f"{user}:{password}", base64.b64encode(f"{user}:{password}".encode()).decode(), user]


def run_with_credentials(args: List[str], lines: str, tmp_path: Path, node: Containerd, *,
                         path: Optional[str] = None, env: Optional[Dict[str, str]] = None
                         ) -> "subprocess.CompletedProcess[str]":
    """The probe pod's credentials command: the Secret's file (mode 0400, as the kubelet mounts it) is
    opened as descriptor 3 by the wrapper shell, which then runs the script (here without chroot)."""
    volume = tmp_path / "secret-volume"
    volume.mkdir()
    secret_file = volume / podspec.CREDENTIALS_KEY
    secret_file.write_text(lines)
    secret_file.chmod(podspec.CREDENTIALS_FILE_MODE)
    pod = podspec.probe_pod(name="p", node="n", namespace="ns", image="busybox", script=podspec.probe_script(),
                            args=args, deadline_seconds=60, credentials_secret="p-creds")
    command = pod["spec"]["containers"][0]["command"]
    assert command[:2] == ["/bin/sh", "-c"] and "exec chroot /host /bin/sh" in command[2]
    assert command[-2:] == ["--credentials-fd", "3"]
    wrapper = command[2].replace("chroot /host ", "").replace(podspec.CREDENTIALS_MOUNT, str(volume))
    full_env = {"PATH": path or os.environ["PATH"], "LC_ALL": "C", "PULLCHECK_RUNTIME_PID": str(node.pid)}
    full_env.update(env or {})
    return subprocess.run([command[0], command[1], wrapper, *command[3:]], capture_output=True, text=True,
                          env=full_env, timeout=120)


@pytest.fixture(scope="module")
def credential_run(containerd_node: Containerd, plain_registry, basic_registry, tmp_path_factory) -> Iterator[tuple]:
    """One run: the right credentials; a wrong one before the right one (the kubelet tries both); only a
    wrong one; none for a public image and none for a private one."""
    from tests.harness import PASSWORD, USER

    basic, plain = basic_registry.host, plain_registry.host
    images = {"right": f"{basic}/private/hello:v1", "wrong-then-right": f"{basic}/private/hello:v2",
              "wrong": f"{basic}/private/nosuch:v1", "public": f"{plain}/test/hello:v1.2.3",
              "private-without": f"{basic}/private/hello:latest"}
    for image in images.values():
        containerd_node.remove_image(image)
    lines = (auth_line(images["right"], "secret:shop/right", USER, PASSWORD)
             + auth_line(images["wrong-then-right"], "secret:shop/wrong", USER, WRONG_PASSWORD)
             + auth_line(images["wrong-then-right"], "secret:shop/right", USER, PASSWORD)
             + auth_line(images["wrong"], "secret:shop/wrong", USER, WRONG_PASSWORD))
    args = ["--pull-timeout", "20"]
    for image in images.values():
        args += ["--image", image]
    done = run_with_credentials(args, lines, tmp_path_factory.mktemp("creds"), containerd_node)
    assert done.returncode == 0, done.stderr
    output = parse_records(done.stdout)
    assert output.complete and not output.noise, done.stdout + done.stderr
    yield images, output, done


def test_right_credentials_pull_and_are_named_not_shown(credential_run) -> None:
    images, output, _ = credential_run
    record = output.one("pull", images["right"])
    assert record.status == "ok" and record.fields["via"] == "ctr"
    assert record.fields["auth"] == "secret:shop/right" and "attempt" not in record.fields
    summary = output.one("credentials")
    assert summary.status == "info" and summary.subject == "fd 3"
    assert summary.detail.startswith("4 credential(s) for 3 image(s)")


def test_the_kubelet_order_a_wrong_credential_then_the_right_one(credential_run) -> None:
    images, output, _ = credential_run
    record = output.one("pull", images["wrong-then-right"])
    assert record.status == "ok"
    assert record.fields["auth"] == "secret:shop/right" and record.fields["attempt"] == "2 of 2"
    assert record.body.startswith("attempt 1 with secret:shop/wrong: ctr: failed to resolve reference")
    assert "401 Unauthorized" in record.body


def test_wrong_credentials_are_a_401_with_the_secret_named(credential_run) -> None:
    images, output, _ = credential_run
    record = output.one("pull", images["wrong"])
    assert record.status == "fail" and record.fields["auth"] == "secret:shop/wrong"
    assert "401 Unauthorized" in pull_error(record)
    assert classify_pull(record).cause in ("auth-missing", "auth-rejected")


def test_images_without_credentials_pull_anonymously(credential_run) -> None:
    images, output, _ = credential_run
    public = output.one("pull", images["public"])
    assert public.status == "ok" and public.fields["auth"] == "none"
    private = output.one("pull", images["private-without"])
    assert private.status == "fail" and private.fields["auth"] == "none" and "401 Unauthorized" in pull_error(private)


def test_no_credential_byte_in_the_output(credential_run) -> None:
    from tests.harness import PASSWORD, USER

    _, output, done = credential_run
    everything = done.stdout + done.stderr + "".join(r.subject + r.detail for r in output.records)
    for leaked in secret_forms(USER, PASSWORD) + secret_forms(USER, WRONG_PASSWORD)[:3]:
        assert leaked not in everything


STUB_CRICTL = r"""#!/bin/sh
# stand-in crictl: advertises CRICTL_AUTH in `pull --help` (unless STUB_OLD is set); a pull notes its
# arguments, its CRICTL_AUTH and its open descriptors, then fails echoing the credentials it got
if [ "$1" = pull ] && [ "$2" = --help ]; then
    [ -n "${STUB_OLD:-}" ] || echo '   --auth AUTH_STRING  Use AUTH_STRING for accessing the registry [$CRICTL_AUTH]'
    exit 0
fi
{ for arg in "$@"; do echo "arg $arg"; done
  echo "env ${CRICTL_AUTH:-}"; } >> "$STUB_LOG"
/bin/ls -l /proc/$$/fd/ >> "$STUB_LOG"
auth=${CRICTL_AUTH:-}
prev=""
for arg in "$@"; do case $prev in --auth) auth=$arg ;; esac; prev=$arg; done
decoded=$(printf '%s' "$auth" | base64 -d)
echo "time=\"x\" level=fatal msg=\"pulling image: rpc error: code = Unknown desc = auth $auth for $decoded refused\"" >&2
exit 1
"""


@pytest.mark.parametrize("old", [False, True])
def test_crictl_gets_the_credentials_in_its_environment_not_its_arguments(
        containerd_node: Containerd, tmp_path: Path, old: bool) -> None:
    from tests.harness import PASSWORD, USER

    path = tool_dir(tmp_path, BASE_TOOLS)
    stub = Path(path) / "crictl"
    stub.write_text(STUB_CRICTL)
    stub.chmod(0o755)
    log = tmp_path / "crictl.log"
    image = "registry.pullcheck.test/private/app:v1"
    env = {"STUB_LOG": str(log), "STUB_OLD": "1" if old else ""}
    done = run_with_credentials(["--image", image], auth_line(image, "secret:shop/right", USER, PASSWORD),
                                tmp_path, containerd_node, path=path, env=env)
    seen = log.read_text().splitlines()
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    args = [line[4:] for line in seen if line.startswith("arg ")]
    assert args[0] == "--debug=false"
    if old:       # a crictl without CRICTL_AUTH: --auth, the only other way
        assert args[-4:] == ["pull", "--auth", auth, image] and "env " in seen
    else:
        assert args[-2:] == ["pull", image] and f"env {auth}" in seen
        assert not any(PASSWORD in a or auth in a for a in args)
    open_files = [line for line in seen if " -> " in line]
    assert open_files and not [line for line in open_files if "secret-volume" in line]   # descriptor 3 was closed
    record = parse_records(done.stdout).one("pull", image)
    assert record.status == "fail" and record.fields["via"] == "crictl" and record.fields["auth"] == "secret:shop/right"
    assert "auth *** for *** refused" in record.body
    for leaked in secret_forms(USER, PASSWORD):
        assert leaked not in done.stdout + done.stderr + record.detail


def test_nerdctl_is_not_given_credentials(containerd_node: Containerd, tmp_path: Path) -> None:
    path = tool_dir(tmp_path, BASE_TOOLS)
    stub = Path(path) / "nerdctl"
    stub.write_text("#!/bin/sh\necho pulled\n")
    stub.chmod(0o755)
    private, public = "registry.pullcheck.test/private/app:v1", "registry.pullcheck.test/public/app:v1"
    done = run_with_credentials(["--image", private, "--image", public], auth_line(private, "secret:shop/s", "u", "pw"),
                                tmp_path, containerd_node, path=path)
    output = parse_records(done.stdout)
    skipped = output.one("pull", private)
    assert skipped.status == "skip" and "nerdctl takes credentials only from a docker config file" in skipped.detail
    assert output.one("pull", public).status == "ok" and output.one("pull", public).fields["auth"] == "none"


def test_ctr_refuses_an_empty_password_instead_of_prompting(containerd_node: Containerd, plain_registry,
                                                            tmp_path: Path) -> None:
    image = f"{plain_registry.host}/test/hello:v1"
    done = run_with_credentials(["--image", image], auth_line(image, "secret:shop/s", "robot", ""), tmp_path,
                                containerd_node)
    record = parse_records(done.stdout).one("pull", image)
    assert record.status == "fail" and "ctr cannot pull with an empty user name or password" in record.body


def test_unreadable_credentials_skip_the_pulls(containerd_node: Containerd, plain_registry) -> None:
    image = f"{plain_registry.host}/test/hello:v1"
    output = probe(["--image", image, "--credentials-fd", "5"], containerd_node)
    assert output.one("credentials").status == "fail"
    pull = output.one("pull", image)
    assert pull.status == "skip" and "the credentials could not be read" in pull.detail
    done = run_script(["--credentials-fd", "1"])
    assert done.returncode == 2 and "from 3 to 9" in parse_records(done.stdout).records[0].detail
