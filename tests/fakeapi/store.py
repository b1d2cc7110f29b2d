"""An in-memory object store with etcd-like resource versions, list snapshots and a change history.

Every write takes the next global resource version. Stored objects are never mutated after storing, so
a list snapshot (sorted by the etcd key `namespace/name`, as etcd orders them) is a list of references,
and each object's JSON encoding is computed once and reused by every list that contains it.
"""
from __future__ import annotations

import bisect
import copy
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import status

Obj = Dict[str, Any]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"


def encode(obj: Any) -> bytes:
    """JSON as the API server writes it: compact, UTF-8, with Go's HTML-safe escapes."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return text.encode()


def object_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


class Stored:
    """One version of one object, with its encodings cached per representation and its selectable fields
    cached once (a field selector over 250k events must not rebuild 250k field maps per request)."""

    __slots__ = ("obj", "rv", "_encoded", "_fields")

    def __init__(self, obj: Obj, rv: int) -> None:
        self.obj = obj
        self.rv = rv
        self._encoded: Dict[str, bytes] = {}
        self._fields: Optional[Dict[str, str]] = None

    def fields(self, read: Callable[[Obj], Dict[str, str]]) -> Dict[str, str]:
        """The field-selector values `read` finds (one reader per storage, so one cache suffices)."""
        if self._fields is None:
            self._fields = read(self.obj)
        return self._fields

    def encoded(self, form: str, render: Callable[[Obj], Any]) -> bytes:
        data = self._encoded.get(form)
        if data is None:
            data = encode(render(self.obj))
            self._encoded[form] = data
        return data


@dataclass
class Snapshot:
    rv: int
    keys: List[str]
    items: List[Stored]

    def key_range(self, prefix: str) -> Tuple[int, int]:
        """Index range of keys under `prefix` ("" for all, "ns/" for one namespace)."""
        if not prefix:
            return 0, len(self.keys)
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return bisect.bisect_left(self.keys, prefix), bisect.bisect_left(self.keys, upper)


@dataclass
class Change:
    rv: int
    storage: str
    type: str
    new: Stored
    old: Optional[Stored]


class Store:
    """Thread-safe; `changed` is notified on every write and on close."""

    def __init__(self, history_limit: int = 250_000, snapshots_kept: int = 64) -> None:
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)
        self._rv = 0
        self._objects: Dict[str, Dict[str, Stored]] = {}
        self._history: List[Change] = []
        self._history_rvs: List[int] = []
        self._history_base = 0
        self._oldest_rv = 0
        self._history_limit = history_limit
        self._snapshots: Dict[str, "OrderedDict[int, Snapshot]"] = {}
        self._current: Dict[str, Snapshot] = {}
        self._snapshots_kept = snapshots_kept
        self.closed = False

    @property
    def resource_version(self) -> int:
        with self._lock:
            return self._rv

    # ----- reads
    def get(self, storage: str, key: str) -> Optional[Stored]:
        with self._lock:
            return self._objects.get(storage, {}).get(key)

    def snapshot(self, storage: str) -> Snapshot:
        """The current contents, sorted by key, registered under the current resource version."""
        with self._lock:
            snap = self._current.get(storage)
            if snap is None:
                objects = self._objects.get(storage, {})
                keys = sorted(objects)
                snap = Snapshot(self._rv, keys, [objects[k] for k in keys])
                self._current[storage] = snap
            if snap.rv != self._rv:
                snap = Snapshot(self._rv, snap.keys, snap.items)
                self._current[storage] = snap
            kept = self._snapshots.setdefault(storage, OrderedDict())
            kept[snap.rv] = snap
            kept.move_to_end(snap.rv)
            while len(kept) > self._snapshots_kept:
                kept.popitem(last=False)
            return snap

    def snapshot_at(self, storage: str, rv: int) -> Optional[Snapshot]:
        with self._lock:
            return self._snapshots.get(storage, {}).get(rv)

    # ----- writes
    def _record(self, storage: str, kind: str, new: Stored, old: Optional[Stored]) -> None:
        self._current.pop(storage, None)
        self._history.append(Change(new.rv, storage, kind, new, old))
        self._history_rvs.append(new.rv)
        if len(self._history) > self._history_limit:
            drop = len(self._history) - int(self._history_limit * 0.9)
            self._oldest_rv = self._history_rvs[drop - 1]
            del self._history[:drop]
            del self._history_rvs[:drop]
            self._history_base += drop
        self.changed.notify_all()

    def _stamp(self, obj: Obj, rv: int) -> Stored:
        obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
        return Stored(obj, rv)

    def create(self, storage: str, key: str, obj: Obj) -> Optional[Stored]:
        """Store a new object; None if the key is taken."""
        with self._lock:
            objects = self._objects.setdefault(storage, {})
            if key in objects:
                return None
            self._rv += 1
            stored = self._stamp(obj, self._rv)
            objects[key] = stored
            self._record(storage, ADDED, stored, None)
            return stored

    def update(self, storage: str, key: str, obj: Obj, expect_rv: Optional[str] = None
               ) -> Tuple[Optional[Stored], Optional[Stored]]:
        """Replace an object: (new, old). (None, None) if missing, (None, old) on an RV mismatch."""
        with self._lock:
            objects = self._objects.get(storage, {})
            old = objects.get(key)
            if old is None:
                return None, None
            if expect_rv and expect_rv != str(old.rv):
                return None, old
            self._rv += 1
            stored = self._stamp(obj, self._rv)
            objects[key] = stored
            self._record(storage, MODIFIED, stored, old)
            return stored, old

    def delete(self, storage: str, key: str, final: Optional[Callable[[Obj], None]] = None) -> Optional[Stored]:
        """Remove an object; returns its last state, stamped with the deletion's resource version."""
        with self._lock:
            objects = self._objects.get(storage, {})
            old = objects.pop(key, None)
            if old is None:
                return None
            self._rv += 1
            last = copy.deepcopy(old.obj)
            if final is not None:
                final(last)
            stored = self._stamp(last, self._rv)
            self._record(storage, DELETED, stored, old)
            return stored

    def seed(self, entries: List[Tuple[str, str, Obj]]) -> None:
        """Add objects that keep the resourceVersion they carry (captured objects). Objects without a
        numeric one get fresh versions after the highest seen. Meant for test setup."""
        with self._lock:
            pending: List[Tuple[str, str, Obj]] = []
            for storage, key, obj in entries:
                rv_text = str((obj.get("metadata") or {}).get("resourceVersion") or "")
                if rv_text.isdigit() and int(rv_text) > 0:
                    rv = int(rv_text)
                    self._rv = max(self._rv, rv)
                    self._put_seeded(storage, key, Stored(obj, rv))
                else:
                    pending.append((storage, key, obj))
            for storage, key, obj in pending:
                self._rv += 1
                self._put_seeded(storage, key, self._stamp(obj, self._rv))
            order = sorted(range(len(self._history)), key=lambda i: self._history_rvs[i])
            self._history = [self._history[i] for i in order]
            self._history_rvs = [self._history_rvs[i] for i in order]
            self.changed.notify_all()

    def _put_seeded(self, storage: str, key: str, stored: Stored) -> None:
        objects = self._objects.setdefault(storage, {})
        old = objects.get(key)
        objects[key] = stored
        self._current.pop(storage, None)
        self._history.append(Change(stored.rv, storage, ADDED if old is None else MODIFIED, stored, old))
        self._history_rvs.append(stored.rv)

    def compact(self) -> None:
        """Forget history and list snapshots, as an etcd compaction does."""
        with self._lock:
            self._history_base += len(self._history)
            self._history.clear()
            self._history_rvs.clear()
            self._oldest_rv = self._rv
            self._snapshots.clear()
            self.changed.notify_all()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self.changed.notify_all()

    # ----- watch support
    def cursor_after(self, rv: int) -> int:
        """History position of the first change newer than `rv`; 410 Expired if that is forgotten."""
        with self._lock:
            if rv < self._oldest_rv:
                raise status.expired(f"too old resource version: {rv} ({self._oldest_rv + 1})")
            return self._history_base + bisect.bisect_right(self._history_rvs, rv)

    def wait_changes(self, cursor: int, seen_rv: int, deadline: float, stop: threading.Event
                     ) -> Tuple[List[Change], int]:
        """Changes from `cursor` on (the watcher has seen up to `seen_rv`), waiting until there are some,
        the deadline passes, or a stop."""
        with self._lock:
            while True:
                if cursor < self._history_base:   # history trimmed under a slow watcher
                    raise status.expired(f"too old resource version: {seen_rv} ({self._oldest_rv + 1})")
                start = cursor - self._history_base
                if start < len(self._history):
                    changes = self._history[start:]
                    return changes, cursor + len(changes)
                remaining = deadline - time.monotonic()
                if self.closed or stop.is_set() or remaining <= 0:
                    return [], cursor
                self.changed.wait(min(remaining, 0.25))
