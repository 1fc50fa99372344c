"""Valid resources of each kind; tests take a fresh copy and break one field at a time."""

from typing import Any

TENANT: dict[str, Any] = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "WalletTenant",
    "metadata": {"name": "bosa"},
    "spec": {
        "displayName": "FOD BOSA",
        "agency": "BOSA",
        "owners": [{"kind": "Group", "name": "bosa-admins"}],
        "allowedHosts": ["*.bosa.wallet.belgium.be", "docs.bosa.be"],
    },
}

SOURCE: dict[str, Any] = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "DocumentSource",
    "metadata": {"name": "identity", "namespace": "wallet-bosa"},
    "spec": {
        "documentType": "identity",
        "displayName": "Identity card",
        "upstream": {"url": "https://rrn.fsb.belgium.be/api"},
        "connector": {"image": "registry.greenshift.local/certified/identity:1.2.0"},
    },
}

ROUTE: dict[str, Any] = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "GatewayRoute",
    "metadata": {"name": "identity", "namespace": "wallet-bosa"},
    "spec": {
        "host": "api.bosa.wallet.belgium.be",
        "pathPrefix": "/identity/v1",
        "backend": {"documentSource": {"name": "identity"}},
        "authentication": {
            "type": "oidc",
            "oidc": {"issuer": "https://idp.belgium.be/realms/wallet", "audience": "wallet"},
        },
    },
}


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def fresh(kind: str) -> dict[str, Any]:
    """A deep copy of the valid resource of ``kind``."""
    result: dict[str, Any] = _copy(
        {"WalletTenant": TENANT, "DocumentSource": SOURCE, "GatewayRoute": ROUTE}[kind]
    )
    return result
