"""Samples and the harmlessness oracle of the security tests: what each kind may render."""

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.render import render_document_source, render_gateway_route, render_tenant
from greenshift.schemas import with_defaults

Manifest = dict[str, Any]
CONFIG: PlatformConfig = parse_platform_config({})
NAMESPACE = "wallet-bosa"

TENANT: Manifest = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "WalletTenant",
    "metadata": {"name": "bosa", "uid": "00000000-0000-0000-0000-000000000001"},
    "spec": {
        "displayName": "FPS Policy and Support",
        "agency": "BOSA",
        "owners": [{"kind": "Group", "name": "bosa-admins"}],
        "viewers": [{"kind": "User", "name": "auditor"}],
        "allowedHosts": ["*.bosa.wallet.example.be"],
        "egress": {"allowedCIDRs": ["10.0.0.0/8"]},
    },
}
SOURCE: Manifest = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "DocumentSource",
    "metadata": {"name": "identity", "namespace": NAMESPACE, "uid": "00000000-0000-0000-0000-000000000002"},
    "spec": {
        "documentType": "identity",
        "displayName": "Identity",
        "upstream": {
            "url": "https://fsb.example.be/identity/v1",
            "protocol": "SOAP",
            "soapAction": "urn:getIdentity",
            "credentialsSecretRef": {"name": "identity-credentials"},
        },
        "connector": {
            "image": "registry.greenshift.local/certified/connector-identity:1.0.0",
            "replicas": 2,
            "autoscaling": {"minReplicas": 2, "maxReplicas": 4, "targetCPUUtilizationPercentage": 60},
        },
        "cache": {"size": "1Gi", "storageClassName": "fast"},
    },
}
ROUTE: Manifest = {
    "apiVersion": "greenshift.io/v1alpha1",
    "kind": "GatewayRoute",
    "metadata": {
        "name": "identity-v1",
        "namespace": NAMESPACE,
        "uid": "00000000-0000-0000-0000-000000000003",
    },
    "spec": {
        "host": "identity.bosa.wallet.example.be",
        "pathPrefix": "/identity/v1",
        "backend": {"documentSource": {"name": "identity"}},
        "authentication": {
            "type": "oidc",
            "oidc": {"issuer": "https://idp.example.be", "audience": "wallet"},
        },
        "tls": {"secretName": "identity-tls"},
        "api": {
            "title": "Identity",
            "version": "1.0",
            "description": "Identity",
            "specPath": "/openapi.json",
        },
    },
}
SAMPLES: dict[str, Manifest] = {"WalletTenant": TENANT, "DocumentSource": SOURCE, "GatewayRoute": ROUTE}

# Every string field of the three kinds' specs (from the CRD schemas), by path.
STRING_FIELDS: dict[str, tuple[str, ...]] = {
    "WalletTenant": (
        "displayName", "agency", "namespace", "owners.0.kind", "owners.0.name", "viewers.0.kind",
        "viewers.0.name", "tier", "quota.cpu", "quota.memory", "quota.storage", "allowedHosts.0",
        "egress.allowedCIDRs.0", "deletionPolicy",
    ),
    "DocumentSource": (
        "documentType", "displayName", "format", "upstream.url", "upstream.protocol", "upstream.soapAction",
        "upstream.credentialsSecretRef.name", "connector.image", "cache.size", "cache.storageClassName",
    ),
    "GatewayRoute": (
        "host", "pathPrefix", "protocol", "backend.documentSource.name", "authentication.type",
        "authentication.oidc.issuer", "authentication.oidc.audience", "tls.secretName", "api.title",
        "api.version", "api.description", "api.specPath",
    ),
}  # fmt: skip

ALLOWED_KINDS: dict[str, frozenset[str]] = {
    "WalletTenant": frozenset({"Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "RoleBinding"}),
    "DocumentSource": frozenset(
        {
            "ConfigMap",
            "Deployment",
            "Service",
            "PersistentVolumeClaim",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
        }
    ),
    "GatewayRoute": frozenset({"Ingress"}),
}
TENANT_CHILDREN = frozenset(
    {"greenshift-quota", "greenshift-limits", "default-deny", "allow-same-namespace", "allow-dns",
     "allow-from-gateway", "allow-egress-upstreams", "greenshift-owners", "greenshift-viewers"}
)  # fmt: skip

INJECTIONS = (
    "x\n---\nkind: ClusterRoleBinding",
    "x\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: pwn}",
    '"\nkind: Secret\n"',
    "x\nmetadata:\n  namespace: kube-system",
    "{{ 7 * 7 }}",
    "{% for x in range(10) %}{{ x }}{% endfor %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "!!python/object/apply:os.system ['id']",
    "&anchor [*anchor, *anchor]",
    "${HOME} $(id) `id`",
    "key: value",
    "- item",
    "# comment",
    "'; DROP TABLE tenants; --",
    "x\u2028kind: Secret",
    "x\u0085y",
    "\ufeffbom",
    "x\x00y",
    "\u202egnp.exe",
    "😀 Ünïcødé 中文 العربية",
    "a" * 100,
    "../../etc/passwd",
)


def set_path(body: Manifest, path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = body
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


def with_field(kind: str, path: str, value: Any) -> Manifest:
    body = with_defaults(copy.deepcopy(SAMPLES[kind]))
    set_path(body["spec"], path, value)
    return body


def render(resource: Manifest) -> list[Manifest]:
    """The children of ``resource`` (its tenant is the sample tenant unless it is one)."""
    resource = with_defaults(copy.deepcopy(resource))
    tenant = with_defaults(copy.deepcopy(TENANT))
    if resource["kind"] == "WalletTenant":
        return render_tenant(resource, CONFIG)
    if resource["kind"] == "DocumentSource":
        return render_document_source(resource, tenant, CONFIG)
    return render_gateway_route(resource, tenant, CONFIG)


def allowed_names(resource: Manifest) -> frozenset[str]:
    name = resource["metadata"]["name"]
    if resource["kind"] == "WalletTenant":
        return TENANT_CHILDREN
    if resource["kind"] == "DocumentSource":
        return frozenset({name, f"{name}-config", f"{name}-cache"})
    return frozenset({name})


def expected_namespace(resource: Manifest) -> str:
    if resource["kind"] == "WalletTenant":
        explicit = resource["spec"].get("namespace")
        return (
            explicit if isinstance(explicit, str) and explicit else f"wallet-{resource['metadata']['name']}"
        )
    return str(resource["metadata"]["namespace"])


def harm(resource: Manifest, children: list[Manifest]) -> list[str]:
    """Why the rendered children go beyond what the spec allows (empty: harmless)."""
    kind = resource["kind"]
    namespace = expected_namespace(resource)
    problems = []
    for child in children:
        meta = child.get("metadata") or {}
        where = f"{child.get('kind')} {meta.get('namespace')}/{meta.get('name')}"
        if child.get("kind") not in ALLOWED_KINDS[kind]:
            problems.append(f"{where}: kind not allowed for a {kind}")
        if child.get("kind") == "Namespace":
            if meta.get("name") != namespace or "namespace" in meta:
                problems.append(f"{where}: not the tenant's namespace")
            continue
        if meta.get("name") not in allowed_names(resource):
            problems.append(f"{where}: name not one of {sorted(allowed_names(resource))}")
        if meta.get("namespace") != namespace:
            problems.append(f"{where}: outside namespace {namespace}")
    return problems


def strings(value: Any) -> Iterator[str]:
    """Every string leaf (keys included) of a rendered object."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value
        if value.startswith("{"):  # a JSON document carried as data (the connector's settings)
            with contextlib.suppress(ValueError):
                yield from strings(json.loads(value))
