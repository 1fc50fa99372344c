"""List, then watch from the list's resourceVersion, into a store: client-go's reflector.

One task per stream (a kind, in one namespace or in all) runs LIST then WATCH in sequence,
so nothing else ever writes the stream's part of the store while it lists. A watch that the
server ends is resumed from the last version seen; one too old to resume (410 Gone) is
replaced by a new LIST at once. Every other failure (an error answer, a broken or stalled
connection, an event that does not parse) is logged, marks the stream down (``down``, which
the liveness probe reports) and is followed, after an exponential backoff with jitter, by a
new LIST. Every ``relist_seconds`` the task lists again anyway, as a safety net.

Each change the store accepts (a LIST's too: what it added, changed or no longer holds) goes
to ``on_change``. A handler that raises is logged and the stream goes on: the store already
holds the object, and one object's handler must not stop the watching of a whole kind.
"""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from greenshift.kube import ApiError, ResourceRef
from greenshift.kube.errors import api_error
from greenshift.runtime.store import Change, Key, Store, key_of

logger = logging.getLogger(__name__)
Body = dict[str, Any]
OnChange = Callable[[Change], None]

BACKOFF_SECONDS = 0.8  # as client-go's reflector: 800 ms doubling, with up to 100% jitter
BACKOFF_CAP_SECONDS = 10.0  # client-go: 30 s; a stream stays down (liveness) until it lists again


class ListerWatcher(Protocol):
    """What a reflector needs of the API client (``greenshift.kube.KubeClient`` is one)."""

    def list_pages(
        self, ref: ResourceRef, namespace: str | None = None, *, label_selector: str | None = None
    ) -> AsyncIterator[tuple[list[Body], str]]: ...

    def watch(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        resource_version: str,
        label_selector: str | None = None,
        timeout_seconds: float,
    ) -> AsyncIterator[Body]: ...


class Gone(Exception):
    """The watch's version is too old to resume from (410): list again, at once."""


def backoff(failures: int, *, base: float = BACKOFF_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """The pause after the ``failures``-th failure in a row: doubling, capped, jittered by up to +100%."""
    delay: float = min(cap, base * 2.0 ** max(0, failures - 1))
    return delay * (1.0 + random.random())


class Reflector:
    """One kind in ``namespaces`` (None: all, or a cluster-scoped kind), into ``store``."""

    def __init__(
        self,
        source: ListerWatcher,
        ref: ResourceRef,
        store: Store,
        on_change: OnChange,
        *,
        namespaces: Sequence[str | None] = (None,),
        selector: str | None = None,
        watch_timeout: float = 300.0,
        relist_seconds: float = 600.0,
        backoff_seconds: float = BACKOFF_SECONDS,
    ) -> None:
        self.ref = ref
        self.store = store
        self._source = source
        self._on_change = on_change
        self._namespaces = list(namespaces)
        self._selector = selector
        self._watch_timeout = watch_timeout
        self._relist_seconds = relist_seconds
        self._backoff = backoff_seconds
        self._versions: dict[str | None, str] = {}
        self._listed_at: dict[str | None, float] = {}
        self._errors: dict[str | None, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def stream_name(self, namespace: str | None) -> str:
        return f"{self.ref.plural}" + (f" in {namespace}" if namespace else "")

    @property
    def down(self) -> dict[str, str]:
        """The streams that failed and have not listed again since, with their last error."""
        return {self.stream_name(namespace): error for namespace, error in self._errors.items()}

    async def sync(self) -> None:
        """List every stream once (start-up: the store is complete before anyone reads it)."""
        for namespace in self._namespaces:
            await self._list(namespace)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(namespace), name=f"greenshift-watch-{self.stream_name(namespace)}")
            for namespace in self._namespaces
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self, namespace: str | None) -> None:
        failures = 0
        while True:
            try:
                if not self._versions.get(namespace) or self._relist_due(namespace):
                    await self._list(namespace)
                await self._watch(namespace)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Gone as exc:
                logger.info("Re-listing %s: %s.", self.stream_name(namespace), exc)
                self._versions[namespace] = ""
            except Exception as exc:  # every failure: logged, backed off, listed again
                failures += 1
                delay = backoff(failures, base=self._backoff)
                self._errors[namespace] = f"{type(exc).__name__}: {exc}"
                self._versions[namespace] = ""
                if isinstance(exc, ApiError):
                    logger.warning(
                        "Lost the watch of %s, listing again in %.1fs: %s.",
                        self.stream_name(namespace),
                        delay,
                        exc,
                    )
                else:
                    logger.exception(
                        "Lost the watch of %s, listing again in %.1fs.", self.stream_name(namespace), delay
                    )
                await asyncio.sleep(delay)

    def _relist_due(self, namespace: str | None) -> bool:
        return time.monotonic() - self._listed_at.get(namespace, 0.0) >= self._relist_seconds

    async def _list(self, namespace: str | None) -> None:
        listed: set[Key] = set()
        version = ""
        async for items, page_version in self._source.list_pages(
            self.ref, namespace, label_selector=self._selector
        ):
            version = page_version
            for item in items:
                listed.add(key_of(item))
                self._handle(self.store.upsert(item))
        list_version = int(version) if version.isdigit() else -1
        for change in self.store.replace(namespace, listed, list_version):
            self._handle(change)
        self._versions[namespace] = version
        self._listed_at[namespace] = time.monotonic()
        self._errors.pop(namespace, None)

    async def _watch(self, namespace: str | None) -> None:
        remaining = self._relist_seconds - (time.monotonic() - self._listed_at.get(namespace, 0.0))
        events = self._source.watch(
            self.ref,
            namespace=namespace,
            resource_version=self._versions[namespace],
            label_selector=self._selector,
            timeout_seconds=max(1.0, min(self._watch_timeout, remaining)),
        )
        async for event in events:
            kind, body = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if body.get("code") == 410:
                    raise Gone(str(body.get("message") or "410 Gone"))
                raise api_error(int(body.get("code") or 0), str(body.get("reason")), str(body.get("message")))
            version = (body.get("metadata") or {}).get("resourceVersion")
            if version:
                self._versions[namespace] = str(version)
            if kind == "BOOKMARK":
                continue
            body.setdefault("apiVersion", self.ref.api_version)
            body.setdefault("kind", self.ref.kind)
            self._handle(self.store.delete(body) if kind == "DELETED" else self.store.upsert(body))

    def _handle(self, change: Change | None) -> None:
        if change is None:
            return
        try:
            self._on_change(change)
        except Exception:
            body = change.body
            logger.exception(
                "Failed to handle a change of %s %s; the stream goes on.", body.get("kind"), key_of(body)
            )
