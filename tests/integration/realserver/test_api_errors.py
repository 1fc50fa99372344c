"""How the real API server answers the operator's mistakes, and how the client classes them."""

import pytest

from greenshift.envtest import OPERATOR, ControlPlane
from greenshift.kube import KubeClient, PermanentApiError


async def test_an_apply_of_an_undeclared_field_is_a_permanent_error(control_plane: ControlPlane) -> None:
    """The server answers 500 (not 422) for it: retrying would loop for ever on a template bug."""
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "typo", "namespace": "default"},
        "spec": {"misplaced": True},
    }
    async with KubeClient(control_plane.connection(OPERATOR)) as client:
        with pytest.raises(PermanentApiError) as refused:
            await client.apply(body)
    assert refused.value.status == 500
