"""Label and field selectors with the grammar and matching rules of k8s.io/apimachinery.

Label selectors: `k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k>1`, `k<1`, joined by
commas. `!=` and `notin` also match objects that lack the label, as the real server does.
Field selectors: `f=v`, `f==v`, `f!=v` joined by commas, with `\\,` `\\=` `\\\\` escapes; a field the object
does not have reads as the empty string.
"""
from __future__ import annotations

import re
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from . import status

_SPECIAL = set(" \t\n\r,=!()<>")
_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

Labels = Mapping[str, str]
LabelPredicate = Callable[[Labels], bool]


def _tokenize(text: str) -> List[str]:
    tokens: List[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\n\r":
            i += 1
        elif text.startswith(("==", "!="), i):
            tokens.append(text[i:i + 2])
            i += 2
        elif ch in ",=!()<>":
            tokens.append(ch)
            i += 1
        else:
            start = i
            while i < len(text) and text[i] not in _SPECIAL:
                i += 1
            tokens.append(text[start:i])
    return tokens


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    ok = bool(_NAME_RE.match(name)) and len(name) <= 63
    if prefix:
        ok = ok and bool(_DNS1123_RE.match(prefix)) and len(prefix) <= 253
    if not ok:
        raise status.bad_request(f"unable to parse requirement: key: Invalid value: \"{key}\": name part must "
                                 "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                                 "with an alphanumeric character")


def _check_value(value: str) -> None:
    if len(value) > 63 or not _VALUE_RE.match(value):
        raise status.bad_request(f"unable to parse requirement: values[0]: Invalid value: \"{value}\": a valid "
                                 "label must be an empty string or consist of alphanumeric characters, '-', '_' "
                                 "or '.', and must start and end with an alphanumeric character")


def _requirement(op: str, key: str, values: Tuple[str, ...]) -> LabelPredicate:
    if op == "exists":
        return lambda labels: key in labels
    if op == "!":
        return lambda labels: key not in labels
    if op in ("=", "==", "in"):
        allowed = frozenset(values)
        return lambda labels: key in labels and labels[key] in allowed
    if op in ("!=", "notin"):
        denied = frozenset(values)
        return lambda labels: key not in labels or labels[key] not in denied
    bound = int(values[0])

    def compare(labels: Labels) -> bool:
        try:
            have = int(labels[key])
        except (KeyError, ValueError):
            return False
        return have > bound if op == ">" else have < bound
    return compare


def parse_label_selector(text: str) -> Optional[LabelPredicate]:
    """A predicate over a labels mapping, or None for an empty selector (everything matches)."""
    tokens = _tokenize(text)
    if not tokens:
        return None
    requirements: List[LabelPredicate] = []
    pos = 0

    def fail(found: str, expected: str) -> status.ApiError:
        return status.bad_request(f"unable to parse requirement: found '{found}', expected: {expected}")

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise status.bad_request("unable to parse requirement: found '', expected: identifier")
        pos += 1
        return tokens[pos - 1]

    while pos < len(tokens):
        token = take()
        if token == "!":
            key = take()
            _check_key(key)
            requirements.append(_requirement("!", key, ()))
        else:
            if token in _SPECIAL or token in ("==", "!="):
                raise fail(token, "!, identifier, or 'end of string'")
            key = token
            _check_key(key)
            if pos >= len(tokens) or tokens[pos] == ",":
                requirements.append(_requirement("exists", key, ()))
            else:
                op = take()
                if op in ("=", "==", "!=", ">", "<"):
                    value = tokens[pos] if pos < len(tokens) and tokens[pos] not in _SPECIAL else ""
                    if value:
                        pos += 1
                    if op in (">", "<"):
                        if not re.match(r"^-?\d+$", value):
                            raise status.bad_request("unable to parse requirement: for 'Gt', 'Lt' operators, "
                                                     "the value must be an integer")
                    else:
                        _check_value(value)
                    requirements.append(_requirement(op, key, (value,)))
                elif op in ("in", "notin"):
                    if take() != "(":
                        raise fail(tokens[pos - 1], "'('")
                    values: List[str] = []
                    while True:
                        item = take()
                        if item == ")":
                            break
                        if item == ",":
                            continue
                        _check_value(item)
                        values.append(item)
                    if not values:
                        raise status.bad_request("unable to parse requirement: for 'in', 'notin' operators, "
                                                 "values set can't be empty")
                    requirements.append(_requirement(op, key, tuple(values)))
                else:
                    raise fail(op, "'=', '!=', '==', 'in', notin'")
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise fail(tokens[pos], "','")
            pos += 1
    return lambda labels: all(req(labels) for req in requirements)


FieldTerm = Tuple[str, str, str]   # (field, operator, value)


def _split_unescaped(text: str, sep: str) -> List[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if text[i] == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(text[i])
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise status.bad_request(f"invalid field selector: invalid escape sequence in '{value}'")
            out.append(value[i + 1])
            i += 2
            continue
        if ch in ",=":
            raise status.bad_request(f"invalid field selector: unescaped '{ch}' in '{value}'")
        out.append(ch)
        i += 1
    return "".join(out)


def parse_field_selector(text: str) -> List[FieldTerm]:
    """The terms of a field selector; an empty list matches everything."""
    terms: List[FieldTerm] = []
    for term in _split_unescaped(text, ","):
        if not term:
            continue
        found = None
        i = 0
        while i < len(term) and found is None:
            if term[i] == "\\":
                i += 2
                continue
            for op in ("!=", "==", "="):
                if term.startswith(op, i):
                    found = (term[:i], op, term[i + len(op):])
                    break
            i += 1
        if found is None:
            raise status.bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = found
        terms.append((field, "!=" if op == "!=" else "=", _unescape(value)))
    return terms


def field_terms_match(terms: List[FieldTerm], fields: Dict[str, str]) -> bool:
    for field, op, value in terms:
        have = fields.get(field, "")
        if (have == value) != (op == "="):
            return False
    return True
