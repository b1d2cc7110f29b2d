#!/usr/bin/env python3
"""Regenerate examples/: `pod --save` bundles read from the fake API server seeded with the real captures
(tests/data), plus one plain `kubectl get pod,events -o json` List. Run from the repository root."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pullcheck.kube import config  # noqa: E402
from pullcheck.kube.client import KubeClient  # noqa: E402
from pullcheck.kube.gather import gather_pod  # noqa: E402
from pullcheck.snapshot import save_bundle  # noqa: E402
from pullcheck.timeutil import latest_timestamp  # noqa: E402
from tests.captures import capture_list  # noqa: E402
from tests.fakeapi import FakeCluster, dockerconfigjson_secret, load_capture  # noqa: E402

NS = "rig-cases"
BUNDLES = ["auth-secret-wrong-namespace", "auth-wrong-password", "nonexistent-tag", "dns-failure"]


def main() -> None:
    out = ROOT / "examples"
    cluster = FakeCluster()
    load_capture(cluster, BUNDLES)
    cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rig-other"}})
    # as in the captured cluster: the secret exists, but in another namespace / with a wrong password
    cluster.create(dockerconfigjson_secret("rig-auth-creds", "rig-other", "127.0.0.1:5101", "testuser", "example"))
    cluster.create(dockerconfigjson_secret("rig-auth-wrongpass", NS, "127.0.0.1:5101", "testuser", "wrong"))
    with cluster:
        kubeconfig = out / ".kubeconfig"
        cluster.write_kubeconfig(kubeconfig, namespace=NS)
        try:
            client = KubeClient(config.load(str(kubeconfig), None, NS))
            for case in BUNDLES:
                snapshot = gather_pod(client, NS, case)
                # stamp the bundle as if saved right after the capture's last event, so it reads fresh
                snapshot.observed_at = latest_timestamp([snapshot.pod] + (snapshot.events or [])) or snapshot.observed_at
                save_bundle(snapshot, str(out / f"{case}.json"))
        finally:
            kubeconfig.unlink()
    (out / "nonexistent-repo.list.json").write_text(json.dumps(capture_list("nonexistent-repo"), indent=1) + "\n")


if __name__ == "__main__":
    main()
