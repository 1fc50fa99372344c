"""The children of a DocumentSource: what changes with tier, suspension, autoscaling and cache."""

import json
from typing import Any

import pytest
from render_support import config, live, source, tenant

from greenshift.config import PlatformConfig
from greenshift.render import render_document_source
from greenshift.render.documentsource import endpoint

DEFAULTS = PlatformConfig()
IMAGE = "registry.greenshift.local/certified/connector-identity:1.0.0"


def render(
    src: dict[str, Any], ten: dict[str, Any] | None = None, cfg: PlatformConfig = DEFAULTS
) -> dict[str, Any]:
    children = render_document_source(src, ten or tenant(), cfg)
    return {c["kind"]: c for c in children}


def connector(**fields: Any) -> dict[str, Any]:
    return {"image": IMAGE, **fields}


def test_children_in_apply_order_with_everything() -> None:
    src = source(cache={"size": "1Gi"}, connector=connector(autoscaling={"minReplicas": 2, "maxReplicas": 4}))
    children = render_document_source(src, tenant(), config(monitoring={"prometheusOperator": True}))
    assert [(c["kind"], c["metadata"]["name"]) for c in children] == [
        ("ConfigMap", "identity-config"),
        ("PersistentVolumeClaim", "identity-cache"),
        ("Deployment", "identity"),
        ("Service", "identity"),
        ("HorizontalPodAutoscaler", "identity"),
        ("PodDisruptionBudget", "identity"),
        ("ServiceMonitor", "identity"),
    ]
    for child in children:
        assert child["metadata"]["namespace"] == "wallet-bosa"
        assert child["metadata"]["labels"]["greenshift.io/tenant"] == "bosa"
        assert child["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "greenshift-operator"


def test_minimal_source() -> None:
    children = render(source())
    assert set(children) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    assert children["Deployment"]["spec"]["replicas"] == 2  # the CRD default


def test_config_map_holds_the_non_secret_settings() -> None:
    src = source(
        format="mdoc",
        upstream={
            "url": "https://ksz.example.be/soap",
            "protocol": "SOAP",
            "soapAction": "urn:get",
            "timeoutSeconds": 30,
            "credentialsSecretRef": {"name": "ksz-client"},
        },
        statusList={"enabled": True},
    )
    settings = json.loads(render(src)["ConfigMap"]["data"]["connector.json"])
    assert settings == {
        "documentType": "identity",
        "format": "mdoc",
        "upstream": {
            "url": "https://ksz.example.be/soap",
            "protocol": "SOAP",
            "soapAction": "urn:get",
            "timeoutSeconds": 30,
            "credentialsDir": "/var/run/secrets/greenshift/upstream",
        },
        "statusList": {"enabled": True},
    }


def test_config_hash_rolls_pods_only_when_settings_change() -> None:
    def config_hash(src: dict[str, Any]) -> str:
        annotations = render(src)["Deployment"]["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["greenshift.io/config-hash"])

    base = config_hash(source())
    assert config_hash(source(displayName="Another name")) == base
    assert config_hash(source(upstream={"url": "https://other.example.be"})) != base
    assert config_hash(source(format="pdf")) != base


def test_deployment_pod_template() -> None:
    pod = render(source())["Deployment"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": 8080}
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert "resources" not in container  # the LimitRange defaults apply
    assert "affinity" not in pod
    assert {v["name"] for v in pod["volumes"]} == {"config", "tmp"}


def test_credentials_secret_is_mounted_read_only() -> None:
    src = source(upstream={"url": "https://x.example.be", "credentialsSecretRef": {"name": "fsb-client"}})
    pod = render(src)["Deployment"]["spec"]["template"]["spec"]
    assert {"name": "credentials", "secret": {"secretName": "fsb-client", "defaultMode": 0o440}} in pod[
        "volumes"
    ]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "credentials")
    assert mount == {
        "name": "credentials",
        "mountPath": "/var/run/secrets/greenshift/upstream",
        "readOnly": True,
    }


def test_resources_are_passed_through() -> None:
    resources = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}
    container = render(source(connector=connector(resources=resources)))["Deployment"]["spec"]["template"][
        "spec"
    ]["containers"][0]
    assert container["resources"] == resources


def test_service() -> None:
    service = render(source())["Service"]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
    assert service["spec"]["selector"] == render(source())["Deployment"]["spec"]["selector"]["matchLabels"]
    assert endpoint(source(), tenant()) == "http://identity.wallet-bosa.svc.cluster.local"


@pytest.mark.parametrize(
    ("tier", "replicas", "expected", "pdb"),
    [
        ("standard", 0, 1, False),
        ("standard", 1, 1, False),
        ("standard", 3, 3, True),
        ("critical", 1, 2, True),
    ],
)
def test_replicas_follow_the_tier_minimum(tier: str, replicas: int, expected: int, pdb: bool) -> None:
    children = render(source(connector=connector(replicas=replicas)), tenant(tier=tier))
    assert children["Deployment"]["spec"]["replicas"] == expected
    assert ("PodDisruptionBudget" in children) is pdb


def test_critical_tier_spreads_pods_over_nodes() -> None:
    pod = render(source(), tenant(tier="critical"))["Deployment"]["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "greenshift-connector",
        "app.kubernetes.io/instance": "identity",
    }


def test_tier_settings_come_from_the_platform_config() -> None:
    cfg = config(tiers={"standard": {"minReplicas": 3, "podAntiAffinity": True}})
    children = render(source(connector=connector(replicas=1)), tenant(), cfg)
    assert children["Deployment"]["spec"]["replicas"] == 3
    assert "podAntiAffinity" in children["Deployment"]["spec"]["template"]["spec"]["affinity"]


def test_pod_disruption_budget() -> None:
    pdb = render(source())["PodDisruptionBudget"]
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "identity"


def test_autoscaling_hands_replicas_to_the_hpa() -> None:
    src = source(
        connector=connector(replicas=5, autoscaling={"maxReplicas": 6, "targetCPUUtilizationPercentage": 60})
    )
    children = render(src)
    assert "replicas" not in children["Deployment"]["spec"]
    hpa = children["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "identity",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 6)
    assert hpa["spec"]["metrics"][0]["resource"] == {
        "name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": 60},
    }
    assert "PodDisruptionBudget" not in children  # minReplicas 1


def test_autoscaling_minimum_is_raised_to_the_tier_minimum() -> None:
    children = render(source(connector=connector(autoscaling={"maxReplicas": 1})), tenant(tier="critical"))
    hpa = children["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 2)
    assert "PodDisruptionBudget" in children


def test_suspended_tenant_scales_to_zero_and_drops_hpa_and_pdb() -> None:
    src = source(cache={"size": "1Gi"}, connector=connector(autoscaling={"minReplicas": 3, "maxReplicas": 6}))
    children = render(src, tenant(suspended=True, tier="critical"))
    assert children["Deployment"]["spec"]["replicas"] == 0
    assert "HorizontalPodAutoscaler" not in children
    assert "PodDisruptionBudget" not in children
    assert "PersistentVolumeClaim" in children  # data is kept


def test_cache_volume() -> None:
    children = render(source(cache={"size": "5Gi"}))
    pvc = children["PersistentVolumeClaim"]
    assert pvc["metadata"]["name"] == "identity-cache"
    assert pvc["spec"]["resources"] == {"requests": {"storage": "5Gi"}}
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in pvc["spec"]
    pod = children["Deployment"]["spec"]["template"]["spec"]
    assert {"name": "cache", "persistentVolumeClaim": {"claimName": "identity-cache"}} in pod["volumes"]
    assert {"name": "cache", "mountPath": "/var/cache/greenshift"} in pod["containers"][0]["volumeMounts"]
    assert json.loads(children["ConfigMap"]["data"]["connector.json"])["cacheDir"] == "/var/cache/greenshift"
    # Several pods share a ReadWriteOnce volume only on one node.
    affinity = pod["affinity"]
    assert "podAntiAffinity" not in affinity
    (term,) = affinity["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_single_pod_with_cache_needs_no_affinity() -> None:
    pod = render(source(cache={"size": "1Gi"}, connector=connector(replicas=1)))["Deployment"]["spec"][
        "template"
    ]
    assert "affinity" not in pod["spec"]


@pytest.mark.parametrize(
    ("given", "platform_default", "expected"),
    [("fast", "encrypted", "fast"), (None, "encrypted", "encrypted"), (None, "", None)],
)
def test_cache_storage_class(given: str | None, platform_default: str, expected: str | None) -> None:
    cache: dict[str, Any] = {"size": "1Gi"}
    if given:
        cache["storageClassName"] = given
    cfg = config(storage={"defaultStorageClass": platform_default})
    pvc = render(source(cache=cache), tenant(), cfg)["PersistentVolumeClaim"]
    assert pvc["spec"].get("storageClassName") == expected


@pytest.mark.parametrize(("retain", "owned"), [(True, False), (False, True), (None, False)])
def test_cache_owner_reference_follows_retain_on_delete(retain: bool | None, owned: bool) -> None:
    cache: dict[str, Any] = {"size": "1Gi"}
    if retain is not None:
        cache["retainOnDelete"] = retain
    children = render(live(source(cache=cache)))
    assert ("ownerReferences" in children["PersistentVolumeClaim"]["metadata"]) is owned
    for kind in ("ConfigMap", "Deployment", "Service"):
        (ref,) = children[kind]["metadata"]["ownerReferences"]
        assert ref["kind"] == "DocumentSource"
        assert ref["name"] == "identity"
        assert ref["controller"] is True
        assert ref["blockOwnerDeletion"] is True


def test_offline_render_has_no_owner_references() -> None:
    children = render(source(cache={"size": "1Gi", "retainOnDelete": False}))
    assert all("ownerReferences" not in c["metadata"] for c in children.values())


def test_service_monitor_only_with_the_prometheus_operator() -> None:
    assert "ServiceMonitor" not in render(source())
    monitor = render(source(), tenant(), config(monitoring={"prometheusOperator": True}))["ServiceMonitor"]
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "identity"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


def test_namespace_defaults_to_the_tenant_namespace() -> None:
    src = source()
    del src["metadata"]["namespace"]
    children = render(src, tenant(namespace="agency-bosa"))
    assert {c["metadata"]["namespace"] for c in children.values()} == {"agency-bosa"}
