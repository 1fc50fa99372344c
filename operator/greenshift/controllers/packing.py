"""Objects kept in memory as compact JSON: a parsed object costs several times its JSON size.

The operator holds thousands of objects (its resources, their children, recent renders) and
reads each only when a reconcile or a scrape needs it; ``orjson`` decodes them back quickly.
"""

import zlib
from collections.abc import Mapping
from typing import Any

import orjson

Body = Mapping[str, Any]


def compact(body: Body) -> dict[str, Any]:
    """The object without managedFields, which are large and never read."""
    result = dict(body)
    meta = dict(result.get("metadata") or {})
    meta.pop("managedFields", None)
    result["metadata"] = meta
    return result


def pack(value: Any) -> bytes:
    """Compact JSON, compressed: about half the size for a child, 8 of 25 KiB for a tenant's render.

    Level 1 costs about 10 microseconds for a 2 KiB object; at a thousand tenants the child
    cache alone is 36 MiB of JSON, 16 MiB compressed.
    """
    return zlib.compress(orjson.dumps(value), 1)


def unpack(packed: bytes) -> Any:
    return orjson.loads(zlib.decompress(packed))
