"""Analytics rules (promtool check and unit tests), the dashboard, and the rendered children."""

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenshift.analytics import platform_rule_groups, recorded_series, tenant_dashboard, tenant_rule_groups
from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.render.analytics import render_platform_analytics, render_tenant_analytics
from greenshift.render.tenant import render_tenant
from greenshift.schemas import with_defaults

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (Debian's prometheus package: make system-deps, as root)",
)
PRESETS = ("ingress-nginx", "envoy-gateway")
# PromQL words that are not series names.
PROMQL_WORDS = {
    "sum",
    "by",
    "topk",
    "rate",
    "label_replace",
    "histogram_quantile",
    "or",
    "and",
    "le",
    "route",
}


def config(preset: str = "ingress-nginx") -> PlatformConfig:
    return parse_platform_config(
        {"monitoring": {"prometheusOperator": True}, "gateway": {"metrics": {"preset": preset}}}
    )


def tenant() -> dict[str, Any]:
    return with_defaults(
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "WalletTenant",
            "metadata": {"name": "bosa", "uid": "u-1"},
            "spec": {"displayName": "BOSA", "agency": "BOSA", "owners": [{"kind": "Group", "name": "g"}]},
        }
    )


def all_groups(preset: str) -> list[dict[str, Any]]:
    return (
        tenant_rule_groups("bosa", "BOSA", "wallet-bosa", config(preset).gateway.metrics)
        + platform_rule_groups()
    )


@needs_promtool
@pytest.mark.parametrize("preset", PRESETS)
def test_rules_pass_promtool_check(preset: str, tmp_path: Path) -> None:
    rendered = [
        *render_tenant_analytics(tenant(), config(preset)),
        *render_platform_analytics(config(preset)),
    ]
    groups = [g for m in rendered if m["kind"] == "PrometheusRule" for g in m["spec"]["groups"]]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_recorded_figures_with_promtool_test_rules(tmp_path: Path) -> None:
    """Two routes of ingress-nginx traffic (one with 5xx, one of another tenant) give known rates."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": all_groups("ingress-nginx")}))
    ns = 'exported_namespace="wallet-bosa"'
    series = [
        # 60 requests a minute = 1/s, of which 15 a minute are 500s = 0.25/s
        (f'nginx_ingress_controller_requests{{{ns},ingress="identity-v1",status="200"}}', "0+45x20"),
        (f'nginx_ingress_controller_requests{{{ns},ingress="identity-v1",status="500"}}', "0+15x20"),
        (f'nginx_ingress_controller_requests{{{ns},ingress="docs-v1",status="200"}}', "0+30x20"),
        (
            'nginx_ingress_controller_requests{exported_namespace="wallet-other",ingress="x",status="200"}',
            "0+600x20",
        ),
    ]
    labels = 'tenant="bosa",agency="BOSA"'

    def sample(name: str, value: float, **extra: str) -> dict[str, Any]:
        more = "".join(f'{k}="{v}",' for k, v in extra.items())
        return {"labels": f"{name}{{{more}{labels}}}", "value": value}

    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "promql_expr_test": [
                    {
                        "expr": "greenshift_route:requests:rate5m",
                        "eval_time": "10m",
                        "exp_samples": [
                            sample("greenshift_route:requests:rate5m", 0.5, route="docs-v1"),
                            sample("greenshift_route:requests:rate5m", 1, route="identity-v1"),
                        ],
                    },
                    {
                        "expr": "greenshift_route:error_ratio:rate5m",
                        "eval_time": "10m",
                        "exp_samples": [
                            sample("greenshift_route:error_ratio:rate5m", 0, route="docs-v1"),
                            sample("greenshift_route:error_ratio:rate5m", 0.25, route="identity-v1"),
                        ],
                    },
                    {
                        "expr": "greenshift_route:errors_by_code:rate5m",
                        "eval_time": "10m",
                        "exp_samples": [
                            sample(
                                "greenshift_route:errors_by_code:rate5m",
                                0.25,
                                route="identity-v1",
                                code="500",
                            ),
                        ],
                    },
                    {
                        "expr": "greenshift_tenant:requests:rate5m",
                        "eval_time": "10m",
                        "exp_samples": [sample("greenshift_tenant:requests:rate5m", 1.5)],
                    },
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "GreenshiftRouteErrorBudgetBurn",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "route": "identity-v1",
                                    "tenant": "bosa",
                                    "agency": "BOSA",
                                    "severity": "critical",
                                    "slo": "availability-99.9",
                                },
                                "exp_annotations": {
                                    "summary": (
                                        "GatewayRoute identity-v1 of tenant bosa burns its error budget fast."
                                    ),
                                    "description": (
                                        "The 5xx ratio of route identity-v1 is above 14.4x the budget "
                                        "over 1h and 5m or 6x the budget over 6h and 30m "
                                        "(objective 99.9% availability over 30 days)."
                                    ),
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [str(PROMTOOL), "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _series_in(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers outside label matchers and strings."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", re.sub(r"\{[^}]*\}", "", expr))
    bare = re.sub(r"by \([^)]*\)", "", bare)
    return {t for t in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare) if t not in PROMQL_WORDS}


@pytest.mark.parametrize("preset", PRESETS)
def test_dashboard_loads_and_reads_only_recorded_series(preset: str) -> None:
    [_, configmap] = render_tenant_analytics(tenant(), config(preset))
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    [(key, text)] = configmap["data"].items()
    assert key == "greenshift-bosa.json"
    dashboard = json.loads(text)
    assert dashboard == tenant_dashboard("bosa", "BOSA", "BOSA")
    assert len(dashboard["uid"]) <= 40
    recorded = recorded_series(all_groups(preset))
    titles = set()
    for panel in dashboard["panels"]:
        titles.add(panel["title"])
        for target in panel["targets"]:
            used = _series_in(target["expr"])
            assert used, target["expr"]
            assert used <= recorded, f"{panel['title']}: {used - recorded}"
    assert {
        "Top 5 routes by volume",
        "Top 5 tenants by traffic (platform)",
        "Errors by route and status code",
    } <= titles
    assert [p["id"] for p in dashboard["panels"]] == list(range(1, len(dashboard["panels"]) + 1))


def test_rules_use_the_configured_gateway_names() -> None:
    envoy = json.dumps(all_groups("envoy-gateway"))
    assert "envoy_cluster_upstream_rq_time_bucket" in envoy
    assert "envoy_cluster_name" in envoy
    assert "nginx" not in envoy
    assert "/ 1000" in envoy  # milliseconds to seconds
    custom = parse_platform_config(
        {"gateway": {"metrics": {"requests": "my_requests_total", "statusLabel": "code"}}}
    )
    text = json.dumps(tenant_rule_groups("bosa", "BOSA", "wallet-bosa", custom.gateway.metrics))
    assert "my_requests_total{" in text
    assert 'code=~\\"5..\\"' in text
    assert "nginx_ingress_controller_request_duration_seconds_bucket" in text


def test_analytics_children_only_with_the_prometheus_operator() -> None:
    kinds = [(c["kind"], c["metadata"]["name"]) for c in render_tenant(tenant(), config())]
    assert kinds[-2:] == [("PrometheusRule", "greenshift-analytics"), ("ConfigMap", "greenshift-dashboard")]
    without = render_tenant(tenant(), parse_platform_config({}))
    assert all(
        c["kind"] != "PrometheusRule" and c["metadata"]["name"] != "greenshift-dashboard" for c in without
    )
    rule = render_tenant_analytics(tenant(), config())[0]
    assert rule["metadata"]["namespace"] == "wallet-bosa"
    assert rule["metadata"]["ownerReferences"][0]["uid"] == "u-1"
    [platform] = render_platform_analytics(config())
    assert (platform["metadata"]["namespace"], platform["metadata"]["name"]) == (
        "greenshift-gateway",
        "greenshift-platform-analytics",
    )
