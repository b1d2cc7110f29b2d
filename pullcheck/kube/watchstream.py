"""A watch kept open across server timeouts and expired versions, feeding a queue from a thread.

client.watch is one request; a follower needs more: reopen from the last resourceVersion when the server
ends the watch (bookmarks keep that version fresh), list again when the version has expired (410), and
survive a few dropped connections. Used by `pod --watch` and `scan --watch`.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Dict, List, Tuple

from pullcheck.errors import ClusterError
from pullcheck.kube.client import ApiError, KubeClient

WATCH_RETRIES = 3          # consecutive connection failures a watch stream survives
QUICK_WATCH = 1.0          # a watch that ends sooner than this is reopened only after this pause
LIST_PAGE = 500


def list_with_version(client: KubeClient, path: str, query: dict) -> Tuple[List[dict], str]:
    """All items of a filtered collection and the list's resourceVersion (to watch from)."""
    params: Dict[str, Any] = dict(query, limit=LIST_PAGE)
    items: List[dict] = []
    version = ""
    while True:
        doc = client.get(path, params)
        items.extend(doc.get("items") or ())
        meta = doc.get("metadata") or {}
        version = version or str(meta.get("resourceVersion") or "")
        if not meta.get("continue"):
            return items, version
        params["continue"] = meta["continue"]


class WatchStream(threading.Thread):
    """One watch kept open until stopped or the deadline: reopened from the last resourceVersion when the
    server ends it, relisted (a "sync" item) when that version has expired. Puts (role, stream, kind,
    payload) items: kind "event" (a watch event), "sync" (the items of a relist) or "error" (an exception)."""

    def __init__(self, role: str, client: KubeClient, path: str, query: dict, version: str,
                 sink: "queue.Queue[tuple]", deadline: float, window: int) -> None:
        super().__init__(daemon=True, name=f"pullcheck-watch-{role}")
        self.role, self.client, self.path, self.query = role, client, path, query
        self.version, self.sink, self.deadline, self.window = version, sink, deadline, window
        self._halt = threading.Event()

    def stop(self) -> None:
        """Stop delivering; the thread ends when its current watch request does (at most `window` s)."""
        self._halt.set()

    def _put(self, kind: str, payload: Any) -> None:
        if not self._halt.is_set():
            self.sink.put((self.role, self, kind, payload))

    def run(self) -> None:
        from urllib3.exceptions import HTTPError as TransportError   # a connection dropped mid-stream

        failures = 0
        while not self._halt.is_set():
            remaining = self.deadline - time.monotonic()
            if remaining < 1:
                return
            try:
                if not self.version:
                    items, self.version = list_with_version(self.client, self.path, self.query)
                    self._put("sync", items)
                opened = time.monotonic()
                if not self._watch_once(int(min(self.window, remaining))):
                    self.version = ""
                elif time.monotonic() - opened < QUICK_WATCH:
                    self._halt.wait(QUICK_WATCH)     # a server that ends watches at once must not be hammered
                failures = 0
            except (ClusterError, TransportError) as exc:
                failures += 1
                if failures > WATCH_RETRIES:
                    self._put("error", exc if isinstance(exc, ClusterError) else ClusterError(str(exc)))
                    return
                self._halt.wait(min(2.0 ** failures, 8.0))
            except ApiError as exc:
                self._put("error", exc)
                return

    def _watch_once(self, seconds: int) -> bool:
        """One watch request; False when the resourceVersion has expired (410)."""
        query = dict(self.query, resourceVersion=self.version, allowWatchBookmarks="true")
        events = self.client.watch(self.path, query, seconds=seconds)
        try:
            for event in events:
                if self._halt.is_set():
                    return True
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":      # a Status in the stream: handled below like an HTTP error
                    raise ApiError(int(obj.get("code") or 500), str(obj.get("reason") or ""),
                                   str(obj.get("message") or "watch error"), self.path)
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if version:
                    self.version = version
                if kind != "BOOKMARK":
                    self._put("event", event)
        except ApiError as exc:
            if exc.status == 410:
                return False
            raise
        finally:
            events.close()
        return True
