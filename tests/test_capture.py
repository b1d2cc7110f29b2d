"""Reading saved captures: a Pod, a `kubectl get pod,events -o json` List, YAML, and bad input."""
import json

import pytest

from pullcheck.containers import container_views, default_pull_policy
from pullcheck.errors import UsageError
from pullcheck.snapshot import load_capture
from pullcheck.timeutil import parse_time

from tests.captures import CAPTURES, capture_list, capture_pod


def test_a_plain_pod_capture_has_no_events_and_says_what_is_missing(tmp_path):
    path = tmp_path / "pod.json"
    path.write_text(json.dumps(capture_pod("nonexistent-tag")))
    snap = load_capture(str(path))
    assert snap.name == "nonexistent-tag" and snap.namespace == "rig-cases"
    assert snap.events is None
    assert {s.check for s in snap.skipped} >= {"events", "node", "service account and pull secrets"}
    assert snap.source == f"capture {path}"


def test_a_list_capture_keeps_only_this_pods_events(tmp_path):
    doc = capture_list("auth-secret-wrong-namespace")
    stranger = json.loads(json.dumps(doc["items"][-1]))
    stranger["involvedObject"]["uid"] = "someone-else"
    doc["items"].append(stranger)
    path = tmp_path / "list.json"
    path.write_text(json.dumps(doc))
    snap = load_capture(str(path))
    assert len(snap.events) == len(doc["items"]) - 2
    assert all(e["involvedObject"]["uid"] == snap.pod["metadata"]["uid"] for e in snap.events)
    # no clock in a plain capture: the newest time it mentions stands for "now"
    assert snap.observed_at == parse_time("2026-11-22T02:22:03Z")


def test_yaml_capture(tmp_path):
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(capture_pod("dns-failure")))
    assert load_capture(str(path)).name == "dns-failure"


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "expected a Pod, a List or a pullcheck bundle"),
    ('{"kind": "Deployment"}', "is not a Pod, a List or a pullcheck bundle"),
    ('{"kind": "List", "items": []}', "contains no Pod"),
    ("key: [unclosed", "neither JSON nor YAML"),
])
def test_bad_captures_are_one_line_usage_errors(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_text(content)
    with pytest.raises(UsageError) as err:
        load_capture(str(path))
    assert message in err.value.message and "\n" not in err.value.message


def test_missing_file_and_pod_choice(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_capture(str(tmp_path / "nope.json"))
    doc = {"kind": "List", "items": [capture_pod("success"), capture_pod("dns-failure")]}
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UsageError, match="holds 2 pods; name one: success, dns-failure"):
        load_capture(str(path))
    assert load_capture(str(path), name="dns-failure").name == "dns-failure"
    with pytest.raises(UsageError, match="no pod named web"):
        load_capture(str(path), name="web")


@pytest.mark.parametrize("case", CAPTURES)
def test_container_views_attach_each_event_to_its_container(case):
    doc = capture_list(case)
    pod = capture_pod(case)
    events = [i for i in doc["items"] if i["kind"] == "Event"]
    views = container_views(pod, events)
    assert [v.name for v in views] == [c["name"] for c in pod["spec"]["containers"]]
    with_path = [e for e in events if e["involvedObject"].get("fieldPath") and e["reason"] != "Started"
                 and e["reason"] != "Created"]
    assert sum(len(v.events) for v in views) == len(with_path)


@pytest.mark.parametrize("image, policy", [("busybox", "Always"), ("busybox:latest", "Always"),
                                           ("busybox:1.36", "IfNotPresent"), ("localhost:5000/app", "Always"),
                                           ("localhost:5000/app:1", "IfNotPresent"),
                                           ("busybox@sha256:" + "a" * 64, "IfNotPresent")])
def test_default_pull_policy_matches_the_api_server(image, policy):
    assert default_pull_policy(image) == policy


def test_shareable_pod_drops_literal_env_values_and_last_applied():
    from pullcheck.snapshot import LAST_APPLIED, REDACTED, shareable_pod

    pod = capture_pod("auth-wrong-password")
    pod["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2"},
                                          {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    shared = shareable_pod(pod)
    assert "hunter2" not in json.dumps(shared)
    assert shared["spec"]["containers"][0]["env"][0]["value"] == REDACTED
    assert shared["spec"]["containers"][0]["env"][1] == pod["spec"]["containers"][0]["env"][1]
    assert shared["metadata"]["annotations"][LAST_APPLIED] == REDACTED
    assert pod["spec"]["containers"][0]["env"][0]["value"] == "hunter2"   # the original is untouched
