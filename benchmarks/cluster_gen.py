"""A realistic, deterministic cluster of N pods for benchmarks and tests, in the shapes a real kubelet 1.36 +
containerd 1.6 and kube-apiserver 1.36 write (tests/data/kubelet-1.36-containerd-1.6/).

    generated = generate(10_000, seed=1)          # GeneratedCluster: objects, pods, events, nodes, failing, ...
    load(cluster, generated)                      # seeds a tests.fakeapi FakeCluster in one bulk write

What it holds:
- namespaces (50 by default: teams x prod/staging, plus kube-system, monitoring, logging), each with its
  `default` ServiceAccount and a `regcred` pull secret for the private registry;
- ~N/30 nodes, each with `status.images` as the kubelet reports them (largest first, at most 50);
- ~N/20 Deployments (a ReplicaSet with its pod-template-hash, sometimes an old one scaled to zero), three
  DaemonSets (one pod per node), StatefulSets of three, CronJobs with their last three Jobs; every pod,
  ReplicaSet and Job carries the ownerReferences the controllers write;
- events as the kubelet and the scheduler write them: Scheduled, Pulling, Pulled, Created, Started for a
  healthy container ("already present on machine" when the node had the image), and for a failing one
  Pulling, Failed, BackOff with counts and first/last timestamps that follow the kubelet's pull back-off.
  About 5 events per pod.
- a fraction of the pods (5% by default) failing to pull, by whole workloads, with a mix of causes in the
  captured wording (see CAUSES), and four situations a scan has to tell apart: a rollout where only the
  new ReplicaSet's pods fail, pods that ran for days and fail after a credential rotation (restartCount > 0,
  lastState.terminated, 401), pods that fail only on two nodes that cannot reach the registry, and pods
  hanging in ContainerCreating on a pull that never answers.
Everything follows from (pods, seed, now): the same arguments give the same objects.
"""
from __future__ import annotations

import base64
import functools
import gc
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Set, Tuple

if TYPE_CHECKING:
    from tests.fakeapi import FakeCluster

Obj = Dict[str, Any]

# The moment the captures were taken: the default "now" of a generated cluster.
CAPTURE_TIME = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
KUBELET_VERSION = "v1.36.2"
RUNTIME_VERSION = "containerd://1.6.20~ds1"
NODE_STATUS_MAX_IMAGES = 50            # the kubelet's --node-status-max-images default
PODS_PER_NODE = 30
PODS_PER_DEPLOYMENT = 20
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"    # k8s.io/apimachinery rand.SafeEncodeString
CONTROL_PLANE = "ip-10-20-255-10.eu-west-1.compute.internal"
REGISTRY = "registry.corp.example"
PULL_SECRET = "regcred"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

TEAMS = ("payments", "checkout", "catalog", "search", "identity", "billing", "shipping", "inventory",
         "notifications", "analytics", "recommendations", "pricing", "orders", "accounts", "media",
         "messaging", "fraud", "loyalty", "reviews", "support", "reporting", "ledger", "gateway", "content",
         "partners")
ENVIRONMENTS = ("prod", "staging")
SYSTEM_NAMESPACES = ("kube-system", "monitoring", "logging")
SERVICES = ("api", "worker", "web", "consumer", "scheduler", "gateway", "indexer", "exporter", "sync", "cache",
            "frontend", "backend", "processor", "publisher", "reconciler", "router", "ingest", "notifier",
            "resolver", "renderer")
PUBLIC_IMAGES = (("docker.io/library/nginx:1.27.2", 72_000_000), ("docker.io/library/redis:7.2.5", 41_000_000),
                 ("docker.io/library/memcached:1.6.29", 31_000_000),
                 ("quay.io/oauth2-proxy/oauth2-proxy:v7.6.0", 14_000_000))
SIDECAR_IMAGE = ("docker.io/envoyproxy/envoy:v1.31.2", 62_000_000)
DAEMONSETS = (("kube-system", "kube-proxy", "registry.k8s.io/kube-proxy:v1.36.2", 29_000_000),
              ("monitoring", "node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", 12_000_000),
              ("logging", "fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.1.9", 33_000_000))
SYSTEM_DEPLOYMENTS = (("kube-system", "coredns", "registry.k8s.io/coredns/coredns:v1.11.3", 18_000_000, 2),
                      ("kube-system", "metrics-server", "registry.k8s.io/metrics-server/metrics-server:v0.7.2",
                       19_000_000, 1))


@dataclass(frozen=True)
class Cause:
    """One way a pull fails, as the kubelet reports it. `error` is containerd's error (the kubelet 1.36
    keeps the gRPC prefix for NotFound only), with {full} the normalized reference, {host} {repo} {tag} its
    parts; `waiting` the container's waiting reason; `pull_seconds` how long a failing attempt takes."""

    name: str
    weight: int
    waiting: str
    error: str
    pull_seconds: float = 0.05


_NOT_FOUND = ('rpc error: code = NotFound desc = failed to pull and unpack image "{full}": failed to resolve '
              'reference "{full}": {full}: not found')
_RESOLVE = 'failed to pull and unpack image "{full}": failed to resolve reference "{full}": '
_HEAD = _RESOLVE + 'failed to do request: Head "https://{host}/v2/{repo}/manifests/{tag}": '
_UNAUTHORIZED = _RESOLVE + "pulling from host {host} failed with status code [manifests {tag}]: 401 Unauthorized"

# The mix of causes among failing workloads (weights), in the wording of the captures and of TEST-ENV.md's
# containerd runs. The four situations (rollout, credential rotation, node-local, hanging) come on top.
CAUSES: Tuple[Cause, ...] = (
    Cause("tag-not-found", 30, "ImagePullBackOff", _NOT_FOUND),
    Cause("repo-not-found", 8, "ImagePullBackOff", _NOT_FOUND),
    Cause("auth-missing", 8, "ImagePullBackOff", _UNAUTHORIZED),
    Cause("auth-secret-missing", 6, "ImagePullBackOff", _UNAUTHORIZED),
    Cause("pull-access-denied", 8, "ImagePullBackOff", _RESOLVE + "pull access denied, repository does not "
          "exist or may require authorization: server message: insufficient_scope: authorization failed"),
    Cause("dns", 6, "ImagePullBackOff", _HEAD + "dial tcp: lookup {hostname} on 10.20.0.2:53: no such host"),
    Cause("tls-unknown-authority", 6, "ImagePullBackOff", _HEAD + "x509: certificate signed by unknown authority"),
    Cause("connection-refused", 6, "ImagePullBackOff", _HEAD + "dial tcp 10.20.255.40:5000: connect: "
          "connection refused"),
    Cause("tls-handshake-timeout", 4, "ImagePullBackOff", _HEAD + "net/http: TLS handshake timeout", 10.0),
    Cause("platform-mismatch", 4, "ImagePullBackOff", 'rpc error: code = NotFound desc = failed to pull and '
          'unpack image "{full}": no match for platform in manifest: not found', 2.0),
    Cause("invalid-image-name", 2, "InvalidImageName", 'Failed to apply default image tag "{ref}": couldn\'t parse '
          'image name "{ref}": invalid reference format: repository name ({remote}) must be lowercase'),
    Cause("never-pull", 2, "ErrImageNeverPull", 'Container image "{ref}" is not present with pull policy of Never'),
)
ROTATED_CREDENTIALS = Cause("auth-rotated", 0, "ImagePullBackOff", _UNAUTHORIZED)
NODE_UNREACHABLE = Cause("node-dial-timeout", 0, "ImagePullBackOff", _HEAD + "dial tcp 10.20.255.30:443: i/o timeout",
                         30.0)
HANGING_PULL = Cause("hanging-pull", 0, "ContainerCreating", "")
ROLLOUT_BAD_TAG = Cause("rollout-tag-not-found", 0, "ImagePullBackOff", _NOT_FOUND)


# ----- small formats
@functools.lru_cache(maxsize=65536)
def _rfc3339_whole(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339(seconds: float) -> str:
    """metav1.Time: whole seconds, UTC."""
    return _rfc3339_whole(int(seconds))


def micro_time(seconds: float) -> str:
    """metav1.MicroTime, as the scheduler's events carry in eventTime."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def go_duration(milliseconds: int) -> str:
    """time.Duration.String() of a duration truncated to milliseconds ("54ms", "1.234s", "1m2.5s")."""
    if milliseconds < 1000:
        return f"{milliseconds}ms" if milliseconds else "0s"
    minutes, rest_ms = divmod(milliseconds, 60_000)
    hours, minutes = divmod(minutes, 60)
    seconds = f"{rest_ms // 1000}.{rest_ms % 1000:03d}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + seconds + "s"


def normalized(ref: str) -> str:
    """The reference as containerd names it: docker.io (and library/) for short names."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return "docker.io/" + (ref if "/" in ref else "library/" + ref)


def split_reference(ref: str) -> Tuple[str, str, str]:
    """(registry host, repository, tag) of a normalized reference."""
    host, rest = ref.split("/", 1)
    repo, _, tag = rest.rpartition(":")
    return host, repo, tag


def registry_endpoint(host: str) -> str:
    """The host the registry is reached at (Docker Hub's is registry-1.docker.io)."""
    return "registry-1.docker.io" if host == "docker.io" else host


@dataclass
class Image:
    ref: str
    size: int

    @property
    def repo(self) -> str:
        return self.ref.rpartition(":")[0]

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.ref.encode()).hexdigest()

    @property
    def image_id(self) -> str:
        return f"{normalized(self.ref).rpartition(':')[0]}@{self.digest}"


@dataclass
class Container:
    name: str
    image: Image
    pull_policy: str = "IfNotPresent"
    port: int = 8080


@dataclass
class PodPlan:
    """A pod before it is written out: where it runs, what owns it, and how its pulls end."""

    namespace: str
    name: str
    node: int
    owner: Obj
    labels: Dict[str, str]
    containers: List[Container]
    pull_secrets: Tuple[str, ...]
    created: float
    restart_policy: str = "Always"
    outcome: str = "running"             # running | completed | failing
    cause: Optional[Cause] = None
    bad_image: Optional[Image] = None    # the main container's image when it fails
    restarts: int = 0                    # ran before (credential rotation)
    err_image_pull: bool = False         # caught right after a failed attempt, before the back-off
    scenario: str = ""


@dataclass
class Workload:
    kind: str
    namespace: str
    name: str
    uid: str
    containers: List[Container]
    pull_secrets: Tuple[str, ...]
    replicas: int
    created: float
    template_hash: str = ""
    pods: List[PodPlan] = field(default_factory=list)
    bad_image: Optional[Image] = None                  # a new workload whose every pod fails
    rollout: Optional[Tuple[str, Image, int]] = None   # (new template hash, its image, its pods)
    update_revision: str = ""                          # a StatefulSet update's revision


@dataclass
class GeneratedCluster:
    objects: List[Obj]                    # everything, in seeding order
    pods: List[Obj]
    events: List[Obj]
    nodes: List[Obj]
    failing: Dict[str, str]               # "namespace/name" -> cause name
    scenarios: Dict[str, List[str]]       # situation -> "namespace/name" of its failing pods
    now: datetime

    def counts(self) -> Dict[str, int]:
        kinds: Dict[str, int] = {}
        for obj in self.objects:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        return kinds


class _Generator:
    def __init__(self, pods: int, seed: int, namespaces: int, failing_fraction: float, now: datetime) -> None:
        self.total = pods
        self.rng = random.Random(seed)
        self.now = now.timestamp()
        self.failing_target = round(pods * failing_fraction)
        self.namespace_count = namespaces
        self.rv = 1000
        self.namespaces: List[str] = []
        self.objects: List[Obj] = []
        self.pod_objects: List[Obj] = []
        self.events: List[Obj] = []
        self.node_names: List[str] = []
        self.node_images: List[Dict[str, Image]] = []
        self.workloads: List[Workload] = []
        self.failing: Dict[str, str] = {}
        self.scenarios: Dict[str, List[str]] = {}
        self.images: Dict[str, Image] = {}

    # ----- identities
    def next_rv(self) -> str:
        self.rv += 1
        return str(self.rv)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, length: int) -> str:
        return "".join(self.rng.choice(NAME_ALPHABET) for _ in range(length))

    def image(self, ref: str, size: Optional[int] = None) -> Image:
        found = self.images.get(ref)
        if found is None:
            found = Image(ref, size or self.rng.randint(15, 420) * 1_000_000 + self.rng.randint(0, 999_999))
            self.images[ref] = found
        return found

    # ----- the plan
    def build(self) -> GeneratedCluster:
        self.plan_namespaces()
        self.plan_nodes()
        self.plan_workloads()
        self.plan_failures()
        for namespace in self.namespaces:
            self.objects.extend(self.namespace_objects(namespace))
        workload_objects: List[Obj] = []
        for workload in self.workloads:
            workload_objects.extend(self.workload_objects(workload))
            for plan in workload.pods:
                self.write_pod(plan)
        nodes = [self.node_object(i) for i in range(len(self.node_names))]
        self.objects.extend(nodes)
        self.objects.extend(workload_objects)
        self.objects.extend(self.pod_objects)
        self.objects.extend(self.events)
        return GeneratedCluster(self.objects, self.pod_objects, self.events, nodes, self.failing, self.scenarios,
                                datetime.fromtimestamp(self.now, timezone.utc))

    def plan_namespaces(self) -> None:
        wanted = max(1, min(self.namespace_count, len(TEAMS) * len(ENVIRONMENTS), self.total // 20))
        names = [f"{team}-{env}" for env in ENVIRONMENTS for team in TEAMS]
        self.namespaces = list(SYSTEM_NAMESPACES) + names[:wanted]

    def plan_nodes(self) -> None:
        for i in range(max(3, round(self.total / PODS_PER_NODE))):
            self.node_names.append(f"ip-10-20-{i // 250}-{i % 250 + 4}.eu-west-1.compute.internal")
            self.node_images.append({PAUSE_IMAGE: self.image(PAUSE_IMAGE, 320_368)})

    def app_image(self, team: str, service: str) -> Image:
        version = f"v{self.rng.randint(1, 4)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 12)}"
        return self.image(f"{REGISTRY}/{team}/{service}:{version}")

    def plan_workloads(self) -> None:
        nodes = len(self.node_names)
        budget = self.total
        for namespace, name, ref, size in DAEMONSETS:
            if budget < nodes:
                break
            self.add_workload("DaemonSet", namespace, name, [Container(name, self.image(ref, size), port=9100)], (),
                              nodes)
            budget -= nodes
        for namespace, name, ref, size, replicas in SYSTEM_DEPLOYMENTS:
            if budget > replicas:
                self.add_workload("Deployment", namespace, name, [Container(name, self.image(ref, size))], (),
                                  replicas)
                budget -= replicas
        apps = self.namespaces[len(SYSTEM_NAMESPACES):]
        for i in range(max(1, self.total // 400) if budget > 50 else 0):
            namespace = apps[i % len(apps)]
            ref, size = ("docker.io/library/postgres:16.4", 160_000_000) if i % 2 else \
                ("docker.io/library/rabbitmq:3.13.7", 95_000_000)
            name = ref.split("/")[-1].split(":")[0] + (f"-{i}" if i >= len(apps) else "")
            self.add_workload("StatefulSet", namespace, name, [Container(name, self.image(ref, size), port=5432)],
                              (), 3)
            budget -= 3
        for i in range(max(1, self.total // 1000) if budget > 50 else 0):
            namespace = apps[(i * 7) % len(apps)]
            team = namespace.rsplit("-", 1)[0]
            name = f"{team}-report-{i}"
            self.add_workload("CronJob", namespace, name, [Container("report", self.app_image(team, "report"))],
                              (PULL_SECRET,), 3)
            budget -= 3
        self.plan_deployments(apps, budget)
        self.place_pods()

    def plan_deployments(self, apps: List[str], budget: int) -> None:
        count = max(1, min(budget, round(self.total / PODS_PER_DEPLOYMENT)))
        # Heavy-tailed, as real fleets are: many deployments of a few replicas, a few of hundreds.
        weights = [self.rng.paretovariate(1.6) - 1 for _ in range(count)]
        scale = (budget - count) / sum(weights)
        replicas = [1 + int(w * scale) for w in weights]
        for i in range(budget - sum(replicas)):
            replicas[i % count] += 1
        taken: Set[Tuple[str, str]] = set()
        for i, size in enumerate(replicas):
            namespace = apps[self.rng.randrange(len(apps))]
            team = namespace.rsplit("-", 1)[0]
            service = SERVICES[self.rng.randrange(len(SERVICES))]
            name = f"{team}-{service}"
            while (namespace, name) in taken:
                name = f"{team}-{service}-{self.suffix(3)}"
            taken.add((namespace, name))
            if i % 13 == 5:
                ref, image_size = PUBLIC_IMAGES[i % len(PUBLIC_IMAGES)]
                containers = [Container(service, self.image(ref, image_size))]
                secrets: Tuple[str, ...] = ()
            else:
                containers = [Container(service, self.app_image(team, service))]
                secrets = (PULL_SECRET,)
            if i % 20 == 0:
                containers.append(Container("envoy", self.image(*SIDECAR_IMAGE), port=15001))
            self.add_workload("Deployment", namespace, name, containers, secrets, size)

    def add_workload(self, kind: str, namespace: str, name: str, containers: List[Container],
                     secrets: Tuple[str, ...], replicas: int) -> None:
        created = self.now - self.rng.uniform(3, 120) * 86400
        self.workloads.append(Workload(kind, namespace, name, self.uid(), containers, secrets, replicas, created,
                                       self.suffix(10 if kind == "Deployment" else 9)))

    def place_pods(self) -> None:
        """Pods spread over the nodes as the scheduler's spreading does: one DaemonSet pod per node, the
        replicas of a workload on distinct nodes where possible. Healthy pods started in the last hour
        (the events of older ones would have expired)."""
        nodes = len(self.node_names)
        for workload in self.workloads:
            start = self.rng.randrange(nodes)
            stride = self.rng.choice([s for s in (1, 3, 7, 11, 13) if nodes % s] or [1])
            for index in range(workload.replicas):
                node = index if workload.kind == "DaemonSet" else (start + index * stride) % nodes
                workload.pods.append(self.pod_plan(workload, index, node))

    def pod_plan(self, workload: Workload, index: int, node: int) -> PodPlan:
        kind = workload.kind
        labels = {"app": workload.name}
        restart = "Always"
        if kind == "Deployment":
            rs = f"{workload.name}-{workload.template_hash}"
            name = f"{rs}-{self.suffix(5)}"
            labels["pod-template-hash"] = workload.template_hash
            owner = owner_ref("apps/v1", "ReplicaSet", rs, "")
        elif kind == "StatefulSet":
            name = f"{workload.name}-{index}"
            labels.update({"apps.kubernetes.io/pod-index": str(index),
                           "controller-revision-hash": f"{workload.name}-{workload.template_hash}",
                           "statefulset.kubernetes.io/pod-name": name})
            owner = owner_ref("apps/v1", "StatefulSet", workload.name, workload.uid)
        elif kind == "DaemonSet":
            name = f"{workload.name}-{self.suffix(5)}"
            labels.update({"controller-revision-hash": workload.template_hash, "pod-template-generation": "1"})
            owner = owner_ref("apps/v1", "DaemonSet", workload.name, workload.uid)
        else:   # CronJob: the Jobs of its last three runs, one pod each, 15 minutes apart
            scheduled = int((self.now // 900 - index - 1) * 900)
            job = f"{workload.name}-{scheduled // 60}"
            name = f"{job}-{self.suffix(5)}"
            labels.update({"batch.kubernetes.io/job-name": job, "job-name": job})
            owner = owner_ref("batch/v1", "Job", job, "")
            restart = "OnFailure"
        created = self.now - self.rng.uniform(120, 3300)
        if kind == "CronJob":
            created = scheduled + self.rng.uniform(0.2, 2)
        return PodPlan(workload.namespace, name, node, owner, labels, list(workload.containers),
                       workload.pull_secrets, created, restart, "completed" if kind == "CronJob" else "running")

    # ----- who fails, and how
    def plan_failures(self) -> None:
        deployments = [w for w in self.workloads if w.kind == "Deployment" and w.namespace not in SYSTEM_NAMESPACES]
        self.rng.shuffle(deployments)
        remaining = self.failing_target
        share = max(1, remaining // 14)
        for situation in (self.credential_rotation, self.node_local, self.hanging_pulls, self.rollout):
            if remaining <= 0 or not deployments:
                break
            remaining -= situation(deployments, min(share, remaining))
        for kind in ("StatefulSet", "CronJob"):
            workload = next((w for w in self.workloads if w.kind == kind), None)
            if remaining > 0 and workload is not None:
                remaining -= self.fail_one_pod(workload)
        causes = list(CAUSES)
        weights = [c.weight for c in causes]
        largest_incident = max(3, self.failing_target // 20)    # at least ~20 incidents: a mix of causes
        while remaining > 0 and deployments:
            fitting = [d for d in deployments if len(d.pods) <= min(remaining, largest_incident)] or \
                [d for d in deployments if len(d.pods) <= remaining]
            if not fitting:
                remaining -= self.rollout(deployments, remaining, exact=True)
                break
            workload = fitting[self.rng.randrange(len(fitting))]
            deployments.remove(workload)
            cause = self.rng.choices(causes, weights)[0]
            bad = self.bad_image(workload, cause)
            if cause.name == "auth-missing":
                workload.pull_secrets = ()
            elif cause.name == "auth-secret-missing":
                workload.pull_secrets = (PULL_SECRET + "-harbor",)
            if cause.name == "never-pull":
                workload.containers[0].pull_policy = "Never"
            workload.bad_image = bad
            created = self.now - self.rng.uniform(180, 2700)
            workload.created = created - 2
            for plan in workload.pods:
                plan.pull_secrets = workload.pull_secrets
                self.fail(plan, cause, bad, "", created)
            remaining -= len(workload.pods)

    def bad_image(self, workload: Workload, cause: Cause) -> Image:
        """The image a workload broken by `cause` points at."""
        image = workload.containers[0].image
        team = workload.namespace.rsplit("-", 1)[0]
        service = image.repo.rsplit("/", 1)[-1]
        tag = image.ref.rpartition(":")[2]
        refs = {
            "tag-not-found": f"{image.repo}:{tag}-rc{self.rng.randint(1, 5)}",
            "rollout-tag-not-found": f"{image.repo}:{bump(tag)}",
            "repo-not-found": f"{REGISTRY}/{team}/{service}-svc:{tag}",
            "auth-missing": f"{REGISTRY}/{team}/{service}:{tag}",
            "auth-secret-missing": f"{REGISTRY}/{team}/{service}:{tag}",
            "pull-access-denied": f"corpacme/{service}:{tag}",
            "dns": f"registry.corp.exmaple/{team}/{service}:{tag}",
            "tls-unknown-authority": f"harbor.corp.example/{team}/{service}:{tag}",
            "connection-refused": f"mirror.corp.example:5000/{team}/{service}:{tag}",
            "tls-handshake-timeout": f"registry-eu.corp.example/{team}/{service}:{tag}",
            "platform-mismatch": f"{REGISTRY}/{team}/{service}:{tag}-arm64",
            "invalid-image-name": f"{REGISTRY}/{team.capitalize()}/{service}:{tag}",
            "never-pull": f"{REGISTRY}/{team}/{service}:{tag}-local",
        }
        return self.image(refs.get(cause.name, image.ref))

    def fail(self, plan: PodPlan, cause: Cause, image: Image, scenario: str, created: float) -> None:
        plan.outcome, plan.cause, plan.bad_image, plan.scenario = "failing", cause, image, scenario
        plan.err_image_pull = cause.waiting == "ImagePullBackOff" and self.rng.random() < 0.12
        plan.created = min(created + self.rng.uniform(0, 20), self.now - 60)
        key = f"{plan.namespace}/{plan.name}"
        self.failing[key] = cause.name
        if scenario:
            self.scenarios.setdefault(scenario, []).append(key)

    def credential_rotation(self, deployments: List[Workload], budget: int) -> int:
        """Pods that ran for days with pull policy Always; the registry password was rotated and the
        secret not updated, so every container restart now fails to pull (401). The others still run."""
        workload = _largest(deployments, PULL_SECRET)
        if workload is None:
            return 0
        deployments.remove(workload)
        workload.containers[0].pull_policy = "Always"
        started = self.now - self.rng.uniform(2, 9) * 86400
        for plan in workload.pods:
            plan.created = started + self.rng.uniform(0, 60)
        failed = 0
        for plan in workload.pods[:budget]:
            self.fail(plan, ROTATED_CREDENTIALS, workload.containers[0].image, "credential-rotation", started)
            plan.restarts = self.rng.randint(1, 4)
            failed += 1
        return failed

    def node_local(self, deployments: List[Workload], budget: int) -> int:
        """A new version that only two nodes cannot fetch: their route to the registry is broken (dial
        timeout), while the same image runs on the other nodes."""
        workload = _largest(deployments, PULL_SECRET)
        if workload is None or len(workload.pods) < 3:
            return 0
        deployments.remove(workload)
        bad_nodes = {p.node for p in workload.pods[:2]}
        created = self.now - self.rng.uniform(600, 2400)
        failed = 0
        for plan in workload.pods:
            if plan.node in bad_nodes and failed < budget:
                self.fail(plan, NODE_UNREACHABLE, workload.containers[0].image, "node-local", created)
                failed += 1
        return failed

    def hanging_pulls(self, deployments: List[Workload], budget: int) -> int:
        """A new deployment whose pods sit in ContainerCreating for 8-20 minutes on a pull that never answers
        (a registry that accepts connections and then says nothing)."""
        wanted = max(1, budget // 8)
        workload = min(deployments, key=lambda w: (abs(len(w.pods) - wanted), w.name))
        deployments.remove(workload)
        workload.bad_image = self.image(f"registry-eu.corp.example/{workload.namespace.rsplit('-', 1)[0]}/batch:v2.0.1")
        created = self.now - self.rng.uniform(480, 1200)
        workload.created = created - 2
        for plan in workload.pods:
            self.fail(plan, HANGING_PULL, workload.bad_image, "hanging-pull", created)
        return len(workload.pods)

    def rollout(self, deployments: List[Workload], budget: int, exact: bool = False) -> int:
        """A rollout stuck on a tag that was never pushed: the new ReplicaSet's pods (maxSurge, 25%) fail,
        the old ReplicaSet's keep running. `exact`: exactly `budget` new pods (the last failing ones)."""
        if exact:
            workload = min((d for d in deployments if len(d.pods) > budget), key=lambda w: (len(w.pods), w.name))
            count = budget
        else:
            big = [d for d in deployments if len(d.pods) >= 8] or deployments
            workload = big[self.rng.randrange(len(big))]
            count = min(budget, -(-len(workload.pods) // 4))
        deployments.remove(workload)
        new_hash = self.suffix(10)
        bad = self.bad_image(workload, ROLLOUT_BAD_TAG)
        created = self.now - self.rng.uniform(900, 2400)
        rs = f"{workload.name}-{new_hash}"
        for plan in workload.pods[:count]:
            plan.name = f"{rs}-{plan.name.rsplit('-', 1)[1]}"
            plan.labels = dict(plan.labels, **{"pod-template-hash": new_hash})
            plan.owner = owner_ref("apps/v1", "ReplicaSet", rs, "")
            self.fail(plan, ROLLOUT_BAD_TAG, bad, "rollout", created)
        workload.rollout = (new_hash, bad, count)
        return count

    def fail_one_pod(self, workload: Workload) -> int:
        """A StatefulSet update stuck at its highest ordinal, or a CronJob's latest run with no credentials."""
        if workload.kind == "StatefulSet":
            plan = workload.pods[-1]
            bad = self.image(f"{workload.containers[0].image.repo}:{bump(workload.containers[0].image.ref)}")
            workload.update_revision = f"{workload.name}-{self.suffix(9)}"
            plan.labels["controller-revision-hash"] = workload.update_revision
            self.fail(plan, cause_named("tag-not-found"), bad, "statefulset-update",
                      self.now - self.rng.uniform(600, 1800))
            return 1
        # The CronJob was changed to name a pull secret that was never created: its latest run fails.
        plan = workload.pods[0]
        workload.pull_secrets = plan.pull_secrets = (PULL_SECRET + "-harbor",)
        self.fail(plan, cause_named("auth-secret-missing"), workload.containers[0].image, "cronjob", plan.created)
        return 1

    # ----- objects
    def namespace_objects(self, namespace: str) -> Iterator[Obj]:
        created = rfc3339(self.now - 200 * 86400)
        yield {"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"creationTimestamp": created, "labels": {"kubernetes.io/metadata.name": namespace},
                            "name": namespace, "resourceVersion": self.next_rv(), "uid": self.uid()},
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        yield {"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"creationTimestamp": created, "name": "default", "namespace": namespace,
                            "resourceVersion": self.next_rv(), "uid": self.uid()}}
        if namespace not in SYSTEM_NAMESPACES:
            yield self.pull_secret(namespace, created)

    def pull_secret(self, namespace: str, created: str) -> Obj:
        """`kubectl create secret docker-registry` for the private registry (a throwaway value)."""
        password = self.suffix(24)
        auth = base64.b64encode(f"ci-puller:{password}".encode()).decode()
        config = {"auths": {REGISTRY: {"username": "ci-puller", "password": password, "auth": auth}}}
        payload = base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode()
        return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": payload},
                "metadata": {"creationTimestamp": created, "name": PULL_SECRET, "namespace": namespace,
                             "resourceVersion": self.next_rv(), "uid": self.uid()}}

    def container_spec(self, container: Container, image: Optional[Image] = None,
                       mounts: Optional[List[Obj]] = None) -> Obj:
        spec: Obj = {
            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PORT", "value": str(container.port)},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                    "fieldPath": "metadata.name"}}}],
            "image": (image or container.image).ref,
            "imagePullPolicy": container.pull_policy,
            "name": container.name,
            "ports": [{"containerPort": container.port, "name": "http", "protocol": "TCP"}],
            "readinessProbe": {"failureThreshold": 3, "httpGet": {"path": "/healthz", "port": "http",
                                                                  "scheme": "HTTP"},
                               "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1},
            "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
        if mounts is not None:
            spec["volumeMounts"] = [dict(m) for m in mounts]
        return spec

    def template(self, workload: Workload, labels: Dict[str, str], image: Optional[Image] = None,
                 secrets: Optional[Tuple[str, ...]] = None, restart_policy: str = "Always") -> Obj:
        """A workload's pod template (`image` for its main container), built afresh: generated objects share
        no nested structure, so changing one changes no other."""
        spec: Obj = {"containers": [self.container_spec(c, image if i == 0 else None)
                                    for i, c in enumerate(workload.containers)],
                     "dnsPolicy": "ClusterFirst", "restartPolicy": restart_policy,
                     "schedulerName": "default-scheduler", "securityContext": {}, "terminationGracePeriodSeconds": 30}
        secrets = workload.pull_secrets if secrets is None else secrets
        if secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in secrets]
        return {"metadata": {"labels": dict(labels)}, "spec": spec}

    def workload_objects(self, workload: Workload) -> Iterator[Obj]:
        kind, name, namespace = workload.kind, workload.name, workload.namespace
        created = rfc3339(workload.created)
        selector = {"matchLabels": {"app": name}}
        meta = {"creationTimestamp": created, "generation": 1, "labels": {"app": name}, "name": name,
                "namespace": namespace, "resourceVersion": self.next_rv(), "uid": workload.uid}
        template = self.template(workload, {"app": name}, workload.bad_image)
        ready = sum(1 for p in workload.pods if p.outcome == "running")
        size = len(workload.pods)
        if kind == "Deployment":
            yield from self.deployment_objects(workload, meta, selector, template, ready)
        elif kind == "DaemonSet":
            yield {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                   "spec": {"revisionHistoryLimit": 10, "selector": selector, "template": template,
                            "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                               "type": "RollingUpdate"}},
                   "status": {"currentNumberScheduled": size, "desiredNumberScheduled": size,
                              "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                              "observedGeneration": 1, "updatedNumberScheduled": size}}
        elif kind == "StatefulSet":
            yield {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                   "spec": {"podManagementPolicy": "OrderedReady", "replicas": size, "revisionHistoryLimit": 10,
                            "selector": selector, "serviceName": name, "template": template,
                            "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}},
                   "status": {"availableReplicas": ready, "currentReplicas": ready,
                              "currentRevision": f"{name}-{workload.template_hash}", "observedGeneration": 1,
                              "readyReplicas": ready, "replicas": size,
                              "updateRevision": workload.update_revision or f"{name}-{workload.template_hash}",
                              "updatedReplicas": size - ready if workload.update_revision else size}}
        else:
            yield from self.cronjob_objects(workload, meta)

    def deployment_objects(self, workload: Workload, meta: Obj, selector: Obj, template: Obj,
                           ready: int) -> Iterator[Obj]:
        size = len(workload.pods)
        rollout = workload.rollout
        revision = self.rng.randint(1, 12)
        status: Obj = {"availableReplicas": ready, "observedGeneration": 1, "readyReplicas": ready,
                       "replicas": size, "updatedReplicas": size}
        if ready < size:
            status["unavailableReplicas"] = size - ready
        available = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.") \
            if ready * 4 >= size * 3 else ("False", "MinimumReplicasUnavailable",
                                           "Deployment does not have minimum availability.")
        progressing = ("True", "NewReplicaSetAvailable",
                       f'ReplicaSet "{workload.name}-{workload.template_hash}" has successfully progressed.')
        spec_template = template
        if rollout is not None:
            new_hash, bad, new_count = rollout
            status["updatedReplicas"] = new_count
            progressing = ("False", "ProgressDeadlineExceeded",
                           f'ReplicaSet "{workload.name}-{new_hash}" has timed out progressing.')
            spec_template = self.template(workload, {"app": workload.name}, bad)
            meta["generation"] = 2
            status["observedGeneration"] = 2
        when = rfc3339(self.now - 600)
        status["conditions"] = [
            {"lastTransitionTime": when, "lastUpdateTime": when, "message": available[2], "reason": available[1],
             "status": available[0], "type": "Available"},
            {"lastTransitionTime": when, "lastUpdateTime": when, "message": progressing[2],
             "reason": progressing[1], "status": progressing[0], "type": "Progressing"}]
        meta["annotations"] = {"deployment.kubernetes.io/revision": str(revision + (1 if rollout else 0))}
        yield {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
               "spec": {"progressDeadlineSeconds": 600, "replicas": size, "revisionHistoryLimit": 10,
                        "selector": selector,
                        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                     "type": "RollingUpdate"},
                        "template": spec_template},
               "status": status}
        owner = owner_ref("apps/v1", "Deployment", workload.name, workload.uid)
        sets = [(workload.template_hash, workload.bad_image, size - (rollout[2] if rollout else 0), revision)]
        if rollout is not None:
            sets.append((rollout[0], rollout[1], rollout[2], revision + 1))
        elif revision > 1 and self.rng.random() < 0.3:
            sets.append((self.suffix(10), self.image(workload.containers[0].image.repo + ":v0.9.0"), 0, revision - 1))
        rs_uids: Dict[str, str] = {}
        for template_hash, image, replicas, rs_revision in sets:
            rs = self.replicaset(workload, owner, template_hash, image, replicas, rs_revision, size)
            rs_uids[rs["metadata"]["name"]] = rs["metadata"]["uid"]
            yield rs
        for plan in workload.pods:
            plan.owner["uid"] = rs_uids[plan.owner["name"]]

    def replicaset(self, workload: Workload, owner: Obj, template_hash: str, image: Optional[Image], replicas: int,
                   revision: int, desired: int) -> Obj:
        labels = {"app": workload.name, "pod-template-hash": template_hash}
        pods = [p for p in workload.pods if p.labels.get("pod-template-hash") == template_hash]
        ready = sum(1 for p in pods if p.outcome == "running")
        created = min(p.created for p in pods) - 1 if pods else workload.created
        return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"annotations": {"deployment.kubernetes.io/desired-replicas": str(desired),
                                             "deployment.kubernetes.io/max-replicas": str(desired + -(-desired // 4)),
                                             "deployment.kubernetes.io/revision": str(revision)},
                             "creationTimestamp": rfc3339(created), "generation": 1,
                             "labels": labels, "name": f"{workload.name}-{template_hash}",
                             "namespace": workload.namespace, "ownerReferences": [dict(owner)],
                             "resourceVersion": self.next_rv(), "uid": self.uid()},
                "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                         "template": self.template(workload, labels, image)},
                "status": {"availableReplicas": ready, "fullyLabeledReplicas": replicas, "observedGeneration": 1,
                           "readyReplicas": ready, "replicas": replicas}}

    def cronjob_objects(self, workload: Workload, meta: Obj) -> Iterator[Obj]:
        job_template = {"metadata": {}, "spec": {"backoffLimit": 2, "template": self.template(
            workload, {"app": workload.name}, restart_policy="OnFailure")}}
        last = rfc3339(max(p.created for p in workload.pods))
        yield {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
               "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1, "jobTemplate": job_template,
                        "schedule": "*/15 * * * *", "successfulJobsHistoryLimit": 3, "suspend": False},
               "status": {"lastScheduleTime": last}}
        owner = owner_ref("batch/v1", "CronJob", workload.name, workload.uid)
        for plan in workload.pods:
            job_uid = self.uid()
            plan.owner["uid"] = job_uid
            plan.labels.update({"batch.kubernetes.io/controller-uid": job_uid, "controller-uid": job_uid})
            job = plan.owner["name"]
            done = plan.outcome == "completed"
            status: Obj = {"active": 0 if done else 1, "ready": 0, "startTime": rfc3339(plan.created),
                           "terminating": 0, "uncountedTerminatedPods": {}}
            if done:
                status.update({"completionTime": rfc3339(plan.created + 40), "succeeded": 1, "conditions": [
                    {"lastProbeTime": rfc3339(plan.created + 40), "lastTransitionTime": rfc3339(plan.created + 40),
                     "message": "Reached expected number of succeeded pods", "reason": "CompletionsReached",
                     "status": "True", "type": "SuccessCriteriaMet"},
                    {"lastProbeTime": rfc3339(plan.created + 40), "lastTransitionTime": rfc3339(plan.created + 40),
                     "message": "Reached expected number of succeeded pods", "reason": "CompletionsReached",
                     "status": "True", "type": "Complete"}]})
            labels = {"batch.kubernetes.io/controller-uid": job_uid, "batch.kubernetes.io/job-name": job,
                      "controller-uid": job_uid, "job-name": job}
            yield {"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp":
                                                rfc3339(plan.created // 60 * 60)},
                                "creationTimestamp": rfc3339(plan.created), "generation": 1, "labels": labels,
                                "name": job, "namespace": workload.namespace, "ownerReferences": [dict(owner)],
                                "resourceVersion": self.next_rv(), "uid": job_uid},
                   "spec": {"backoffLimit": 2, "completionMode": "NonIndexed", "completions": 1,
                            "manualSelector": False, "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
                            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
                            "suspend": False,
                            "template": self.template(workload, labels, plan.bad_image, plan.pull_secrets,
                                                      "OnFailure")},
                   "status": status}

    # ----- pods and their events
    def write_pod(self, plan: PodPlan) -> None:
        node = self.node_names[plan.node]
        uid = self.uid()
        token_volume = f"kube-api-access-{self.suffix(5)}"
        mounts = [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": token_volume,
                   "readOnly": True}]
        created_rv = self.next_rv()
        meta: Obj = {"creationTimestamp": rfc3339(plan.created)}
        if plan.owner["kind"] in ("ReplicaSet", "DaemonSet", "Job"):
            meta["generateName"] = plan.name[:-5]
        meta.update({"generation": 1, "labels": plan.labels, "name": plan.name, "namespace": plan.namespace,
                     "ownerReferences": [plan.owner], "resourceVersion": "", "uid": uid})
        containers = [self.container_spec(c, plan.bad_image if i == 0 else None, mounts)
                      for i, c in enumerate(plan.containers)]
        spec: Obj = {"containers": containers, "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
                     "nodeName": node, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
                     "restartPolicy": plan.restart_policy, "schedulerName": "default-scheduler",
                     "securityContext": {}, "serviceAccount": "default", "serviceAccountName": "default",
                     "terminationGracePeriodSeconds": 30, "tolerations": tolerations(plan.owner["kind"]),
                     "volumes": [token_projection(token_volume)]}
        if plan.pull_secrets:
            spec["imagePullSecrets"] = [{"name": s} for s in plan.pull_secrets]
        if plan.owner["kind"] == "DaemonSet":
            spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                        "values": [node]}]}]}}}
        events = PodEvents(self, plan, uid, created_rv, node)
        statuses = [self.container_status(plan, c, i, mounts, events) for i, c in enumerate(plan.containers)]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
               "status": self.pod_status(plan, statuses)}
        meta["resourceVersion"] = self.next_rv()
        self.pod_objects.append(pod)
        self.events.extend(events.items)

    def container_status(self, plan: PodPlan, container: Container, index: int, mounts: List[Obj],
                         events: "PodEvents") -> Obj:
        fails = index == 0 and plan.outcome == "failing"
        image = plan.bad_image if fails and plan.bad_image else container.image
        # A waiting container shows the image as the spec writes it; a running one, as the runtime names it.
        status: Obj = {"image": image.ref if fails else normalized(image.ref), "imageID": "", "lastState": {},
                       "name": container.name,
                       "ready": False, "restartCount": 0, "started": False}
        if fails:
            assert plan.cause is not None
            if plan.restarts:
                ran = plan.created + self.rng.uniform(1, 6)
                ended = self.now - self.rng.uniform(300, 1800)
                container_id = self.container_id()
                status.update({"containerID": container_id, "imageID": image.image_id,
                               "restartCount": plan.restarts})
                status["lastState"] = {"terminated": {"containerID": container_id, "exitCode": 137,
                                                      "finishedAt": rfc3339(ended), "reason": "OOMKilled",
                                                      "startedAt": rfc3339(ran)}}
                self.node_images[plan.node][image.ref] = image
            status["state"] = {"waiting": events.failing_container(container, image, plan.cause)}
        else:
            pulled_at = events.healthy_container(container, image)
            self.node_images[plan.node][image.ref] = image
            container_id = self.container_id()
            status.update({"containerID": container_id, "imageID": image.image_id, "resources": {}})
            if plan.outcome == "completed":
                status["state"] = {"terminated": {"containerID": container_id, "exitCode": 0,
                                                  "finishedAt": rfc3339(pulled_at + 35), "reason": "Completed",
                                                  "startedAt": rfc3339(pulled_at + 1)}}
            else:
                status.update({"ready": True, "started": True, "state": {"running": {
                    "startedAt": rfc3339(pulled_at + 1)}}})
        status["volumeMounts"] = [dict(m, recursiveReadOnly="Disabled") for m in mounts]
        return status

    def container_id(self) -> str:
        return "containerd://%064x" % self.rng.getrandbits(256)

    def pod_status(self, plan: PodPlan, statuses: List[Obj]) -> Obj:
        node = plan.node
        start = rfc3339(plan.created)
        unready = [s["name"] for s in statuses if not s["ready"]]

        def condition(kind: str, state: bool, reason: str = "", message: str = "") -> Obj:
            entry: Obj = {"lastProbeTime": None, "lastTransitionTime": start}
            if message:
                entry["message"] = message
            entry["observedGeneration"] = 1
            if reason:
                entry["reason"] = reason
            entry.update({"status": "True" if state else "False", "type": kind})
            return entry
        if plan.outcome == "completed":
            conditions = [condition("PodReadyToStartContainers", False),
                          condition("Initialized", True, "PodCompleted"),
                          condition("Ready", False, "PodCompleted"),
                          condition("ContainersReady", False, "PodCompleted"), condition("PodScheduled", True)]
            phase = "Succeeded"
        elif unready:
            message = f"containers with unready status: [{' '.join(unready)}]"
            conditions = [condition("PodReadyToStartContainers", True), condition("Initialized", True),
                          condition("Ready", False, "ContainersNotReady", message),
                          condition("ContainersReady", False, "ContainersNotReady", message),
                          condition("PodScheduled", True)]
            phase = "Running" if len(unready) < len(statuses) or plan.restarts else "Pending"
        else:
            conditions = [condition(kind, True) for kind in ("PodReadyToStartContainers", "Initialized", "Ready",
                                                             "ContainersReady", "PodScheduled")]
            phase = "Running"
        host_ip = node_ip(node)
        pod_ip = f"10.{100 + node // 256}.{node % 256}.{self.rng.randint(2, 254)}"
        return {"conditions": conditions, "containerStatuses": statuses, "hostIP": host_ip,
                "hostIPs": [{"ip": host_ip}], "observedGeneration": 1, "phase": phase, "podIP": pod_ip,
                "podIPs": [{"ip": pod_ip}], "qosClass": "Burstable", "startTime": start}

    # ----- nodes
    def node_object(self, index: int) -> Obj:
        name = self.node_names[index]
        created = self.now - self.rng.uniform(20, 60) * 86400
        heartbeat = rfc3339(self.now - self.rng.uniform(0, 40))
        images = self.node_images[index]
        for _ in range(self.rng.randint(12, 30)):     # what earlier pods left in the image store
            old = list(self.images.values())[self.rng.randrange(len(self.images))]
            images.setdefault(old.ref, old)
        listed = sorted(images.values(), key=lambda image: -image.size)[:NODE_STATUS_MAX_IMAGES]

        def condition(kind: str, state: str, reason: str, message: str) -> Obj:
            return {"lastHeartbeatTime": heartbeat, "lastTransitionTime": rfc3339(created), "message": message,
                    "reason": reason, "status": state, "type": kind}
        capacity = {"cpu": "8", "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0",
                    "memory": "32386544Ki", "pods": "110"}
        allocatable = dict(capacity, **{"cpu": "7910m", "ephemeral-storage": "95551679124",
                                        "memory": "31369712Ki"})
        pod_cidr = f"10.{100 + index // 256}.{index % 256}.0/24"
        return {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {
                "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
                "creationTimestamp": rfc3339(created),
                "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "m6i.2xlarge",
                           "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                           "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                           "node.kubernetes.io/instance-type": "m6i.2xlarge",
                           "topology.kubernetes.io/region": "eu-west-1",
                           "topology.kubernetes.io/zone": "eu-west-1" + "abc"[index % 3]},
                "name": name, "resourceVersion": self.next_rv(), "uid": self.uid()},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr],
                     "providerID": f"aws:///eu-west-1{'abc'[index % 3]}/i-{self.rng.getrandbits(68):017x}"},
            "status": {
                "addresses": [{"address": node_ip(index), "type": "InternalIP"},
                              {"address": name, "type": "Hostname"}],
                "allocatable": allocatable, "capacity": capacity,
                "conditions": [
                    condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                              "kubelet has sufficient memory available"),
                    condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                    condition("PIDPressure", "False", "KubeletHasSufficientPID",
                              "kubelet has sufficient PID available"),
                    condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "images": [{"names": [image.image_id, normalized(image.ref)], "sizeBytes": image.size}
                           for image in listed],
                "nodeInfo": {"architecture": "amd64", "bootID": self.uid(),
                             "containerRuntimeVersion": RUNTIME_VERSION, "kernelVersion": "6.1.0-41-amd64",
                             "kubeProxyVersion": "", "kubeletVersion": KUBELET_VERSION,
                             "machineID": "%032x" % self.rng.getrandbits(128), "operatingSystem": "linux",
                             "osImage": "Debian GNU/Linux 12 (bookworm)", "systemUUID": self.uid()},
            },
        }


class PodEvents:
    """The events one pod's history leaves, with kubelet 1.36's reasons, messages and counts."""

    def __init__(self, gen: _Generator, plan: PodPlan, uid: str, pod_rv: str, node: str) -> None:
        self.gen = gen
        self.plan = plan
        self.node = node
        self.ref = {"apiVersion": "v1", "kind": "Pod", "name": plan.name, "namespace": plan.namespace,
                    "resourceVersion": pod_rv, "uid": uid}
        self.items: List[Obj] = []
        self.clock = plan.created + gen.rng.uniform(0.05, 0.4)
        if not plan.restarts:   # the Scheduled event of a pod older than an hour has expired
            self.items.append(self.scheduled())

    def name(self, at: float) -> str:
        """The recorder's event name: the object's name and the first occurrence in Unix nanoseconds, hex."""
        nanos = int(at * 1e9) + self.gen.rng.randrange(1_000_000)
        return f"{self.plan.name}.{nanos:x}"

    def scheduled(self) -> Obj:
        at = self.plan.created + self.gen.rng.uniform(0.01, 0.2)
        return {"action": "Binding", "apiVersion": "v1", "eventTime": micro_time(at), "firstTimestamp": None,
                "involvedObject": dict(self.ref), "kind": "Event", "lastTimestamp": None,
                "message": f"Successfully assigned {self.plan.namespace}/{self.plan.name} to {self.node}",
                "metadata": self.meta(at), "reason": "Scheduled", "reportingComponent": "default-scheduler",
                "reportingInstance": f"default-scheduler-{CONTROL_PLANE}", "source": {}, "type": "Normal"}

    def meta(self, at: float) -> Obj:
        return {"creationTimestamp": rfc3339(at), "name": self.name(at), "namespace": self.plan.namespace,
                "resourceVersion": self.gen.next_rv(), "uid": self.gen.uid()}

    def kubelet(self, reason: str, message: str, first: float, last: float, count: int = 1,
                container: Optional[str] = None, warning: bool = False) -> None:
        involved = dict(self.ref)
        if container:
            involved["fieldPath"] = f"spec.containers{{{container}}}"
        self.items.append({
            "apiVersion": "v1", "count": count, "eventTime": None, "firstTimestamp": rfc3339(first),
            "involvedObject": involved, "kind": "Event", "lastTimestamp": rfc3339(last), "message": message,
            "metadata": self.meta(first), "reason": reason, "reportingComponent": "kubelet",
            "reportingInstance": self.node, "source": {"component": "kubelet", "host": self.node},
            "type": "Warning" if warning else "Normal"})

    def healthy_container(self, container: Container, image: Image) -> float:
        """Pulling/Pulled (or already present)/Created/Started; returns when the image was ready."""
        rng = self.gen.rng
        start = self.clock
        cached = image.ref in self.gen.node_images[self.plan.node] and container.pull_policy != "Always"
        if cached:
            self.kubelet("Pulled", f'Container image "{image.ref}" already present on machine and can be accessed '
                         "by the pod", start, start, container=container.name)
            ready = start
        else:
            pull_ms = int(min(60_000.0, image.size / rng.uniform(20e6, 120e6) * 1000) + rng.randint(30, 400))
            wait_ms = pull_ms + (rng.randint(0, 4000) if rng.random() < 0.3 else 0)
            ready = start + wait_ms / 1000
            self.kubelet("Pulling", f'Pulling image "{image.ref}"', start, start, container=container.name)
            self.kubelet("Pulled", f'Successfully pulled image "{image.ref}" in {go_duration(pull_ms)} '
                         f"({go_duration(wait_ms)} including waiting). Image size: {image.size} bytes.",
                         ready, ready, container=container.name)
        self.kubelet("Created", "Container created", ready + 0.05, ready + 0.05, container=container.name)
        self.kubelet("Started", "Container started", ready + 0.2, ready + 0.2, container=container.name)
        self.clock = ready + 0.3
        return ready

    def failing_container(self, container: Container, image: Image, cause: Cause) -> Obj:
        """The events of a container that cannot get its image; returns its `state.waiting`."""
        plan, now, name = self.plan, self.gen.now, container.name
        ref = image.ref
        start = self.clock if not plan.restarts else now - self.gen.rng.uniform(300, 1500)
        if cause is HANGING_PULL:
            self.kubelet("Pulling", f'Pulling image "{ref}"', start, start, container=name)
            return {"reason": "ContainerCreating"}
        error = self.error(cause, ref)
        if cause.waiting != "ImagePullBackOff":
            syncs = 1 + int((now - start) / 9)
            reason = "InspectFailed" if cause.waiting == "InvalidImageName" else cause.waiting
            self.kubelet(reason, error, start, now - 3, syncs, name, warning=True)
            self.kubelet("Failed", f"Error: {cause.waiting}", start, now - 3, syncs, name, warning=True)
            return {"message": error, "reason": cause.waiting}
        attempts, backoffs, last_attempt = pull_schedule(now - start, cause.pull_seconds)
        last = start + last_attempt
        if plan.err_image_pull:     # caught just after an attempt failed, before the next back-off
            last = max(last, now - cause.pull_seconds - self.gen.rng.uniform(0.5, 3))
        if "-secret-missing" in cause.name:
            self.kubelet("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets "
                         f"({', '.join(plan.pull_secrets)}); attempting to pull the image may not succeed.",
                         start, last, attempts + 2, warning=True)
        failed_at = last + cause.pull_seconds
        self.kubelet("Pulling", f'Pulling image "{ref}"', start, last, attempts, name)
        self.kubelet("Failed", f'Failed to pull image "{ref}": {error}', start + cause.pull_seconds, failed_at,
                     attempts, name, warning=True)
        self.kubelet("Failed", "Error: ErrImagePull", start + cause.pull_seconds, failed_at, attempts, name,
                     warning=True)
        if backoffs:
            first_backoff = start + cause.pull_seconds + 1
            last_backoff = max(first_backoff, last - 1 if plan.err_image_pull else now - 5)
            self.kubelet("BackOff", f'Back-off pulling image "{ref}"', first_backoff, last_backoff, backoffs, name)
            self.kubelet("Failed", "Error: ImagePullBackOff", first_backoff, last_backoff, backoffs, name,
                         warning=True)
        if plan.err_image_pull:
            return {"message": error, "reason": "ErrImagePull"}
        return {"message": f'Back-off pulling image "{ref}": ErrImagePull: {error}', "reason": "ImagePullBackOff"}

    @staticmethod
    def error(cause: Cause, ref: str) -> str:
        full = normalized(ref)
        host, repo, tag = split_reference(full)
        remote = ref.split("/", 1)[1].rpartition(":")[0] if "/" in ref else ref
        endpoint = registry_endpoint(host)
        return cause.error.format(full=full, ref=ref, host=endpoint, hostname=endpoint.split(":")[0], repo=repo,
                                  tag=tag, remote=remote)


def pull_schedule(age: float, attempt_seconds: float) -> Tuple[int, int, float]:
    """(pull attempts, BackOff events, start of the last attempt) of a pull failing for `age` seconds:
    the kubelet retries after 10s, doubling up to 5 minutes, and reports BackOff on every pod sync
    in between (about every 15 s, as the captures show)."""
    attempts, backoffs, t, delay, last = 0, 0, 0.0, 10.0, 0.0
    while t + attempt_seconds <= age:
        attempts += 1
        last = t
        t += attempt_seconds
        wait = min(delay, max(0.0, age - t))
        if wait > 0:
            backoffs += max(1, int(wait // 15))
        t += delay
        delay = min(delay * 2, 300.0)
    return attempts, backoffs, last


def cause_named(name: str) -> Cause:
    return next(c for c in CAUSES if c.name == name)


def bump(ref: str) -> str:
    """The next minor version of an image's tag (vX.Y.Z or X.Y): a release that was never pushed."""
    tag = ref.rpartition(":")[2]
    prefix = "v" if tag.startswith("v") else ""
    parts = tag[len(prefix):].split(".")
    if len(parts) >= 2 and all(p.isdigit() for p in parts):
        return prefix + ".".join([parts[0], str(int(parts[1]) + 1)] + ["0"] * (len(parts) - 2))
    return tag + "-next"


def owner_ref(api_version: str, kind: str, name: str, uid: str) -> Obj:
    return {"apiVersion": api_version, "blockOwnerDeletion": True, "controller": True, "kind": kind, "name": name,
            "uid": uid}


def node_ip(index: int) -> str:
    return f"10.20.{index // 250}.{index % 250 + 4}"


_DEFAULT_TOLERATIONS = ({"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "tolerationSeconds": 300},
                        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
                         "tolerationSeconds": 300})
_DAEMONSET_TOLERATIONS = tuple({"effect": effect, "key": f"node.kubernetes.io/{key}", "operator": "Exists"}
                               for key, effect in (("not-ready", "NoExecute"), ("unreachable", "NoExecute"),
                                                   ("disk-pressure", "NoSchedule"), ("memory-pressure", "NoSchedule"),
                                                   ("pid-pressure", "NoSchedule"), ("unschedulable", "NoSchedule")))


def tolerations(owner_kind: str) -> List[Obj]:
    """DefaultTolerationSeconds admission for most pods; the DaemonSet controller's own for daemons."""
    return [dict(t) for t in (_DAEMONSET_TOLERATIONS if owner_kind == "DaemonSet" else _DEFAULT_TOLERATIONS)]


def token_projection(volume: str) -> Obj:
    """The ServiceAccount admission's kube-api-access volume, as the captured pods carry it."""
    return {"name": volume, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}}]}}


def _largest(deployments: List[Workload], secret: str) -> Optional[Workload]:
    """The deployment with the most replicas among those pulling from the private registry."""
    private = [d for d in deployments if secret in d.pull_secrets and len(d.containers) == 1]
    return max(private, key=lambda d: len(d.pods)) if private else None


def generate(pods: int, *, seed: int = 1, namespaces: int = 50, failing_fraction: float = 0.05,
             now: datetime = CAPTURE_TIME) -> GeneratedCluster:
    """A cluster of `pods` pods (at least 20); the same arguments give the same cluster."""
    if pods < 20:
        raise ValueError("a generated cluster needs at least 20 pods")
    collecting = gc.isenabled()
    gc.disable()     # hundreds of thousands of new dicts, none garbage: the collector's passes only cost time
    try:
        return _Generator(pods, seed, namespaces, failing_fraction, now).build()
    finally:
        if collecting:
            gc.enable()


def load(cluster: "FakeCluster", generated: GeneratedCluster) -> None:
    """Seed a FakeCluster with every generated object in one bulk write (resourceVersions kept). The
    objects are handed over, not copied: generate again rather than change them afterwards."""
    cluster.seed(generated.objects, copy=False)
