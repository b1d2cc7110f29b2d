"""Pytest fixtures: `fake_cluster_factory(*cases, tls=False, ...)` starts fake API servers (optionally
seeded from capture cases) with a kubeconfig written, and stops them after the test; `fake_cluster` is
one empty, started cluster. Every cluster must end the test without fake-server bugs (server_errors)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from .capture import load_capture
from .cluster import FakeCluster


@pytest.fixture
def fake_cluster_factory(tmp_path: Path) -> Iterator[Callable[..., FakeCluster]]:
    made: List[FakeCluster] = []

    def make(*cases: str, **options: Any) -> FakeCluster:
        cluster = FakeCluster(**options)
        if cases:
            load_capture(cluster, list(cases))
        cluster.start()
        made.append(cluster)
        cluster.write_kubeconfig(tmp_path / f"kubeconfig-{len(made)}")
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
    errors = [e for cluster in made for e in cluster.server_errors]
    assert not errors, "the fake API server failed:\n" + "\n".join(errors)


@pytest.fixture
def fake_cluster(fake_cluster_factory: Callable[..., FakeCluster]) -> FakeCluster:
    return fake_cluster_factory()
