"""kubectl on the real API server: short names, the category, explain, printer columns (issue 13, 7).

The module installs ``crds/`` with ``kubectl apply --server-side -f crds/`` (what docs/install.md
tells a platform team to run), creates one object of each kind and writes a status through the
``status`` subresource with ``kubectl patch --subresource=status`` (no operator runs here: the
status is the test's, so that the Ready column has a value), then reads them back as a user would.
Everything is named with a random suffix and deleted at the end; the CRDs stay installed (the
session's API server is shared, and applying them again is harmless).
"""

import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from greenshift.envtest import ControlPlane

ROOT = pathlib.Path(__file__).resolve().parents[3]
KUBECTL = shutil.which("kubectl")
TRANSITION = "2024-05-01T12:00:00Z"

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


@dataclass(frozen=True)
class Objects:
    kubeconfig: pathlib.Path
    tenant: str
    namespace: str
    source: str
    route: str

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        assert KUBECTL is not None
        result = subprocess.run(
            [KUBECTL, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            check=False,
        )
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout


def _ready(reason: str) -> dict[str, object]:
    return {
        "type": "Ready",
        "status": "True",
        "reason": reason,
        "message": "written by the test",
        "lastTransitionTime": TRANSITION,
        "observedGeneration": 1,
    }


@pytest.fixture(scope="module")
def objects(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Objects]:
    suffix = secrets.token_hex(3)
    kubeconfig = control_plane.write_kubeconfig(tmp_path_factory.mktemp("kubectl") / "kubeconfig")
    made = Objects(kubeconfig, f"kubectl-{suffix}", f"wallet-kubectl-{suffix}", "identity", "identity-v1")
    applied = made.kubectl("apply", "--server-side", "-f", str(ROOT / "crds"))
    assert applied.count("serverside-applied") == 3, applied
    made.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(ROOT / "crds"))
    made.kubectl("create", "namespace", made.namespace)
    try:
        _create(made)
        yield made
    finally:
        made.kubectl("delete", "wallettenant", made.tenant, "--ignore-not-found", "--wait=false")
        made.kubectl("delete", "namespace", made.namespace, "--ignore-not-found", "--wait=false")


def _create(made: Objects) -> None:
    """One object of each kind, with a status written through the status subresource."""
    manifests = [
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "WalletTenant",
            "metadata": {"name": made.tenant},
            "spec": {
                "displayName": "Kubectl test agency",
                "agency": "BOSA",
                "tier": "critical",
                "namespace": made.namespace,
                "owners": [{"kind": "Group", "name": "bosa-admins"}],
            },
        },
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "DocumentSource",
            "metadata": {"name": made.source, "namespace": made.namespace},
            "spec": {
                "documentType": "identity",
                "displayName": "Identity",
                "format": "sd-jwt-vc",
                "upstream": {"url": "https://rrn.fsb.belgium.be/api"},
                "connector": {"image": "registry.greenshift.local/certified/identity:1.2.0", "replicas": 3},
            },
        },
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "GatewayRoute",
            "metadata": {"name": made.route, "namespace": made.namespace},
            "spec": {
                "host": "identity.wallet.belgium.be",
                "pathPrefix": "/identity/v1",
                "protocol": "REST",
                "backend": {"documentSource": {"name": made.source}},
                "authentication": {"type": "none"},
            },
        },
    ]
    made.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(manifests))
    statuses = [
        (["wallettenant", made.tenant], {"namespace": made.namespace, "conditions": [_ready("Reconciled")]}),
        (
            ["documentsource", made.source, "-n", made.namespace],
            {"readyReplicas": 3, "conditions": [_ready("Available")]},
        ),
        (
            ["gatewayroute", made.route, "-n", made.namespace],
            {"url": "https://identity.wallet.belgium.be/identity/v1", "conditions": [_ready("Accepted")]},
        ),
    ]
    for target, status in statuses:
        made.kubectl(
            "patch", *target, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status})
        )


def _table(output: str) -> list[dict[str, str]]:
    """kubectl's table as rows of column -> value (columns start where their header starts)."""
    header, *lines = output.rstrip("\n").split("\n")
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for line in lines:
        bounds = [*starts[1:], None]
        rows.append(
            {name: line[start:end].strip() for name, start, end in zip(names, starts, bounds, strict=True)}
        )
    return rows


def _age(value: str) -> bool:
    return re.fullmatch(r"(\d+[smhd])+", value) is not None


def test_kubectl_get_docsrc_lists_document_sources_with_their_columns(objects: Objects) -> None:
    [row] = _table(objects.kubectl("get", "docsrc", "-n", objects.namespace))
    assert row["NAME"] == objects.source
    assert (row["READY"], row["REASON"]) == ("True", "Available")
    assert (row["TYPE"], row["FORMAT"], row["REPLICAS"], row["READYREPLICAS"]) == (
        "identity",
        "sd-jwt-vc",
        "3",
        "3",
    )
    assert _age(row["AGE"]), row


def test_docsrc_is_not_daemon_sets(objects: Objects) -> None:
    """The short name ds belongs to DaemonSets; docsrc is the DocumentSources' only one."""
    resources = objects.kubectl("api-resources", "--api-group=greenshift.io", "-o", "wide")
    [line] = [line for line in resources.splitlines() if line.startswith("documentsources")]
    assert " docsrc " in f" {line} "
    assert " ds " not in f" {line} "


def test_kubectl_get_wt_shows_the_tenant_columns(objects: Objects) -> None:
    rows = [r for r in _table(objects.kubectl("get", "wt")) if r["NAME"] == objects.tenant]
    [row] = rows
    assert (row["READY"], row["REASON"], row["AGENCY"]) == ("True", "Reconciled", "BOSA")
    assert (row["NAMESPACE"], row["TIER"], row["SUSPENDED"]) == (objects.namespace, "critical", "false")
    assert _age(row["AGE"]), row


def test_kubectl_get_gr_shows_the_route_columns(objects: Objects) -> None:
    [row] = _table(objects.kubectl("get", "gr", "-n", objects.namespace))
    assert (row["NAME"], row["READY"], row["REASON"]) == (objects.route, "True", "Accepted")
    assert (row["HOST"], row["PATH"], row["PROTOCOL"]) == (
        "identity.wallet.belgium.be",
        "/identity/v1",
        "REST",
    )
    assert row["URL"] == "https://identity.wallet.belgium.be/identity/v1"
    assert _age(row["AGE"]), row


def test_kubectl_get_greenshift_lists_every_kind(objects: Objects) -> None:
    """The category: kubectl prints one table per kind, each row named kind.group/name."""
    output = objects.kubectl("get", "greenshift", "-n", objects.namespace)
    assert f"documentsource.greenshift.io/{objects.source}" in output
    assert f"gatewayroute.greenshift.io/{objects.route}" in output
    assert (
        f"wallettenant.greenshift.io/{objects.tenant}" in output
    )  # cluster-scoped: listed from any namespace


def test_kubectl_explain_wallettenant_spec(objects: Objects) -> None:
    output = objects.kubectl("explain", "walletTenant.spec")
    assert "KIND:       WalletTenant" in output
    assert "The agency's tenant: its namespace, owners and viewers" in output
    fields = set(re.findall(r"^  (\w+)\t", output, flags=re.MULTILINE))
    assert {
        "displayName",
        "agency",
        "namespace",
        "owners",
        "quota",
        "allowedHosts",
        "deletionPolicy",
    } <= fields
    assert "Agency code in capitals" in output
    explained = objects.kubectl("explain", "docsrc.spec.connector.replicas")
    assert "tier critical raises it to at least 2" in explained
