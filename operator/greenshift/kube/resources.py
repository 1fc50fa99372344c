"""The resources the operator reads and writes, and how their URLs are built.

A static table rather than discovery: the operator touches a known, fixed set of kinds,
and its RBAC grants exactly these.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from greenshift.constants import API_VERSION, KIND_ROUTE, KIND_SOURCE, KIND_TENANT


@dataclass(frozen=True)
class ResourceRef:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def kopf_spec(self) -> tuple[str, str] | tuple[str, str, str]:
        """The positional resource spec that kopf's decorators take."""
        return (self.group, self.version, self.plural) if self.group else (self.version, self.plural)

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str = "") -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [prefix]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)


_GROUP = API_VERSION.split("/")[0]
_VERSION = API_VERSION.split("/")[1]

KNOWN: tuple[ResourceRef, ...] = (
    ResourceRef(_GROUP, _VERSION, "wallettenants", "WalletTenant", False),
    ResourceRef(_GROUP, _VERSION, "documentsources", "DocumentSource", True),
    ResourceRef(_GROUP, _VERSION, "gatewayroutes", "GatewayRoute", True),
    ResourceRef("", "v1", "namespaces", "Namespace", False),
    ResourceRef("", "v1", "events", "Event", True),
    ResourceRef("", "v1", "resourcequotas", "ResourceQuota", True),
    ResourceRef("", "v1", "limitranges", "LimitRange", True),
    ResourceRef("", "v1", "configmaps", "ConfigMap", True),
    ResourceRef("", "v1", "services", "Service", True),
    ResourceRef("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    ResourceRef("apps", "v1", "deployments", "Deployment", True),
    ResourceRef("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ResourceRef("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ResourceRef("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceRef("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True),
    ResourceRef("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ResourceRef("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True),
    ResourceRef("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True),
    ResourceRef("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", True),
    ResourceRef("route.openshift.io", "v1", "routes", "Route", True),
    ResourceRef("cert-manager.io", "v1", "certificates", "Certificate", True),
    ResourceRef("observability.openshift.io", "v1", "clusterlogforwarders", "ClusterLogForwarder", True),
    ResourceRef("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False),
    ResourceRef("coordination.k8s.io", "v1", "leases", "Lease", True),
)
_BY_KIND: dict[tuple[str, str], ResourceRef] = {(r.api_version, r.kind): r for r in KNOWN}


def ref_of_kind(api_version: str, kind: str) -> ResourceRef:
    try:
        return _BY_KIND[(api_version, kind)]
    except KeyError:
        raise KeyError(f"{api_version} {kind} is not a resource the operator manages") from None


def ref_for(obj: dict[str, Any]) -> ResourceRef:
    return ref_of_kind(obj["apiVersion"], obj["kind"])


TENANTS = ref_of_kind(API_VERSION, KIND_TENANT)
SOURCES = ref_of_kind(API_VERSION, KIND_SOURCE)
ROUTES = ref_of_kind(API_VERSION, KIND_ROUTE)
