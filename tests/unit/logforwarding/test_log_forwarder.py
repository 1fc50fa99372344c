"""logging in the PlatformConfig, the one shared forwarder's render, and greenshift validate over it."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from greenshift.cli import main
from greenshift.config import ConfigError, PlatformConfig, parse_platform_config
from greenshift.render.logging import (
    CA_CONFIGMAP,
    FORWARDER_NAME,
    SERVICE_ACCOUNT,
    LoggedTenant,
    entry_suffix,
    forwarder_spec,
    logged_tenant,
    render_log_forwarder,
)
from greenshift.render.tenant import render_tenant
from greenshift.schemas import with_defaults
from greenshift.validation.rules import check_wallet_tenant, is_reserved_namespace

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
ENTRY_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
"""The published CRD's pattern of input, filter, pipeline and output names (no length limit)."""
BOSA = LoggedTenant("bosa", "BOSA", "critical", "wallet-bosa")
RSZ = LoggedTenant("rsz", "RSZ", "standard", "wallet-rsz")


def config(**logging: Any) -> PlatformConfig:
    return parse_platform_config({"logging": logging})


ON = config(flavor="openshift-logging")


def tenant(name: str = "bosa", **spec: Any) -> dict[str, Any]:
    body = {"displayName": "BOSA", "agency": "BOSA", "owners": [{"kind": "Group", "name": "g"}]} | spec
    return with_defaults(
        {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "WalletTenant",
            "metadata": {"name": name},
            "spec": body,
        }
    )


def forwarder(tenants: list[LoggedTenant], platform: PlatformConfig = ON) -> dict[str, Any]:
    return next(c for c in render_log_forwarder(tenants, platform) if c["kind"] == "ClusterLogForwarder")


def test_none_is_the_default_and_writes_nothing() -> None:
    assert parse_platform_config({}).logging.flavor == "none"
    assert render_log_forwarder([BOSA], parse_platform_config({})) == []


def test_tenants_get_no_logging_children_in_their_namespace() -> None:
    """The per-tenant ServiceAccount, RoleBinding, CA ConfigMap and forwarder are gone: the
    operator prunes them from existing tenants (tests/integration/operator/test_logging.py)."""
    with_ca = config(flavor="openshift-logging", output={"tls": {"caBundle": CA}})
    children = render_tenant(tenant(), with_ca)
    assert not {c["kind"] for c in children} & {"ClusterLogForwarder", "ServiceAccount"}
    names = {c["metadata"]["name"] for c in children}
    assert not names & {"greenshift-log-collector", CA_CONFIGMAP, "greenshift-logs"}


def test_no_tenant_no_forwarder() -> None:
    """The CRD wants at least one pipeline: with no tenant the operator deletes the forwarder."""
    assert render_log_forwarder([], ON) == []
    assert (
        render_log_forwarder([], config(flavor="openshift-logging", output={"tls": {"caBundle": CA}})) == []
    )


def test_one_forwarder_with_three_entries_per_tenant_sorted_by_name() -> None:
    found = forwarder([RSZ, BOSA])
    assert found["apiVersion"] == "observability.openshift.io/v1"
    assert found["metadata"]["name"] == FORWARDER_NAME == "greenshift-tenants"
    assert found["metadata"]["namespace"] == "openshift-logging"
    assert "ownerReferences" not in found["metadata"]  # every tenant's: no one's to garbage-collect
    assert found["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "greenshift-operator"
    assert "greenshift.io/tenant" not in found["metadata"]["labels"]
    spec = found["spec"]
    assert spec["serviceAccount"] == {"name": SERVICE_ACCOUNT}
    assert spec["inputs"] == [
        {"name": "tenant-bosa", "type": "application",
         "application": {"includes": [{"namespace": "wallet-bosa"}]}},
        {"name": "tenant-rsz", "type": "application",
         "application": {"includes": [{"namespace": "wallet-rsz"}]}},
    ]  # fmt: skip
    assert spec["filters"] == [
        {"name": "labels-bosa", "type": "openshiftLabels",
         "openshiftLabels": {"tenant": "bosa", "agency": "BOSA", "tier": "critical"}},
        {"name": "labels-rsz", "type": "openshiftLabels",
         "openshiftLabels": {"tenant": "rsz", "agency": "RSZ", "tier": "standard"}},
    ]  # fmt: skip
    assert spec["pipelines"] == [
        {"name": "tenant-bosa", "inputRefs": ["tenant-bosa"], "filterRefs": ["labels-bosa"],
         "outputRefs": ["central-store"]},
        {"name": "tenant-rsz", "inputRefs": ["tenant-rsz"], "filterRefs": ["labels-rsz"],
         "outputRefs": ["central-store"]},
    ]  # fmt: skip
    assert [o["name"] for o in spec["outputs"]] == ["central-store"]


def test_the_render_is_deterministic() -> None:
    """Same tenants in any order (or twice): the same forwarder, byte for byte."""
    first = render_log_forwarder([BOSA, RSZ], ON)
    assert render_log_forwarder([RSZ, BOSA, RSZ], ON) == first
    assert json.dumps(first) == json.dumps(render_log_forwarder([RSZ, BOSA], ON))


def test_the_lokistack_output_keeps_the_tier_as_stream_label() -> None:
    output = forwarder([BOSA])["spec"]["outputs"][0]
    assert output["lokiStack"] == {
        "target": {"name": "logging-loki", "namespace": "openshift-logging"},
        "authentication": {"token": {"from": "serviceAccount"}},
        "labelKeys": {"application": {"labelKeys": ["openshift.labels.tier"]}},
    }
    assert output["tls"] == {"securityProfile": {"type": "Intermediate"}}  # never insecureSkipVerify


def test_http_and_syslog_outputs_with_the_platforms_ca_in_the_logging_namespace() -> None:
    http = config(
        flavor="openshift-logging",
        namespace="platform-logs",
        output={
            "type": "http",
            "url": "https://logs.example.be/x",
            "tls": {"caBundle": CA, "securityProfile": "Modern"},
        },
    )
    children = render_log_forwarder([BOSA], http)
    assert [(c["kind"], c["metadata"]["namespace"]) for c in children] == [
        ("ConfigMap", "platform-logs"),
        ("ClusterLogForwarder", "platform-logs"),
    ]
    assert children[0]["metadata"]["name"] == CA_CONFIGMAP
    assert children[0]["data"] == {"ca-bundle.crt": CA}
    output = children[1]["spec"]["outputs"][0]
    assert output["http"] == {"url": "https://logs.example.be/x", "format": "json", "method": "POST"}
    assert output["tls"] == {
        "securityProfile": {"type": "Modern"},
        "ca": {"configMapName": CA_CONFIGMAP, "key": "ca-bundle.crt"},
    }
    syslog = config(
        flavor="openshift-logging", output={"type": "syslog", "url": "tls://s.example.be:6514"}
    ).logging.output
    spec = forwarder_spec([BOSA], syslog)
    assert spec["outputs"][0]["syslog"]["appName"] == '{.openshift.labels.tenant||"greenshift"}'


def _crd_pattern(folder: Path, field: str) -> str:
    """The pattern of ``field``'s items' names in the published CRD."""
    crd = yaml.safe_load((folder / "observability.openshift.io_clusterlogforwarders.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    items = spec[field]
    assert items.get("x-kubernetes-list-type") == "map"
    assert items.get("x-kubernetes-list-map-keys") == ["name"]
    name = items["items"]["properties"]["name"]
    assert "maxLength" not in name
    return str(name["pattern"])


@pytest.mark.parametrize("field", ["inputs", "filters", "pipelines", "outputs"])
def test_the_crd_keys_its_lists_by_a_name_of_this_pattern(addon_crd_folder: Path, field: str) -> None:
    assert _crd_pattern(addon_crd_folder, field) == ENTRY_NAME.pattern


def test_every_tenant_name_gives_names_the_crd_accepts() -> None:
    """A DNS label of 63 characters, one starting with a digit, a name with dots (a tenant with
    spec.namespace may have one): valid, distinct names; ``a.b`` and ``a-b`` stay apart."""
    names = ["x" * 63, "1bosa", "a.b", "a-b", "fod.fin.be"]
    tenants = [LoggedTenant(n, "AG", "standard", f"ns-{i}") for i, n in enumerate(names)]
    spec = forwarder(tenants)["spec"]
    for field in ("inputs", "filters", "pipelines"):
        entries = [e["name"] for e in spec[field]]
        assert len(set(entries)) == len(names)
        assert all(ENTRY_NAME.match(e) for e in entries), entries
    assert entry_suffix("bosa") == "bosa"
    assert entry_suffix("a.b") != entry_suffix("a-b") == "a-b"
    assert entry_suffix("a.b").startswith("a-b-")


def test_a_name_made_to_collide_is_left_out_not_the_forwarder() -> None:
    crafted = LoggedTenant(entry_suffix("a.b"), "AG", "standard", "ns-2")
    spec = forwarder([LoggedTenant("a.b", "AG", "standard", "ns-1"), crafted])["spec"]
    assert len(spec["inputs"]) == len(spec["pipelines"]) == 1


def test_suspension_keeps_the_tenants_entries() -> None:
    assert (
        logged_tenant(tenant(suspended=True))
        == logged_tenant(tenant())
        == LoggedTenant("bosa", "BOSA", "standard", "wallet-bosa")
    )
    assert logged_tenant(tenant(namespace="bosa-prod", tier="critical")).namespace == "bosa-prod"


def test_the_forwarder_of_a_thousand_tenants_fits_an_object() -> None:
    """3 entries per tenant: about 0.4 KiB each, far below etcd's request limit (1.5 MiB)."""
    tenants = [
        LoggedTenant(f"tenant-{i:04d}", "AGENCY-X", "standard", f"wallet-tenant-{i:04d}") for i in range(1000)
    ]
    size = len(json.dumps(forwarder(tenants), separators=(",", ":")))
    assert 300_000 < size < 1_000_000


def test_the_logging_namespace() -> None:
    assert parse_platform_config({}).logging.namespace == "openshift-logging"
    assert config(namespace="platform-logs").logging.namespace == "platform-logs"


@pytest.mark.parametrize(
    ("logging", "message"),
    [
        ({"flavor": "fluentd"}, "logging.flavor: must be one of none, openshift-logging"),
        ({"namespace": ""}, "logging.namespace: must be a DNS-1123 label"),
        ({"namespace": "Platform_Logs"}, "logging.namespace: must be a DNS-1123 label"),
        ({"namespace": "x" * 64}, "logging.namespace: must be a DNS-1123 label"),
        ({"namespace": 3}, "logging.namespace: must be a string"),
        ({"namespace": "wallet-logs"}, "logging.namespace: wallet-logs is a tenant's namespace"),
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


def test_no_tenant_may_have_the_logging_namespace() -> None:
    """With logging on, the logging namespace is reserved like the gateway's: the webhook,
    greenshift validate and the reconcile refuse a tenant that names it."""
    on = config(flavor="openshift-logging", namespace="platform-logs")
    assert is_reserved_namespace("platform-logs", on)
    assert not is_reserved_namespace("platform-logs", config(namespace="platform-logs"))  # logging off
    claimant = tenant(namespace="platform-logs")
    problems = check_wallet_tenant(claimant, on)
    assert [p.reason for p in problems] == ["NamespaceNotAllowed"]
    assert "platform-logs" in problems[0].message
    assert is_reserved_namespace("openshift-logging", ON)  # the default: openshift-* anyway


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
    capsys.readouterr()
    path.write_text(path.read_text().replace("flavor:", "namespace: wallet-bosa, flavor:"))
    assert main(["validate", "-f", str(path)]) == 1
    assert "logging.namespace: wallet-bosa is a tenant's namespace" in capsys.readouterr().out


def test_validate_refuses_a_tenant_in_the_logging_namespace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    platform = tmp_path / "platform.yaml"
    platform.write_text(
        "apiVersion: greenshift.io/v1alpha1\nkind: PlatformConfig\n"
        "logging: {flavor: openshift-logging, namespace: platform-logs}\n"
    )
    tenants = tmp_path / "tenant.yaml"
    tenants.write_text(yaml.safe_dump(tenant(namespace="platform-logs")))
    assert main(["validate", "-f", str(tenants), "--platform-config", str(platform)]) == 1
    assert "namespace platform-logs is reserved" in capsys.readouterr().out


def test_the_operators_configmaps_do_not_eat_the_tenants_allowance() -> None:
    """The quota's configmaps: one per source, the dashboard, plus the tier's 20; the logging CA
    is no longer in the tenant's namespace."""

    def configmaps(platform: PlatformConfig) -> str:
        quota = next(c for c in render_tenant(tenant(), platform) if c["kind"] == "ResourceQuota")
        return str(quota["spec"]["hard"]["configmaps"])

    assert configmaps(parse_platform_config({})) == "30"  # 10 sources + 20
    with_ca = {"flavor": "openshift-logging", "output": {"tls": {"caBundle": CA}}}
    assert configmaps(parse_platform_config({"logging": with_ca})) == "30"
    both = {"logging": with_ca, "monitoring": {"prometheusOperator": True}}
    assert configmaps(parse_platform_config(both)) == "31"
