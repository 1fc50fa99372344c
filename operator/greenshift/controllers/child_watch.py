"""Listing and watching the children directly, as an informer does, rather than through kopf.

Children are about six per custom resource. Through kopf every one of them would get a
per-object worker and would wait on kopf's start-up barrier for indexes, which costs
memory and start-up time that grow with the fleet; the operator only needs their latest
state in the child cache and their owner woken. One LIST per kind seeds the cache and gives
the resourceVersion the watch resumes from; a watch that ends is resumed, one that is too
old (410 Gone) is replaced by a new LIST, and every owner of that kind is woken then,
since events may have been missed.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from greenshift.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from greenshift.controllers.child_cache import ChildCache
from greenshift.controllers.keys import ObjectKey, owner_of
from greenshift.controllers.recent import ChildKey, object_key_of
from greenshift.kube import ApiError, KubeClient, ResourceRef

logger = logging.getLogger(__name__)
SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
RETRY_SECONDS = 1.0
Body = dict[str, Any]
OnEvent = Callable[[Body, str | None], None]
OnOwners = Callable[[set[ObjectKey]], None]


class ChildWatcher:
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
        self._client = client
        self._refs = refs
        self._cache = cache
        self._on_event = on_event
        self._on_owners = on_owners
        self._timeout = timeout_seconds
        self._versions: dict[ResourceRef, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def relist(self, ref: ResourceRef) -> set[ObjectKey]:
        """Replace the cached children of this kind by a LIST; the owners concerned, before and after."""
        owners = self._cache.owners_of_kind(ref.api_version, ref.kind)  # before, then after
        listed: set[ChildKey] = set()
        version = ""
        async for items, page_version in self._client.list_pages(ref, label_selector=SELECTOR):
            version = page_version
            for item in items:  # a page at a time: the whole kind is never held parsed
                self._cache.upsert(item)
                listed.add(object_key_of(item))
                if owner := owner_of(item):
                    owners.add(owner)
        self._cache.keep_only(ref.api_version, ref.kind, listed)
        self._versions[ref] = version
        return owners

    async def relist_all(self) -> None:
        for ref in self._refs:
            await self.relist(ref)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch(ref), name=f"greenshift-watch-{ref.plural}") for ref in self._refs
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _watch(self, ref: ResourceRef) -> None:
        while True:
            try:
                if not self._versions.get(ref):
                    self._on_owners(await self.relist(ref))
                await self._stream(ref)
            except ApiError as exc:
                if exc.status == 410:  # Gone: the version is too old to resume from, list again
                    self._versions[ref] = ""
                logger.warning("Lost the watch of %s, resuming in %.0fs: %s.", ref.plural, RETRY_SECONDS, exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _stream(self, ref: ResourceRef) -> None:
        events = self._client.watch(
            ref, resource_version=self._versions[ref], label_selector=SELECTOR, timeout_seconds=self._timeout
        )
        async for event in events:
            kind, body = event.get("type"), event.get("object") or {}
            if kind == "ERROR":  # 410 Gone, most likely: the version is too old, list again
                logger.info("Re-listed %s after the watch said: %s.", ref.plural, body.get("message"))
                self._versions[ref] = ""
                return
            version = (body.get("metadata") or {}).get("resourceVersion")
            if version:
                self._versions[ref] = str(version)
            if kind == "BOOKMARK":
                continue
            body.setdefault("apiVersion", ref.api_version)
            body.setdefault("kind", ref.kind)
            self._on_event(body, str(kind))
