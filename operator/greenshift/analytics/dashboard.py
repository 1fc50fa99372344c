"""A tenant's Grafana dashboard (pure): every panel queries series the analytics rules record."""

import hashlib
from typing import Any

from greenshift.analytics.rules import (
    AVAILABILITY_OBJECTIVE,
    ERROR_BUDGET,
    PLATFORM_TOP_TENANTS,
    ROUTE_ERROR_RATIO,
    ROUTE_ERRORS_BY_CODE,
    ROUTE_LATENCY,
    ROUTE_REQUESTS,
    TENANT_ERROR_RATIO,
    TENANT_REQUESTS,
    TENANT_TOP_ROUTES,
)

Panel = dict[str, Any]
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def dashboard_uid(tenant: str) -> str:
    """Stable, at most 40 characters (Grafana's limit), distinct per tenant."""
    digest = hashlib.sha256(tenant.encode()).hexdigest()[:8]
    return f"greenshift-{tenant[:20]}-{digest}"


def _panel(
    title: str,
    kind: str,
    targets: list[tuple[str, str]],
    unit: str,
    grid: tuple[int, int, int, int],
    **options: Any,
) -> Panel:
    x, y, w, h = grid
    return {
        "title": title,
        "type": kind,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
            for i, (expr, legend) in enumerate(targets)
        ],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": options,
    }


def tenant_dashboard(tenant: str, agency: str, display_name: str) -> dict[str, Any]:
    own = f'{{tenant="{tenant}"}}'
    budget = f"{ERROR_BUDGET}"
    panels = [
        _panel(
            "Requests per second",
            "stat",
            [(f"{TENANT_REQUESTS}{own}", "requests/s")],
            "reqps",
            (0, 0, 6, 4),
        ),
        _panel(
            "Error ratio (5xx)",
            "stat",
            [(f"{TENANT_ERROR_RATIO}{own}", "5xx ratio")],
            "percentunit",
            (6, 0, 6, 4),
        ),
        _panel(
            "Top 5 routes by volume",
            "bargauge",
            [(f"{TENANT_TOP_ROUTES}{own}", "{{route}}")],
            "reqps",
            (12, 0, 12, 8),
            orientation="horizontal",
        ),
        _panel(
            "Top 5 tenants by traffic (platform)",
            "bargauge",
            [(PLATFORM_TOP_TENANTS, "{{tenant}} ({{agency}})")],
            "reqps",
            (0, 4, 12, 4),
            orientation="horizontal",
        ),
        _panel(
            "Request rate per route",
            "timeseries",
            [(f"{ROUTE_REQUESTS}{own}", "{{route}}")],
            "reqps",
            (0, 8, 12, 8),
        ),
        _panel(
            "Error ratio per route (5xx)",
            "timeseries",
            [(f"{ROUTE_ERROR_RATIO}{own}", "{{route}}")],
            "percentunit",
            (12, 8, 12, 8),
        ),
        _panel(
            "Latency per route",
            "timeseries",
            [(f"{ROUTE_LATENCY}{own}", "{{route}} p{{quantile}}")],
            "s",
            (0, 16, 12, 8),
        ),
        _panel(
            "Errors by route and status code",
            "timeseries",
            [(f"{ROUTE_ERRORS_BY_CODE}{own}", "{{route}} {{code}}")],
            "reqps",
            (12, 16, 12, 8),
        ),
        _panel(
            f"Error budget burn rate ({AVAILABILITY_OBJECTIVE:.1%} availability), 5m and 1h",
            "timeseries",
            [
                (f"{ROUTE_ERROR_RATIO}{own} / {budget}", "{{route}} 5m"),
                (f"greenshift_route:error_ratio:rate1h{own} / {budget}", "{{route}} 1h"),
            ],
            "none",
            (0, 24, 24, 8),
        ),
    ]
    for number, panel in enumerate(panels, start=1):
        panel["id"] = number
    return {
        "uid": dashboard_uid(tenant),
        "title": f"Greenshift: {display_name} ({agency})",
        "tags": ["greenshift", f"agency:{agency}"],
        "schemaVersion": 39,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": panels,
    }
