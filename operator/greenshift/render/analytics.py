"""The analytics children: a tenant's PrometheusRule and dashboard, the platform's rule.

With ``monitoring.prometheusOperator``, each WalletTenant gets a PrometheusRule
``greenshift-analytics`` and a dashboard ConfigMap ``greenshift-dashboard`` (label
``grafana_dashboard: "1"`` for the Grafana sidecar) in its namespace; the platform-wide
rankings are one PrometheusRule ``greenshift-platform-analytics`` in the gateway namespace,
printed by ``greenshift analytics``. See docs/analytics.md.
"""

from typing import Any

from greenshift.analytics import platform_rule_groups, tenant_dashboard, tenant_rule_groups
from greenshift.config import PlatformConfig
from greenshift.naming import tenant_namespace
from greenshift.render.common import Manifest, labels, metadata, render_template, sorted_json

RULE_NAME = "greenshift-analytics"
DASHBOARD_NAME = "greenshift-dashboard"
PLATFORM_RULE_NAME = "greenshift-platform-analytics"
DASHBOARD_LABEL = "grafana_dashboard"


def render_tenant_analytics(tenant: Manifest, config: PlatformConfig) -> list[Manifest]:
    """The tenant's PrometheusRule and dashboard ConfigMap; nothing without the Prometheus Operator.

    ``tenant`` has its CRD defaults filled in (as in ``render_tenant``).
    """
    if not config.monitoring.prometheusOperator:
        return []
    name = str(tenant["metadata"]["name"])
    spec = tenant["spec"]
    agency = str(spec["agency"])
    namespace = tenant_namespace(tenant)

    def meta(child: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
        child_labels = labels(tenant, name="greenshift-tenant", instance=name, component="analytics")
        return metadata(child, namespace=namespace, labels=child_labels | (extra or {}), owner=tenant)

    groups = tenant_rule_groups(name, agency, namespace, config.gateway.metrics)
    dashboard = tenant_dashboard(name, agency, str(spec["displayName"]))
    return [
        render_template(
            "analytics/prometheusrule.yaml.j2",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=meta(RULE_NAME),
            groups=groups,
        ),
        render_template(
            "analytics/dashboard.yaml.j2",
            api_version="v1",
            kind="ConfigMap",
            metadata=meta(DASHBOARD_NAME, {DASHBOARD_LABEL: "1"}),
            data={f"greenshift-{name}.json": sorted_json(dashboard, indent=True).decode()},
        ),
    ]


def render_platform_analytics(config: PlatformConfig) -> list[Manifest]:
    """The platform-wide PrometheusRule, for the gateway namespace (``greenshift analytics`` prints it)."""
    meta = {
        "name": PLATFORM_RULE_NAME,
        "namespace": config.gateway.namespace,
        "labels": {
            "app.kubernetes.io/name": "greenshift-operator",
            "app.kubernetes.io/component": "analytics",
            "app.kubernetes.io/part-of": "greenshift",
        },
    }
    return [
        render_template(
            "analytics/prometheusrule.yaml.j2",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=meta,
            groups=platform_rule_groups(),
        )
    ]
