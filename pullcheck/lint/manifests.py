"""Read manifests for `lint -f`: files, directories and stdin; YAML streams and JSON; where each image is.

What counts is what `kubectl apply -f` would send: every document of a multi-document stream, the items
of `kind: List` (and of `*List` kinds such as `DeploymentList` from `kubectl get -o yaml`), in the order
written. Empty documents (a lone `---`, Helm's `# Source:` comments around a skipped template) and
objects that carry no pod template are passed over. Directories are walked recursively for *.yaml,
*.yml and *.json (hidden entries skipped), in sorted order so that reports are stable.

Line numbers come from PyYAML's node marks: each document is kept as its node tree next to the plain
data, and a field's position is looked up by path only when a finding needs it.
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence, TextIO, Tuple

from pullcheck.errors import UsageError

STDIN = "-"
STDIN_NAME = "<stdin>"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# On a workload object: rule ids not to report for it, comma- or space-separated.
IGNORE_ANNOTATION = "pullcheck.io/ignore-rules"

# kind -> (API groups it is served in, path of its pod spec). apps/v1beta* and extensions/v1beta1 are the
# old homes of the same kinds; a CRD reusing a kind name in another group is not a workload of ours.
POD_SPEC_PATHS = {
    "Pod": (("",), ("spec",)),
    "PodTemplate": (("",), ("template", "spec")),
    "ReplicationController": (("",), ("spec", "template", "spec")),
    "Deployment": (("apps", "extensions"), ("spec", "template", "spec")),
    "ReplicaSet": (("apps", "extensions"), ("spec", "template", "spec")),
    "StatefulSet": (("apps",), ("spec", "template", "spec")),
    "DaemonSet": (("apps", "extensions"), ("spec", "template", "spec")),
    "Job": (("batch",), ("spec", "template", "spec")),
    "CronJob": (("batch",), ("spec", "jobTemplate", "spec", "template", "spec")),
}
# The container lists of a pod spec, in the order the kubelet starts them, and how findings name them.
CONTAINER_LISTS = (("initContainers", "init"), ("containers", "container"), ("ephemeralContainers", "ephemeral"))

FieldPath = Tuple[Any, ...]     # keys and list indexes from a document root


@dataclass(frozen=True)
class Position:
    """Where something is written: file and 1-based line and column (None when not known, e.g. --live)."""

    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "-"
        return self.file + (f":{self.line}" if self.line else "")


@dataclass
class Container:
    name: str
    type: str                   # container | init | ephemeral
    image: Any                  # as written: usually a str; None when the field is absent
    pull_policy: Any            # as written, None when absent (the API server defaults it)
    position: Position          # of the `image:` field, else of the container
    policy_position: Position   # of the `imagePullPolicy:` field, else as `position`

    @property
    def label(self) -> str:
        return self.name if self.type == "container" else f"{self.type}:{self.name}"


@dataclass
class Workload:
    """An object with a pod template (or a Pod), reduced to what the lint rules read."""

    kind: str
    namespace: str
    name: str
    pod_spec: dict
    containers: list[Container]
    position: Position          # of the object (its document or List item)
    ignored_rules: tuple[str, ...] = ()     # from the IGNORE_ANNOTATION annotation, as written

    @property
    def label(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def service_account(self) -> str:
        return str(self.pod_spec.get("serviceAccountName") or self.pod_spec.get("serviceAccount") or "default")

    @property
    def pull_secrets(self) -> list[str]:
        return secret_names(self.pod_spec.get("imagePullSecrets"))


@dataclass
class LoadedInput:
    """Everything read: workloads, the service accounts seen (namespace, name) -> their pull secrets."""

    sources: list[str] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    service_accounts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    accounts_complete: bool = False     # True when every service account in scope is known (--live)
    accounts_unknown: str = "is not in the input"    # why a service account's pull secrets are not known
    notes: list[str] = field(default_factory=list)
    secrets: dict[tuple[str, str], Any] | None = None   # (namespace, name) -> SecretLookup (--live, or input)


def secret_names(entries: Any) -> list[str]:
    """Names of an imagePullSecrets list ([{name: x}, ...]), ignoring malformed entries."""
    if not isinstance(entries, list):
        return []
    return [str(e["name"]) for e in entries if isinstance(e, dict) and e.get("name")]


# -- reading ----------------------------------------------------------------------------------------------
def load_manifests(paths: Sequence[str], namespace: str | None = None, stdin: TextIO | None = None) -> LoadedInput:
    """Read every path ('-' for stdin) into workloads and service accounts; UsageError on bad input."""
    loaded = LoadedInput()
    default_namespace = namespace or "default"
    for source in expand_paths(paths, loaded.notes):
        if source == STDIN:
            text, name = (stdin or sys.stdin).read(), STDIN_NAME
        else:
            text, name = read_text(source), source
        loaded.sources.append(name)
        for document in parse_documents(text, name):
            collect(document, default_namespace, loaded)
    return loaded


def expand_paths(paths: Sequence[str], notes: list[str]) -> list[str]:
    """Files to read, in order: named files as given, directories walked; each file once."""
    if not paths:
        raise UsageError("no input: give -f FILE, -f DIR or -f - (stdin)")
    if list(paths).count(STDIN) > 1:
        raise UsageError("-f - (stdin) can be given only once")
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            files = list(_walk(path))
            if not files:
                notes.append(f"{path}: no *.yaml, *.yml or *.json files")
            found.extend(files)
            kustomized = sorted({os.path.dirname(f) or "." for f in files
                                 if os.path.basename(f) in KUSTOMIZATION_FILES})
            for folder in kustomized:
                notes.append(f"{folder} is a kustomization, linted as written (its images: and patches not "
                             f"applied); to lint what is applied: kubectl kustomize {folder} | kubectl pullcheck "
                             "lint -f -")
        elif path == STDIN or os.path.exists(path):     # files, and pipes such as <(helm template .)
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    return list(dict.fromkeys(found))


def _walk(top: str) -> Iterator[str]:
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and (name.endswith(MANIFEST_SUFFIXES) or name in KUSTOMIZATION_FILES):
                yield os.path.join(root, name)


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})") from None


# -- parsing ----------------------------------------------------------------------------------------------
@dataclass
class Document:
    """One parsed document: the data, its node tree (None for JSON parsed without YAML) and its source."""

    data: Any
    node: Any
    source: str
    index: int                  # 1-based position in the stream

    def position(self, path: FieldPath) -> Position:
        """Position of the field at `path` (keys and list indexes), else of its nearest written parent."""
        node, mark = self.node, None
        if node is not None:
            mark = node.start_mark
            for step in path:
                node, key_mark = _child(node, step)
                if node is None:
                    break
                mark = key_mark
        if mark is None:
            return Position(self.source)
        return Position(self.source, mark.line + 1, mark.column + 1)


def _child(node: Any, step: Any) -> tuple[Any, Any]:
    """The child node at `step` and the mark to report for it (a mapping key's own mark)."""
    import yaml

    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        found = (None, None)
        for key, value in node.value:            # the last duplicate wins, as in the constructed data
            if isinstance(key, yaml.ScalarNode) and key.value == step:
                found = (value, key.start_mark)
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        item = node.value[step]
        return item, item.start_mark
    return None, None


def parse_documents(text: str, source: str) -> list[Document]:
    """Every document of a YAML stream (JSON is YAML too), with node trees for positions.

    JSON indented with tabs is not YAML: it is read with the json module, then re-read as YAML with the
    tabs made spaces (outside strings valid JSON has tabs only as whitespace) to keep positions.
    """
    import yaml

    try:
        return _yaml_documents(text, source)
    except yaml.YAMLError as exc:
        if text.lstrip().startswith(("{", "[")):
            try:
                data = json.loads(text)
            except ValueError:
                pass
            else:
                try:
                    return _yaml_documents(text.replace("\t", " "), source)
                except yaml.YAMLError:
                    return [Document(data, None, source, 1)]
        raise UsageError(_yaml_error(exc, source)) from None


def _yaml_documents(text: str, source: str) -> list[Document]:
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)   # also flattens `<<` merges in the node tree
            documents.append(Document(data, node, source, len(documents) + 1))
    finally:
        loader.dispose()
    return documents


def _yaml_error(exc: Exception, source: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"{where}: invalid YAML: {problem}" + (f" ({context})" if context else "")


# -- objects -> workloads -----------------------------------------------------------------------------------
def collect(document: Document, default_namespace: str, loaded: LoadedInput) -> None:
    """Add the document's workloads and service accounts (List items included) to `loaded`."""
    data = document.data
    if data is None:
        return
    if not isinstance(data, dict):
        loaded.notes.append(f"{document.source}: document {document.index} is not an object: ignored")
        return
    _collect_object(data, (), document, default_namespace, loaded)


def _collect_object(obj: dict, path: FieldPath, document: Document, default_namespace: str,
                    loaded: LoadedInput) -> None:
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        for index, item in enumerate(obj["items"]):
            if isinstance(item, dict):
                _collect_object(item, path + ("items", index), document, default_namespace, loaded)
        return
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    namespace = str(meta.get("namespace") or default_namespace)
    if kind == "ServiceAccount" and _group(obj) == "":
        loaded.service_accounts[(namespace, str(meta.get("name") or ""))] = secret_names(obj.get("imagePullSecrets"))
        return
    if kind == "Secret" and _group(obj) == "":
        _collect_secret(obj, namespace, loaded)
        return
    workload = workload_from(obj, default_namespace, document, path)
    if workload is not None:
        loaded.workloads.append(workload)


def _collect_secret(obj: dict, namespace: str, loaded: LoadedInput) -> None:
    """Keep a Secret of the input as the kubelet would read it once applied (stringData merged into data, as
    the API server merges it), for the pull-secret rule. Its values stay in memory, never in the output."""
    import base64

    from pullcheck.secrets import decode_pull_secret
    from pullcheck.snapshot import SecretLookup

    meta = dict(obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}, namespace=namespace)
    data = dict(obj.get("data") if isinstance(obj.get("data"), dict) else {})
    plain = obj.get("stringData") if isinstance(obj.get("stringData"), dict) else {}
    data.update({key: base64.b64encode(str(value).encode("utf-8")).decode("ascii") for key, value in plain.items()})
    secret = {"type": obj.get("type") or "Opaque", "metadata": meta, "data": data}
    name = str(meta.get("name") or "")
    if loaded.secrets is None:
        loaded.secrets = {}
    loaded.secrets[(namespace, name)] = SecretLookup(name=name, status="found", decoded=decode_pull_secret(secret))


def _group(obj: dict) -> str:
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str):
        return ""
    return api_version.rpartition("/")[0]


def workload_from(obj: dict, default_namespace: str, document: Document | None = None,
                  path: FieldPath = ()) -> Workload | None:
    """The Workload of a manifest or API object, or None when it has no pod spec of a kind we know."""
    kind = obj.get("kind")
    known = POD_SPEC_PATHS.get(kind) if isinstance(kind, str) else None
    if known is None or _group(obj) not in known[0]:
        return None
    spec: Any = obj
    for key in known[1]:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return None
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = meta.get("name") or (f"{meta['generateName']}*" if meta.get("generateName") else "(no name)")

    def position(sub: FieldPath) -> Position:
        return document.position(path + sub) if document is not None else Position()

    containers = []
    for list_name, container_type in CONTAINER_LISTS:
        entries = spec.get(list_name)
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            if not isinstance(entry, dict):
                continue
            at = known[1] + (list_name, index)
            image_at = position(at + ("image",) if "image" in entry else at)
            policy_at = position(at + ("imagePullPolicy",)) if "imagePullPolicy" in entry else image_at
            containers.append(Container(name=str(entry.get("name") or f"#{index}"), type=container_type,
                                        image=entry.get("image"), pull_policy=entry.get("imagePullPolicy"),
                                        position=image_at, policy_position=policy_at))
    return Workload(kind=kind, namespace=str(meta.get("namespace") or default_namespace), name=str(name),
                    pod_spec=spec, containers=containers, position=position(()),
                    ignored_rules=ignored_rules(meta.get("annotations")))


def ignored_rules(annotations: Any) -> tuple[str, ...]:
    """Rule ids listed in the object's IGNORE_ANNOTATION ("latest-tag, no-digest"), as written."""
    value = annotations.get(IGNORE_ANNOTATION) if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return ()
    return tuple(dict.fromkeys(value.replace(",", " ").split()))
