"""logging in the PlatformConfig, the tenant's forwarder, and greenshift validate over it."""

from pathlib import Path
from typing import Any

import pytest

from greenshift.cli import main
from greenshift.config import ConfigError, PlatformConfig, parse_platform_config
from greenshift.render.logging import CA_CONFIGMAP, FORWARDER_NAME, forwarder_spec, render_tenant_logging
from greenshift.render.tenant import render_tenant
from greenshift.schemas import with_defaults
from greenshift.validation.rules import check_wallet_tenant, is_reserved_namespace

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def config(**logging: Any) -> PlatformConfig:
    return parse_platform_config({"logging": logging})


def tenant(**spec: Any) -> dict[str, Any]:
    body = {"displayName": "BOSA", "agency": "BOSA", "owners": [{"kind": "Group", "name": "g"}]} | spec
    return with_defaults(
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "WalletTenant",
            "metadata": {"name": "bosa"},
            "spec": body,
        }
    )


def test_none_is_the_default_and_writes_nothing() -> None:
    assert parse_platform_config({}).logging.flavor == "none"
    assert render_tenant_logging(tenant(), parse_platform_config({})) == []
    kinds = {c["kind"] for c in render_tenant(tenant(), parse_platform_config({}))}
    assert not kinds & {"ClusterLogForwarder", "ServiceAccount"}


def test_openshift_logging_collects_the_tenants_namespace_only_with_its_labels() -> None:
    children = render_tenant_logging(tenant(tier="critical"), config(flavor="openshift-logging"))
    assert [(c["kind"], c["metadata"]["name"]) for c in children] == [
        ("ServiceAccount", "greenshift-log-collector"),
        ("RoleBinding", "greenshift-log-collector"),
        ("ClusterLogForwarder", FORWARDER_NAME),
    ]  # no CA ConfigMap without a caBundle
    assert all(c["metadata"]["namespace"] == "wallet-bosa" for c in children)
    binding = children[1]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "collect-application-logs",
    }  # fmt: skip
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "greenshift-log-collector", "namespace": "wallet-bosa"}
    ]
    spec = children[2]["spec"]
    assert spec["inputs"] == [
        {
            "name": "tenant-application",
            "type": "application",
            "application": {"includes": [{"namespace": "wallet-bosa"}]},
        }
    ]
    assert spec["filters"][0]["openshiftLabels"] == {"tenant": "bosa", "agency": "BOSA", "tier": "critical"}
    assert spec["outputs"][0]["lokiStack"]["target"] == {
        "name": "logging-loki",
        "namespace": "openshift-logging",
    }
    assert spec["outputs"][0]["lokiStack"]["labelKeys"] == {
        "application": {"labelKeys": ["openshift.labels.tier"]}
    }
    assert "insecureSkipVerify" not in spec["outputs"][0]["tls"]
    assert spec["pipelines"][0]["inputRefs"] == ["tenant-application"]


def test_http_and_syslog_outputs_with_the_platforms_ca() -> None:
    http = config(
        flavor="openshift-logging",
        output={
            "type": "http",
            "url": "https://logs.example.be/x",
            "tls": {"caBundle": CA, "securityProfile": "Modern"},
        },
    )
    children = render_tenant_logging(tenant(), http)
    ca = next(c for c in children if c["metadata"]["name"] == CA_CONFIGMAP)
    assert ca["data"] == {"ca-bundle.crt": CA}
    output = children[-1]["spec"]["outputs"][0]
    assert output["http"] == {"url": "https://logs.example.be/x", "format": "json", "method": "POST"}
    assert output["tls"] == {
        "securityProfile": {"type": "Modern"},
        "ca": {"configMapName": CA_CONFIGMAP, "key": "ca-bundle.crt"},
    }
    syslog = config(
        flavor="openshift-logging", output={"type": "syslog", "url": "tls://s.example.be:6514"}
    ).logging.output
    spec = forwarder_spec("bosa", "BOSA", "standard", "wallet-bosa", syslog)
    assert spec["outputs"][0]["syslog"]["appName"] == "bosa"


def test_suspension_keeps_the_forwarder() -> None:
    on = config(flavor="openshift-logging")
    assert render_tenant_logging(tenant(suspended=True), on) == render_tenant_logging(tenant(), on)


@pytest.mark.parametrize(
    ("logging", "message"),
    [
        ({"flavor": "fluentd"}, "logging.flavor: must be one of none, openshift-logging"),
        (
            {"output": {"type": "http", "url": "http://logs.example.be"}},
            "logging.output.url: type http needs a https://",
        ),
        (
            {"output": {"type": "syslog", "url": "udp://s:514"}},
            "logging.output.url: type syslog needs a tls://",
        ),
        ({"output": {"type": "syslog"}}, "logging.output.url: type syslog needs a tls://"),
        ({"output": {"url": "https://x"}}, "logging.output.url: not used with type lokiStack"),
        ({"output": {"type": "kafka"}}, "logging.output.type: must be one of lokiStack, http, syslog"),
        ({"output": {"lokiStack": {"namespace": "Not_A_Namespace"}}}, "logging.output.lokiStack.namespace"),
        ({"output": {"tls": {"caBundle": "not pem"}}}, "logging.output.tls.caBundle: must be PEM"),
        (
            {"output": {"tls": {"securityProfile": "Old"}}},
            "logging.output.tls.securityProfile: must be one of",
        ),
        (
            {"output": {"tls": {"insecureSkipVerify": True}}},
            "logging.output.tls.insecureSkipVerify: unknown key",
        ),
    ],
)
def test_bad_settings_are_refused(logging: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        config(**logging)


def test_validate_checks_the_logging_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(
        "apiVersion: greenshift.io/v1alpha1\nkind: PlatformConfig\n"
        "logging: {flavor: openshift-logging, output: {type: http, url: 'http://logs.example.be'}}\n"
    )
    assert main(["validate", "-f", str(path)]) == 1
    assert "logging.output.url: type http needs a https:// URL" in capsys.readouterr().out
    path.write_text(path.read_text().replace("http://", "https://"))
    assert main(["validate", "-f", str(path)]) == 0


def test_the_operators_configmaps_do_not_eat_the_tenants_allowance() -> None:
    """The quota's configmaps: one per source, the dashboard, the logging CA, plus the tier's 20."""

    def configmaps(platform: PlatformConfig) -> str:
        quota = next(c for c in render_tenant(tenant(), platform) if c["kind"] == "ResourceQuota")
        return str(quota["spec"]["hard"]["configmaps"])

    assert configmaps(parse_platform_config({})) == "30"  # 10 sources + 20
    with_ca = {"flavor": "openshift-logging", "output": {"tls": {"caBundle": CA}}}
    assert configmaps(parse_platform_config({"logging": with_ca})) == "31"
    both = {"logging": with_ca, "monitoring": {"prometheusOperator": True}}
    assert configmaps(parse_platform_config(both)) == "32"
    assert configmaps(config(flavor="openshift-logging")) == "30"  # no CA: no ConfigMap


def test_the_logging_namespace() -> None:
    assert parse_platform_config({}).logging.namespace == "openshift-logging"
    assert config(namespace="platform-logs").logging.namespace == "platform-logs"


@pytest.mark.parametrize(
    ("logging", "message"),
    [
        ({"namespace": ""}, "logging.namespace: must be a DNS-1123 label"),
        ({"namespace": "Platform_Logs"}, "logging.namespace: must be a DNS-1123 label"),
        ({"namespace": "x" * 64}, "logging.namespace: must be a DNS-1123 label"),
        ({"namespace": 3}, "logging.namespace: must be a string"),
        ({"namespace": "wallet-logs"}, "logging.namespace: wallet-logs is a tenant's namespace"),
    ],
)
def test_bad_logging_namespaces_are_refused(logging: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config(**logging)


def test_no_tenant_may_have_the_logging_namespace() -> None:
    """With logging on, the logging namespace is reserved like the gateway's: the webhook,
    greenshift validate and the reconcile refuse a tenant that names it."""
    on = config(flavor="openshift-logging", namespace="platform-logs")
    assert is_reserved_namespace("platform-logs", on)
    assert not is_reserved_namespace("platform-logs", config(namespace="platform-logs"))  # logging off
    problems = check_wallet_tenant(tenant(namespace="platform-logs"), on)
    assert [p.reason for p in problems] == ["NamespaceNotAllowed"]
    assert "platform-logs" in problems[0].message
