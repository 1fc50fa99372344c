"""One dev cluster running the operator with its HTTP server on a free port, the examples applied.

Module scope: starting the platform takes a few seconds, and the tests only read. Where Debian's
prometheus package is installed, the operator reads its catalog's analytics from a real
Prometheus holding an hour of the demo's synthetic traffic for the example routes
(``greenshift.analytics.local``); without it ``Platform.prometheus`` is None.
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import kopf
import pytest

from greenshift.addon_crds import addon_crds
from greenshift.analytics.local import DEMO_CALLER_LABEL, LocalPrometheus, binaries, demo_loads, serving
from greenshift.config import PlatformConfig, is_platform_config, parse_platform_config
from greenshift.constants import KIND_TENANT
from greenshift.controllers.wiring import Runtime
from greenshift.devcluster import DevCluster
from greenshift.kube import ApiError, KubeClient
from greenshift.loader import is_cluster_object, load_documents
from greenshift.runner import OperatorOptions, run_operator
from greenshift.schemas import load_crds
from greenshift.status_table import rows_from

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TIMEOUT = 60.0


@dataclass
class Platform:
    url: str
    """The operator's HTTP server."""
    cluster_url: str
    manifests: list[dict[str, Any]]
    runtime: Runtime
    prometheus: LocalPrometheus | None
    """The Prometheus the catalog reads (None: not installed)."""


async def _apply_all(client: KubeClient, manifests: list[dict[str, Any]]) -> None:
    """Tenants first, the rest once their namespaces exist."""
    pending = sorted(manifests, key=lambda m: m.get("kind") != KIND_TENANT)
    deadline = time.monotonic() + TIMEOUT
    while pending:
        assert time.monotonic() < deadline, f"could not apply {[m['metadata']['name'] for m in pending]}"
        waiting = []
        for manifest in pending:
            try:
                await client.apply(manifest)
            except ApiError:
                waiting.append(manifest)
        pending = waiting
        await asyncio.sleep(0.1)


async def _wait_ready(client: KubeClient, config: PlatformConfig) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        rows = await rows_from(client, config)
        if rows and all(r.ready == "True" for r in rows):
            return
        assert time.monotonic() < deadline, f"not Ready: {[r for r in rows if r.ready != 'True']}"
        await asyncio.sleep(0.2)


ANALYTICS_NOTE = "Demo data: synthetic gateway traffic (tests)."


async def _run(platform: dict[str, Any], started: threading.Event, stop: asyncio.Event) -> None:
    docs = load_documents([EXAMPLES])
    config = parse_platform_config(next(d.body for d in docs if is_platform_config(d.body)))
    metrics = replace(config.gateway.metrics, callerLabel=DEMO_CALLER_LABEL)
    config = replace(config, gateway=replace(config.gateway, metrics=metrics))
    manifests = [d.body for d in docs if is_cluster_object(d.body)]
    with contextlib.ExitStack() as stack:
        prometheus = stack.enter_context(serving(demo_loads(manifests), metrics)) if binaries() else None
        await _serve(platform, started, stop, config, manifests, prometheus)


async def _serve(
    platform: dict[str, Any],
    started: threading.Event,
    stop: asyncio.Event,
    config: PlatformConfig,
    manifests: list[dict[str, Any]],
    prometheus: LocalPrometheus | None,
) -> None:
    async with DevCluster(available_deployments=True) as cluster:
        connection = kopf.ConnectionInfo(server=cluster.url, insecure=True)
        async with KubeClient(connection) as client:
            for crd in [*load_crds(), *addon_crds(config)]:
                await client.apply(crd)
            runtime = Runtime(
                config=config, connection=connection, resync_seconds=3600, http_host="127.0.0.1", http_port=0
            )
            ready = asyncio.Event()
            options = OperatorOptions(
                prometheus_url=prometheus.url if prometheus else None, analytics_note=ANALYTICS_NOTE
            )
            operator = asyncio.create_task(
                run_operator(config, connection, options, stop_flag=stop, ready_flag=ready, runtime=runtime)
            )
            await asyncio.wait_for(ready.wait(), TIMEOUT)
            await _apply_all(client, manifests)
            await _wait_ready(client, config)
            assert runtime.web is not None
            assert runtime.web.port
            platform["value"] = Platform(
                f"http://127.0.0.1:{runtime.web.port}", cluster.url, manifests, runtime, prometheus
            )
            started.set()
            await operator


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    """The platform on an event loop of its own, in a thread: kopf cancels, when it stops,
    every task created on its loop after it started, which must not include the tests."""
    holder: dict[str, Any] = {}
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            loop.run_until_complete(_run(holder, started, stop))
        except BaseException as exc:  # reported to the test below
            errors.append(exc)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="platform", daemon=True)
    thread.start()
    started.wait(TIMEOUT * 2)
    if errors or "value" not in holder:
        raise RuntimeError(f"the platform did not start: {errors}")
    yield holder["value"]
    loop.call_soon_threadsafe(stop.set)
    thread.join(TIMEOUT)
