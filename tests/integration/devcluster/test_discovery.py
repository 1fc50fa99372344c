"""Discovery documents, CRD registration, and kubectl itself against the dev cluster."""

import asyncio
import pathlib
import shutil
from typing import Any

import aiohttp
import pytest

from greenshift.devcluster import DevCluster

from .conftest import CRD, WIDGETS, request

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def resources(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in listing["resources"]}


async def test_builtin_discovery(client: aiohttp.ClientSession) -> None:
    _, api = await request(client, "GET", "/api")
    assert api["versions"] == ["v1"]
    _, core = await request(client, "GET", "/api/v1")
    core_resources = resources(core)
    assert core_resources["namespaces"]["namespaced"] is False
    assert core_resources["configmaps"]["namespaced"] is True
    assert "namespaces/status" in core_resources
    _, groups = await request(client, "GET", "/apis")
    names = {group["name"]: group["preferredVersion"]["version"] for group in groups["groups"]}
    assert names["apps"] == "v1"
    assert names["autoscaling"] == "v2"
    assert names["policy"] == "v1"
    assert {"networking.k8s.io", "rbac.authorization.k8s.io", "coordination.k8s.io", "events.k8s.io"} <= set(
        names
    )
    _, rbac = await request(client, "GET", "/apis/rbac.authorization.k8s.io/v1")
    assert resources(rbac)["clusterroles"]["namespaced"] is False
    assert resources(rbac)["roles"]["namespaced"] is True
    _, apps = await request(client, "GET", "/apis/apps/v1")
    assert resources(apps)["deployments/status"]["verbs"] == ["get", "patch", "update"]
    assert "watch" in resources(apps)["deployments"]["verbs"]


async def test_crd_registers_and_unregisters(client: aiohttp.ClientSession) -> None:
    status, _ = await request(client, "GET", "/apis/example.com")
    assert status == 404
    status, crd = await request(client, "POST", CRDS, CRD)
    assert status == 201
    _, crd = await request(client, "GET", f"{CRDS}/widgets.example.com")
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}

    _, group = await request(client, "GET", "/apis/example.com")
    assert group["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}
    _, listing = await request(client, "GET", "/apis/example.com/v1")
    widgets = resources(listing)
    assert widgets["widgets"] == {
        "name": "widgets",
        "singularName": "widget",
        "namespaced": True,
        "kind": "Widget",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["wg"],
        "categories": ["examples"],
    }
    assert widgets["widgets/status"]["verbs"] == ["get", "patch", "update"]
    await request(client, "POST", WIDGETS, {"metadata": {"name": "w"}})

    status, _ = await request(client, "DELETE", f"{CRDS}/widgets.example.com")
    assert status == 200
    status, _ = await request(client, "GET", "/apis/example.com/v1")
    assert status == 404
    status, _ = await request(client, "POST", CRDS, CRD)
    status, listing = await request(client, "GET", WIDGETS)
    assert listing["items"] == []  # custom objects went with their CRD


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl(cluster: DevCluster, crd: dict[str, Any], tmp_path: pathlib.Path) -> None:
    # kubectl validates manifests against /openapi/v2 or v3, which the dev cluster does not serve.
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    manifest = tmp_path / "widget.yaml"
    manifest.write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {color: red}\n"
    )

    async def kubectl(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            "kubectl", "--kubeconfig", str(kubeconfig), *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await process.communicate()
        assert process.returncode == 0, stderr.decode()
        return stdout.decode()

    assert "widgets" in await kubectl("api-resources", "--api-group=example.com")
    assert "created" in await kubectl("create", "--validate=false", "-f", str(manifest))
    assert "serverside-applied" in await kubectl(
        "apply", "--server-side", "--validate=false", "-f", str(manifest)
    )
    assert "w1" in await kubectl("get", "wg", "-o", "name")
    assert "w1" in await kubectl("get", "examples")  # the category
    assert "size: 3" in await kubectl("get", "widget", "w1", "-o", "yaml")
    assert "deleted" in await kubectl("delete", "widget", "w1")
