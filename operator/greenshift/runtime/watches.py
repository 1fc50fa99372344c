"""Wake rules: which change of a watched object queues which key (controller-runtime's ``Watches``).

A rule is a map function from a change (the old and the new object) to the keys to reconcile,
as ``Watches(source, EnqueueRequestsFromMapFunc(fn))`` declares one: events go to the queue
through the rules and nowhere else, and a reconcile never queues anything itself.
"""

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from greenshift.runtime.queue import WorkQueue
from greenshift.runtime.store import Change

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Rule(Generic[K]):
    map: Callable[[Change], Iterable[K]]
    delay: float = 0.0
    """Seconds to gather a burst before the key is reconciled (0: at once)."""


def enqueue(queue: WorkQueue[K], rules: Sequence[Rule[K]], change: Change) -> None:
    for rule in rules:
        for key in rule.map(change):
            if rule.delay:
                queue.add_after(key, rule.delay)
            else:
                queue.add(key)
