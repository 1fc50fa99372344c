"""The last render of each resource, so that a reconcile with nothing new to render does not render again.

Rendering is a pure function of the resource's spec, its tenant's spec and the platform
configuration (fixed for the process), so a render is reused while the resource's and its
tenant's uid and generation are the same: a second reconcile on the same spec (a child's
status changed, a resync) renders nothing. One entry per resource, kept as compressed JSON
(about 5 KiB for a tenant, its source and its route), least recently used first out beyond
``size`` resources: the whole fleet fits at the sizes the benchmark measures, because a
cache smaller than the fleet misses on nearly every reconcile of a bulk creation.
"""

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from greenshift.runtime.packing import pack, unpack

Body = dict[str, Any]
Fingerprint = tuple[tuple[Any, Any], ...]
DEFAULT_SIZE = 10_000


def fingerprint(resource: Mapping[str, Any], tenant: Mapping[str, Any] | None = None) -> Fingerprint:
    """What a render depends on: the identity and generation of the resource and of its tenant."""
    parts = [resource, tenant] if tenant is not None else [resource]
    return tuple((m["metadata"].get("uid"), m["metadata"].get("generation")) for m in parts)


class RenderCache:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Any, tuple[Fingerprint, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Fingerprint, render: Callable[[], list[Body]]) -> list[Body]:
        """The cached render for ``key`` (a fresh copy), or a new render that replaces the resource's last."""
        uid = key[0][0]
        found = self._entries.get(uid)
        if found is not None and found[0] == key:
            self._entries.move_to_end(uid)
            unpacked: list[Body] = unpack(found[1])
            return unpacked
        rendered = render()
        if all(part_uid is not None for part_uid, _ in key):  # an object without uid was never stored
            self._entries[uid] = (key, pack(rendered))
            self._entries.move_to_end(uid)
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return rendered
