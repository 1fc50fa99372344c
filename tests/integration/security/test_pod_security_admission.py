"""The real API server's Pod Security admission admits every pod template, for both platforms.

tests/unit/security/test_pod_templates_fit_the_platform.py judges the templates offline (Pod
Security ``restricted`` and OpenShift's restricted-v2 SCC); here the judge of the first is
kube-apiserver itself (the PodSecurity admission plugin, on by default): each pod template the
operator writes or ships is created as a Pod, with ``dryRun=All``, in a namespace that enforces
``restricted`` at the latest version. The SCC has no such judge here: the real server of
``../shared/kube`` runs without OpenShift's admission plugins.
"""

import secrets
import sys
from pathlib import Path
from typing import Any

import pytest

from greenshift.envtest import ADMIN, ControlPlane
from greenshift.kube import ApiError, KubeClient, PermanentApiError

ROOT = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(ROOT / "tests" / "unit" / "security"), str(ROOT / "tests" / "unit" / "render")]
from test_pod_templates_fit_the_platform import templates  # noqa: E402

Manifest = dict[str, Any]
SERVICE_ACCOUNTS = ("default", "greenshift-operator")


async def _restricted_namespace(client: KubeClient) -> str:
    namespace = f"pss-{secrets.token_hex(4)}"
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
    }
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}}
    await client.request("POST", "/api/v1/namespaces", body=body)
    for name in SERVICE_ACCOUNTS:  # the ServiceAccount admission plugin wants them to exist
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        try:
            await client.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body=account)
        except ApiError as exc:
            if exc.status != 409:  # the controller manager made "default" first
                raise
    return namespace


async def _create_pod(client: KubeClient, namespace: str, name: str, spec: Manifest) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    await client.request("POST", f"/api/v1/namespaces/{namespace}/pods", params={"dryRun": "All"}, body=pod)


@pytest.mark.parametrize("platform", ["kubernetes", "openshift"])
async def test_every_pod_template_is_admitted_under_restricted(
    control_plane: ControlPlane, platform: str
) -> None:
    async with KubeClient(control_plane.connection(ADMIN)) as client:
        namespace = await _restricted_namespace(client)
        try:
            found = templates(platform)
            assert found
            for index, (_, spec) in enumerate(found):
                await _create_pod(client, namespace, f"t{index}", spec)
        finally:
            await client.request("DELETE", f"/api/v1/namespaces/{namespace}")


async def test_the_namespace_does_refuse_what_restricted_forbids(control_plane: ControlPlane) -> None:
    """The control: the same namespace refuses a pod that may escalate its privileges."""
    async with KubeClient(control_plane.connection(ADMIN)) as client:
        namespace = await _restricted_namespace(client)
        try:
            _, spec = templates("openshift")[0]
            spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
            with pytest.raises(PermanentApiError, match="violates PodSecurity"):
                await _create_pod(client, namespace, "bad", spec)
        finally:
            await client.request("DELETE", f"/api/v1/namespaces/{namespace}")
