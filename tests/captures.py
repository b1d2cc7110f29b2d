"""The real captures (kubelet 1.36 + containerd 1.6) shipped under tests/data, as test inputs."""
import json
from pathlib import Path

ROOT = Path(__file__).parent / "data" / "kubelet-1.36-containerd-1.6"
CAPTURES = sorted(p.name for p in ROOT.iterdir() if (p / "pod.json").exists())


def capture_pod(case: str) -> dict:
    return json.loads((ROOT / case / "pod.json").read_text())


def capture_events(case: str) -> list:
    return json.loads((ROOT / case / "events.json").read_text())["items"]


def capture_list(case: str) -> dict:
    """What `kubectl get pod,events -o json` prints for this case."""
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
            "items": [capture_pod(case)] + capture_events(case)}
