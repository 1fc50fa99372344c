"""Server-side apply of an owner's desired children, and pruning of those no longer desired.

Applies are skipped when the live child already holds everything desired and was last applied
from the same desired state (the hash annotation ``hash_annotation`` the caller stamps): a resync
with nothing changed writes nothing, while drift (someone edited or deleted a child) and changes
of the desired state are applied again. Every write goes through the record of own writes.
"""

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from greenshift.kube import ApiError, KubeClient, PermanentApiError, ref_for
from greenshift.runtime.own_writes import Identity, OwnWrites, identity_of

Body = dict[str, Any]


def is_subset(want: Any, have: Any) -> bool:
    """Whether ``have`` holds all of ``want``; the server may have added defaults besides.

    An empty mapping must stay empty: ``podSelector: {}`` widened to a label selector is drift.
    """
    if isinstance(want, Mapping):
        if not want:  # an empty selector or emptyDir means exactly that: nothing may be added
            return isinstance(have, Mapping) and not have
        return isinstance(have, Mapping) and all(k in have and is_subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(is_subset, want, have))
    return bool(want == have) or (isinstance(want, int | float) and str(want) == str(have))


def needs_apply(desired: Body, live: Mapping[str, Any] | None, hash_annotation: str) -> bool:
    if live is None or live.get("metadata", {}).get("deletionTimestamp"):
        return True
    want_hash = desired["metadata"]["annotations"][hash_annotation]
    have_hash = (live.get("metadata", {}).get("annotations") or {}).get(hash_annotation)
    return want_hash != have_hash or not is_subset(desired, live)


@dataclass
class SyncResult:
    applied: list[Body] = field(default_factory=list)
    pruned: list[Identity] = field(default_factory=list)
    live: dict[Identity, Mapping[str, Any]] = field(default_factory=dict)
    existing: int = 0  # children that existed before this sync


def foreign_additions(want: Any, have: Any) -> dict[str, Any]:
    """A merge patch removing what others added under a mapping the operator wants empty.

    Server-side apply merges maps, so re-applying ``podSelector: {}`` keeps a ``matchLabels``
    someone added: isolation would stay lifted. Only empty mappings are cleared this way;
    anything else added beside the desired fields is left alone, as apply leaves it.
    """
    patch: dict[str, Any] = {}
    if not isinstance(want, Mapping) or not isinstance(have, Mapping):
        return patch
    for key, value in want.items():
        if not isinstance(value, Mapping) or not isinstance(have.get(key), Mapping):
            continue
        if not value and have[key]:
            patch[key] = dict.fromkeys(have[key])
        elif value:
            nested = foreign_additions(value, have[key])
            if nested:
                patch[key] = nested
    return patch


async def _apply(client: KubeClient, obj: Body, own: OwnWrites) -> Mapping[str, Any]:
    """Apply one child, through the record of own writes: its watch event is then known as an
    echo and wakes nothing, and an event that overtakes the answer waits for it."""
    async with own.writing(obj) as record:
        applied = await client.apply(obj)
        record(applied)
        extra = foreign_additions(obj, applied)
        if extra:
            meta = obj["metadata"]
            applied = await client.merge_patch(ref_for(obj), meta.get("namespace"), meta["name"], extra)
            record(applied)
        return applied


async def sync(
    client: KubeClient,
    desired: Iterable[Body],
    live: Iterable[Mapping[str, Any]],
    own: OwnWrites,
    *,
    hash_annotation: str,
    never_pruned: frozenset[str] = frozenset(),
) -> SyncResult:
    """Bring the children of one owner (``live``) to ``desired`` (stamped); Namespaces first, the
    rest concurrently."""
    stamped = list(desired)
    current = {identity_of(obj): obj for obj in live}
    result = SyncResult(live=dict(current), existing=len(current))
    todo = [obj for obj in stamped if needs_apply(obj, current.get(identity_of(obj)), hash_annotation)]
    first = [obj for obj in todo if obj["kind"] == "Namespace"]
    rest = [obj for obj in todo if obj["kind"] != "Namespace"]
    for obj in first:
        result.live[identity_of(obj)] = await _apply(client, obj, own)
    outcomes = await asyncio.gather(*(_apply(client, obj, own) for obj in rest), return_exceptions=True)
    for outcome in outcomes:
        if not isinstance(outcome, BaseException):
            result.live[identity_of(dict(outcome))] = outcome
    _raise_worst(outcomes)
    result.applied = first + rest
    wanted = {identity_of(obj) for obj in stamped}
    stale = [key for key in current if key not in wanted and key[1] not in never_pruned]
    _raise_worst(
        await asyncio.gather(*(_delete(client, current[key]) for key in stale), return_exceptions=True)
    )
    for key in stale:
        own.deleted(current[key])
        result.live.pop(key, None)
    result.pruned = stale
    return result


def _raise_worst(outcomes: Iterable[object]) -> None:
    """Of the concurrent writes' errors, raise the one that must decide the retry.

    A refusal (permanent) is reported first; among temporary errors the longest Retry-After
    wins, so that no object the server asked to wait for is written again too early.
    """
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    api_errors = [e for e in errors if isinstance(e, ApiError)]
    if len(api_errors) < len(errors):
        raise next(e for e in errors if not isinstance(e, ApiError))
    permanent = [e for e in api_errors if isinstance(e, PermanentApiError)]
    if permanent:
        raise permanent[0]
    if api_errors:
        raise max(api_errors, key=lambda e: e.retry_after or 0.0)


async def _delete(client: KubeClient, obj: Mapping[str, Any]) -> None:
    meta = obj["metadata"]
    await client.delete(ref_for(dict(obj)), meta.get("namespace"), meta["name"])
