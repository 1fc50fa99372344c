"""Label and field selectors of list and watch requests, as the API server parses them."""

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]

_SET_BASED = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s*\(([^()]*)\)\s*$")
_EQUALITY = re.compile(r"^\s*([^\s!=()]+)\s*(==|!=|=)\s*([^\s!=(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")
_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}


def _split(text: str) -> list[str]:
    """Split at the commas that are not inside a set's parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def _label_requirement(text: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_BASED.match(text):
        key, op, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
        if op == "in":
            return lambda labels: key in labels and labels[key] in values
        return lambda labels: key not in labels or labels[key] not in values
    if match := _EQUALITY.match(text):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    if match := _EXISTS.match(text):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise ValueError(f"unable to parse requirement: {text!r}")


def label_selector(text: str) -> Predicate:
    """A predicate over objects for ``labelSelector`` (equality- and set-based, comma-joined)."""
    requirements = [_label_requirement(part) for part in _split(text)]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def field_selector(text: str) -> Predicate:
    """A predicate over objects for ``fieldSelector``; only ``metadata.name`` and ``metadata.namespace``."""
    requirements: list[tuple[tuple[str, str], bool, str]] = []
    for part in _split(text):
        match = _EQUALITY.match(part)
        if match is None:
            raise ValueError(f"invalid field selector: {part!r}")
        field, op, value = match.groups()
        if field not in _FIELDS:
            raise ValueError(f'field label not supported: "{field}"')
        requirements.append((_FIELDS[field], op != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        for (section, field), equal, value in requirements:
            actual = (obj.get(section) or {}).get(field) or ""
            if (actual == value) != equal:
                return False
        return True

    return matches
