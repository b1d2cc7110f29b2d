"""The requests the fake served, for tests that count API calls. Neither credentials nor request
bodies (which may hold secret data) are recorded."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List


@dataclass
class RequestRecord:
    method: str
    path: str
    query: Dict[str, List[str]]
    accept: str
    content_type: str
    user_agent: str
    user: str
    verb: str
    resource: str
    subresource: str
    namespace: str
    name: str
    status: int = 0

    def param(self, key: str, default: str = "") -> str:
        values = self.query.get(key)
        return values[0] if values else default


class RequestLog:
    def __init__(self) -> None:
        self._records: List[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def filter(self, **match: Any) -> List[RequestRecord]:
        """Records whose attributes equal every keyword (`verb="list", resource="pods"`)."""
        with self._lock:
            records = list(self._records)
        return [r for r in records if all(getattr(r, k) == v for k, v in match.items())]

    def count(self, **match: Any) -> int:
        return len(self.filter(**match))

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._records))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
