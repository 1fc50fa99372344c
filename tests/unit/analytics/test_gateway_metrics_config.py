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
