"""The platform flavor (``platform: kubernetes | openshift``) and the DNS target: what each renders."""

from pathlib import Path
from typing import Any

import pytest
from render_support import EXAMPLES, config, source, tenant

from greenshift.cli import main
from greenshift.config import ConfigError, PlatformConfig, parse_platform_config, platform_defaults
from greenshift.render import render_document_source, render_tenant

Manifest = dict[str, Any]


def policies(cfg: PlatformConfig) -> dict[str, Manifest]:
    return {
        c["metadata"]["name"]: c["spec"] for c in render_tenant(tenant(), cfg) if c["kind"] == "NetworkPolicy"
    }


def pod_security_context(cfg: PlatformConfig) -> Manifest:
    children = render_document_source(source(cache={"size": "1Gi"}), tenant(), cfg)
    deployment = next(c for c in children if c["kind"] == "Deployment")
    context: Manifest = deployment["spec"]["template"]["spec"]["securityContext"]
    return context


def test_kubernetes_is_the_default_and_keeps_its_values() -> None:
    cfg = config()
    assert cfg == PlatformConfig() == platform_defaults("kubernetes")
    assert cfg.platform == "kubernetes"
    assert (cfg.dns.namespace, cfg.dns.podSelector, cfg.dns.ports) == (
        "kube-system",
        {"k8s-app": "kube-dns"},
        (53,),
    )
    assert cfg.gateway.namespace == "greenshift-gateway"
    assert cfg.monitoring.namespaceSelector == {}
    assert pod_security_context(cfg) == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_openshift_defaults() -> None:
    cfg = config(platform="openshift")
    assert cfg.openshift
    assert cfg.dns.namespace == "openshift-dns"
    assert cfg.dns.podSelector == {"dns.operator.openshift.io/daemonset-dns": "default"}
    assert cfg.dns.ports == (5353, 53)
    assert cfg.gateway.namespace == "openshift-ingress"
    assert cfg.monitoring.namespaceSelector == {"network.openshift.io/policy-group": "monitoring"}


def test_keys_given_override_the_platforms_defaults_one_by_one() -> None:
    cfg = config(
        platform="openshift",
        gateway={"flavor": "openshift-route"},
        dns={"ports": [5353]},
        monitoring={"prometheusOperator": True},
    )
    assert cfg.gateway.flavor == "openshift-route"
    assert cfg.gateway.namespace == "openshift-ingress"  # not given: the platform's
    assert cfg.dns.namespace == "openshift-dns"
    assert cfg.dns.ports == (5353,)
    assert cfg.monitoring.namespaceSelector == {"network.openshift.io/policy-group": "monitoring"}
    assert config(platform="openshift", gateway={"namespace": "edge"}).gateway.namespace == "edge"


def test_openshift_pods_carry_no_fixed_ids() -> None:
    """restricted-v2 assigns UID, GID and fsGroup from the namespace's range; the rest stays."""
    context = pod_security_context(config(platform="openshift"))
    assert context == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def test_openshift_dns_egress() -> None:
    dns = policies(config(platform="openshift"))["allow-dns"]
    assert dns["egress"] == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-dns"}},
                    "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
                }
            ],
            "ports": [
                {"protocol": "UDP", "port": 5353},
                {"protocol": "TCP", "port": 5353},
                {"protocol": "UDP", "port": 53},
                {"protocol": "TCP", "port": 53},
            ],
        }
    ]


def test_dns_target_is_configurable_on_kubernetes() -> None:
    cfg = config(dns={"namespace": "dns-system", "podSelector": {"app": "coredns"}, "ports": [1053]})
    dns = policies(cfg)["allow-dns"]["egress"][0]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "dns-system"}
    assert dns["to"][0]["podSelector"]["matchLabels"] == {"app": "coredns"}
    assert dns["ports"] == [{"protocol": "UDP", "port": 1053}, {"protocol": "TCP", "port": 1053}]
    everything = policies(config(dns={"podSelector": {}}))["allow-dns"]["egress"][0]["to"][0]
    assert everything["podSelector"] == {"matchLabels": {}}  # every pod of the DNS namespace


def test_openshift_gateway_admits_the_router_namespace_and_the_ingress_policy_group() -> None:
    gateway = policies(config(platform="openshift"))["allow-from-gateway"]
    assert gateway["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "openshift-ingress"}}},
                {"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "ingress"}}},
            ]
        }
    ]
    kubernetes = policies(config())["allow-from-gateway"]["ingress"]
    assert kubernetes == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "greenshift-gateway"}}}
            ]
        }
    ]


def test_monitoring_namespaces_reach_the_connectors_only_with_the_prometheus_operator() -> None:
    assert "allow-from-monitoring" not in policies(config(platform="openshift"))
    assert "allow-from-monitoring" not in policies(config(monitoring={"prometheusOperator": True}))
    scrape = policies(config(platform="openshift", monitoring={"prometheusOperator": True}))
    assert scrape["allow-from-monitoring"]["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "monitoring"}}}
            ],
            "ports": [{"protocol": "TCP", "port": 8080}],
        }
    ]
    selector = {"kubernetes.io/metadata.name": "monitoring"}
    own = policies(config(monitoring={"prometheusOperator": True, "namespaceSelector": selector}))
    assert (
        own["allow-from-monitoring"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == selector
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"platform": "okd"}, "platform: must be one of kubernetes, openshift"),
        ({"dns": {"ports": [0]}}, "dns.ports: must be a non-empty list of ports 1..65535"),
        ({"dns": {"ports": []}}, "dns.ports: must be a non-empty list"),
        ({"dns": {"ports": ["53"]}}, "dns.ports: must be a list of integers"),
        ({"dns": {"ports": [True]}}, "dns.ports: must be a list of integers"),
        ({"dns": {"namespace": "Kube_System"}}, "dns.namespace: must be a DNS-1123 label"),
        ({"dns": {"podSelector": {"k8s app": "x"}}}, "dns.podSelector.k8s app: not a Kubernetes label name"),
        ({"dns": {"podSelector": {"app": "a b"}}}, "is not a Kubernetes label value"),
        ({"dns": {"podSelector": {"app": 1}}}, "dns.podSelector: must be a mapping of label names"),
        ({"dns": {"server": "x"}}, "dns.server: unknown key"),
        ({"monitoring": {"namespaceSelector": ["x"]}}, "monitoring.namespaceSelector: must be a mapping"),
        ({"gateway": {"namespace": "-edge"}}, "gateway.namespace: must be a DNS-1123 label"),
    ],
)
def test_invalid_values_are_refused(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_platform_config({"kind": "PlatformConfig", **section})


def test_validate_reports_a_bad_platform_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("kind: PlatformConfig\nplatform: openshift\ndns: {ports: [5353, 70000]}\n")
    assert main(["validate", "-f", str(path), "-f", str(EXAMPLES / "bosa")]) == 1
    assert "dns.ports: must be a non-empty list of ports 1..65535" in capsys.readouterr().out
    assert main(["validate", "--platform-config", str(path), "-f", str(EXAMPLES / "bosa")]) == 1
    assert "dns.ports" in capsys.readouterr().out
