"""The benchmark's stand-in kubelet, in a process of its own: ``KUBECONFIG=K python bench/kubelet.py``.

It runs :class:`greenshift.envtest.kubelet.FakeKubelet` (Pods bound to a fake Node and reported
Running and Ready, concurrently, each with an address of its own). Its own process keeps its CPU
out of the benchmark's and the operator's, and lets the benchmark report it.
"""

import argparse
import contextlib

import uvloop

from greenshift.envtest.kubelet import FakeKubelet
from greenshift.kube import KubeClient
from greenshift.kube.client import connect


async def main(concurrency: int) -> None:
    async with KubeClient(connect(), limit=concurrency) as client:
        await FakeKubelet(client, concurrency=concurrency).run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/kubelet.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(main(args.concurrency))
