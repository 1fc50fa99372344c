"""List, then watch from the list's resourceVersion, as client-go's reflector does.

The operator watches everything it reads this way (its custom resources, their children,
the Services routes point to) rather than through kopf: kopf gives every object its own
worker and runs a full handler round per event, which at a thousand tenants cost about a
quarter of the operator's CPU for what is a cache update and a queued key.

One LIST (in pages) seeds a stream and gives the version its watch resumes from; a watch
that ends is resumed from the last version seen, one that is too old (410 Gone) is replaced
by a new LIST, which tells the subclass that events may have been missed (``gap``).
"""

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from greenshift.kube import ApiError, KubeClient, ResourceRef

logger = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
Body = dict[str, Any]
Stream = tuple[ResourceRef, str | None]
"""A kind, in one namespace or (None) in all."""


class Informer(ABC):
    """The list-and-watch loop; subclasses say what a page, a listing and an event do."""

    def __init__(
        self,
        client: KubeClient,
        streams: Sequence[Stream],
        *,
        selector: str | None = None,
        timeout_seconds: float,
    ) -> None:
        self._client = client
        self._streams = list(streams)
        self._selector = selector
        self._timeout = timeout_seconds
        self._versions: dict[Stream, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @abstractmethod
    def listing(self, stream: Stream, *, gap: bool) -> None:
        """A LIST of ``stream`` starts (``gap``: see ``listed``)."""

    @abstractmethod
    def page(self, stream: Stream, items: list[Body]) -> None:
        """One page of a LIST (a page at a time: the whole kind is never held parsed)."""

    @abstractmethod
    def listed(self, stream: Stream, version: str, *, gap: bool) -> None:
        """A LIST of ``stream`` ended at ``version``: what it did not hold is gone. ``gap``: it
        replaced a watch that could not resume, so events may have been missed."""

    @abstractmethod
    def event(self, stream: Stream, body: Body, kind: str) -> None:
        """One watch event (``ADDED``, ``MODIFIED`` or ``DELETED``)."""

    async def relist(self, stream: Stream, *, gap: bool = False) -> None:
        ref, namespace = stream
        self.listing(stream, gap=gap)
        version = ""
        async for items, page_version in self._client.list_pages(
            ref, namespace, label_selector=self._selector
        ):
            version = page_version
            self.page(stream, items)
        self.listed(stream, version, gap=gap)
        self._versions[stream] = version

    async def relist_all(self) -> None:
        for stream in self._streams:
            await self.relist(stream)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._watch(stream), name=f"greenshift-watch-{stream[0].plural}")
            for stream in self._streams
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _watch(self, stream: Stream) -> None:
        ref = stream[0]
        while True:
            try:
                if not self._versions.get(stream):
                    await self.relist(stream, gap=True)
                await self._stream(stream)
            except ApiError as exc:
                if exc.status == 410:  # Gone: the version is too old to resume from, list again
                    self._versions[stream] = ""
                logger.warning("Lost the watch of %s, resuming in %.0fs: %s.", ref.plural, RETRY_SECONDS, exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _stream(self, stream: Stream) -> None:
        ref, namespace = stream
        events = self._client.watch(
            ref,
            namespace=namespace,
            resource_version=self._versions[stream],
            label_selector=self._selector,
            timeout_seconds=self._timeout,
        )
        async for event in events:
            kind, body = event.get("type"), event.get("object") or {}
            if kind == "ERROR":  # 410 Gone, most likely: the version is too old, list again
                logger.info("Re-listed %s after the watch said: %s.", ref.plural, body.get("message"))
                self._versions[stream] = ""
                return
            version = (body.get("metadata") or {}).get("resourceVersion")
            if version:
                self._versions[stream] = str(version)
            if kind == "BOOKMARK":
                continue
            body.setdefault("apiVersion", ref.api_version)
            body.setdefault("kind", ref.kind)
            self.event(stream, body, str(kind))
