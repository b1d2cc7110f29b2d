"""Closest existing tags and repository names, for "not found" findings.

The slips that cause most not-found pulls: a tag in the wrong case, a missing or extra
"v" prefix, a typo, a version that was never published (the neighbours were), an
official Docker Hub image written under the wrong name, or a repository missing its
namespace.
"""
from __future__ import annotations

import re
from typing import Iterable, List, Optional, Sequence, Tuple

from pullcheck.registry.known import IMAGE_NAME_ALIASES, POPULAR_OFFICIAL_IMAGES

Suggestion = Tuple[str, str]        # (name, why)
_VERSION_RE = re.compile(r"^[vV]?(\d+(?:\.\d+)*)(.*)$")


def edit_distance(a: str, b: str, cap: int = 8) -> int:
    """Optimal-string-alignment distance (adjacent swaps count 1), stopped early above cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous2: List[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > cap:
            return cap + 1
        previous2, previous = previous, current
    return previous[-1]


def _typo_budget(text: str) -> int:
    return 1 if len(text) <= 4 else 2 if len(text) <= 12 else 3


def _version(tag: str) -> Optional[Tuple[Tuple[int, ...], str]]:
    match = _VERSION_RE.match(tag)
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split(".")), match.group(2)


def _closeness(wanted: str, tag: str) -> Optional[Tuple[int, int]]:
    """(-shared leading numbers, gap at the first difference) between two version tags with
    the same suffix; smaller is closer. None when they are not comparable versions."""
    mine, other = _version(wanted), _version(tag)
    if mine is None or other is None or mine[1] != other[1] or mine[0] == other[0]:
        return None
    numbers, theirs = mine[0], other[0]
    shared = 0
    while shared < min(len(numbers), len(theirs)) and numbers[shared] == theirs[shared]:
        shared += 1
    if shared == 0 and len(numbers) > 1:
        return None
    gap = abs(theirs[shared] - numbers[shared]) if shared < min(len(numbers), len(theirs)) else 0
    return -shared, gap


def _neighbours(wanted: str, tags: Sequence[str], limit: int) -> List[Suggestion]:
    """Published versions next to an unpublished one: same suffix, longest shared prefix."""
    scored = []
    for tag in tags:
        closeness = _closeness(wanted, tag)
        if closeness is not None:
            scored.append((closeness, tag))
    scored.sort()
    return [(tag, "a published version next to the one asked for") for _, tag in scored[:limit]]


def suggest_tags(wanted: str, tags: Iterable[str], limit: int = 5) -> List[Suggestion]:
    """Tags the user probably meant, best first."""
    tags = list(dict.fromkeys(tags))
    far = (0, 1 << 30)
    picks: List[Tuple[int, Tuple[int, int], str, str]] = []
    for tag in tags:
        if tag == wanted:
            continue
        if tag.lower() == wanted.lower():
            picks.append((0, far, tag, "the same tag in different case (tags are case-sensitive)"))
        elif tag.lower() in ("v" + wanted.lower(), wanted.lower()[1:] if wanted[:1] in "vV" else None):
            picks.append((1, far, tag, "the same version with/without the 'v' prefix"))
        else:
            distance = edit_distance(wanted, tag, cap=3)
            if distance <= _typo_budget(wanted):
                picks.append((2 + distance, _closeness(wanted, tag) or far, tag,
                              f"{distance} character{'s' if distance > 1 else ''} away"))
    chosen = {tag for _, _, tag, _ in picks}
    picks.extend((9, far, tag, why) for tag, why in _neighbours(wanted, [t for t in tags if t not in chosen], 3))
    picks.sort(key=lambda item: item[:2])
    return [(tag, why) for _, _, tag, why in picks[:limit]]


def suggest_repositories(repository: str, docker_hub: bool, catalog: Optional[Sequence[str]] = None,
                         limit: int = 5) -> List[Suggestion]:
    """Repository names the user probably meant, best first (unverified)."""
    picks: List[Tuple[int, str, str]] = []
    namespace, _, name = repository.rpartition("/")
    lowered = name.lower()
    if docker_hub:
        if lowered in IMAGE_NAME_ALIASES:
            picks.append((0, f"library/{IMAGE_NAME_ALIASES[lowered]}",
                          f"the official image is called {IMAGE_NAME_ALIASES[lowered]}"))
        for official in POPULAR_OFFICIAL_IMAGES:
            if official == lowered:
                if namespace != "library":
                    picks.append((1, f"library/{official}", "the official image of that name"))
                continue
            distance = edit_distance(lowered, official, cap=2)
            if distance <= min(2, _typo_budget(lowered)):
                picks.append((1 + distance, f"library/{official}", f"official image, {distance} character"
                                                                   f"{'s' if distance > 1 else ''} away"))
    for entry in catalog or ():
        if entry == repository:
            continue
        entry_namespace, _, entry_name = entry.rpartition("/")
        if entry.lower() == repository.lower():
            picks.append((0, entry, "the same name in different case"))
        elif entry_name == name and entry_namespace != namespace:
            picks.append((2, entry, f"the same name under {entry_namespace or 'no namespace'}"))
        else:
            distance = edit_distance(repository, entry, cap=3)
            if distance <= _typo_budget(repository):
                picks.append((2 + distance, entry, f"{distance} character{'s' if distance > 1 else ''} away"))
    picks.sort(key=lambda item: item[0])
    seen, result = set(), []
    for _, candidate, why in picks:
        if candidate not in seen and candidate != repository:
            seen.add(candidate)
            result.append((candidate, why))
    return result[:limit]
