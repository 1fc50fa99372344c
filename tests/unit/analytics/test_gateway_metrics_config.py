"""gateway.metrics in the PlatformConfig: presets, overrides, validation."""

import pytest

from greenshift.config import GATEWAY_METRICS_PRESETS, ConfigError, GatewayMetrics, parse_platform_config


def metrics(value: dict[str, object]) -> GatewayMetrics:
    return parse_platform_config({"gateway": {"metrics": value}}).gateway.metrics


def test_defaults_are_ingress_nginx() -> None:
    assert parse_platform_config({}).gateway.metrics == GATEWAY_METRICS_PRESETS["ingress-nginx"]
    assert metrics({}).requests == "nginx_ingress_controller_requests"


def test_preset_with_an_override() -> None:
    envoy = metrics({"preset": "envoy-gateway", "statusLabel": "code"})
    assert envoy.requests == "envoy_cluster_upstream_rq"
    assert envoy.durationUnit == "milliseconds"
    assert envoy.statusLabel == "code"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"preset": "traefik"}, "preset: must be one of"),
        ({"routePattern": "no-group"}, "exactly one capture group"),
        ({"routePattern": "(unclosed"}, "not a regular expression"),
        ({"namespacePattern": "fixed"}, "must contain {namespace}"),
        ({"durationUnit": "hours"}, "durationUnit"),
        ({"requests": 3}, "must be a string"),
        ({"hostLabel": "host"}, "unknown key"),
    ],
)
def test_invalid(value: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("(", r"\(")):
        metrics(value)


def test_caller_label_records_requests_by_caller() -> None:
    from greenshift.analytics.rules import ROUTE_REQUESTS_BY_CALLER, recorded_series, tenant_rule_groups

    assert metrics({}).callerLabel == ""
    without = tenant_rule_groups("bosa", "BOSA", "wallet-bosa", metrics({}))
    assert ROUTE_REQUESTS_BY_CALLER not in recorded_series(without)
    groups = tenant_rule_groups("bosa", "BOSA", "wallet-bosa", metrics({"callerLabel": "consumer"}))
    [rule] = [r for g in groups for r in g["rules"] if r.get("record") == ROUTE_REQUESTS_BY_CALLER]
    assert '"caller", "$1", "consumer", "(.+)"' in rule["expr"]
    assert rule["labels"] == {"tenant": "bosa", "agency": "BOSA"}


@pytest.mark.parametrize("url", ["http://prometheus.monitoring:9090", "https://thanos.example.be/api/x"])
def test_prometheus_url(url: str) -> None:
    assert parse_platform_config({"monitoring": {"prometheusURL": url}}).monitoring.prometheusURL == url


@pytest.mark.parametrize("url", ["prometheus:9090", "ftp://p", "http://", "http://p:9090/?q=1", 9090])
def test_prometheus_url_refused(url: object) -> None:
    with pytest.raises(ConfigError, match=r"monitoring\.prometheusURL: must be"):
        parse_platform_config({"monitoring": {"prometheusURL": url}})
