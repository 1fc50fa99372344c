"""Everything in ``examples/`` on the real API server, reconciled by ``greenshift run`` as a
separate process (as a platform team runs it out of cluster), reaches Ready.

The manifests are applied as a GitOps tool with health checks would: the WalletTenants first,
the rest once every tenant is Ready. A tenant is Ready only once its ResourceQuota is in force,
so no DocumentSource or GatewayRoute may meet quota admission's "status unknown for quota"
refusal (403): the test applies each exactly once and fails on any refusal.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from greenshift.config import is_platform_config, parse_platform_config
from greenshift.constants import KIND_TENANT
from greenshift.envtest import ADMIN, OPERATOR, ControlPlane
from greenshift.envtest.kubelet import FakeKubelet
from greenshift.kube import KubeClient, ref_of_kind
from greenshift.loader import is_cluster_object, load_documents
from greenshift.status_table import rows_from

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
TENANTS = ref_of_kind("greenshift.io/v1alpha1", "WalletTenant")
NAMESPACES = ref_of_kind("v1", "Namespace")
READY_SECONDS = 90.0
GREENSHIFT_KINDS = ("WalletTenant", "DocumentSource", "GatewayRoute")

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def operator_process(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``greenshift run`` with the examples' platform configuration, as the operator's own user."""
    folder = tmp_path_factory.mktemp("operator")
    kubeconfig = control_plane.write_kubeconfig(folder / "kubeconfig", OPERATOR)
    log = folder / "operator.log"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
    command = [
        str(Path(sys.executable).parent / "greenshift"),
        "run",
        "--http-port",
        "0",
        "--platform-config",
        str(EXAMPLES / "platform-config.yaml"),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    try:
        yield log
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(control_plane: ControlPlane) -> AsyncIterator[KubeClient]:
    async with KubeClient(control_plane.connection(ADMIN)) as client:
        kubelet = asyncio.create_task(FakeKubelet(client).run())
        try:
            yield client
        finally:
            kubelet.cancel()
            with pytest.raises(asyncio.CancelledError):
                await kubelet


def _row_name(manifest: dict[str, Any]) -> tuple[str, str]:
    meta = manifest["metadata"]
    return manifest["kind"], f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


async def _all_ready(client: KubeClient, manifests: list[dict[str, Any]], seconds: float, log: Path) -> None:
    """Until every one of ``manifests`` (and nothing else of the session's cluster) is Ready."""
    config = parse_platform_config({})
    wanted = {_row_name(m) for m in manifests if m["kind"] in GREENSHIFT_KINDS}
    deadline = time.monotonic() + seconds
    while True:
        rows = [r for r in await rows_from(client, config) if (r.kind, r.name) in wanted]
        if len(rows) == len(wanted) and all(r.ready == "True" for r in rows):
            return
        if time.monotonic() > deadline:
            table = "\n".join(f"{r.kind} {r.name}: {r.ready} {r.reason}" for r in rows)
            text = await asyncio.to_thread(log.read_text)
            raise AssertionError(
                f"not Ready after {seconds:.0f} s:\n{table}\n--- operator log:\n{text[-4000:]}"
            )
        await asyncio.sleep(0.25)


async def test_every_example_reaches_ready_with_greenshift_run(
    client: KubeClient, operator_process: Path
) -> None:
    docs = load_documents([EXAMPLES])
    assert any(is_platform_config(d.body) for d in docs)
    manifests = [d.body for d in docs if is_cluster_object(d.body)]
    tenants = [m for m in manifests if m["kind"] == KIND_TENANT]
    rest = [m for m in manifests if m["kind"] != KIND_TENANT]
    assert len(tenants) == 5
    assert len(rest) >= 10

    for manifest in tenants:
        await client.apply(manifest)
    await _all_ready(client, tenants, READY_SECONDS, operator_process)

    for manifest in rest:  # each once: a refusal (e.g. 403 from quota admission) fails the test
        await client.apply(manifest)
    await _all_ready(client, manifests, READY_SECONDS, operator_process)
    for manifest in tenants:  # leave the session's cluster clean (the operator releases them)
        await client.delete(TENANTS, None, manifest["metadata"]["name"])
