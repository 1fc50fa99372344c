"""Prometheus recording and alerting rules over the gateway's traffic (pure).

Per tenant, :func:`tenant_rule_groups` records per-route request rate, error ratio,
latency quantiles and errors by status code, the tenant's total and its top-5 routes, and
alerts on the 99.9% availability objective with multi-window burn rates. Platform-wide,
:func:`platform_rule_groups` records the top-5 tenants and routes from the tenants'
recorded series. The gateway's metric and label names come from the platform
configuration (``gateway.metrics``), so the same rules serve ingress-nginx and Envoy Gateway.
"""

import re
from typing import Any

from greenshift.config import GatewayMetrics

Rule = dict[str, Any]

AVAILABILITY_OBJECTIVE = 0.999
ERROR_BUDGET = round(1 - AVAILABILITY_OBJECTIVE, 6)
RATE_WINDOW = "5m"
RULE_INTERVAL_SECONDS = 30
"""Every rule group is evaluated this often: a recorded rate has one sample per 30 s."""
INTERVAL = f"{RULE_INTERVAL_SECONDS}s"
QUANTILES = ("0.5", "0.95", "0.99")

# Series recorded per tenant (each carries the labels tenant and agency).
ROUTE_REQUESTS = "greenshift_route:requests:rate5m"
ROUTE_ERRORS = "greenshift_route:errors:rate5m"
ROUTE_ERROR_RATIO = "greenshift_route:error_ratio:rate5m"
ROUTE_ERRORS_BY_CODE = "greenshift_route:errors_by_code:rate5m"
ROUTE_LATENCY = "greenshift_route:request_duration_seconds:quantile5m"
ROUTE_REQUESTS_BY_CALLER = "greenshift_route:requests_by_caller:rate5m"
"""Recorded only when the gateway's counter names the caller (``gateway.metrics.callerLabel``)."""
TENANT_REQUESTS = "greenshift_tenant:requests:rate5m"
TENANT_ERROR_RATIO = "greenshift_tenant:error_ratio:rate5m"
TENANT_TOP_ROUTES = "greenshift_tenant:top5_routes:requests_rate5m"
# Series recorded once for the platform.
PLATFORM_TOP_TENANTS = "greenshift:top5_tenants:requests_rate5m"
PLATFORM_TOP_ROUTES = "greenshift:top5_routes:requests_rate5m"

# (long window, short window, burn-rate factor, severity): the multi-window, multi-burn-rate
# alerts of the Google SRE workbook for a 30-day objective. 14.4 burns 2% of the budget in an
# hour, 6 burns 5% in six hours (both page); 3 and 1 burn 10% in a day and three days (ticket).
BURN_RATE_WINDOWS: tuple[tuple[str, str, float, str], ...] = (
    ("1h", "5m", 14.4, "critical"),
    ("6h", "30m", 6.0, "critical"),
    ("1d", "2h", 3.0, "warning"),
    ("3d", "6h", 1.0, "warning"),
)


def _ratio_series(window: str) -> str:
    return f"greenshift_route:error_ratio:rate{window}"


def burn_rate_windows() -> list[str]:
    """Every window an error ratio is recorded for, shortest first."""
    windows = {w for long, short, _, _ in BURN_RATE_WINDOWS for w in (long, short)}
    seconds = {"m": 60, "h": 3600, "d": 86400}
    return sorted(windows, key=lambda w: int(w[:-1]) * seconds[w[-1]])


def _quote(value: str) -> str:
    """A PromQL double-quoted string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Gateway:
    """PromQL fragments over the gateway's series for one tenant namespace."""

    def __init__(self, metrics: GatewayMetrics, namespace: str) -> None:
        self.metrics = metrics
        pattern = metrics.namespacePattern.replace("{namespace}", re.escape(namespace))
        self.selector = f"{metrics.namespaceLabel}=~{_quote(pattern)}"

    def _route(self, expr: str) -> str:
        m = self.metrics
        return f'label_replace({expr}, "route", "$1", {_quote(m.routeLabel)}, {_quote(m.routePattern)})'

    def _matchers(self, status: str | None) -> str:
        matchers = [self.selector]
        if status is not None:
            matchers.append(f"{self.metrics.statusLabel}=~{_quote(status)}")
        return ",".join(matchers)

    def rate_by_route(self, window: str, status: str | None = None) -> str:
        series = f"{self.metrics.requests}{{{self._matchers(status)}}}"
        return f"sum by (route) ({self._route(f'rate({series}[{window}])')})"

    def error_rate_by_route(self, window: str) -> str:
        """5xx per second by route; 0 (not absent) for a route without errors."""
        return f"({self.rate_by_route(window, '5..')} or {self.rate_by_route(window)} * 0)"

    def rate_by_caller(self, window: str) -> str:
        """Requests per second by route and caller (the ``callerLabel``, copied as ``caller``)."""
        series = f"{self.metrics.requests}{{{self._matchers(None)}}}"
        caller = _quote(self.metrics.callerLabel)
        named = f'label_replace(rate({series}[{window}]), "caller", "$1", {caller}, "(.+)")'
        return f"sum by (route, caller) ({self._route(named)})"

    def errors_by_code(self, window: str) -> str:
        series = f"{self.metrics.requests}{{{self._matchers('[45]..')}}}"
        status = _quote(self.metrics.statusLabel)
        coded = f'label_replace(rate({series}[{window}]), "code", "$1", {status}, "(.+)")'
        return f"sum by (route, code) ({self._route(coded)})"

    def latency_quantile(self, quantile: str, window: str) -> str:
        series = f"{self.metrics.durationBucket}{{{self.selector}}}"
        buckets = f"sum by (route, le) ({self._route(f'rate({series}[{window}])')})"
        scale = " / 1000" if self.metrics.durationUnit == "milliseconds" else ""
        return f"histogram_quantile({quantile}, {buckets}){scale}"


def tenant_rule_groups(tenant: str, agency: str, namespace: str, metrics: GatewayMetrics) -> list[Rule]:
    """The rule groups of one tenant: recordings first, then the availability alerts."""
    gateway = _Gateway(metrics, namespace)
    labels = {"tenant": tenant, "agency": agency}
    own = f"{{tenant={_quote(tenant)}}}"
    recordings: list[Rule] = [
        {"record": ROUTE_REQUESTS, "expr": gateway.rate_by_route(RATE_WINDOW), "labels": labels},
        {"record": ROUTE_ERRORS, "expr": gateway.error_rate_by_route(RATE_WINDOW), "labels": labels},
        {
            "record": ROUTE_ERROR_RATIO,
            "expr": f"{ROUTE_ERRORS}{own} / {ROUTE_REQUESTS}{own}",
            "labels": labels,
        },
        {"record": ROUTE_ERRORS_BY_CODE, "expr": gateway.errors_by_code(RATE_WINDOW), "labels": labels},
        *(
            {
                "record": ROUTE_LATENCY,
                "expr": gateway.latency_quantile(q, RATE_WINDOW),
                "labels": labels | {"quantile": q},
            }
            for q in QUANTILES
        ),
        *(
            [
                {
                    "record": ROUTE_REQUESTS_BY_CALLER,
                    "expr": gateway.rate_by_caller(RATE_WINDOW),
                    "labels": labels,
                }
            ]
            if metrics.callerLabel
            else []
        ),
        {"record": TENANT_REQUESTS, "expr": f"sum({ROUTE_REQUESTS}{own})", "labels": labels},
        {
            "record": TENANT_ERROR_RATIO,
            "expr": f"sum({ROUTE_ERRORS}{own}) / sum({ROUTE_REQUESTS}{own})",
            "labels": labels,
        },
        {"record": TENANT_TOP_ROUTES, "expr": f"topk(5, {ROUTE_REQUESTS}{own})", "labels": labels},
    ]
    slo: list[Rule] = [
        {
            "record": _ratio_series(window),
            "expr": f"{gateway.error_rate_by_route(window)} / {gateway.rate_by_route(window)}",
            "labels": labels,
        }
        for window in burn_rate_windows()
        if window != RATE_WINDOW  # recorded above as ROUTE_ERROR_RATIO
    ]
    alerts = [_burn_alert(severity, pairs, own, tenant) for severity, pairs in _alert_windows().items()]
    return [
        {"name": f"greenshift-analytics.{tenant}", "interval": INTERVAL, "rules": recordings},
        {"name": f"greenshift-slo.{tenant}", "interval": INTERVAL, "rules": [*slo, *alerts]},
    ]


def _alert_windows() -> dict[str, list[tuple[str, str, float]]]:
    by_severity: dict[str, list[tuple[str, str, float]]] = {}
    for long, short, factor, severity in BURN_RATE_WINDOWS:
        by_severity.setdefault(severity, []).append((long, short, factor))
    return by_severity


def _burn_alert(severity: str, pairs: list[tuple[str, str, float]], own: str, tenant: str) -> Rule:
    clauses = [
        f"({_ratio_series(long)}{own} > ({factor} * {ERROR_BUDGET}) "
        f"and {_ratio_series(short)}{own} > ({factor} * {ERROR_BUDGET}))"
        for long, short, factor in pairs
    ]
    fast = severity == "critical"
    return {
        "alert": "GreenshiftRouteErrorBudgetBurn" if fast else "GreenshiftRouteErrorBudgetSlowBurn",
        "expr": " or ".join(clauses),
        "for": "2m" if fast else "15m",
        "labels": {"severity": severity, "tenant": tenant, "slo": "availability-99.9"},
        "annotations": {
            "summary": "GatewayRoute {{ $labels.route }} of tenant {{ $labels.tenant }} burns its "
            + ("error budget fast." if fast else "error budget steadily."),
            "description": (
                "The 5xx ratio of route {{ $labels.route }} is above "
                + " or ".join(
                    f"{factor:g}x the budget over {long} and {short}" for long, short, factor in pairs
                )
                + f" (objective {AVAILABILITY_OBJECTIVE:.1%} availability over 30 days)."
            ),
        },
    }


def platform_rule_groups() -> list[Rule]:
    """Platform-wide rankings, from the series the tenants' rules record."""
    return [
        {
            "name": "greenshift-platform-analytics",
            "interval": INTERVAL,
            "rules": [
                {"record": PLATFORM_TOP_TENANTS, "expr": f"topk(5, {TENANT_REQUESTS})"},
                {"record": PLATFORM_TOP_ROUTES, "expr": f"topk(5, {ROUTE_REQUESTS})"},
            ],
        }
    ]


def recorded_series(groups: list[Rule]) -> set[str]:
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}
