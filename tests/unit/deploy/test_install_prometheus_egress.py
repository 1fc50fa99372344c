"""greenshift install lets the operator reach the catalog's Prometheus (monitoring.prometheusURL)
through its NetworkPolicy, which otherwise allows only DNS and the API server's ports."""

import pytest

from greenshift.commands.install import install_manifests


def egress_ports(platform_config: str | None) -> list[set[int]]:
    objects = install_manifests(crds=False, platform_config=platform_config)
    policy = next(
        o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "greenshift-operator"
    )
    return [{p["port"] for p in rule.get("ports") or []} for rule in policy["spec"]["egress"]]


BASE = [{53}, {443, 6443}]


@pytest.mark.parametrize(
    ("url", "extra"),
    [
        ("http://prometheus.monitoring.svc:9090", [{9090}]),
        ("https://thanos-querier.openshift-monitoring.svc:9091", [{9091}]),
        ("http://prometheus.monitoring.svc", [{80}]),
        ("https://prometheus.example.be", []),
        ("https://prometheus.example.be:6443", []),
    ],
)
def test_the_prometheus_port_is_allowed_once(url: str, extra: list[set[int]]) -> None:
    config = f"kind: PlatformConfig\nmonitoring: {{prometheusURL: '{url}'}}\n"
    assert egress_ports(config) == BASE + extra


def test_without_a_prometheus_the_policy_is_as_shipped() -> None:
    assert egress_ports(None) == BASE
    assert egress_ports("kind: PlatformConfig\n") == BASE
