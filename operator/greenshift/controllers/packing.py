"""Objects kept in memory as compact JSON: a parsed object costs several times its JSON size.

The operator holds thousands of objects (its resources, their children, recent renders) and
reads each only when a reconcile or a scrape needs it; ``json`` decodes them back quickly.
"""

import json
from collections.abc import Mapping
from typing import Any

Body = Mapping[str, Any]


def compact(body: Body) -> dict[str, Any]:
    """The object without managedFields, which are large and never read."""
    result = dict(body)
    meta = dict(result.get("metadata") or {})
    meta.pop("managedFields", None)
    result["metadata"] = meta
    return result


def pack(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def unpack(packed: bytes) -> Any:
    return json.loads(packed)
