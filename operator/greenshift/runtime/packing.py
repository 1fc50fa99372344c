"""Objects kept in memory as compact JSON: a parsed object costs several times its JSON size.

The operator holds thousands of objects (its resources, their children, recent renders) and
reads each only when a reconcile or a scrape needs it; ``orjson`` decodes them back quickly.
"""

from collections.abc import Mapping
from typing import Any

import lz4.block
import orjson

COMPRESSED = b"\0"

Body = Mapping[str, Any]


def compact(body: Body) -> dict[str, Any]:
    """The object without managedFields, which are large and never read."""
    result = dict(body)
    meta = dict(result.get("metadata") or {})
    meta.pop("managedFields", None)
    result["metadata"] = meta
    return result


def pack(value: Any, *, compress: bool = True) -> bytes:
    """Compact JSON, compressed with LZ4: about a third of the size of a child, for about a
    microsecond each way (zlib's fastest level took 7 to compress and 3 to decompress a 2 KiB
    child; at a thousand tenants the child cache is ~36 MiB of JSON). Few objects read and
    written often (the custom resources: one each, packed on every event) stay uncompressed.
    """
    raw = orjson.dumps(value)
    return COMPRESSED + lz4.block.compress(raw) if compress else raw


def unpack(packed: bytes) -> Any:
    """The value again: compressed data carries a leading NUL, which JSON text never starts with."""
    if packed[:1] == COMPRESSED:
        return orjson.loads(lz4.block.decompress(memoryview(packed)[1:]))
    return orjson.loads(packed)
