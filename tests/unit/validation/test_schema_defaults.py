"""Every default of the contract is a CRD default, so defaulting fills it in."""

import copy
import datetime
from typing import Any

import pytest
from samples import fresh

from greenshift.defaulting import json_copy
from greenshift.schemas import with_defaults


def _at(resource: dict[str, Any], path: str) -> Any:
    value: Any = resource
    for key in path.split("."):
        value = value[key]
    return value


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        ("WalletTenant", "spec.viewers", []),
        ("WalletTenant", "spec.tier", "standard"),
        ("WalletTenant", "spec.quota.cpu", "4"),
        ("WalletTenant", "spec.quota.memory", "8Gi"),
        ("WalletTenant", "spec.quota.storage", "50Gi"),
        ("WalletTenant", "spec.quota.pods", 40),
        ("WalletTenant", "spec.quota.documentSources", 10),
        ("WalletTenant", "spec.quota.gatewayRoutes", 20),
        ("WalletTenant", "spec.egress.allowedCIDRs", []),
        ("WalletTenant", "spec.suspended", False),
        ("WalletTenant", "spec.deletionPolicy", "Retain"),
        ("DocumentSource", "spec.format", "json"),
        ("DocumentSource", "spec.upstream.protocol", "REST"),
        ("DocumentSource", "spec.upstream.timeoutSeconds", 10),
        ("DocumentSource", "spec.connector.replicas", 2),
        ("DocumentSource", "spec.cache.retainOnDelete", True),
        ("DocumentSource", "spec.statusList.enabled", False),
        ("GatewayRoute", "spec.protocol", "REST"),
        ("GatewayRoute", "spec.authentication.type", "oidc"),
        ("GatewayRoute", "spec.timeoutSeconds", 30),
    ],
)
def test_contract_default_lands(kind: str, path: str, expected: Any) -> None:
    resource = fresh(kind)
    if kind == "GatewayRoute":
        del resource["spec"]["authentication"]
    with pytest.raises(KeyError):
        _at(resource, path)
    assert _at(with_defaults(resource), path) == expected


def test_allowed_hosts_defaults_to_empty() -> None:
    tenant = fresh("WalletTenant")
    del tenant["spec"]["allowedHosts"]
    assert with_defaults(tenant)["spec"]["allowedHosts"] == []


def test_partial_quota_keeps_given_values_and_defaults_the_rest() -> None:
    tenant = fresh("WalletTenant")
    tenant["spec"]["quota"] = {"cpu": "8", "pods": 100}
    quota = with_defaults(tenant)["spec"]["quota"]
    assert quota == {
        "cpu": "8",
        "memory": "8Gi",
        "storage": "50Gi",
        "pods": 100,
        "documentSources": 10,
        "gatewayRoutes": 20,
    }


def test_autoscaling_defaults_when_given() -> None:
    source = fresh("DocumentSource")
    source["spec"]["connector"]["autoscaling"] = {"maxReplicas": 5}
    autoscaling = with_defaults(source)["spec"]["connector"]["autoscaling"]
    assert autoscaling == {"minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("WalletTenant", "spec.namespace"),
        ("DocumentSource", "spec.connector.autoscaling"),
        ("DocumentSource", "spec.connector.resources"),
        ("DocumentSource", "spec.cache.size"),
        ("GatewayRoute", "spec.rateLimit"),
        ("GatewayRoute", "spec.tls"),
    ],
)
def test_optional_fields_without_a_default_stay_absent(kind: str, path: str) -> None:
    parent, _, leaf = path.rpartition(".")
    assert leaf not in _at(with_defaults(fresh(kind)), parent)


def test_defaulting_does_not_touch_the_input() -> None:
    source = fresh("DocumentSource")
    with_defaults(source)
    assert source == fresh("DocumentSource")


def test_json_copy_is_a_deep_copy_of_parsed_json_and_yaml() -> None:
    value = {"a": [1, 2.5, None, True, {"b": "c"}], "when": datetime.date(2026, 11, 28), "s": {1, 2}}
    copied = json_copy(value)
    assert copied == copy.deepcopy(value)
    copied["a"][4]["b"] = "changed"
    copied["s"].add(3)  # anything that is not JSON is deep-copied too
    assert value["a"][4]["b"] == "c"
    assert value["s"] == {1, 2}
