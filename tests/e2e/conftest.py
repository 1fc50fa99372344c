"""A real cluster for the end-to-end tests: the one of ``KUBECONFIG``, else a kind cluster.

* ``KUBECONFIG`` set and reachable: the tests install into it. The cluster must be able to pull
  the operator image ``GREENSHIFT_E2E_IMAGE`` (required) and the example connector images.
* else, with a Docker engine: pytest-kind makes a cluster, the image is built from the
  Dockerfile and loaded into it.
* else: every test is skipped, with the reason, within seconds (no download, no build).
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import ROOT, Cluster

KIND_IMAGE = "greenshift-operator:e2e"


def _succeeds(*command: str) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _from_kubeconfig() -> Cluster | None:
    kubeconfig = os.environ.get("KUBECONFIG")
    if not kubeconfig:
        return None
    if not _succeeds("kubectl", f"--kubeconfig={kubeconfig}", "--request-timeout=5s", "get", "--raw=/readyz"):
        pytest.skip(f"the cluster of KUBECONFIG={kubeconfig} is not reachable")
    image = os.environ.get("GREENSHIFT_E2E_IMAGE")
    if not image:
        pytest.skip(
            "KUBECONFIG is set but GREENSHIFT_E2E_IMAGE (an operator image the cluster can pull) is not"
        )
    return Cluster(Path(kubeconfig), image)


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    found = _from_kubeconfig()
    if found is not None:
        yield found
        return
    if shutil.which("docker") is None or not _succeeds("docker", "info"):
        pytest.skip("no cluster: KUBECONFIG is not set and there is no Docker engine for a kind cluster")
    from pytest_kind import KindCluster

    kind = KindCluster("greenshift-e2e")
    kind.create()
    try:
        subprocess.run(["docker", "build", "-t", KIND_IMAGE, str(ROOT)], check=True, timeout=1800)
        kind.load_docker_image(KIND_IMAGE)
        yield Cluster(kind.kubeconfig_path, KIND_IMAGE)
    finally:
        if not request.config.getoption("keep_cluster", default=False):
            kind.delete()
