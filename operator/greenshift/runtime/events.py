"""Kubernetes Events about an object, posted in the background.

The operator posts its own events (rather than through kopf's poster) because reconciles
run in the work queue, outside kopf's handler context. An event that cannot be posted is
logged and dropped: events are informative, never a reason to fail a reconcile.
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from greenshift.kube import ApiError, KubeClient, ref_of_kind

logger = logging.getLogger(__name__)
EVENT = ref_of_kind("v1", "Event")
COMPONENT = "greenshift-operator"


def event_body(
    obj: Mapping[str, Any], reason: str, message: str, event_type: str, now: str
) -> dict[str, Any]:
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"  # events of cluster-scoped objects
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
            "resourceVersion": meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message[:1024],
        "type": event_type,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class EventPoster:
    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self._tasks: set[asyncio.Task[None]] = set()

    def post(self, obj: Mapping[str, Any], reason: str, message: str, event_type: str = "Normal") -> None:
        now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = event_body(obj, reason, message, event_type, now)
        task = asyncio.create_task(self._send(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, body: dict[str, Any]) -> None:
        try:
            await self._client.request("POST", EVENT.path(body["metadata"]["namespace"]), body=body)
        except ApiError as exc:
            logger.debug("Dropped an event about %s: %s", body["involvedObject"]["name"], exc)

    async def close(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
