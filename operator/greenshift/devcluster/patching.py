"""Patch formats: JSON merge patch, JSON patch, and a simplified server-side apply.

Simplifications against a real API server (documented in docs/devcluster.md):

* strategic merge patch is treated as a JSON merge patch: lists are replaced, never merged by key;
* server-side apply replaces lists atomically, and removes what the same manager applied last time
  but no longer applies, without tracking co-ownership by other managers (no apply conflicts).
"""

from typing import Any

from .store import clone

Obj = dict[str, Any]


class PatchError(Exception):
    """The patch cannot be applied to the object (HTTP 422)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return clone(patch) if isinstance(patch, list) else patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer: {path!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def _index(container: list[Any], step: str, *, adding: bool) -> int:
    if adding and step == "-":
        return len(container)
    if not step.isdigit():
        raise PatchError(f"invalid list index: {step!r}")
    index = int(step)
    if index > len(container) or (index == len(container) and not adding):
        raise PatchError(f"list index out of range: {index}")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, adding=False)]
        else:
            raise PatchError(f"path not found: /{'/'.join(tokens)}")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    if isinstance(parent, dict) and tokens[-1] in parent:
        return parent[tokens[-1]]
    if isinstance(parent, list):
        return parent[_index(parent, tokens[-1], adding=False)]
    raise PatchError(f"path not found: {path}")


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], adding=True), value)
    else:
        raise PatchError(f"cannot add to a scalar at {path}")
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens)
    if isinstance(parent, dict) and tokens[-1] in parent:
        del parent[tokens[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, tokens[-1], adding=False)]
    else:
        raise PatchError(f"path not found: {path}")
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy and test, applied in order to a copy of ``doc``."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    result = clone(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "path" not in operation:
            raise PatchError(f"invalid JSON patch operation: {operation!r}")
        op, path = operation.get("op"), operation["path"]
        match op:
            case "add":
                result = _add(result, path, clone(operation.get("value")))
            case "remove":
                result = _remove(result, path)
            case "replace":
                _get(result, path)
                result = _add(_remove(result, path), path, clone(operation.get("value")))
            case "move":
                value = _get(result, operation["from"])
                result = _add(_remove(result, operation["from"]), path, value)
            case "copy":
                result = _add(result, path, clone(_get(result, operation["from"])))
            case "test":
                if _get(result, path) != operation.get("value"):
                    raise PatchError(f"testing value {path} failed: test operation failed")
            case _:
                raise PatchError(f"unknown JSON patch operation: {op!r}")
    return result


def apply_config(live: Obj, config: Obj, previous: Obj | None) -> Obj:
    """Server-side apply of a manager's ``config`` onto the ``live`` object.

    The config merges into the object (maps recursively, lists and scalars replace); fields in the
    manager's ``previous`` applied config that the new config omits are removed.
    """
    result = merge_patch(live, config)
    if previous is not None:
        _prune(result, previous, config)
    assert isinstance(result, dict)  # merging a dict into a dict gives a dict
    return result


def _prune(target: Obj, previous: Obj, current: Obj) -> None:
    for key, value in previous.items():
        if key not in current:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(current[key], dict) and isinstance(target.get(key), dict):
            _prune(target[key], value, current[key])


def fields_v1(config: Any) -> Obj:
    """The ``fieldsV1`` set of a config, as recorded in ``managedFields`` (lists count as leaves)."""
    if not isinstance(config, dict):
        return {}
    return {f"f:{key}": fields_v1(value) for key, value in config.items()}
