"""Gateway analytics for the Prometheus Operator: recording rules, alerts and dashboards (pure).

The manifests that carry them are rendered by :mod:`greenshift.render.analytics`;
docs/analytics.md lists every series.
"""

from greenshift.analytics.dashboard import tenant_dashboard
from greenshift.analytics.rules import platform_rule_groups, recorded_series, tenant_rule_groups

__all__ = ["platform_rule_groups", "recorded_series", "tenant_dashboard", "tenant_rule_groups"]
