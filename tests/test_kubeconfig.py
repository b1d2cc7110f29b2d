"""Loading cluster configuration without importing `kubernetes` (pullcheck.kube.kubeconfig_fast): kubectl's merge
rules, paths relative to each file, data vs file fields, token files, basic auth, in-cluster service accounts, the
fall-back to the `kubernetes` loaders, and equivalence: for every fixture kubeconfig the fast path gives the
ClusterConfig the loaders give."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pullcheck.errors import ClusterError, UsageError
from pullcheck.kube import config as pc_config
from pullcheck.kube import kubeconfig_fast
from pullcheck.kube.client import KubeClient
from pullcheck.kube.config import ClusterConfig, load
from pullcheck.kube.kubeconfig_fast import NeedsKubernetesLoader

ROOT = Path(__file__).resolve().parent.parent
CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----\n"
CERT_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfakeClient\n-----END CERTIFICATE-----\n"
KEY_PEM = b"-----BEGIN EC PRIVATE KEY-----\nMHcfakeKey\n-----END EC PRIVATE KEY-----\n"
TOKEN = "tok-Sup3rSecret.value"
PASSWORD = "pa55:w0rd-Secret"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No kubeconfig, home directory, service account or proxy from the machine running the tests."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "HTTPS_PROXY", "https_proxy",
                 "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# -- helpers -----------------------------------------------------------------------------------------------------------
def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_file(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def write_config(path: Path, *, clusters=(), users=(), contexts=(), current: str | None = None) -> Path:
    """A kubeconfig in YAML block style, as kubectl writes them; entries as (name, body) pairs."""
    doc: dict = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                 "clusters": [{"name": n, "cluster": c} for n, c in clusters],
                 "users": [{"name": n, "user": u} for n, u in users],
                 "contexts": [{"name": n, "context": c} for n, c in contexts]}
    if current is not None:
        doc["current-context"] = current
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, default_flow_style=False))
    return path


def one_context(path: Path, cluster: dict, user: dict | None = None, namespace: str | None = None) -> Path:
    """The common shape: cluster `c`, user `u` (if given), current context `ctx` joining them."""
    context = {"cluster": "c", **({"user": "u"} if user is not None else {}),
               **({"namespace": namespace} if namespace else {})}
    return write_config(path, clusters=[("c", cluster)], users=[("u", user)] if user is not None else [],
                        contexts=[("ctx", context)], current="ctx")


def exec_user(tmp_path: Path, token: str = "exec-token") -> dict:
    """A user whose token comes from an exec credential plugin (a Python script printing an ExecCredential)."""
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": token}}
    plugin = tmp_path / "plugin.py"
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n")
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable, "args": [str(plugin)],
                     "interactiveMode": "Never"}}


def fast_only(monkeypatch, *args, **kwargs) -> ClusterConfig:
    """load() with the `kubernetes` loaders unavailable: proves the fast path answered by itself."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("fell back to the kubernetes loaders")

    with monkeypatch.context() as patch:
        patch.setattr(pc_config, "_load_kubeconfig_with_kubernetes", refuse)
        patch.setattr(pc_config, "_load_in_cluster_with_kubernetes", refuse)
        return load(*args, **kwargs)


def pem_file(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def headers(cfg: ClusterConfig) -> dict:
    """Auth headers with the scheme's case folded: the in-cluster loader writes `bearer`, client-go `Bearer`."""
    out = {}
    for key, value in cfg.auth_headers().items():
        scheme, _, rest = value.partition(" ")
        out[key.lower()] = f"{scheme.lower()} {rest}"
    return out


def _loader_reads_proxy_url() -> bool:
    """kubernetes < 37 ignores a cluster's proxy-url (kubectl honours it, and so does the fast path)."""
    from kubernetes.config import kube_config

    with open(kube_config.__file__, encoding="utf-8") as source:
        return "proxy-url" in source.read()


def assert_same(fast: ClusterConfig, reference: ClusterConfig) -> None:
    """Equal fields; for certificates, equal contents (data fields land in different temporary files)."""
    fields = ["host", "namespace", "context", "verify_ssl", "tls_server_name"]
    if _loader_reads_proxy_url():
        fields.append("proxy")
    for field in fields:
        assert getattr(fast, field) == getattr(reference, field), field
    for field in ("ca_file", "cert_file", "key_file"):
        assert (getattr(fast, field) is None) == (getattr(reference, field) is None), field
        assert pem_file(getattr(fast, field)) == pem_file(getattr(reference, field)), field
    assert headers(fast) == headers(reference)


# -- fixture kubeconfigs; each returns (--kubeconfig or KUBECONFIG value, set as KUBECONFIG?, --context, -n) ---------
def case_token_ca_file_relative(tmp: Path):
    write_file(tmp / "conf" / "pki" / "ca.crt", CA_PEM)
    kc = write_config(tmp / "conf" / "config",
                      clusters=[("prod", {"server": "https://10.0.0.1:6443/", "certificate-authority": "pki/ca.crt"})],
                      users=[("admin", {"token": TOKEN})],
                      contexts=[("prod", {"cluster": "prod", "user": "admin", "namespace": "shop"})], current="prod")
    return str(kc), False, None, None


def case_all_data_fields(tmp: Path):
    kc = one_context(tmp / "config", {"server": "https://api.example.test", "certificate-authority-data": b64(CA_PEM)},
                     {"client-certificate-data": b64(CERT_PEM), "client-key-data": b64(KEY_PEM)})
    return str(kc), False, None, None


def case_client_cert_files(tmp: Path):
    write_file(tmp / "certs" / "client.crt", CERT_PEM)
    write_file(tmp / "certs" / "client.key", KEY_PEM)
    ca = write_file(tmp / "elsewhere" / "ca.pem", CA_PEM)
    kc = one_context(tmp / "config", {"server": "https://10.1.1.1", "certificate-authority": str(ca)},
                     {"client-certificate": "certs/client.crt", "client-key": "./certs/../certs/client.key",
                      "token": TOKEN}, namespace="ns1")
    return str(kc), True, None, None


def case_basic_auth(tmp: Path):
    kc = one_context(tmp / "config", {"server": "https://10.2.2.2:443", "insecure-skip-tls-verify": True},
                     {"username": "admin", "password": PASSWORD})
    return str(kc), False, None, None


def case_token_file(tmp: Path):
    write_file(tmp / "conf" / "secrets" / "token", TOKEN.encode())
    kc = one_context(tmp / "conf" / "config", {"server": "https://10.3.3.3"}, {"tokenFile": "secrets/token"},
                     namespace="team")
    return str(kc), True, None, None


def case_insecure_sni_proxy(tmp: Path):
    kc = one_context(tmp / "config", {"server": "https://10.4.4.4:6443", "insecure-skip-tls-verify": True,
                                      "tls-server-name": "kubernetes.default.svc",
                                      "proxy-url": "http://proxy.internal:3128"}, {"token": TOKEN})
    return str(kc), False, None, None


def case_plain_http_ignores_tls_fields(tmp: Path):
    kc = one_context(tmp / "config", {"server": "http://127.0.0.1:8080", "certificate-authority": "/nonexistent/ca"},
                     {"token": TOKEN, "client-certificate": "/nonexistent/client.crt"})
    return str(kc), False, None, None


def case_anonymous_default_namespace(tmp: Path):
    return str(one_context(tmp / "config", {"server": "https://10.5.5.5"})), False, None, None


def case_context_flag_and_namespace_flag(tmp: Path):
    kc = write_config(tmp / "config",
                      clusters=[("a", {"server": "https://10.6.6.1"}), ("b", {"server": "https://10.6.6.2"})],
                      users=[("ua", {"token": "token-a"}), ("ub", {"token": "token-b"})],
                      contexts=[("a", {"cluster": "a", "user": "ua", "namespace": "na"}),
                                ("b", {"cluster": "b", "user": "ub", "namespace": "nb"})], current="a")
    return str(kc), False, "b", "override"


def case_several_files_split_across_directories(tmp: Path):
    """Cluster, user and context each from another file and directory; relative CA path from the cluster's file;
    the same names in later files are ignored whole; missing files and empty names in KUBECONFIG are skipped."""
    write_file(tmp / "one" / "ca.crt", CA_PEM)
    first = write_config(tmp / "one" / "clusters.yaml",
                         clusters=[("c", {"server": "https://10.7.7.7", "certificate-authority": "ca.crt"})])
    second = write_config(tmp / "two" / "users.yaml", users=[("u", {"token": TOKEN})],
                          clusters=[("c", {"server": "https://10.9.9.9", "insecure-skip-tls-verify": True})])
    third = write_config(tmp / "three" / "contexts.yaml", users=[("u", {"token": "not-this-one"})],
                         contexts=[("ctx", {"cluster": "c", "user": "u", "namespace": "merged"})], current="ctx")
    return os.pathsep.join([str(first), "", str(tmp / "missing.yaml"), str(second), str(third)]), True, None, None


def case_minikube_style_extensions(tmp: Path):
    ext = [{"name": "cluster_info", "extension": {"provider": "minikube.sigs.k8s.io", "version": "v1.33.1"}}]
    profile = tmp / ".minikube" / "profiles" / "minikube"
    write_file(tmp / ".minikube" / "ca.crt", CA_PEM)
    write_file(profile / "client.crt", CERT_PEM)
    write_file(profile / "client.key", KEY_PEM)
    write_config(tmp / "home" / ".kube" / "config",
                 clusters=[("minikube", {"server": "https://192.168.49.2:8443", "extensions": ext,
                                         "certificate-authority": str(tmp / ".minikube" / "ca.crt")})],
                 users=[("minikube", {"client-certificate": str(profile / "client.crt"),
                                      "client-key": str(profile / "client.key")})],
                 contexts=[("minikube", {"cluster": "minikube", "user": "minikube", "namespace": "default",
                                         "extensions": ext})], current="minikube")
    return None, False, None, None   # found as ~/.kube/config (HOME is tmp/home)


def case_json_kubeconfig_of_the_fake_server(tmp: Path):
    from tests.fakeapi.kubeconfig import write_kubeconfig

    ca = write_file(tmp / "ca.crt", CA_PEM)
    kc = write_kubeconfig(tmp / "kc.json", server="https://127.0.0.1:6443", token=TOKEN, user="me",
                          namespace="rig-cases", context="fake", ca_file=str(ca))
    return str(kc), False, None, None


CASES = {fn.__name__[len("case_"):]: fn for fn in (
    case_token_ca_file_relative, case_all_data_fields, case_client_cert_files, case_basic_auth, case_token_file,
    case_insecure_sni_proxy, case_plain_http_ignores_tls_fields, case_anonymous_default_namespace,
    case_context_flag_and_namespace_flag, case_several_files_split_across_directories,
    case_minikube_style_extensions, case_json_kubeconfig_of_the_fake_server)}


def arrange(name: str, tmp_path: Path, monkeypatch) -> tuple:
    """Write a fixture; return load()'s (kubeconfig, context, namespace) arguments."""
    value, use_env, context, namespace = CASES[name](tmp_path)
    if use_env:
        monkeypatch.setenv("KUBECONFIG", value)
        return None, context, namespace
    return value, context, namespace


# -- equivalence with the kubernetes loaders ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_equals_the_kubernetes_loaders(name, tmp_path, monkeypatch):
    args = arrange(name, tmp_path, monkeypatch)
    assert_same(fast_only(monkeypatch, *args), load(*args, fast=False))


def test_what_the_fixtures_resolve_to(tmp_path, monkeypatch):
    """The equivalence above would also hold for answers wrong in both: spell some out."""
    def fast(name: str) -> ClusterConfig:
        return fast_only(monkeypatch, *arrange(name, tmp_path / name, monkeypatch))

    cfg = fast("token_ca_file_relative")
    assert (cfg.host, cfg.namespace, cfg.context) == ("https://10.0.0.1:6443", "shop", "prod")
    assert cfg.ca_file == str(tmp_path / "token_ca_file_relative" / "conf" / "pki" / "ca.crt") and cfg.verify_ssl
    assert cfg.auth_headers() == {"authorization": "Bearer " + TOKEN}

    cfg = fast("basic_auth")
    assert cfg.auth_headers() == {"authorization": "Basic " + b64(b"admin:" + PASSWORD.encode())}
    assert cfg.verify_ssl is False and cfg.namespace == "default"

    cfg = fast("client_cert_files")
    certs = tmp_path / "client_cert_files" / "certs"
    assert (cfg.cert_file, cfg.key_file) == (str(certs / "client.crt"), str(certs / "client.key"))

    cfg = fast("several_files_split_across_directories")
    assert (cfg.host, cfg.namespace, cfg.verify_ssl) == ("https://10.7.7.7", "merged", True)
    assert cfg.ca_file == str(tmp_path / "several_files_split_across_directories" / "one" / "ca.crt")
    assert cfg.auth_headers() == {"authorization": "Bearer " + TOKEN}

    cfg = fast("context_flag_and_namespace_flag")
    assert (cfg.host, cfg.context, cfg.namespace) == ("https://10.6.6.2", "b", "override")
    assert cfg.auth_headers() == {"authorization": "Bearer token-b"}

    cfg = fast("insecure_sni_proxy")
    assert (cfg.tls_server_name, cfg.proxy) == ("kubernetes.default.svc", "http://proxy.internal:3128")
    assert (fast("plain_http_ignores_tls_fields").ca_file, fast("anonymous_default_namespace").auth_headers()) == (
        None, {})


def test_data_fields_become_private_files_removed_at_exit(tmp_path, monkeypatch):
    kc, _, _ = arrange("all_data_fields", tmp_path, monkeypatch)
    script = ("import json, os, sys; from pullcheck.kube.config import load\n"
              "cfg = load(sys.argv[1], None, None)\n"
              "print(json.dumps({f: [getattr(cfg, f), oct(os.stat(getattr(cfg, f)).st_mode & 0o777),"
              " open(getattr(cfg, f), 'rb').read().decode()] for f in ('ca_file', 'cert_file', 'key_file')}))\n")
    done = subprocess.run([sys.executable, "-c", script, kc], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)
    assert {f: (mode, content.encode()) for f, (_, mode, content) in files.items()} == {
        "ca_file": ("0o600", CA_PEM), "cert_file": ("0o600", CERT_PEM), "key_file": ("0o600", KEY_PEM)}
    assert not any(os.path.exists(path) for path, _, _ in files.values())


def test_environment_proxy_is_taken_like_the_loaders_take_it(tmp_path, monkeypatch):
    args = arrange("token_ca_file_relative", tmp_path, monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://corp-proxy:8080")
    fast = fast_only(monkeypatch, *args)
    assert fast.proxy == "http://corp-proxy:8080"
    assert_same(fast, load(*args, fast=False))


# -- where kubectl and the kubernetes loaders disagree, the fast path follows kubectl ----------------------------------
def test_current_context_comes_from_the_first_file_that_sets_it(tmp_path, monkeypatch):
    first = write_config(tmp_path / "first",
                         clusters=[("one", {"server": "https://10.0.0.1"}), ("two", {"server": "https://10.0.0.2"})],
                         contexts=[("one", {"cluster": "one"}), ("two", {"cluster": "two"})], current="one")
    middle = write_config(tmp_path / "middle", contexts=[("one", {"cluster": "two"})])   # ignored: first wins
    last = write_config(tmp_path / "last", current="two")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, [first, middle, last])))
    cfg = fast_only(monkeypatch, None, None, None)
    assert (cfg.context, cfg.host) == ("one", "https://10.0.0.1")
    assert load(None, None, None, fast=False).context == "two"   # the loaders take the last file's


def test_current_context_rule_holds_when_the_loaders_take_over(tmp_path, monkeypatch):
    """An exec user sends the configuration to the loaders; they are told kubectl's context."""
    first = write_config(tmp_path / "first", clusters=[("one", {"server": "https://10.0.0.1"})],
                         users=[("e", exec_user(tmp_path, "from-exec"))],
                         contexts=[("one", {"cluster": "one", "user": "e"})], current="one")
    last = one_context(tmp_path / "last", {"server": "https://10.0.0.2"})
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(first), str(last)]))
    cfg = load(None, None, None)
    assert (cfg.context, cfg.host) == ("one", "https://10.0.0.1")
    assert cfg.auth_headers() == {"authorization": "Bearer from-exec"}


def test_user_paths_resolve_against_the_users_own_file(tmp_path, monkeypatch):
    write_file(tmp_path / "users" / "client.crt", CERT_PEM)
    write_file(tmp_path / "users" / "client.key", KEY_PEM)
    clusters = write_config(tmp_path / "clusters" / "config", clusters=[("c", {"server": "https://10.0.0.1"})],
                            contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx")
    users = write_config(tmp_path / "users" / "config",
                         users=[("u", {"client-certificate": "client.crt", "client-key": "client.key"})])
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(clusters), str(users)]))
    cfg = fast_only(monkeypatch, None, None, None)
    assert (cfg.cert_file, cfg.key_file) == (str(tmp_path / "users" / "client.crt"),
                                             str(tmp_path / "users" / "client.key"))


def test_token_file_is_stripped_and_reread_when_rotated(tmp_path, monkeypatch):
    token_file = write_file(tmp_path / "token", b"first-token\n")
    kc = one_context(tmp_path / "config", {"server": "https://10.0.0.1"}, {"tokenFile": str(token_file)})
    cfg = fast_only(monkeypatch, str(kc), None, None)
    assert cfg.auth_headers() == {"authorization": "Bearer first-token"}
    token_file.write_text("second-token")
    assert cfg.auth_headers() == {"authorization": "Bearer first-token"}   # cached for a minute
    monkeypatch.setattr(kubeconfig_fast, "TOKEN_REREAD_SECONDS", 0.0)
    assert cfg.auth_headers() == {"authorization": "Bearer second-token"}
    token_file.unlink()
    assert cfg.auth_headers() == {"authorization": "Bearer second-token"}  # the last good token survives
    assert "second-token" not in repr(cfg)


# -- the kubernetes loaders take what the fast path does not read ------------------------------------------------------
@pytest.mark.parametrize("kind, expected", [
    ("exec", "Bearer exec-token"),
    ("auth-provider", "Bearer gcp-access-token"),
    ("impersonation", "Bearer " + TOKEN),
])
def test_exec_auth_provider_and_unknown_fields_go_to_the_loaders(kind, expected, tmp_path, monkeypatch):
    user = {"exec": lambda: exec_user(tmp_path),
            "auth-provider": lambda: {"auth-provider": {"name": "gcp", "config": {"access-token": "gcp-access-token"}}},
            "impersonation": lambda: {"token": TOKEN, "as": "someone-else"}}[kind]()
    kc = one_context(tmp_path / "config", {"server": "https://10.0.0.1"}, user, namespace="ns")
    with pytest.raises(NeedsKubernetesLoader) as declined:
        kubeconfig_fast.from_kubeconfig_files([str(kc)], None, None)
    assert declined.value.context == "ctx" and TOKEN not in str(declined.value)
    cfg = load(str(kc), None, None)
    assert (cfg.host, cfg.context, cfg.namespace) == ("https://10.0.0.1", "ctx", "ns")
    assert cfg.auth_headers() == {"authorization": expected}


def no_such_context(tmp: Path):
    return str(one_context(tmp / "c", {"server": "https://h"})), "nope"


ERROR_CASES = {
    "unknown --context": no_such_context,
    "no current-context": lambda tmp: (str(write_config(tmp / "c", clusters=[("c", {"server": "https://h"})])), None),
    "empty file": lambda tmp: (str(write_file(tmp / "empty", b"")), None),
    "not YAML": lambda tmp: (str(write_file(tmp / "bad", b"clusters: [\n")), None),
    "missing CA file": lambda tmp: (str(one_context(tmp / "c", {"server": "https://h",
                                                                "certificate-authority": "gone.crt"})), None),
    "missing tokenFile": lambda tmp: (str(one_context(tmp / "c", {"server": "https://h"}, {"tokenFile": "gone"})),
                                      None),
    "context names no cluster": lambda tmp: (str(write_config(tmp / "c", contexts=[("x", {"cluster": "c"})],
                                                              current="x")), None),
    "CA data not base64": lambda tmp: (str(one_context(tmp / "c", {"server": "https://h",
                                                                   "certificate-authority-data": "abc"})), None),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_errors_read_as_the_loaders_word_them(name, tmp_path):
    kc, context = ERROR_CASES[name](tmp_path)
    with pytest.raises(Exception) as fast:
        load(kc, context, None)
    with pytest.raises(Exception) as reference:
        load(kc, context, None, fast=False)
    assert (type(fast.value), str(fast.value)) == (type(reference.value), str(reference.value))


def test_missing_kubeconfig_messages(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"^kubeconfig file .*/missing does not exist$"):
        load(str(tmp_path / "missing"), None, None)
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    with pytest.raises(ClusterError, match=r"^no kubeconfig found \(looked at .*/a, .*/b\) and not running inside"):
        load(None, None, None)


# -- in-cluster --------------------------------------------------------------------------------------------------------
def service_account(directory: Path, *, token: str = TOKEN, namespace: str | None = "apps") -> Path:
    write_file(directory / "token", token.encode())
    write_file(directory / "ca.crt", CA_PEM)
    if namespace is not None:
        write_file(directory / "namespace", namespace.encode())
    return directory


def in_cluster_env(monkeypatch, host: str = "10.96.0.1", port: str = "443") -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)


@pytest.mark.parametrize("host, url", [("10.96.0.1", "https://10.96.0.1:443"), ("fd00::1", "https://[fd00::1]:443")])
def test_in_cluster_from_environment_and_service_account_dir(host, url, tmp_path, monkeypatch):
    sa = service_account(tmp_path / "sa")
    in_cluster_env(monkeypatch, host)
    fast = fast_only(monkeypatch, None, None, None, service_account_dir=str(sa))
    assert (fast.host, fast.namespace, fast.context, fast.ca_file) == (url, "apps", None, str(sa / "ca.crt"))
    assert fast.auth_headers() == {"authorization": "Bearer " + TOKEN}
    assert_same(fast, load(None, None, None, service_account_dir=str(sa), fast=False))
    assert fast_only(monkeypatch, None, None, "other", service_account_dir=str(sa)).namespace == "other"


def test_in_cluster_token_is_reread_and_namespace_defaults(tmp_path, monkeypatch):
    sa = service_account(tmp_path / "sa", namespace=None)
    in_cluster_env(monkeypatch)
    cfg = fast_only(monkeypatch, None, None, None, service_account_dir=str(sa))
    assert cfg.namespace == "default"
    monkeypatch.setattr(kubeconfig_fast, "TOKEN_REREAD_SECONDS", 0.0)
    (sa / "token").write_text("rotated-token")
    assert cfg.auth_headers() == {"authorization": "Bearer rotated-token"}


@pytest.mark.parametrize("broken", ["token", "ca.crt", "port"])
def test_in_cluster_errors_read_as_the_loader_words_them(broken, tmp_path, monkeypatch):
    sa = service_account(tmp_path / "sa")
    in_cluster_env(monkeypatch, port="" if broken == "port" else "443")
    if broken != "port":
        (sa / broken).unlink()
    messages = []
    for fast in (True, False):
        with pytest.raises(ClusterError) as failed:
            load(None, None, None, service_account_dir=str(sa), fast=fast)
        messages.append(failed.value.message)
    assert messages[0] == messages[1] and messages[0].startswith("cannot load cluster configuration: ")


def test_in_cluster_fast_path_talks_to_the_api_server(fake_cluster_factory, tmp_path, monkeypatch):
    cluster = fake_cluster_factory("dns-failure", tls=True)
    sa = service_account(tmp_path / "sa", token=cluster.add_user("system:serviceaccount:rig-cases:pullcheck"),
                         namespace="rig-cases")
    write_file(sa / "ca.crt", Path(cluster.ca_file).read_bytes())
    in_cluster_env(monkeypatch, *cluster.url.split("://")[1].rsplit(":", 1))
    client = KubeClient(fast_only(monkeypatch, None, None, None, service_account_dir=str(sa)), timeout=10)
    assert client.get(f"/api/v1/namespaces/{client.namespace}/pods/dns-failure")["metadata"]["name"] == "dns-failure"
    assert {r.user for r in cluster.requests.filter(method="GET")} == {"system:serviceaccount:rig-cases:pullcheck"}


def test_tls_server_name_is_checked_against_the_certificate(fake_cluster_factory, tmp_path, monkeypatch):
    """The fake server's certificate names 127.0.0.1 and localhost: reaching it as 127.0.0.1 with tls-server-name
    localhost verifies; with another name it must not."""
    cluster = fake_cluster_factory("success", tls=True)
    results = {}
    for name in ("localhost", "elsewhere.invalid"):
        kc = one_context(tmp_path / name, {"server": cluster.url, "tls-server-name": name,
                                           "certificate-authority": cluster.ca_file})
        client = KubeClient(fast_only(monkeypatch, str(kc), None, None), timeout=10)
        try:
            client.get("/api/v1/namespaces")
            results[name] = "ok"
        except ClusterError as exc:
            results[name] = exc.message
    assert results["localhost"] == "ok"
    assert "TLS certificate verify failed" in results["elsewhere.invalid"]


# -- the CLI no longer imports kubernetes on the fast path -------------------------------------------------------------
CLI_PROBE = """\
import json, sys
from pullcheck.cli import main
try:
    main(sys.argv[2:])
except SystemExit as done:
    code = done.code
with open(sys.argv[1], "w") as fh:
    json.dump({"code": code, "kubernetes": sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes")[:3]}, fh)
"""


def run_cli_probe(tmp_path: Path, *args: str) -> dict:
    """Run the CLI in a fresh interpreter; report its exit code and which `kubernetes` modules it imported."""
    result = tmp_path / "probe.json"
    done = subprocess.run([sys.executable, "-c", CLI_PROBE, str(result), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert result.exists(), done.stderr
    return dict(json.loads(result.read_text()), stdout=done.stdout, stderr=done.stderr)


def test_pod_run_does_not_import_kubernetes(fake_cluster_factory, tmp_path):
    cluster = fake_cluster_factory("dns-failure", tls=True)
    kc = cluster.write_kubeconfig(tmp_path / "kc", namespace="rig-cases")   # CA as certificate-authority-data
    run = run_cli_probe(tmp_path, "pod", "dns-failure", "--kubeconfig", str(kc), "-o", "json")
    assert run["code"] == 1 and json.loads(run["stdout"])["containers"][0]["cause"] == "dns", run["stderr"]
    assert run["kubernetes"] == []
    assert {r.user for r in cluster.requests.filter(method="GET")} == {cluster.user}


def test_exec_plugin_run_does_import_kubernetes(fake_cluster_factory, tmp_path):
    cluster = fake_cluster_factory("dns-failure", tls=True)
    kc = one_context(tmp_path / "kc", {"server": cluster.url, "certificate-authority": cluster.ca_file},
                     exec_user(tmp_path, cluster.add_user("exec-user")), namespace="rig-cases")
    run = run_cli_probe(tmp_path, "pod", "dns-failure", "--kubeconfig", str(kc), "-o", "json")
    assert run["code"] == 1, run["stderr"]
    assert run["kubernetes"] != []
    assert {r.user for r in cluster.requests.filter(method="GET")} == {"exec-user"}


# -- proxies: chosen as kubectl (Go) chooses them, with credentials in the URL, through a real CONNECT proxy ----------
@pytest.mark.parametrize("server, env, expected", [
    ("https://10.0.0.1:6443", {"HTTPS_PROXY": "http://corp:8080"}, "http://corp:8080"),
    ("https://10.0.0.1:6443", {"https_proxy": "corp:8080"}, "http://corp:8080"),       # Go adds the scheme
    ("https://10.0.0.1:6443", {"HTTPS_PROXY": "http://corp:8080", "NO_PROXY": "10.0.0.0/8"}, None),
    ("https://api.prod.example.com", {"HTTPS_PROXY": "http://corp:8080", "NO_PROXY": ".example.com"}, None),
    ("https://api.prod.example.com", {"HTTPS_PROXY": "http://corp:8080", "no_proxy": "example.com:443"}, None),
    ("https://api.prod.example.com", {"HTTPS_PROXY": "http://corp:8080", "NO_PROXY": "example.com:6443"},
     "http://corp:8080"),
    ("https://127.0.0.1:6443", {"HTTPS_PROXY": "http://corp:8080"}, None),               # loopback: never
    ("https://localhost:6443", {"HTTPS_PROXY": "http://corp:8080"}, None),
    ("https://10.0.0.1:6443", {"ALL_PROXY": "http://corp:8080"}, None),                 # Go ignores ALL_PROXY
    ("https://10.0.0.1:6443", {"HTTP_PROXY": "http://corp:8080"}, None),                # only for http:// servers
    ("http://10.0.0.1:8080", {"HTTP_PROXY": "http://corp:8080"}, "http://corp:8080"),
])
def test_environment_proxy_follows_kubectl(tmp_path, monkeypatch, server, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    kc = one_context(tmp_path / "kc", {"server": server}, {"token": TOKEN})
    assert fast_only(monkeypatch, str(kc), None, None).proxy == expected


@pytest.fixture
def proxied_cluster(fake_cluster_factory, tmp_path):
    """The TLS fake API server known as api.cluster.test (a name nothing resolves: only the proxy can reach it)."""
    from tests.harness.servers import ConnectProxy

    cluster = fake_cluster_factory("dns-failure", tls=True)
    port = cluster.url.rsplit(":", 1)[1]
    proxy = ConnectProxy(hosts={"api.cluster.test": "127.0.0.1"}, credentials=("corp user", PASSWORD)).start()
    kc = one_context(tmp_path / "kc", {"server": f"https://api.cluster.test:{port}", "tls-server-name": "localhost",
                                       "certificate-authority": cluster.ca_file},
                     {"token": cluster.add_user("proxied-user")}, namespace="rig-cases")
    yield cluster, proxy, str(kc), port
    proxy.stop()


def test_the_api_server_is_reached_through_an_authenticating_proxy(proxied_cluster, monkeypatch, capsys):
    from tests.test_pod_cli import run
    from urllib.parse import quote

    cluster, proxy, kc, port = proxied_cluster
    monkeypatch.setenv("HTTPS_PROXY", f"http://corp%20user:{quote(PASSWORD, safe='')}@127.0.0.1:{proxy.port}")
    code, out, err = run(capsys, "pod", "dns-failure", "--kubeconfig", kc, "-o", "json")
    assert code == 1 and json.loads(out)["containers"][0]["cause"] == "dns", err
    assert proxy.seen and all(line.startswith(f"CONNECT api.cluster.test:{port} ") for line in proxy.seen)
    assert {r.user for r in cluster.requests.filter(method="GET")} == {"proxied-user"}

    monkeypatch.setenv("HTTPS_PROXY", f"http://corp%20user:wrong@127.0.0.1:{proxy.port}")
    code, out, err = run(capsys, "pod", "dns-failure", "--kubeconfig", kc, "-v")
    assert code == 3 and out == "" and "cannot reach the API server at https://api.cluster.test" in err
    assert f"through proxy http://127.0.0.1:{proxy.port}" in err.splitlines()[0]      # -v names it, redacted
    (error,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert error.endswith(": the proxy refused the tunnel: 407 Proxy Authentication Required (check "
                                        "the user and password in the proxy URL)")
    assert "wrong" not in err and PASSWORD not in err and "Traceback" not in err


def test_a_proxy_that_is_down_is_named(proxied_cluster, monkeypatch, capsys):
    from tests.test_pod_cli import run

    _, _, kc, _ = proxied_cluster
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")         # discard port: nothing listens
    code, _, err = run(capsys, "pod", "dns-failure", "--kubeconfig", kc, "--request-timeout", "2")
    assert code == 3 and "cannot connect to the proxy: connection refused" in err.splitlines()[0]


def test_a_socks_proxy_is_a_one_line_error(proxied_cluster, monkeypatch, capsys):
    from tests.test_pod_cli import run

    _, _, kc, _ = proxied_cluster
    monkeypatch.setenv("HTTPS_PROXY", f"socks5://someone:{PASSWORD}@127.0.0.1:1080")
    code, out, err = run(capsys, "pod", "dns-failure", "--kubeconfig", kc)
    assert (code, out) == (3, "")
    assert err.splitlines()[0] == ("error: proxy socks5://127.0.0.1:1080: only http:// and https:// proxies are "
                                   "supported here, not socks5://")
    assert PASSWORD not in err


def test_a_proxy_failure_without_an_underlying_error_is_still_one_line():
    from pullcheck.kube.client import _reason

    assert _reason(Exception("Unable to connect to proxy")) == "cannot connect to the proxy: Unable to connect to proxy"
