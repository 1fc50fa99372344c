"""Fixtures every test directory may use: the real Kubernetes API server (envtest).

One control plane (etcd, kube-apiserver, kube-controller-manager) serves the whole test session:
it starts in about 3 s on 2 cores, and tests isolate themselves by unique names and namespaces.
Without binaries (``KUBEBUILDER_ASSETS``) every test that asks for it skips and says why.
The add-on CRDs (Gateway API, cert-manager, Prometheus Operator, OpenShift Route, OpenShift
Logging) come from the folder named by ``GREENSHIFT_ADDON_CRDS`` (``.ci/run`` points it at
``../shared/crds``); the project does not copy them.
"""

import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from greenshift.addon_crds import ADDONS, addon_crd
from greenshift.envtest import AssetsMissing, ControlPlane, find_assets
from greenshift.schemas import load_crds

ADDON_CRDS_VARIABLE = "GREENSHIFT_ADDON_CRDS"


def session_crds() -> list[dict[str, Any]]:
    """Greenshift's CRDs and the add-ons': the published ones where given, else stand-ins."""
    crds = list(load_crds())
    folder = os.environ.get(ADDON_CRDS_VARIABLE, "")
    if folder and pathlib.Path(folder).is_dir():
        for path in sorted(pathlib.Path(folder).glob("*.yaml")):
            crds.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    else:
        crds.extend(addon_crd(kind) for kind in ADDONS)
    return crds


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """The session's real API server and controller manager, with an audit log of writes and
    every CRD the tests use installed before the controller manager starts."""
    try:
        assets = find_assets()
    except AssetsMissing as exc:
        pytest.skip(f"no real API server: {exc}")
    with ControlPlane(assets, audit=True, crds=session_crds()) as plane:
        yield plane


@pytest.fixture(scope="session")
def addon_crd_folder() -> pathlib.Path:
    """The published CRDs of the add-ons (``GREENSHIFT_ADDON_CRDS``); skips when not given."""
    value = os.environ.get(ADDON_CRDS_VARIABLE, "")
    if not value or not pathlib.Path(value).is_dir():
        pytest.skip(f"{ADDON_CRDS_VARIABLE} does not name a folder of the add-ons' published CRDs")
    return pathlib.Path(value)
