"""Client CPU per request of ``KubeClient`` against the real API server (envtest), over TLS.

The operator's request mix: server-side apply, merge patch and GET of 2 KiB ConfigMaps, 16 in
flight, 3000 requests a round; the figure is this process's CPU time (``time.process_time``)
over the round divided by its requests, median of the rounds. With ``--against REV`` the
``kube/http1.py`` and ``kube/client.py`` of git revision REV are loaded beside the working
tree's and the rounds alternate, so that both see the same load of a shared machine::

    KUBEBUILDER_ASSETS=... .venv/bin/python bench/http1_requests.py --against HEAD~3

``--token-file`` also gives the working tree's client its credentials as a token file (checked
for changes every few seconds), to show what that check costs.
"""

import argparse
import asyncio
import importlib.util
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import types
from typing import Any

import uvloop

from greenshift.envtest import OPERATOR, ControlPlane, find_assets
from greenshift.kube import KubeClient, ref_of_kind

CONFIGMAPS = ref_of_kind("v1", "ConfigMap")
NAMESPACE = "bench-http1"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def load_revision(revision: str) -> Any:
    """``greenshift.kube.client`` as it was at ``revision``, with its own ``http1``."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="greenshift-bench-"))
    modules: dict[str, types.ModuleType] = {}
    for name in ("http1", "client"):
        source = subprocess.run(
            ["git", "show", f"{revision}:operator/greenshift/kube/{name}.py"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        source = source.replace("from greenshift.kube.http1 import", "from bench_old_http1 import")
        path = folder / f"bench_old_{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"bench_old_{name}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["client"].KubeClient


def config_map(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"cm-{index}", "namespace": NAMESPACE},
        "data": {f"key-{k}": "v" * 100 for k in range(20)},  # about 2 KiB
    }


async def one_round(client: Any, requests: int, in_flight: int, round_: int) -> float:
    """Client CPU per request, in microseconds."""
    names = 200
    slots = asyncio.Semaphore(in_flight)

    async def one(index: int) -> None:
        async with slots:
            name = index % names
            kind = index % 3
            if kind == 0:
                body = config_map(name)
                body["data"]["round"] = f"{round_}-{index}"
                await client.apply(body)
            elif kind == 1:
                patch = {"metadata": {"annotations": {"bench": f"{round_}-{index}"}}}
                await client.merge_patch(CONFIGMAPS, NAMESPACE, f"cm-{name}", patch)
            else:
                await client.get(CONFIGMAPS, NAMESPACE, f"cm-{name}")

    for index in range(in_flight):  # warm: the pool's connections exist before the clock starts
        await one(index * 3 + 2)
    start = time.process_time()
    await asyncio.gather(*(one(index) for index in range(requests)))
    return (time.process_time() - start) / requests * 1e6


async def main(args: argparse.Namespace) -> None:
    with ControlPlane(find_assets(), controller_manager=False) as plane:
        plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        info = plane.connection(OPERATOR)
        clients: dict[str, Any] = {}
        if args.against:
            clients[f"at {args.against}"] = load_revision(args.against)(info, limit=64)
        current: Any = info
        if args.token_file:
            from greenshift.kube.client import Connection  # only in newer trees

            token_file = pathlib.Path(tempfile.mkdtemp(prefix="greenshift-bench-")) / "token"
            token_file.write_text(plane.token(OPERATOR))
            current = Connection(server=info.server, ca_path=info.ca_path, token_file=str(token_file))
        clients["working tree"] = KubeClient(current, limit=64)
        async with asyncio.TaskGroup() as group:  # the objects, once
            for index in range(200):
                group.create_task(clients["working tree"].apply(config_map(index)))
        figures: dict[str, list[float]] = {name: [] for name in clients}
        for round_ in range(args.rounds):
            for name, client in clients.items():
                figures[name].append(await one_round(client, args.requests, args.in_flight, round_))
        for client in clients.values():
            await client.close()
    for name, values in figures.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        print(f"{name}: median {statistics.median(values):.1f} us per request (rounds: {rounds})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="bench/http1_requests.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests a round (default 3000)")
    parser.add_argument("--in-flight", type=int, default=16, help="concurrent requests (default 16)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per client (default 4)")
    parser.add_argument("--against", metavar="REV", help="also measure the client of this git revision")
    parser.add_argument("--token-file", action="store_true", help="credentials as a token file")
    uvloop.run(main(parser.parse_args()))
