"""kopf itself, running in-process against the dev cluster, handles a custom resource."""

import asyncio
import logging
import pathlib
from typing import Any

import aiohttp
import kopf
import pytest

from greenshift.devcluster import DevCluster

from .conftest import WIDGETS, request


async def wait_for(client: aiohttp.ClientSession, path: str, check: Any) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            _, obj = await request(client, "GET", path)
            if check(obj):
                return obj
            await asyncio.sleep(0.1)


async def test_kopf_handles_a_custom_resource(
    cluster: DevCluster,
    client: aiohttp.ClientSession,
    crd: dict[str, Any],
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(cluster.write_kubeconfig(tmp_path / "kubeconfig")))
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(settings: kopf.OperatorSettings, **_: Any) -> kopf.ConnectionInfo | None:
        return kopf.login_with_kubeconfig(settings=settings)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.watching.server_timeout = 10
        settings.posting.level = logging.WARNING

    @kopf.on.create("example.com", "v1", "widgets", id="created", registry=registry)
    def created(spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> dict[str, Any]:
        patch.metadata.annotations["example.com/seen"] = "yes"
        return {"size": spec["size"]}

    @kopf.on.delete("example.com", "v1", "widgets", registry=registry)
    def deleted(**_: Any) -> None:
        pass

    stop = asyncio.Event()
    ready = asyncio.Event()
    operator = asyncio.create_task(
        kopf.operator(registry=registry, clusterwide=True, standalone=True, stop_flag=stop, ready_flag=ready)
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        status, _ = await request(
            client, "POST", WIDGETS, {"metadata": {"name": "w1"}, "spec": {"color": "red"}}
        )
        assert status == 201

        widget = await wait_for(client, f"{WIDGETS}/w1", lambda o: "created" in o.get("status", {}))
        assert widget["status"]["created"] == {"size": 3}  # the CRD's default reached the handler
        assert widget["metadata"]["annotations"]["example.com/seen"] == "yes"
        assert "kopf.zalando.org/KopfFinalizerMarker" in widget["metadata"]["finalizers"]
        assert widget["metadata"]["generation"] == 1  # kopf's patches touch no spec

        # Deletion waits for kopf to handle it and release its finalizer.
        status, _ = await request(client, "DELETE", f"{WIDGETS}/w1")
        assert status == 200
        await wait_for(client, f"{WIDGETS}/w1", lambda o: o.get("code") == 404)
    finally:
        stop.set()
        await asyncio.wait_for(operator, 10)
