"""The benchmark's stand-in kubelet, in a process of its own: ``KUBECONFIG=K python bench/kubelet.py``.

:class:`greenshift.envtest.kubelet.FakeKubelet` binds each Pod to a fake Node and reports it Running
and Ready, one Pod at a time. A fleet of 1000 DocumentSources creates 1000 Pods in a few seconds,
so here the Pods are handled concurrently (``--concurrency`` requests in flight, one Pod never
twice at once) and a Pod already made Ready is not looked at again. Each Pod gets an address of its
own in 10.244.0.0/16: the endpoints controller refuses the loopback address FakeKubelet reports
(422 "may not be in the loopback range", retried with backoff: thousands of refused writes at
N = 1000, in both of the benchmark's runs). Its own process keeps its CPU out of the benchmark's
and the operator's, and lets the benchmark report it.
"""

import argparse
import asyncio
import contextlib
import itertools
from typing import Any

import uvloop

from greenshift.envtest import kubelet as fake
from greenshift.envtest.kubelet import FakeKubelet
from greenshift.kube import ApiError, KubeClient
from greenshift.kube.client import connect

Body = dict[str, Any]


class ConcurrentKubelet(FakeKubelet):
    def __init__(self, client: KubeClient, concurrency: int) -> None:
        super().__init__(client)
        self._slots = asyncio.Semaphore(concurrency)
        self._latest: dict[str, Body] = {}  # uid -> the newest state not handled yet
        self._busy: set[str] = set()
        self._ready: set[str] = set()  # made Ready: later events of these Pods are our own echoes
        self._tasks: set[asyncio.Task[None]] = set()
        self._addresses = itertools.count(1)

    async def _handle(self, pod: Body) -> None:
        meta = pod["metadata"]
        uid = str(meta.get("uid") or f"{meta['namespace']}/{meta['name']}")
        if uid in self._ready and not meta.get("deletionTimestamp"):
            return
        self._latest[uid] = pod
        if uid in self._busy:
            return
        self._busy.add(uid)
        task = asyncio.create_task(self._drain(uid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, uid: str) -> None:
        try:
            while (pod := self._latest.pop(uid, None)) is not None:
                async with self._slots:
                    await self._run_pod(pod)
                if pod["metadata"].get("deletionTimestamp"):
                    self._ready.discard(uid)
                else:
                    self._ready.add(uid)
        finally:
            self._busy.discard(uid)

    async def _run_pod(self, pod: Body) -> None:
        """FakeKubelet's binding and Running/Ready status, with a Pod address that is not loopback."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") or (pod["spec"].get("nodeName") and fake._is_ready(pod)):
            await super()._handle(pod)  # deletion, or nothing to do
            return
        try:
            if not pod["spec"].get("nodeName"):
                await self.client.request(
                    "POST",
                    fake.PODS.path(meta["namespace"], meta["name"], "binding"),
                    body={
                        "apiVersion": "v1",
                        "kind": "Binding",
                        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
                        "target": {"apiVersion": "v1", "kind": "Node", "name": fake.NODE_NAME},
                    },
                )
            n = next(self._addresses)
            address = f"10.244.{n // 250 % 250}.{n % 250 + 1}"
            status = fake._running(pod, fake._now())
            status["status"] |= {"podIP": address, "podIPs": [{"ip": address}], "hostIP": "10.0.0.1"}
            await self.client.merge_patch(
                fake.PODS, meta["namespace"], meta["name"], status, subresource="status"
            )
        except ApiError:
            pass  # gone or changed meanwhile: the watch brings its next state


async def main(concurrency: int) -> None:
    async with KubeClient(connect(), limit=concurrency) as client:
        await ConcurrentKubelet(client, concurrency).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/kubelet.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(main(args.concurrency))
