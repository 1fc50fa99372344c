"""The children of a DocumentSource: the connector's configuration, workload and service."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from greenshift.config import PlatformConfig
from greenshift.naming import tenant_namespace
from greenshift.render.common import Manifest, labels, metadata, render_template
from greenshift.schemas import with_defaults

APP_NAME = "greenshift-connector"
CONFIG_HASH_ANNOTATION = "greenshift.io/config-hash"
CONFIG_KEY = "connector.json"
SERVICE_PORT = 80
PATHS = {
    "config": "/etc/greenshift",
    "credentials": "/var/run/secrets/greenshift/upstream",
    "cache": "/var/cache/greenshift",
}


@dataclass(frozen=True)
class Scale:
    """How many connector pods run, and which scaling children exist."""

    replicas: int | None
    """``spec.replicas`` of the Deployment; ``None`` when the HPA owns it."""
    hpa: tuple[int, int] | None
    """(minReplicas, maxReplicas) of the HPA, when there is one."""
    pdb: bool
    at_most_one_pod: bool


def scale(source: Manifest, tenant: Manifest, config: PlatformConfig) -> Scale:
    """Replicas from the spec, raised to the tier's minimum; zero when the tenant is suspended.

    The tier minimum applies to ``connector.replicas`` and to the autoscaler's minimum
    (the autoscaler's maximum is raised to at least that minimum).
    """
    connector = source["spec"]["connector"]
    tenant_spec = tenant["spec"]
    tier = config.tier(str(tenant_spec["tier"]))
    if tenant_spec["suspended"]:
        return Scale(replicas=0, hpa=None, pdb=False, at_most_one_pod=True)
    autoscaling = connector.get("autoscaling")
    if autoscaling:
        low = max(int(autoscaling["minReplicas"]), tier.minReplicas)
        high = max(int(autoscaling["maxReplicas"]), low)
        return Scale(replicas=None, hpa=(low, high), pdb=low >= 2, at_most_one_pod=high <= 1)
    replicas = max(int(connector["replicas"]), tier.minReplicas)
    return Scale(replicas=replicas, hpa=None, pdb=replicas >= 2, at_most_one_pod=replicas <= 1)


def connector_settings(source: Manifest) -> dict[str, Any]:
    """The connector's non-secret settings, as served in the ConfigMap."""
    spec = source["spec"]
    upstream = spec["upstream"]
    settings: dict[str, Any] = {
        "documentType": spec["documentType"],
        "format": spec["format"],
        "upstream": {
            "url": upstream["url"],
            "protocol": upstream["protocol"],
            "timeoutSeconds": upstream["timeoutSeconds"],
        },
        "statusList": {"enabled": spec["statusList"]["enabled"]},
    }
    if "soapAction" in upstream:
        settings["upstream"]["soapAction"] = upstream["soapAction"]
    if upstream.get("credentialsSecretRef"):
        settings["upstream"]["credentialsDir"] = PATHS["credentials"]
    if spec["cache"].get("size") is not None:
        settings["cacheDir"] = PATHS["cache"]
    return settings


def render_document_source(
    source: Manifest, tenant: Manifest, config: PlatformConfig, *, defaulted: bool = False
) -> list[Manifest]:
    """The source's children in apply order: ConfigMap, PVC, Deployment, Service, HPA, PDB, ServiceMonitor.

    All children are owned by the DocumentSource, except the cache PVC when
    ``cache.retainOnDelete`` is true (the default): that volume survives the source.
    ``defaulted``: both come from the API server, which applied the CRDs' defaults.
    """
    if not defaulted:
        source = with_defaults(source)
        tenant = with_defaults(tenant)
    spec = source["spec"]
    name = str(source["metadata"]["name"])
    namespace = str(source["metadata"].get("namespace") or tenant_namespace(tenant))
    child_labels = labels(tenant, name=APP_NAME, instance=name, component="connector")
    selector = {key: child_labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}

    def meta(child: str, *, owned: bool = True) -> dict[str, Any]:
        return metadata(child, namespace=namespace, labels=child_labels, owner=source if owned else None)

    settings = json.dumps(connector_settings(source), indent=2, sort_keys=True) + "\n"
    config_hash = hashlib.sha256(settings.encode("utf-8")).hexdigest()
    sizing = scale(source, tenant, config)
    cache = spec["cache"]
    credentials = spec["upstream"].get("credentialsSecretRef")
    cache_claim = f"{name}-cache" if cache.get("size") is not None else None

    children = [
        render_template(
            "documentsource/configmap.yaml.j2",
            api_version="v1",
            kind="ConfigMap",
            metadata=meta(f"{name}-config"),
            settings=settings,
        )
    ]
    if cache_claim is not None:
        storage_class = cache.get("storageClassName") or config.storage.defaultStorageClass or None
        children.append(
            render_template(
                "documentsource/persistentvolumeclaim.yaml.j2",
                api_version="v1",
                kind="PersistentVolumeClaim",
                metadata=meta(cache_claim, owned=not cache["retainOnDelete"]),
                storage_class=storage_class,
                size=str(cache["size"]),
            )
        )
    tier = config.tier(str(tenant["spec"]["tier"]))
    # The cache volume is ReadWriteOnce: several pods can share it only on one node.
    colocate = cache_claim is not None and not sizing.at_most_one_pod
    children.append(
        render_template(
            "documentsource/deployment.yaml.j2",
            api_version="apps/v1",
            kind="Deployment",
            metadata=meta(name),
            replicas=sizing.replicas,
            selector=selector,
            pod_labels=child_labels,
            config_hash=config_hash,
            colocate=colocate,
            spread=tier.podAntiAffinity and not colocate,
            image=str(spec["connector"]["image"]),
            config_file=f"{PATHS['config']}/{CONFIG_KEY}",
            resources=spec["connector"].get("resources") or None,
            paths=PATHS,
            config_map=f"{name}-config",
            credentials_secret=str(credentials["name"]) if credentials else None,
            cache_claim=cache_claim,
            # OpenShift's SCC (restricted-v2) assigns the UID, GID and fsGroup from the namespace's
            # range and refuses any other fixed value.
            fixed_ids=not config.openshift,
        )
    )
    children.append(
        render_template(
            "documentsource/service.yaml.j2",
            api_version="v1",
            kind="Service",
            metadata=meta(name),
            selector=selector,
        )
    )
    if sizing.hpa is not None:
        children.append(
            render_template(
                "documentsource/horizontalpodautoscaler.yaml.j2",
                api_version="autoscaling/v2",
                kind="HorizontalPodAutoscaler",
                metadata=meta(name),
                deployment=name,
                min_replicas=sizing.hpa[0],
                max_replicas=sizing.hpa[1],
                target_cpu=int(spec["connector"]["autoscaling"]["targetCPUUtilizationPercentage"]),
            )
        )
    if sizing.pdb:
        children.append(
            render_template(
                "documentsource/poddisruptionbudget.yaml.j2",
                api_version="policy/v1",
                kind="PodDisruptionBudget",
                metadata=meta(name),
                selector=selector,
            )
        )
    if config.monitoring.prometheusOperator:
        children.append(
            render_template(
                "documentsource/servicemonitor.yaml.j2",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=meta(name),
                selector=selector,
            )
        )
    return children


def endpoint(source: Manifest, tenant: Manifest) -> str:
    """The in-cluster URL of the source's Service (the ``status.endpoint`` of API.md)."""
    namespace = source["metadata"].get("namespace") or tenant_namespace(tenant)
    return f"http://{source['metadata']['name']}.{namespace}.svc.cluster.local"
