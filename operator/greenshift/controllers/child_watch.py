"""The children's informer: the child cache kept current, their owners woken.

Children are about six per custom resource, the most numerous objects the operator reads;
it needs only their latest state in the child cache and their owner woken. They are found
by the managed-by label, in every namespace. After a LIST that replaced a watch that could
not resume, every owner of that kind (before and after) is woken, since events may have
been missed.
"""

from collections.abc import Callable
from typing import Any

from greenshift.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.informer import Informer, Stream
from greenshift.controllers.keys import ObjectKey, owner_of
from greenshift.controllers.recent import ChildKey, object_key_of
from greenshift.kube import KubeClient, ResourceRef

SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
Body = dict[str, Any]
OnEvent = Callable[[Body, str | None], None]
OnOwners = Callable[[set[ObjectKey]], None]


class ChildWatcher(Informer):
    def __init__(
        self,
        client: KubeClient,
        refs: list[ResourceRef],
        cache: ChildCache,
        on_event: OnEvent,
        on_owners: OnOwners,
        *,
        timeout_seconds: float,
    ) -> None:
        super().__init__(
            client, [(ref, None) for ref in refs], selector=SELECTOR, timeout_seconds=timeout_seconds
        )
        self._cache = cache
        self._on_event = on_event
        self._on_owners = on_owners
        self._listed: dict[Stream, set[ChildKey]] = {}
        self._owners: dict[Stream, set[ObjectKey]] = {}

    def listing(self, stream: Stream, *, gap: bool) -> None:
        ref = stream[0]
        self._listed[stream] = set()
        if gap:  # the owners to wake: before the LIST, then those it finds
            self._owners[stream] = self._cache.owners_of_kind(ref.api_version, ref.kind)

    def page(self, stream: Stream, items: list[Body]) -> None:
        for item in items:
            self._cache.upsert(item)
            self._listed[stream].add(object_key_of(item))
            owners = self._owners.get(stream)
            if owners is not None and (owner := owner_of(item)):
                owners.add(owner)

    def listed(self, stream: Stream, version: str, *, gap: bool) -> None:
        ref = stream[0]
        self._cache.keep_only(ref.api_version, ref.kind, self._listed.pop(stream))
        if gap:
            self._on_owners(self._owners.pop(stream))

    def event(self, stream: Stream, body: Body, kind: str) -> None:
        self._on_event(body, kind)
