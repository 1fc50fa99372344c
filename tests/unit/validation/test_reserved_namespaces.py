"""One list of reserved namespaces for the webhook, `greenshift validate` and the reconcile."""

import pytest
from samples import fresh

from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.controllers import tenant as tenant_controller
from greenshift.validation import rules
from greenshift.validation.rules import check_wallet_tenant, is_reserved_namespace

KUBERNETES = PlatformConfig()
OPENSHIFT = parse_platform_config({"platform": "openshift"})


@pytest.mark.parametrize(
    ("namespace", "reserved"),
    [
        ("default", True),
        ("kube-system", True),
        ("kube-public", True),
        ("kube-node-lease", True),
        ("kube-anything", True),
        ("openshift", True),
        ("openshift-ingress", True),
        ("openshift-dns", True),
        ("greenshift-gateway", True),  # the gateway's, by default
        ("openshiftwallet", False),
        ("kubewallet", False),
        ("defaults", False),
        ("wallet-bosa", False),
    ],
)
def test_reserved(namespace: str, reserved: bool) -> None:
    assert is_reserved_namespace(namespace, KUBERNETES) is reserved
    tenant = fresh("WalletTenant")
    tenant["spec"]["namespace"] = namespace
    problems = check_wallet_tenant(tenant, KUBERNETES)
    assert [p.reason for p in problems] == (["NamespaceNotAllowed"] if reserved else [])


def test_the_gateway_namespace_follows_the_configuration() -> None:
    assert is_reserved_namespace("openshift-ingress", OPENSHIFT)
    assert not is_reserved_namespace("greenshift-gateway", OPENSHIFT)
    assert is_reserved_namespace("edge", parse_platform_config({"gateway": {"namespace": "edge"}}))


def test_the_reconcile_uses_the_same_rule() -> None:
    assert tenant_controller.is_reserved_namespace is rules.is_reserved_namespace
    assert not hasattr(tenant_controller, "RESERVED_PREFIXES")
