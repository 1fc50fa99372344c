"""A stand-in kubelet: binds Pods to a registered fake Node and reports them running and ready.

The control plane of :mod:`greenshift.envtest` has no scheduler and no kubelet, so a
Deployment's Pods are created by the ReplicaSet controller and stay Pending. This does what a
scheduler and a node would, through the API only: it registers a ``Node``, binds every
unscheduled Pod to it (``pods/binding``) and writes the Pod's status (Running, Ready,
ContainersReady, a ready ``containerStatuses`` entry per container). The Deployment and
ReplicaSet controllers then count the Pods available, as on a real cluster. Nothing is faked
in the operator's path: it reads the Deployment status the real controllers computed.
"""

import asyncio
import contextlib
import datetime
from typing import Any

from greenshift.kube import ApiError, KubeClient, ResourceRef

NODES = ResourceRef("", "v1", "nodes", "Node", False)
PODS = ResourceRef("", "v1", "pods", "Pod", True)
NODE_NAME = "envtest-node"
Body = dict[str, Any]


def _node() -> Body:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": NODE_NAME, "labels": {"kubernetes.io/hostname": NODE_NAME}},
        "status": {
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1000"},
        },
    }


def _running(pod: Body, now: str) -> Body:
    containers = pod["spec"].get("containers") or []
    conditions = [
        {"type": kind, "status": "True", "lastTransitionTime": now}
        for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
    ]
    return {
        "status": {
            "phase": "Running",
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1",
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


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_ready(pod: Body) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


class FakeKubelet:
    """Run as a task: ``task = asyncio.create_task(FakeKubelet(client).run())``."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self.started = asyncio.Event()

    async def run(self) -> None:
        node = await self.client.get(NODES, None, NODE_NAME)
        if node is None:
            await self.client.request("POST", NODES.path(None), body=_node())
        while True:
            try:
                pods, version = await self.client.list_with_version(PODS)
                for pod in pods:
                    await self._handle(pod)
                self.started.set()
                async for event in self.client.watch(PODS, resource_version=version, timeout_seconds=60):
                    if event.get("type") in ("ADDED", "MODIFIED"):
                        await self._handle(event["object"])
                    elif event.get("type") == "ERROR":
                        break
            except ApiError:
                await asyncio.sleep(0.2)

    async def _handle(self, pod: Body) -> None:
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            # No kubelet will confirm the containers stopped: end the Pod as one would.
            with contextlib.suppress(ApiError):
                await self.client.request(
                    "DELETE", PODS.path(meta["namespace"], meta["name"]), body={"gracePeriodSeconds": 0}
                )
            return
        try:
            if not pod["spec"].get("nodeName"):
                await self.client.request(
                    "POST",
                    PODS.path(meta["namespace"], meta["name"], "binding"),
                    body={
                        "apiVersion": "v1",
                        "kind": "Binding",
                        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": NODE_NAME},
                    },
                )
            if not _is_ready(pod):
                await self.client.merge_patch(
                    PODS, meta["namespace"], meta["name"], _running(pod, _now()), subresource="status"
                )
        except ApiError:
            pass  # gone or changed meanwhile: the watch brings its next state
