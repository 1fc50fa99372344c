"""Centralized logging: one shared forwarder for every tenant (OpenShift Logging 6; docs/logging.md).

With ``logging.flavor: openshift-logging`` the operator keeps, in the platform's logging namespace
(``logging.namespace``), one ClusterLogForwarder ``greenshift-tenants``
(``observability.openshift.io/v1``), rendered here from the list of tenants:

- ``serviceAccount: greenshift-log-collector``, which the platform team installs with
  ``greenshift install`` (deploy/logging/): bound cluster-wide to ``collect-application-logs``
  (and, for a LokiStack, ``logging-collector-logs-writer``), as Red Hat's documentation binds it;
- per tenant, sorted by name: an input ``tenant-<name>`` (type application, that tenant's
  namespace only), a filter ``labels-<name>`` (the labels ``tenant``, ``agency`` and ``tier`` on
  every record) and a pipeline ``tenant-<name>`` from the input through the filter to the output;
- one output ``central-store``: the platform's store, with the TLS settings;
- with ``logging.output.tls.caBundle``, the ConfigMap ``greenshift-logging-ca`` beside it (the CA
  the output checks the store with).

One forwarder means one collector DaemonSet for all tenants, in a namespace of the platform's
(the collector needs host paths, which the tenants' Pod Security ``restricted`` refuses). No
tenant: nothing (the CRD needs at least one pipeline), so the operator deletes the forwarder.
Suspension changes nothing here: a suspended tenant's pipeline stays (its pods are gone; it
ships whatever still runs, and is ready when the tenant resumes).
"""

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from greenshift.config import LogOutput, PlatformConfig
from greenshift.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from greenshift.naming import tenant_namespace
from greenshift.render.common import (
    COMPONENT_LABEL,
    INSTANCE_LABEL,
    NAME_LABEL,
    PART_OF_LABEL,
    Manifest,
    metadata,
    render_template,
)

FORWARDER_KIND = "ClusterLogForwarder"
FORWARDER_API_VERSION = "observability.openshift.io/v1"
FORWARDER_NAME = "greenshift-tenants"
SERVICE_ACCOUNT = "greenshift-log-collector"
"""The collector's ServiceAccount in the logging namespace: the platform team's (deploy/logging/)."""
COLLECT_ROLE = "collect-application-logs"
"""The ClusterRole the logging operator ships for collecting application logs."""
WRITER_ROLE = "logging-collector-logs-writer"
"""The ClusterRole the LokiStack gateway checks before it accepts the collector's writes."""
CA_CONFIGMAP = "greenshift-logging-ca"
CA_KEY = "ca-bundle.crt"
OUTPUT_NAME = "central-store"
INPUT_PREFIX = "tenant-"
FILTER_PREFIX = "labels-"
PIPELINE_PREFIX = "tenant-"
TIER_LABEL_KEY = "openshift.labels.tier"
"""A LokiStack stream label (low cardinality: one per tier), so retention can differ by tier."""
SYSLOG_APP_NAME = '{.openshift.labels.tenant||"greenshift"}'
"""The syslog APP-NAME: the record's tenant (a template of the forwarder; the fallback never applies)."""

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True, order=True)
class LoggedTenant:
    """What the forwarder needs of one tenant."""

    name: str
    agency: str
    tier: str
    namespace: str


def logged_tenant(tenant: Mapping[str, Any]) -> LoggedTenant:
    """The facts of a WalletTenant (as the API server holds it, with its defaults) the forwarder uses."""
    spec = tenant.get("spec") or {}
    return LoggedTenant(
        name=str(tenant["metadata"]["name"]),
        agency=str(spec.get("agency", "")),
        tier=str(spec.get("tier") or "standard"),
        namespace=tenant_namespace(tenant),
    )


def entry_suffix(name: str) -> str:
    """What follows the prefixes in a tenant's input, filter and pipeline names.

    The CRD wants ``^[a-z][a-z0-9-]*[a-z0-9]$`` (no length limit): a tenant name that is a DNS
    label (every tenant without ``spec.namespace``) is used as it is, after a prefix that starts
    with a letter. A name with dots (a DNS subdomain, allowed with ``spec.namespace``) has them
    turned into ``-`` and its hash appended, so that ``a.b`` and ``a-b`` stay apart.
    """
    if _DNS_LABEL.match(name):
        return name
    return f"{name.replace('.', '-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def forwarder_entries(tenants: Iterable[LoggedTenant]) -> list[tuple[str, LoggedTenant]]:
    """(suffix, tenant) for each tenant, sorted by tenant name; a tenant whose suffix an earlier
    one already has (only a name made to collide with another's hashed name can) is left out."""
    entries: dict[str, LoggedTenant] = {}
    for tenant in sorted(set(tenants)):
        entries.setdefault(entry_suffix(tenant.name), tenant)
    return list(entries.items())


def output_spec(output: LogOutput) -> dict[str, Any]:
    """The one output: the platform's central store, over TLS."""
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
            "appName": SYSLOG_APP_NAME,
            "enrichment": "KubernetesMinimal",
        }
    return store


def forwarder_spec(tenants: Iterable[LoggedTenant], output: LogOutput) -> dict[str, Any]:
    """The shared ClusterLogForwarder's spec (pure): three entries per tenant, sorted by name."""
    entries = forwarder_entries(tenants)
    return {
        "managementState": "Managed",
        "serviceAccount": {"name": SERVICE_ACCOUNT},
        "inputs": [
            {
                "name": INPUT_PREFIX + suffix,
                "type": "application",
                "application": {"includes": [{"namespace": tenant.namespace}]},
            }
            for suffix, tenant in entries
        ],
        "filters": [
            {
                "name": FILTER_PREFIX + suffix,
                "type": "openshiftLabels",
                "openshiftLabels": {"tenant": tenant.name, "agency": tenant.agency, "tier": tenant.tier},
            }
            for suffix, tenant in entries
        ],
        "outputs": [output_spec(output)],
        "pipelines": [
            {
                "name": PIPELINE_PREFIX + suffix,
                "inputRefs": [INPUT_PREFIX + suffix],
                "filterRefs": [FILTER_PREFIX + suffix],
                "outputRefs": [OUTPUT_NAME],
            }
            for suffix, _ in entries
        ],
    }


def forwarder_labels() -> dict[str, str]:
    """Managed by the operator, part of Greenshift; no tenant's (it is every tenant's)."""
    return {
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        NAME_LABEL: "greenshift-logging",
        INSTANCE_LABEL: FORWARDER_NAME,
        COMPONENT_LABEL: "logging",
        PART_OF_LABEL: "greenshift",
    }


def render_log_forwarder(tenants: Iterable[LoggedTenant], config: PlatformConfig) -> list[Manifest]:
    """The shared forwarder and its CA ConfigMap, in apply order (pure); none unless
    ``logging.flavor`` is openshift-logging and there is at least one tenant."""
    logging = config.logging
    tenants = list(tenants)
    if logging.flavor != "openshift-logging" or not tenants:
        return []

    def meta(name: str) -> dict[str, Any]:
        return metadata(name, namespace=logging.namespace, labels=forwarder_labels())

    children = []
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
    children.append(
        render_template(
            "logging/clusterlogforwarder.yaml.j2",
            api_version=FORWARDER_API_VERSION,
            kind=FORWARDER_KIND,
            metadata=meta(FORWARDER_NAME),
            spec=forwarder_spec(tenants, logging.output),
        )
    )
    return children
