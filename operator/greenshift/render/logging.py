"""Centralized logging per tenant (OpenShift Logging 6; docs/logging.md).

With ``logging.flavor: openshift-logging``, each WalletTenant gets in its namespace:

- ServiceAccount ``greenshift-log-collector`` (no token mounted in any pod);
- RoleBinding ``greenshift-log-collector``: that account to the logging operator's ClusterRole
  ``collect-application-logs``, in the tenant's namespace only (a RoleBinding: nothing
  cluster-wide);
- ConfigMap ``greenshift-logging-ca`` (only with ``logging.output.tls.caBundle``): the CA the
  forwarder checks the central store with;
- ClusterLogForwarder ``greenshift-logs`` (``observability.openshift.io/v1``, namespaced): one
  application input restricted to the tenant's namespace, a filter that adds the labels
  ``tenant``, ``agency`` and ``tier`` to every record, and one output: the platform's store.

``none`` (the default) renders nothing. Suspension changes nothing here: a suspended tenant's
pods are gone, its forwarder stays (it ships whatever still runs, and is ready when resumed).
"""

from typing import Any

from greenshift.config import LogOutput, PlatformConfig
from greenshift.naming import tenant_namespace
from greenshift.render.common import Manifest, labels, metadata, render_template

FORWARDER_NAME = "greenshift-logs"
SERVICE_ACCOUNT = "greenshift-log-collector"
BINDING_NAME = "greenshift-log-collector"
COLLECT_ROLE = "collect-application-logs"
"""The ClusterRole the logging operator ships for collecting application logs."""
CA_CONFIGMAP = "greenshift-logging-ca"
CA_KEY = "ca-bundle.crt"
INPUT_NAME = "tenant-application"
FILTER_NAME = "tenant-labels"
OUTPUT_NAME = "central-store"
PIPELINE_NAME = "tenant-to-central-store"
TIER_LABEL_KEY = "openshift.labels.tier"
"""A LokiStack stream label (low cardinality: one per tier), so retention can differ by tier."""


def forwarder_spec(tenant: str, agency: str, tier: str, namespace: str, output: LogOutput) -> dict[str, Any]:
    """The ClusterLogForwarder's spec for one tenant (pure)."""
    tls: dict[str, Any] = {"securityProfile": {"type": output.tls.securityProfile}}
    if output.tls.caBundle:
        tls["ca"] = {"configMapName": CA_CONFIGMAP, "key": CA_KEY}
    store: dict[str, Any] = {"name": OUTPUT_NAME, "type": output.type, "tls": tls}
    if output.type == "lokiStack":
        store["lokiStack"] = {
            "target": {"name": output.lokiStack.name, "namespace": output.lokiStack.namespace},
            "authentication": {"token": {"from": "serviceAccount"}},
            "labelKeys": {"application": {"labelKeys": [TIER_LABEL_KEY]}},
        }
    elif output.type == "http":
        store["http"] = {"url": output.url, "format": "json", "method": "POST"}
    else:
        store["syslog"] = {
            "url": output.url,
            "rfc": output.syslogRFC,
            "appName": tenant,
            "enrichment": "KubernetesMinimal",
        }
    return {
        "managementState": "Managed",
        "serviceAccount": {"name": SERVICE_ACCOUNT},
        "inputs": [
            {
                "name": INPUT_NAME,
                "type": "application",
                "application": {"includes": [{"namespace": namespace}]},
            }
        ],
        "filters": [
            {
                "name": FILTER_NAME,
                "type": "openshiftLabels",
                "openshiftLabels": {"tenant": tenant, "agency": agency, "tier": tier},
            }
        ],
        "outputs": [store],
        "pipelines": [
            {
                "name": PIPELINE_NAME,
                "inputRefs": [INPUT_NAME],
                "filterRefs": [FILTER_NAME],
                "outputRefs": [OUTPUT_NAME],
            }
        ],
    }


def render_tenant_logging(tenant: Manifest, config: PlatformConfig) -> list[Manifest]:
    """The tenant's logging children in apply order; none unless ``logging.flavor`` is openshift-logging.

    ``tenant`` has its CRD defaults filled in (as in ``render_tenant``).
    """
    logging = config.logging
    if logging.flavor != "openshift-logging":
        return []
    name = str(tenant["metadata"]["name"])
    spec = tenant["spec"]
    namespace = tenant_namespace(tenant)

    def meta(child: str) -> dict[str, Any]:
        child_labels = labels(tenant, name="greenshift-tenant", instance=name, component="logging")
        return metadata(child, namespace=namespace, labels=child_labels, owner=tenant)

    children = [
        render_template(
            "logging/serviceaccount.yaml.j2",
            api_version="v1",
            kind="ServiceAccount",
            metadata=meta(SERVICE_ACCOUNT),
        ),
        render_template(
            "logging/rolebinding.yaml.j2",
            api_version="rbac.authorization.k8s.io/v1",
            kind="RoleBinding",
            metadata=meta(BINDING_NAME),
            cluster_role=COLLECT_ROLE,
            service_account=SERVICE_ACCOUNT,
        ),
    ]
    if logging.output.tls.caBundle:
        children.append(
            render_template(
                "logging/configmap.yaml.j2",
                api_version="v1",
                kind="ConfigMap",
                metadata=meta(CA_CONFIGMAP),
                data={CA_KEY: logging.output.tls.caBundle},
            )
        )
    forwarder = forwarder_spec(name, str(spec["agency"]), str(spec["tier"]), namespace, logging.output)
    children.append(
        render_template(
            "logging/clusterlogforwarder.yaml.j2",
            api_version="observability.openshift.io/v1",
            kind="ClusterLogForwarder",
            metadata=meta(FORWARDER_NAME),
            spec=forwarder,
        )
    )
    return children
