"""The benchmark's fleet: N tenants, each with one DocumentSource and one GatewayRoute.

Modelled on ``examples/`` (the production platform configuration, with monitoring and
cert-manager), small enough to render and apply quickly, and valid for ``greenshift validate``.
"""

from pathlib import Path
from typing import Any

import yaml

API_VERSION = "greenshift.io/v1alpha1"
PLATFORM_CONFIG = Path(__file__).resolve().parent.parent / "examples" / "platform-config.yaml"
Manifest = dict[str, Any]


def tenant_name(index: int) -> str:
    return f"bench-{index:05d}"


def namespace_of(index: int) -> str:
    return f"wallet-{tenant_name(index)}"


def host_of(index: int) -> str:
    return f"{tenant_name(index)}.wallet.belgium.be"


def tenant(index: int) -> Manifest:
    name = tenant_name(index)
    return {
        "apiVersion": API_VERSION,
        "kind": "WalletTenant",
        "metadata": {"name": name},
        "spec": {
            "displayName": f"Benchmark agency {index}",
            "agency": f"BENCH{index}",
            "tier": "standard",
            "owners": [{"kind": "Group", "name": f"{name}:admins"}],
            "quota": {"cpu": "4", "memory": "8Gi", "storage": "10Gi", "pods": 20},
            "allowedHosts": [host_of(index)],
            "egress": {"allowedCIDRs": ["10.140.0.0/16"]},
        },
    }


def document_source(index: int) -> Manifest:
    return {
        "apiVersion": API_VERSION,
        "kind": "DocumentSource",
        "metadata": {"name": "docs", "namespace": namespace_of(index)},
        "spec": {
            "documentType": "identity",
            "displayName": f"Benchmark documents {index}",
            "format": "sd-jwt-vc",
            "upstream": {
                "url": f"https://upstream.example.be/{tenant_name(index)}/v1",
                "protocol": "REST",
                "timeoutSeconds": 5,
            },
            "connector": {
                "image": "registry.greenshift.local/certified/connector-identity:3.2.1",
                "replicas": 1,
                "resources": {
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
            },
        },
    }


def gateway_route(index: int) -> Manifest:
    return {
        "apiVersion": API_VERSION,
        "kind": "GatewayRoute",
        "metadata": {"name": "docs-v1", "namespace": namespace_of(index)},
        "spec": {
            "host": host_of(index),
            "pathPrefix": "/docs/v1",
            "protocol": "REST",
            "backend": {"documentSource": {"name": "docs"}},
            "authentication": {
                "type": "oidc",
                "oidc": {"issuer": "https://idp.iamfas.belgium.be/fas/oauth2", "audience": "mygov-wallet"},
            },
            "timeoutSeconds": 15,
            "tls": {"issuerRef": {"name": "belgium-acme", "kind": "ClusterIssuer"}},
        },
    }


def fleet(size: int) -> tuple[list[Manifest], list[Manifest]]:
    """The tenants, then the sources and routes (which need their tenant's namespace)."""
    tenants = [tenant(i) for i in range(size)]
    namespaced = [m for i in range(size) for m in (document_source(i), gateway_route(i))]
    return tenants, namespaced


def write_fleet(size: int, folder: Path) -> Path:
    """The fleet and the platform configuration as one YAML stream, input of ``greenshift render``."""
    folder.mkdir(parents=True, exist_ok=True)
    tenants, namespaced = fleet(size)
    path = folder / f"fleet-{size}.yaml"
    with path.open("w") as handle:
        yaml.safe_dump_all([*tenants, *namespaced], handle, sort_keys=False)
    return path
