"""The children of a WalletTenant."""

from typing import Any

import pytest
from render_support import config, live, tenant

from greenshift.config import ConfigError, PlatformConfig
from greenshift.render import render_tenant

DEFAULTS = PlatformConfig()


def by_name(children: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(c["kind"], c["metadata"]["name"]): c for c in children}


def test_children_in_apply_order() -> None:
    children = render_tenant(tenant(viewers=[{"kind": "User", "name": "jan"}]), DEFAULTS)
    assert [(c["kind"], c["metadata"]["name"]) for c in children] == [
        ("Namespace", "wallet-bosa"),
        ("ResourceQuota", "greenshift-quota"),
        ("LimitRange", "greenshift-limits"),
        ("NetworkPolicy", "default-deny"),
        ("NetworkPolicy", "allow-same-namespace"),
        ("NetworkPolicy", "allow-dns"),
        ("NetworkPolicy", "allow-from-gateway"),
        ("RoleBinding", "greenshift-owners"),
        ("RoleBinding", "greenshift-viewers"),
    ]
    assert all(c["metadata"]["namespace"] == "wallet-bosa" for c in children[1:])


def test_explicit_namespace() -> None:
    children = render_tenant(tenant(namespace="agency-bosa"), DEFAULTS)
    assert children[0]["metadata"]["name"] == "agency-bosa"
    assert {c["metadata"].get("namespace") for c in children[1:]} == {"agency-bosa"}


def test_namespace_labels_and_pod_security() -> None:
    labels = render_tenant(tenant(), DEFAULTS)[0]["metadata"]["labels"]
    assert labels["greenshift.io/tenant"] == "bosa"
    assert labels["app.kubernetes.io/managed-by"] == "greenshift-operator"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"


def test_every_child_has_the_contract_labels() -> None:
    for child in render_tenant(tenant(egress={"allowedCIDRs": ["10.0.0.0/8"]}), DEFAULTS):
        assert child["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "greenshift-operator"
        assert child["metadata"]["labels"]["greenshift.io/tenant"] == "bosa"


def test_namespace_is_never_owned_but_the_rest_is() -> None:
    children = render_tenant(live(tenant()), DEFAULTS)
    assert "ownerReferences" not in children[0]["metadata"]
    for child in children[1:]:
        assert child["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "greenshift.io/v1alpha1",
                "kind": "WalletTenant",
                "name": "bosa",
                "uid": "0b6c3f4e-1111-4a5b-9c8d-000000000001",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_offline_render_has_no_owner_references() -> None:
    assert all("ownerReferences" not in c["metadata"] for c in render_tenant(tenant(), DEFAULTS))


def test_quota_defaults_and_overrides() -> None:
    hard = by_name(render_tenant(tenant(), DEFAULTS))["ResourceQuota", "greenshift-quota"]["spec"]["hard"]
    assert hard == {
        "requests.cpu": "4",
        "requests.memory": "8Gi",
        "requests.storage": "50Gi",
        "pods": "40",
        "count/documentsources.greenshift.io": "10",
        "count/gatewayroutes.greenshift.io": "20",
        # issue 16, items 2, 6 and 7: from the tier (standard)
        "limits.cpu": "40",
        "limits.memory": "16Gi",
        "requests.ephemeral-storage": "20Gi",
        "limits.ephemeral-storage": "20Gi",
        "configmaps": "30",
        "secrets": "40",
        "services": "20",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
        "requests.nvidia.com/gpu": "0",
        "requests.amd.com/gpu": "0",
        "requests.gpu.intel.com/i915": "0",
        "requests.hugepages-2Mi": "0",
        "requests.hugepages-1Gi": "0",
    }
    custom = tenant(quota={"cpu": 16, "pods": 100, "gatewayRoutes": 0})
    hard = by_name(render_tenant(custom, DEFAULTS))["ResourceQuota", "greenshift-quota"]["spec"]["hard"]
    assert hard["requests.cpu"] == "16"
    assert hard["pods"] == "100"
    assert hard["count/gatewayroutes.greenshift.io"] == "0"
    assert hard["requests.memory"] == "8Gi"
    assert hard["limits.cpu"] == "160"
    assert hard["secrets"] == "20"


def test_quota_and_limits_follow_the_tier() -> None:
    platform = config(
        tiers={
            "critical": {
                "cpuLimitsFactor": 3,
                "memoryLimitsFactor": 1,
                "ephemeralStorage": "5Gi",
                "configMaps": 2,
                "forbiddenResources": ["example.com/fpga"],
            }
        }
    )
    children = by_name(
        render_tenant(tenant(tier="critical", quota={"cpu": "500m", "memory": "1.5Gi"}), platform)
    )
    hard = children["ResourceQuota", "greenshift-quota"]["spec"]["hard"]
    assert hard["limits.cpu"] == "1500m"
    assert hard["limits.memory"] == "1.5Gi"
    assert hard["requests.ephemeral-storage"] == hard["limits.ephemeral-storage"] == "5Gi"
    assert hard["configmaps"] == "12"
    assert hard["requests.example.com/fpga"] == "0"
    assert "requests.nvidia.com/gpu" not in hard
    [limits] = children["LimitRange", "greenshift-limits"]["spec"]["limits"]
    assert limits["max"] == {"cpu": "4", "memory": "8Gi"}  # critical's defaults stay


def test_limit_range_defaults() -> None:
    limits = by_name(render_tenant(tenant(), DEFAULTS))["LimitRange", "greenshift-limits"]["spec"]["limits"]
    assert limits == [
        {
            "type": "Container",
            "defaultRequest": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
            "default": {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "1Gi"},
            "max": {"cpu": "2", "memory": "4Gi"},
        }
    ]


def test_network_policies() -> None:
    policies = by_name(render_tenant(tenant(), config(gateway={"namespace": "edge"})))
    assert policies["NetworkPolicy", "default-deny"]["spec"] == {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
    }
    dns = policies["NetworkPolicy", "allow-dns"]["spec"]
    assert dns["policyTypes"] == ["Egress"]
    assert dns["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert dns["egress"][0]["to"][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert dns["egress"][0]["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    gateway = policies["NetworkPolicy", "allow-from-gateway"]["spec"]
    assert gateway["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "edge"
    }
    same = policies["NetworkPolicy", "allow-same-namespace"]["spec"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {}}]}]
    assert ("NetworkPolicy", "allow-egress-upstreams") not in policies


def test_egress_to_upstreams_only_when_cidrs_are_given() -> None:
    cidrs = ["10.140.0.0/16", "fd00:be::/48"]
    policy = by_name(render_tenant(tenant(egress={"allowedCIDRs": cidrs}), DEFAULTS))[
        "NetworkPolicy", "allow-egress-upstreams"
    ]
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert policy["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": c}} for c in cidrs], "ports": [{"protocol": "TCP", "port": 443}]}
    ]


def test_role_bindings() -> None:
    viewers = [{"kind": "User", "name": "jan@example.be"}, {"kind": "Group", "name": "support"}]
    children = by_name(render_tenant(tenant(viewers=viewers), DEFAULTS))
    owners = children["RoleBinding", "greenshift-owners"]
    assert owners["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "greenshift-tenant-admin",
    }
    assert owners["subjects"] == [
        {"kind": "Group", "name": "bosa-admins", "apiGroup": "rbac.authorization.k8s.io"}
    ]
    viewing = children["RoleBinding", "greenshift-viewers"]
    assert viewing["roleRef"]["name"] == "view"
    assert [s["name"] for s in viewing["subjects"]] == ["jan@example.be", "support"]
    assert all(s["apiGroup"] == "rbac.authorization.k8s.io" for s in viewing["subjects"])


def test_no_viewers_binding_without_viewers() -> None:
    assert ("RoleBinding", "greenshift-viewers") not in by_name(render_tenant(tenant(), DEFAULTS))


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        ({"cpuLimitsFactor": 0}, "cpuLimitsFactor: must not be below 1"),
        ({"configMaps": -1}, "configMaps: must not be below 0"),
        ({"ephemeralStorage": "lots"}, "ephemeralStorage: must be a Kubernetes quantity"),
        ({"forbiddenResources": ["cpu"]}, "not an extended resource name"),
        ({"forbiddenResources": ["a b"]}, "not an extended resource name"),
    ],
)
def test_tier_quota_keys_are_checked(tier: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(tiers={"standard": tier})


def test_a_quantity_may_be_written_as_a_number() -> None:
    assert config(tiers={"standard": {"containerMaxCpu": 3}}).tier("standard").containerMaxCpu == "3"
