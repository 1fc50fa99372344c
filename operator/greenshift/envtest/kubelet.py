"""A stand-in kubelet: binds Pods to a registered fake Node and reports them running and ready.

The control plane of :mod:`greenshift.envtest` has no scheduler and no kubelet, so a
Deployment's Pods are created by the ReplicaSet controller and stay Pending. This does what a
scheduler and a node would, through the API only: it registers a ``Node``, binds every
unscheduled Pod to it (``pods/binding``) and writes the Pod's status (Running, Ready,
ContainersReady, a ready ``containerStatuses`` entry per container, an address of its own in
10.244.0.0/16: the endpoints controller refuses loopback addresses). The Deployment and
ReplicaSet controllers then count the Pods available, as on a real cluster. Nothing is faked
in the operator's path: it reads the Deployment status the real controllers computed.

Pods are handled concurrently (``concurrency`` requests in flight, one Pod never twice at once),
since a fleet of a thousand sources makes a thousand Pods within seconds; a Pod made Ready is
not looked at again until it is deleted. A Pod marked for deletion is removed at once, as a
kubelet does once its containers stopped.
"""

import asyncio
import contextlib
import datetime
import itertools
from typing import Any

from greenshift.kube import ApiError, KubeClient, ResourceRef

NODES = ResourceRef("", "v1", "nodes", "Node", False)
PODS = ResourceRef("", "v1", "pods", "Pod", True)
NODE_NAME = "envtest-node"
NODE_ADDRESS = "10.0.0.1"
Body = dict[str, Any]


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node() -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME}},
        "status": {
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
            "addresses": [{"type": "InternalIP", "address": NODE_ADDRESS}],
        },
    }


def running(pod: Body, address: str, now: str) -> Body:
    """The status a kubelet writes once every container of ``pod`` runs and is ready."""
    containers = pod["spec"].get("containers") or []
    conditions = [
        {"type": kind, "status": "True", "lastTransitionTime": now}
        for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
    ]
    return {
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": NODE_ADDRESS,
            "podIP": address,
            "podIPs": [{"ip": address}],
            "startTime": now,
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for c in containers
            ],
        }
    }


def is_ready(pod: Body) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


class FakeKubelet:
    """Run as a task: ``task = asyncio.create_task(FakeKubelet(client).run())``."""

    def __init__(self, client: KubeClient, *, concurrency: int = 16) -> None:
        self.client = client
        self._slots = asyncio.Semaphore(concurrency)
        self._latest: dict[str, Body] = {}  # uid -> the newest state not handled yet
        self._busy: set[str] = set()
        self._ready: set[str] = set()  # made Ready: their later events are our own echoes
        self._tasks: set[asyncio.Task[None]] = set()
        self._addresses = itertools.count(1)

    async def run(self) -> None:
        if await self.client.get(NODES, None, NODE_NAME) is None:
            await self.client.request("POST", NODES.path(None), body=_node())
        try:
            while True:
                try:
                    pods, version = await self.client.list_with_version(PODS)
                    for pod in pods:
                        self._offer(pod)
                    async for event in self.client.watch(PODS, resource_version=version, timeout_seconds=60):
                        if event.get("type") in ("ADDED", "MODIFIED"):
                            self._offer(event["object"])
                        elif event.get("type") == "ERROR":
                            break
                except ApiError:
                    await asyncio.sleep(0.2)
        finally:
            for task in list(self._tasks):
                task.cancel()

    def _offer(self, pod: Body) -> None:
        meta = pod["metadata"]
        uid = str(meta.get("uid"))
        if uid in self._ready and not meta.get("deletionTimestamp"):
            return
        self._latest[uid] = pod
        if uid not in self._busy:
            self._busy.add(uid)
            task = asyncio.create_task(self._drain(uid))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self, uid: str) -> None:
        try:
            while (pod := self._latest.pop(uid, None)) is not None:
                async with self._slots:
                    ready = await self._handle(pod)
                if ready:
                    self._ready.add(uid)
                else:
                    self._ready.discard(uid)
        finally:
            self._busy.discard(uid)

    async def _handle(self, pod: Body) -> bool:
        """Bind, start or remove ``pod``; whether it is running and ready now."""
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if meta.get("deletionTimestamp"):
            with contextlib.suppress(ApiError):
                await self.client.request(
                    "DELETE", PODS.path(namespace, name), body={"gracePeriodSeconds": 0}
                )
            return False
        try:
            if not pod["spec"].get("nodeName"):
                await self.client.request(
                    "POST",
                    PODS.path(namespace, name, "binding"),
                    body={
                        "apiVersion": "v1",
                        "kind": "Binding",
                        "metadata": {"name": name, "namespace": namespace},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
                    },
                )
            if not is_ready(pod):
                n = next(self._addresses)
                address = f"10.244.{n // 250 % 250}.{n % 250 + 1}"
                await self.client.merge_patch(
                    PODS, namespace, name, running(pod, address, _now()), subresource="status"
                )
        except ApiError:
            return False  # gone or changed meanwhile: the watch brings its next state
        return True
