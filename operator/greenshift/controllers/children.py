"""The children of a Greenshift resource: stamped with their owner and the hash of their desired
state, applied and pruned by ``runtime.apply``."""

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from greenshift.constants import GROUP
from greenshift.controllers.keys import OWNER_ANNOTATION, ObjectKey
from greenshift.kube import KubeClient
from greenshift.render.common import sorted_json
from greenshift.runtime.apply import SyncResult, sync
from greenshift.runtime.own_writes import OwnWrites

HASH_ANNOTATION = f"{GROUP}/applied-hash"
NEVER_PRUNED = frozenset({"Namespace", "PersistentVolumeClaim"})  # data: deleted only by policy
Body = dict[str, Any]


def stamp(desired: Body, owner: ObjectKey) -> Body:
    """The desired child with the owner and applied-hash annotations the operator relies on."""
    meta = dict(desired["metadata"])
    annotations = dict(meta.get("annotations") or {})
    annotations[OWNER_ANNOTATION] = owner.annotation
    annotations.pop(HASH_ANNOTATION, None)
    meta["annotations"] = annotations
    body = {**desired, "metadata": meta}
    annotations[HASH_ANNOTATION] = hashlib.sha256(sorted_json(body)).hexdigest()[:16]
    return body


async def sync_children(
    client: KubeClient, desired: Iterable[Body], live: Iterable[Mapping[str, Any]], own: OwnWrites
) -> SyncResult:
    """Bring one owner's children (``live``) to ``desired`` (stamped); Namespaces and
    PersistentVolumeClaims are never pruned (data: deleted only by a deletion policy)."""
    return await sync(client, desired, live, own, hash_annotation=HASH_ANNOTATION, never_pruned=NEVER_PRUNED)
