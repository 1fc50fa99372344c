"""The reader ClusterRoles of deploy/ are enough for `greenshift catalog` and `greenshift usage`,
and no more, on a real API server (RBAC authorization).

Each role is bound to a ServiceAccount of a namespace of the test's own; the commands' own fetch
functions then run with a token of that account.
"""

import asyncio
import secrets
from pathlib import Path
from typing import Any

import kopf
import pytest
import yaml

from greenshift.commands.catalog import fetch_entries
from greenshift.commands.usage import fetch_usage
from greenshift.envtest import ADMIN, ControlPlane
from greenshift.kube import ApiError, KubeClient
from greenshift.schemas import load_crds

ROLES = Path(__file__).resolve().parents[3] / "deploy" / "reader-clusterroles.yaml"
APPLY = "application/apply-patch+yaml"


async def _apply(client: KubeClient, path: str, body: dict[str, Any]) -> None:
    params = {"fieldManager": "reader-roles-test", "force": "true"}
    await client.request("PATCH", path, params=params, body=body, content_type=APPLY)


async def _reader(client: KubeClient, plane: ControlPlane, namespace: str, role: str) -> kopf.ConnectionInfo:
    """A ServiceAccount bound to ``role``, and a connection with a token of it."""
    account = role.removeprefix("greenshift-")
    await client.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts",
        body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}},
    )
    binding = f"{namespace}-{account}"
    await _apply(
        client,
        f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{binding}",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": binding},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
    )
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 600},
    }
    answer = await client.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", body=request
    )
    assert answer is not None
    return kopf.ConnectionInfo(server=plane.url, ca_path=str(plane.ca_path), token=answer["status"]["token"])


async def _eventually(call: Any) -> Any:
    """RBAC takes a moment to see a new binding: retry a refusal for a few seconds."""
    for _ in range(50):
        try:
            return await call()
        except ApiError as exc:
            if exc.status != 403:
                raise
            await asyncio.sleep(0.1)
    return await call()


async def _secrets(connection: kopf.ConnectionInfo) -> None:
    async with KubeClient(connection) as client:
        await client.request("GET", "/api/v1/secrets")


async def test_catalog_and_usage_readers(control_plane: ControlPlane) -> None:
    control_plane.install(load_crds())
    namespace = f"readers-{secrets.token_hex(4)}"
    async with KubeClient(control_plane.connection(ADMIN)) as admin:
        await admin.request(
            "POST",
            "/api/v1/namespaces",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        try:
            for role in yaml.safe_load_all(ROLES.read_text()):
                await _apply(
                    admin, f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}", role
                )
            catalog = await _reader(admin, control_plane, namespace, "greenshift-catalog-reader")
            usage = await _reader(admin, control_plane, namespace, "greenshift-usage-reader")

            assert isinstance(await _eventually(lambda: fetch_entries(catalog)), list)
            assert isinstance(await _eventually(lambda: fetch_usage(usage)), list)
            assert isinstance(await fetch_entries(usage), list)
            with pytest.raises(ApiError, match="403"):
                await fetch_usage(catalog)  # it may not list Deployments
            for connection in (catalog, usage):
                with pytest.raises(ApiError, match="403"):
                    await _secrets(connection)
        finally:
            await admin.request("DELETE", f"/api/v1/namespaces/{namespace}")
            for account in ("catalog-reader", "usage-reader"):
                await admin.request(
                    "DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{namespace}-{account}"
                )
