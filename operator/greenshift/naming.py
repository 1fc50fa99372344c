"""Names derived from a resource, shared by the renderers, the validators and the operator."""

from collections.abc import Mapping
from typing import Any


def tenant_namespace(tenant: Mapping[str, Any]) -> str:
    """The namespace a WalletTenant owns: ``spec.namespace``, else ``wallet-<metadata.name>``."""
    spec = tenant.get("spec")
    explicit = spec.get("namespace") if isinstance(spec, Mapping) else None
    if isinstance(explicit, str) and explicit:
        return explicit
    meta = tenant.get("metadata")
    return f"wallet-{meta.get('name') if isinstance(meta, Mapping) else None}"
