"""Shared fixtures: the fake Kubernetes API server and the real registry harness."""
from tests.fakeapi.fixtures import fake_cluster, fake_cluster_factory  # noqa: F401

pytest_plugins = ["tests.harness.fixtures"]
