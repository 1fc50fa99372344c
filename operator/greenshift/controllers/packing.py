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


def pack(value: Any, *, compress: bool = True) -> bytes:
    """Compact JSON, compressed: about half the size for a child, 8 of 25 KiB for a tenant's render.

    Level 1 costs about 10 microseconds for a 2 KiB object; at a thousand tenants the child
    cache alone is 36 MiB of JSON, 16 MiB compressed. Few objects read and written often (the
    custom resources: one per resource, packed on every event) are better left uncompressed.
    """
    raw = orjson.dumps(value)
    return zlib.compress(raw, 1) if compress else raw


def unpack(packed: bytes) -> Any:
    """The value again; JSON text starts with ``{`` or ``[``, a zlib stream never does."""
    return orjson.loads(packed if packed[:1] in (b"{", b"[") else zlib.decompress(packed))
