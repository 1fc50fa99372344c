"""The facts of the custom resources (``indexes.facts``), kept by their informer (``resource_watch``).

As a kopf index it cost about a tenth of the operator's CPU at a thousand tenants (kopf runs a
handler round per event, echoes of the operator's writes included), for what is a dictionary
update. One LIST per kind seeds it at start-up, before any reconcile or admission review reads
it; the watch events keep it current from then on.

It reads like kopf's index: a mapping from each fact's key to the values of the objects that
have it (``get(key)`` is ``None`` when none has).
"""

from collections.abc import Iterator, Mapping, ValuesView
from typing import Any

from greenshift.controllers import indexes
from greenshift.controllers.keys import ObjectKey, key_of
from greenshift.controllers.recent import version_of
from greenshift.runtime.packing import unpack

Body = Mapping[str, Any]


class FactIndex(Mapping[Any, ValuesView[Any]]):
    def __init__(self) -> None:
        self._objects: dict[ObjectKey, tuple[int, dict[Any, Any]]] = {}  # object -> (version, facts)
        self._values: dict[Any, dict[ObjectKey, Any]] = {}  # fact key -> {object: value}

    def __getitem__(self, key: Any) -> ValuesView[Any]:
        return self._values[key].values()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def update(self, body: Body) -> None:
        """A custom resource's new state; one older than the indexed state is ignored."""
        key = key_of(body)
        version = version_of(body)
        found = self._objects.get(key)
        if found is not None and 0 <= version < found[0]:
            return
        facts = indexes.facts(body)
        self._drop(key)
        self._objects[key] = (version, facts)
        for fact, value in facts.items():
            self._values.setdefault(fact, {})[key] = value

    def remove(self, body: Body) -> None:
        self._drop(key_of(body))

    def keep_only(
        self, kind: str, listed: set[ObjectKey], list_version: int, *, namespace: str | None = None
    ) -> list[Body]:
        """Forget the objects of ``kind`` (in ``namespace``, or in all) that a LIST at
        ``list_version`` no longer had (their DELETED event was missed); an object indexed from
        a newer event stays. Returns the last known state of each object forgotten."""
        gone: list[Body] = []
        for key, (version, facts) in list(self._objects.items()):
            if (
                key.kind == kind
                and namespace in (None, key.namespace)
                and key not in listed
                and version <= list_version
            ):
                gone.append(unpack(facts[indexes.RESOURCE, key]))
                self._drop(key)
        return gone

    def _drop(self, key: ObjectKey) -> None:
        found = self._objects.pop(key, None)
        if found is None:
            return
        for fact in found[1]:
            holders = self._values.get(fact)
            if holders is not None:
                holders.pop(key, None)
                if not holders:
                    del self._values[fact]
