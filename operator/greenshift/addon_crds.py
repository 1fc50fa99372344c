"""Stand-in CRDs of the platform's add-ons, for the embedded API server.

A real platform installs the Prometheus Operator, cert-manager, Gateway API or OpenShift
itself; the embedded server of the demo and the tests has none of them. These CRDs only
make the kinds exist (schemas preserve unknown fields): the real schemas are checked by
the renderer tests against the published CRDs.
"""

from typing import Any

from greenshift.config import PlatformConfig

ADDONS: dict[str, tuple[str, str, str, str]] = {
    # kind: (group, version, plural, singular)
    "ServiceMonitor": ("monitoring.coreos.com", "v1", "servicemonitors", "servicemonitor"),
    "PrometheusRule": ("monitoring.coreos.com", "v1", "prometheusrules", "prometheusrule"),
    "Certificate": ("cert-manager.io", "v1", "certificates", "certificate"),
    "HTTPRoute": ("gateway.networking.k8s.io", "v1", "httproutes", "httproute"),
    "Route": ("route.openshift.io", "v1", "routes", "route"),
    "ClusterLogForwarder": (
        "observability.openshift.io",
        "v1",
        "clusterlogforwarders",
        "clusterlogforwarder",
    ),
}


def addon_kinds(config: PlatformConfig) -> list[str]:
    kinds = []
    if config.monitoring.prometheusOperator:
        kinds += ["ServiceMonitor", "PrometheusRule"]
    if config.certificates.certManager:
        kinds.append("Certificate")
    if config.gateway.flavor == "gateway-api":
        kinds.append("HTTPRoute")
    if config.gateway.flavor == "openshift-route":
        kinds.append("Route")
    if config.logging.flavor == "openshift-logging":
        kinds.append("ClusterLogForwarder")
    return kinds


def addon_crd(kind: str) -> dict[str, Any]:
    group, version, plural, singular = ADDONS[kind]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}", "annotations": _approval(group)},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": singular, "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                    "subresources": {"status": {}},
                }
            ],
        },
    }


def addon_crds(config: PlatformConfig) -> list[dict[str, Any]]:
    return [addon_crd(kind) for kind in addon_kinds(config)]


def _approval(group: str) -> dict[str, str]:
    """A real API server refuses a CRD in a ``*.k8s.io`` group without this annotation."""
    if group.endswith((".k8s.io", ".kubernetes.io")):
        return {"api-approved.kubernetes.io": "unapproved, a stand-in for the published CRD"}
    return {}
