from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from greenshift.devcluster import DevCluster

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {
            "plural": "widgets",
            "singular": "widget",
            "kind": "Widget",
            "shortNames": ["wg"],
            "categories": ["examples"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer", "default": 3},
                                    "color": {"type": "string"},
                                },
                            },
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}


@pytest.fixture
async def cluster() -> AsyncIterator[DevCluster]:
    async with DevCluster() as cluster:
        yield cluster


@pytest.fixture
async def client(cluster: DevCluster) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cluster.url) as session:
        yield session


@pytest.fixture
async def crd(client: aiohttp.ClientSession) -> dict[str, Any]:
    async with client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD) as response:
        assert response.status == 201
        body: dict[str, Any] = await response.json()
        return body


async def request(
    client: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    content_type: str | None = None,
    **params: str,
) -> tuple[int, dict[str, Any]]:
    """One request with a JSON (or, for apply, YAML/JSON text) body: the status and the decoded answer."""
    headers = {"Content-Type": content_type} if content_type else {}
    data = body if isinstance(body, str) else None
    json_body = None if isinstance(body, str) else body
    async with client.request(
        method, path, json=json_body, data=data, headers=headers, params=params
    ) as response:
        return response.status, await response.json()
