"""Names derived from a resource, shared by the renderers, the validators and the operator."""

import re
from collections.abc import Mapping
from typing import Any

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def is_dns_label(value: str) -> bool:
    """Whether ``value`` is a DNS-1123 label (a namespace name): lowercase, digits, '-', 1..63."""
    return _DNS_LABEL.match(value) is not None


def tenant_namespace(tenant: Mapping[str, Any]) -> str:
    """The namespace a WalletTenant owns: ``spec.namespace``, else ``wallet-<metadata.name>``."""
    spec = tenant.get("spec")
    explicit = spec.get("namespace") if isinstance(spec, Mapping) else None
    if isinstance(explicit, str) and explicit:
        return explicit
    meta = tenant.get("metadata")
    return f"wallet-{meta.get('name') if isinstance(meta, Mapping) else None}"
