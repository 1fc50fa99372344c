"""Server-side apply: create, merge, removal of what the manager stopped applying, no-op applies."""

import json
from typing import Any

import aiohttp

from .conftest import WIDGETS, request

APPLY = "application/apply-patch+yaml"
CONFIGMAP = "/api/v1/namespaces/default/configmaps/app"


def config(data: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "app", **({"labels": labels} if labels else {})}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


async def test_apply_creates_then_merges_and_prunes(client: aiohttp.ClientSession) -> None:
    yaml_body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, labels: {tier: web}}\n"
    yaml_body += "data:\n  a: '1'\n  b: '2'\n"
    status, obj = await request(
        client, "PATCH", CONFIGMAP, yaml_body, APPLY, fieldManager="deployer", force="true"
    )
    assert status == 200
    assert obj["data"] == {"a": "1", "b": "2"}
    assert obj["metadata"]["managedFields"][0]["operation"] == "Apply"
    assert obj["metadata"]["managedFields"][0]["manager"] == "deployer"

    # Another manager's field survives; the same manager's dropped field and label go.
    other = {"data": {"c": "3"}}
    await request(client, "PATCH", CONFIGMAP, other, "application/merge-patch+json", fieldManager="human")
    status, obj = await request(client, "PATCH", CONFIGMAP, json.dumps(config({"a": "9"})), APPLY,
                                fieldManager="deployer", force="true")  # fmt: skip
    assert status == 200
    assert obj["data"] == {"a": "9", "c": "3"}
    assert "labels" not in obj["metadata"]
    managers = {(entry["manager"], entry["operation"]) for entry in obj["metadata"]["managedFields"]}
    assert managers == {("deployer", "Apply"), ("human", "Update")}


async def test_no_op_apply_writes_nothing(client: aiohttp.ClientSession) -> None:
    body = json.dumps(config({"a": "1"}, {"x": "y"}))
    _, first = await request(client, "PATCH", CONFIGMAP, body, APPLY, fieldManager="deployer", force="true")
    _, again = await request(client, "PATCH", CONFIGMAP, body, APPLY, fieldManager="deployer", force="true")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again == first


async def test_apply_needs_a_field_manager(client: aiohttp.ClientSession) -> None:
    status, answer = await request(client, "PATCH", CONFIGMAP, json.dumps(config({})), APPLY)
    assert (status, answer["reason"]) == (400, "BadRequest")


async def test_apply_defaults_custom_objects(client: aiohttp.ClientSession, crd: dict[str, Any]) -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"color": "red"},
    }
    status, obj = await request(
        client, "PATCH", f"{WIDGETS}/w", json.dumps(widget), APPLY, fieldManager="gitops"
    )
    assert status == 200
    assert obj["spec"] == {"color": "red", "size": 3}
    # Re-applying the same config is a no-op even though the object carries a default it did not apply.
    _, again = await request(
        client, "PATCH", f"{WIDGETS}/w", json.dumps(widget), APPLY, fieldManager="gitops"
    )
    assert again["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
