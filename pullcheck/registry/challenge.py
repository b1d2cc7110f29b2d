"""WWW-Authenticate parsing (RFC 7235 challenges, as registries send them).

One header may carry several challenges ("Basic realm=\"x\", Bearer realm=\"y\""), and
quoted values may contain commas and escaped quotes:
    Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push"
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/:")


@dataclass(frozen=True)
class Challenge:
    scheme: str                                   # lowercase: "bearer", "basic", ...
    params: Dict[str, str] = field(default_factory=dict)   # lowercase keys

    @property
    def realm(self) -> Optional[str]:
        return self.params.get("realm")

    @property
    def service(self) -> Optional[str]:
        return self.params.get("service")

    @property
    def scope(self) -> Optional[str]:
        return self.params.get("scope")

    @property
    def error(self) -> Optional[str]:
        return self.params.get("error")

    def describe(self) -> str:
        shown = ",".join(f'{k}="{v}"' for k, v in self.params.items())
        return f"{self.scheme.capitalize()} {shown}".strip()


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def _token(text: str, pos: int) -> Tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in _TOKEN_CHARS:
        pos += 1
    return text[start:pos], pos


def _quoted(text: str, pos: int) -> Tuple[str, int]:
    """Value of the quoted-string starting at text[pos] == '"'; tolerates a missing close."""
    out: List[str] = []
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and pos + 1 < len(text):
            out.append(text[pos + 1])
            pos += 2
            continue
        if ch == '"':
            return "".join(out), pos + 1
        out.append(ch)
        pos += 1
    return "".join(out), pos


def parse_challenges(headers: Iterable[str]) -> List[Challenge]:
    """Every challenge in the given WWW-Authenticate header values, in order."""
    challenges: List[Challenge] = []
    for header in headers:
        text, pos = header, 0
        current: Optional[Challenge] = None
        while pos < len(text):
            pos = _skip(text, pos, " \t,")
            name, after = _token(text, pos)
            if not name:
                pos += 1                      # stray character: skip it
                continue
            look = _skip(text, after, " \t")
            if look < len(text) and text[look] == "=" and current is not None:
                pos = _skip(text, look + 1, " \t")
                if pos < len(text) and text[pos] == '"':
                    value, pos = _quoted(text, pos)
                else:
                    start = pos
                    while pos < len(text) and text[pos] not in ", \t":
                        pos += 1
                    value = text[start:pos]
                current.params[name.lower()] = value
                continue
            current = Challenge(scheme=name.lower(), params={})
            challenges.append(current)
            pos = after
    return challenges


def preferred(challenges: List[Challenge]) -> Optional[Challenge]:
    """The challenge a registry client would answer: Bearer over Basic over anything else."""
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return challenges[0] if challenges else None
