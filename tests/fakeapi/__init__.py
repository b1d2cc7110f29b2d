"""A fake Kubernetes API server for the tests: real HTTP on 127.0.0.1 (or HTTPS with a throwaway
certificate), the JSON kube-apiserver v1.36 writes, and a test API to arrange objects, logs and failures.

    cluster = FakeCluster(namespace="rig-cases")        # or the fake_cluster / fake_cluster_factory fixtures
    load_capture(cluster, "nonexistent-tag")            # captured pod + events, plus node, namespace, SA
    cluster.start()
    cluster.write_kubeconfig(tmp_path / "config")       # for kubernetes.config and kubectl --kubeconfig
    cluster.update(pod) / cluster.modify("Pod", name, fn) / cluster.create(obj) / cluster.delete(kind, name)
    cluster.set_log(pod, container, text)               # pods/{name}/log
    cluster.faults.forbid(verb="list", resource="secrets", namespace="rig-cases")
    cluster.faults.throttle(times=2, path="/api/v1/pods") / .fail(500, ...) / .delay(2.0, ...)
    cluster.requests.count(verb="list", resource="pods")
    cluster.stop()

kubectl sends no credentials to a plain-http server: start with `tls=True` when a kubectl test needs
its requests to carry the kubeconfig's user.
"""
from __future__ import annotations

from .capture import CAPTURES, captured_pod, case_names, load_capture
from .cluster import FakeCluster
from .kubectl import run_kubectl
from .objects import dockerconfigjson_secret, service_account

__all__ = ["CAPTURES", "FakeCluster", "captured_pod", "case_names", "dockerconfigjson_secret", "load_capture",
           "run_kubectl", "service_account"]
