"""The children of a WalletTenant: its namespace and the isolation inside it."""

import re
from decimal import Decimal
from typing import Any

from greenshift.config import OPENSHIFT_INGRESS_POLICY_GROUP, PlatformConfig, Tier
from greenshift.naming import tenant_namespace
from greenshift.render.analytics import render_tenant_analytics
from greenshift.render.common import Manifest, labels, metadata, render_template
from greenshift.schemas import with_defaults

QUOTA_NAME = "greenshift-quota"
LIMITS_NAME = "greenshift-limits"
OWNERS_BINDING = "greenshift-owners"
VIEWERS_BINDING = "greenshift-viewers"
OWNERS_ROLE = "greenshift-tenant-admin"
VIEWERS_ROLE = "view"

POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_LABELS = {
    f"pod-security.kubernetes.io/{mode}{suffix}": value
    for mode in ("enforce", "audit", "warn")
    for suffix, value in (("", POD_SECURITY_LEVEL), ("-version", "latest"))
}

# What a container gets when it states nothing: enough for a small connector, and bounded
# so that one container cannot take the whole quota. The quota counts requests, so every
# container needs them; these defaults make that automatic.
# Ephemeral storage too: the quota counts it (requests and limits), and quota admission refuses a pod
# that states neither when the quota names a resource.
DEFAULT_REQUESTS = {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"}
DEFAULT_LIMITS = {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "1Gi"}

_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][+-]?[0-9]+)?)([A-Za-z]*)$")


def scaled(quantity: str, factor: int) -> str:
    """A Kubernetes quantity times ``factor``, in its own unit: ``8Gi`` x 2 is ``16Gi``."""
    match = _QUANTITY.match(quantity.strip())
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    number = Decimal(match.group(1)) * factor
    return f"{format(number.normalize(), 'f')}{match.group(2)}"


def operator_configmaps(config: PlatformConfig) -> int:
    """The tenant-level ConfigMaps the operator makes: the dashboard (the logging CA is in the
    logging namespace: docs/logging.md)."""
    return 1 if config.monitoring.prometheusOperator else 0


def quota_hard(spec: Manifest, tier: Tier, own_configmaps: int = 0) -> dict[str, str]:
    """The tenant's ResourceQuota (issue 16): its own quota, limits and ephemeral storage from its
    tier, the objects it may count (ConfigMaps, Secrets, Services: the operator's children plus the
    tier's allowance), no LoadBalancer or NodePort Service, and no extended resource."""
    quota = spec["quota"]
    sources, routes = int(quota["documentSources"]), int(quota["gatewayRoutes"])
    hard = {
        "requests.cpu": str(quota["cpu"]),
        "requests.memory": str(quota["memory"]),
        "requests.storage": str(quota["storage"]),
        "pods": str(quota["pods"]),
        "count/documentsources.greenshift.io": str(sources),
        "count/gatewayroutes.greenshift.io": str(routes),
        "limits.cpu": scaled(str(quota["cpu"]), tier.cpuLimitsFactor),
        "limits.memory": scaled(str(quota["memory"]), tier.memoryLimitsFactor),
        "requests.ephemeral-storage": tier.ephemeralStorage,
        "limits.ephemeral-storage": tier.ephemeralStorage,
        "configmaps": str(sources + own_configmaps + tier.configMaps),
        "secrets": str(routes + tier.secrets),
        "services": str(sources + tier.services),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    hard |= {f"requests.{name}": "0" for name in tier.forbiddenResources}
    return hard


CONNECTOR_PORT = 8080
"""The connectors' container port (templates/documentsource/deployment.yaml.j2): HTTP and /metrics."""

DISPLAY_NAME_ANNOTATION = "greenshift.io/display-name"
AGENCY_LABEL = "greenshift.io/agency"


def render_tenant(tenant: Manifest, config: PlatformConfig, *, defaulted: bool = False) -> list[Manifest]:
    """The tenant's children in apply order: Namespace, quota, limits, network policies, bindings.

    The Namespace deliberately has no owner reference: garbage collection must never be able
    to delete a namespace (and the volumes in it). The operator's finalizer applies the
    tenant's deletionPolicy instead. The namespaced children are owned by the tenant.
    ``defaulted``: it comes from the API server, which applied the CRD's defaults.
    """
    if not defaulted:
        tenant = with_defaults(tenant)
    spec = tenant["spec"]
    name = str(tenant["metadata"]["name"])
    namespace = tenant_namespace(tenant)

    def meta(child: str, component: str, *, namespaced: bool = True) -> dict[str, Any]:
        return metadata(
            child,
            namespace=namespace if namespaced else None,
            labels=labels(tenant, name="greenshift-tenant", instance=name, component=component),
            owner=tenant if namespaced else None,
        )

    ns_meta = meta(namespace, "namespace", namespaced=False)
    ns_meta["labels"] |= {AGENCY_LABEL: str(spec["agency"])} | POD_SECURITY_LABELS
    ns_meta["annotations"] = {DISPLAY_NAME_ANNOTATION: str(spec["displayName"])}
    tier = config.tier(str(spec["tier"]))

    children = [
        render_template("tenant/namespace.yaml.j2", api_version="v1", kind="Namespace", metadata=ns_meta),
        render_template(
            "tenant/resourcequota.yaml.j2",
            api_version="v1",
            kind="ResourceQuota",
            metadata=meta(QUOTA_NAME, "quota"),
            hard=quota_hard(spec, tier, operator_configmaps(config)),
        ),
        render_template(
            "tenant/limitrange.yaml.j2",
            api_version="v1",
            kind="LimitRange",
            metadata=meta(LIMITS_NAME, "limits"),
            default_requests=DEFAULT_REQUESTS,
            default_limits=DEFAULT_LIMITS,
            max={"cpu": tier.containerMaxCpu, "memory": tier.containerMaxMemory},
        ),
    ]
    dns = config.dns
    policies: list[tuple[str, dict[str, Any]]] = [
        ("default-deny", {}),
        ("allow-same-namespace", {}),
        ("allow-dns", {"dns_namespace": dns.namespace, "dns_pods": dns.podSelector, "dns_ports": dns.ports}),
        (
            "allow-from-gateway",
            {
                "gateway_namespace": config.gateway.namespace,
                # OpenShift's routers on the host network reach pods from namespaces of this group.
                "also_from": [OPENSHIFT_INGRESS_POLICY_GROUP] if config.openshift else [],
            },
        ),
    ]
    monitoring = config.monitoring
    if monitoring.prometheusOperator and monitoring.namespaceSelector:
        policies.append(
            (
                "allow-from-monitoring",
                {"monitoring_namespaces": monitoring.namespaceSelector, "metrics_port": CONNECTOR_PORT},
            )
        )
    cidrs = [str(cidr) for cidr in spec["egress"]["allowedCIDRs"]]
    if cidrs:
        policies.append(("allow-egress-upstreams", {"cidrs": cidrs}))
    children += [
        render_template(
            f"tenant/networkpolicy-{policy}.yaml.j2",
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=meta(policy, "network-policy"),
            **context,
        )
        for policy, context in policies
    ]
    bindings = [
        (OWNERS_BINDING, OWNERS_ROLE, spec["owners"]),
        (VIEWERS_BINDING, VIEWERS_ROLE, spec["viewers"]),
    ]
    children += [
        render_template(
            "tenant/rolebinding.yaml.j2",
            api_version="rbac.authorization.k8s.io/v1",
            kind="RoleBinding",
            metadata=meta(binding, "rbac"),
            cluster_role=role,
            subjects=[{"kind": str(s["kind"]), "name": str(s["name"])} for s in subjects],
        )
        for binding, role, subjects in bindings
        if subjects
    ]
    return children + render_tenant_analytics(tenant, config)
