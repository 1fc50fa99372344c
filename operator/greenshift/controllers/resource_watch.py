"""The custom resources' informer: the fact index kept current, every event handed on.

A LIST seeds the fact index before anything reads it (start-up lists every kind before the
queue and the webhook's reads begin). A resource that a LIST no longer has was deleted while
no watch saw it: it is handed on as a ``DELETED`` event with its last known state. After a
LIST that replaced a watch that could not resume, every listed resource is handed on too.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from greenshift.controllers.fact_index import FactIndex
from greenshift.controllers.informer import Informer, Stream
from greenshift.controllers.keys import ObjectKey, key_of
from greenshift.kube import KubeClient

Body = dict[str, Any]
OnEvent = Callable[[Mapping[str, Any], str], None]
OnGap = Callable[[set[ObjectKey]], None]


class ResourceWatcher(Informer):
    def __init__(
        self,
        client: KubeClient,
        streams: Sequence[Stream],
        facts: FactIndex,
        on_event: OnEvent,
        on_gap: OnGap,
        *,
        timeout_seconds: float,
    ) -> None:
        super().__init__(client, streams, timeout_seconds=timeout_seconds)
        self._facts = facts
        self._on_event = on_event
        self._on_gap = on_gap
        self._listed: dict[Stream, set[ObjectKey]] = {}

    def listing(self, stream: Stream, *, gap: bool) -> None:
        self._listed[stream] = set()

    def page(self, stream: Stream, items: list[Body]) -> None:
        for item in items:
            self._facts.update(item)
            self._listed[stream].add(key_of(item))

    def listed(self, stream: Stream, version: str, *, gap: bool) -> None:
        ref, namespace = stream
        listed = self._listed.pop(stream)
        for body in self._facts.keep_only(
            ref.kind, listed, int(version) if version.isdigit() else -1, namespace=namespace
        ):
            self._on_event(body, "DELETED")
        if gap:
            self._on_gap(listed)

    def event(self, stream: Stream, body: Body, kind: str) -> None:
        self._on_event(body, kind)
