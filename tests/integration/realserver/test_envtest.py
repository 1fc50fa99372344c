"""The envtest control plane itself: the API server answers, the controller manager works, the
fake kubelet makes a Deployment available, and the audit log names who wrote."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from greenshift.envtest import ADMIN, ControlPlane
from greenshift.envtest.kubelet import FakeKubelet
from greenshift.kube import KubeClient, ref_of_kind

NAMESPACES = ref_of_kind("v1", "Namespace")
DEPLOYMENTS = ref_of_kind("apps/v1", "Deployment")
QUOTAS = ref_of_kind("v1", "ResourceQuota")


async def _until(probe: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        if await probe():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {seconds} s")
        await asyncio.sleep(0.1)


async def test_deployment_becomes_available_and_quota_counts(control_plane: ControlPlane) -> None:
    async with KubeClient(control_plane.connection(ADMIN)) as client:
        kubelet = asyncio.create_task(FakeKubelet(client).run())
        try:
            await client.apply(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "envtest-smoke"}}
            )
            await client.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ResourceQuota",
                    "metadata": {"name": "q", "namespace": "envtest-smoke"},
                    "spec": {"hard": {"pods": "5"}},
                }
            )
            await client.apply(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "envtest-smoke"},
                    "spec": {
                        "replicas": 2,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {
                            "metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "example/web:1"}]},
                        },
                    },
                }
            )

            async def available() -> bool:
                body = await client.get(DEPLOYMENTS, "envtest-smoke", "web") or {}
                return (body.get("status") or {}).get("availableReplicas") == 2

            async def counted() -> bool:
                quota = await client.get(QUOTAS, "envtest-smoke", "q") or {}
                return (quota.get("status") or {}).get("used", {}).get("pods") == "2"

            await _until(available)
            await _until(counted)
        finally:
            kubelet.cancel()
            with pytest.raises(asyncio.CancelledError):
                await kubelet
            await client.delete(NAMESPACES, None, "envtest-smoke")
    writes = control_plane.writes_by(ADMIN)
    assert any(w["verb"] == "patch" and w["objectRef"]["resource"] == "deployments" for w in writes)
