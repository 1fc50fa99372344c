"""The platform configuration (``kind: PlatformConfig``): one YAML document, not a CRD.

Every key is optional; the defaults are those of API.md (docs/api.md, "Platform configuration",
lists every key). Unknown keys are refused so that a typo in a platform setting never silently
falls back to a default. ``platform`` picks the defaults of a flavor of Kubernetes (kubernetes or
openshift, see :func:`platform_defaults`); every key given overrides one of them.
"""

import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args, get_origin, get_type_hints

import yaml

from greenshift.constants import API_VERSION
from greenshift.naming import is_dns_label

GatewayFlavor = Literal["ingress", "gateway-api", "openshift-route"]
StyleGuideMode = Literal["enforce", "warn", "off"]
Platform = Literal["kubernetes", "openshift"]


class ConfigError(ValueError):
    """A platform configuration that cannot be used; the message names the key."""


@dataclass(frozen=True)
class ParentRef:
    name: str = "wallet-gateway"
    namespace: str = "greenshift-gateway"


GatewayMetricsPreset = Literal["ingress-nginx", "envoy-gateway"]
DurationUnit = Literal["seconds", "milliseconds"]


@dataclass(frozen=True)
class GatewayMetrics:
    """Where the analytics rules find the gateway's traffic (docs/analytics.md).

    ``preset`` picks the defaults of a gateway; any other key overrides one of them.
    ``namespacePattern`` is a regular expression with ``{namespace}`` standing for the
    tenant namespace, matched against ``namespaceLabel``; ``routePattern`` has one capture
    group that extracts the GatewayRoute's name from ``routeLabel``.
    """

    preset: GatewayMetricsPreset = "ingress-nginx"
    requests: str = "nginx_ingress_controller_requests"
    durationBucket: str = "nginx_ingress_controller_request_duration_seconds_bucket"
    durationUnit: DurationUnit = "seconds"
    namespaceLabel: str = "exported_namespace"
    namespacePattern: str = "{namespace}"
    routeLabel: str = "ingress"
    routePattern: str = "(.+)"
    statusLabel: str = "status"
    callerLabel: str = ""
    """The label that names the caller (a client or consumer id), when the gateway's request
    counter carries one; empty: it does not, and the catalog shows no top callers."""


GATEWAY_METRICS_PRESETS: dict[str, GatewayMetrics] = {
    "ingress-nginx": GatewayMetrics(),
    # Envoy Gateway's proxies export Envoy's cluster statistics; each HTTPRoute rule is a
    # cluster named httproute/<namespace>/<name>/rule/<index>, and times are in milliseconds.
    "envoy-gateway": GatewayMetrics(
        preset="envoy-gateway",
        requests="envoy_cluster_upstream_rq",
        durationBucket="envoy_cluster_upstream_rq_time_bucket",
        durationUnit="milliseconds",
        namespaceLabel="envoy_cluster_name",
        namespacePattern="httproute/{namespace}/.+",
        routeLabel="envoy_cluster_name",
        routePattern="httproute/[^/]+/([^/]+)/.+",
        statusLabel="envoy_response_code",
    ),
}


@dataclass(frozen=True)
class Gateway:
    flavor: GatewayFlavor = "ingress"
    ingressClassName: str = "nginx"
    namespace: str = "greenshift-gateway"
    parentRef: ParentRef = field(default_factory=ParentRef)
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)


@dataclass(frozen=True)
class Images:
    certifiedRegistries: tuple[str, ...] = ("registry.greenshift.local/certified/",)


@dataclass(frozen=True)
class Storage:
    defaultStorageClass: str = ""


@dataclass(frozen=True)
class Monitoring:
    prometheusOperator: bool = False
    namespaceSelector: dict[str, str] = field(default_factory=dict)
    """Labels of the namespaces whose Prometheus scrapes the connectors: with ``prometheusOperator``
    and a non-empty selector, each tenant admits them on the connectors' port (``allow-from-monitoring``)."""
    prometheusURL: str = ""
    """The Prometheus HTTP API the catalog reads its analytics from (``greenshift run
    --prometheus-url`` overrides it); empty: no analytics in the catalog (docs/catalog.md)."""
    prometheusTokenFile: str = ""
    """A file holding the bearer token sent to that Prometheus, read at every query; empty: none."""
    prometheusCAFile: str = ""
    """PEM certificates an https Prometheus's certificate must chain to; empty: the system's."""


@dataclass(frozen=True)
class Dns:
    """The cluster DNS the tenants' pods may reach (the ``allow-dns`` NetworkPolicy)."""

    namespace: str = "kube-system"
    podSelector: dict[str, str] = field(default_factory=lambda: {"k8s-app": "kube-dns"})
    ports: tuple[int, ...] = (53,)
    """Each port is allowed over UDP and TCP."""


LoggingFlavor = Literal["none", "openshift-logging"]
LogOutputType = Literal["lokiStack", "http", "syslog"]
TLSProfile = Literal["Intermediate", "Modern"]
SyslogRFC = Literal["RFC5424", "RFC3164"]


@dataclass(frozen=True)
class LokiStackRef:
    name: str = "logging-loki"
    namespace: str = "openshift-logging"


@dataclass(frozen=True)
class LogTLS:
    """How the tenants' forwarder checks the central store (docs/logging.md)."""

    caBundle: str = ""
    """PEM certificates the store's certificate must chain to; empty: the forwarder's default
    trust (the cluster's service CA for a LokiStack). Copied into the logging namespace as the
    ConfigMap ``greenshift-logging-ca``."""
    securityProfile: TLSProfile = "Intermediate"


@dataclass(frozen=True)
class LogOutput:
    """The platform's central log store: a LokiStack, or an HTTP or syslog endpoint over TLS."""

    type: LogOutputType = "lokiStack"
    lokiStack: LokiStackRef = field(default_factory=LokiStackRef)
    url: str = ""
    """``https://`` for ``http``, ``tls://`` for ``syslog``; unused for ``lokiStack``."""
    syslogRFC: SyslogRFC = "RFC5424"
    tls: LogTLS = field(default_factory=LogTLS)


@dataclass(frozen=True)
class Logging:
    """Centralized logging of the tenants' application logs (docs/logging.md)."""

    flavor: LoggingFlavor = "none"
    """``openshift-logging``: one ClusterLogForwarder (OpenShift Logging 6) in ``namespace``, with a
    pipeline per tenant for that tenant's namespace's application logs; ``none``: nothing is written."""
    namespace: str = "openshift-logging"
    """The platform's logging namespace: the forwarder, its collector and the CA ConfigMap live
    there; no tenant may have it, and tenants have no rights in it."""
    output: LogOutput = field(default_factory=LogOutput)


IssuerKind = Literal["Issuer", "ClusterIssuer"]


@dataclass(frozen=True)
class IssuerRef:
    """A cert-manager issuer routes may name in ``tls.issuerRef`` (``certificates.allowedIssuers``)."""

    kind: IssuerKind = "ClusterIssuer"
    name: str = ""


@dataclass(frozen=True)
class Certificates:
    certManager: bool = False
    allowedIssuers: tuple[IssuerRef, ...] = ()
    """The issuers a GatewayRoute's ``tls.issuerRef`` may name (issue 16, item 8). A ClusterIssuer
    only when listed; an Issuer (always the route's own namespace's) any, until an Issuer is listed,
    then only those listed (``validation.rules.check_issuer_allowed``)."""


@dataclass(frozen=True)
class Tier:
    minReplicas: int = 1
    podAntiAffinity: bool = False
    # The tenant quota and LimitRange beyond the WalletTenant's own quota (docs/api.md; issue 16).
    cpuLimitsFactor: int = 10
    """limits.cpu of the quota: this many times the tenant's quota.cpu (requests)."""
    memoryLimitsFactor: int = 2
    """limits.memory of the quota: this many times the tenant's quota.memory (requests)."""
    ephemeralStorage: str = "20Gi"
    """requests.ephemeral-storage and limits.ephemeral-storage of the quota."""
    containerMaxCpu: str = "2"
    """The LimitRange's max cpu per container."""
    containerMaxMemory: str = "4Gi"
    """The LimitRange's max memory per container."""
    configMaps: int = 20
    """ConfigMaps the tenant may have besides one per DocumentSource (kube-root-ca.crt included)."""
    secrets: int = 20
    """Secrets the tenant may have besides one per GatewayRoute (its TLS Secret)."""
    services: int = 10
    """Services the tenant may have besides one per DocumentSource."""
    forbiddenResources: tuple[str, ...] = (
        "nvidia.com/gpu",
        "amd.com/gpu",
        "gpu.intel.com/i915",
        "hugepages-2Mi",
        "hugepages-1Gi",
    )
    """Extended resources (and huge pages) the quota holds at 0: ``requests.<name>: 0``."""


def _default_tiers() -> dict[str, Tier]:
    return {
        "standard": Tier(minReplicas=1),
        "critical": Tier(minReplicas=2, podAntiAffinity=True, containerMaxCpu="4", containerMaxMemory="8Gi"),
    }


@dataclass(frozen=True)
class PlatformConfig:
    platform: Platform = "kubernetes"
    gateway: Gateway = field(default_factory=Gateway)
    images: Images = field(default_factory=Images)
    storage: Storage = field(default_factory=Storage)
    monitoring: Monitoring = field(default_factory=Monitoring)
    certificates: Certificates = field(default_factory=Certificates)
    styleGuide: StyleGuideMode = "warn"
    tiers: dict[str, Tier] = field(default_factory=_default_tiers)
    dns: Dns = field(default_factory=Dns)
    logging: Logging = field(default_factory=Logging)

    def tier(self, name: str) -> Tier:
        return self.tiers.get(name, Tier())

    @property
    def openshift(self) -> bool:
        return self.platform == "openshift"


# OpenShift's DNS operator runs CoreDNS as the DaemonSet dns-default in openshift-dns, listening
# on 5353 (the Service dns-default maps 53 to it; a NetworkPolicy sees the pod's port). The
# router runs in openshift-ingress; user-workload monitoring's Prometheus in
# openshift-user-workload-monitoring, which carries the policy-group label below.
OPENSHIFT_DNS = Dns(
    namespace="openshift-dns",
    podSelector={"dns.operator.openshift.io/daemonset-dns": "default"},
    ports=(5353, 53),
)
OPENSHIFT_GATEWAY_NAMESPACE = "openshift-ingress"
OPENSHIFT_INGRESS_POLICY_GROUP = {"network.openshift.io/policy-group": "ingress"}
OPENSHIFT_MONITORING_POLICY_GROUP = {"network.openshift.io/policy-group": "monitoring"}


def platform_defaults(platform: Platform) -> PlatformConfig:
    """The configuration of a platform with no other key given."""
    if platform == "kubernetes":
        return PlatformConfig()
    return PlatformConfig(
        platform="openshift",
        gateway=Gateway(namespace=OPENSHIFT_GATEWAY_NAMESPACE),
        monitoring=Monitoring(namespaceSelector=dict(OPENSHIFT_MONITORING_POLICY_GROUP)),
        dns=replace(OPENSHIFT_DNS, podSelector=dict(OPENSHIFT_DNS.podSelector)),
    )


def is_platform_config(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "PlatformConfig"


def parse_platform_config(doc: dict[str, Any]) -> PlatformConfig:
    """Build a PlatformConfig from a parsed document, checking every key and type."""
    if doc.get("apiVersion", API_VERSION) != API_VERSION:
        raise ConfigError(f"apiVersion: must be {API_VERSION}, got {doc.get('apiVersion')!r}")
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    platform = _convert(Platform, body.get("platform", "kubernetes"), "platform")
    return _build(PlatformConfig, body, "", base=platform_defaults(platform))


def load_platform_config(path: str | Path | None) -> PlatformConfig:
    """Read the platform configuration file; ``None`` gives the defaults."""
    if path is None:
        return PlatformConfig()
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the platform configuration: {exc}") from None
    if doc is None:
        return PlatformConfig()
    if not is_platform_config(doc):
        raise ConfigError(f"{path}: not a document of kind PlatformConfig")
    try:
        return parse_platform_config(doc)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


T = TypeVar("T")


def _build(cls: type[T], value: Any, where: str, base: T | None = None) -> T:
    """``cls`` from a mapping; keys not given come from ``base`` (else the class's defaults)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where or 'document'}: must be a mapping")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cast(Any, cls))}
    unknown = sorted(set(value) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise ConfigError(f"{_join(where, unknown[0])}: unknown key (allowed: {allowed})")
    kwargs = {
        key: _convert(hints[key], item, _join(where, key), getattr(base, key, None))
        for key, item in value.items()
    }
    _check_values(cls, kwargs, where)
    return replace(cast(Any, base), **kwargs) if base is not None else cls(**kwargs)


def _convert(hint: Any, value: Any, where: str, base: Any = None) -> Any:
    origin = get_origin(hint)
    if hint is GatewayMetrics:
        return _build_gateway_metrics(value, where)
    if is_dataclass(hint):
        return _build(cast(type[Any], hint), value, where, base)
    if origin is Literal:
        options = get_args(hint)
        if value not in options:
            raise ConfigError(f"{where}: must be one of {', '.join(options)}, got {value!r}")
        return value
    if origin is tuple:
        item = get_args(hint)[0]
        if item is IssuerRef:
            return _issuer_refs(value, where)
        if item is int:
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                raise ConfigError(f"{where}: must be a list of integers")
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: must be a list of strings")
        return tuple(value)
    if hint == dict[str, str]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{where}: must be a mapping of label names to string values")
        for key, label in value.items():
            _check_label(key, label, _join(where, key))
        return dict(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: must be a mapping")
        defaults = _default_tiers()
        return {
            str(k): _merge_tier(defaults.get(str(k)), v, _join(where, str(k))) for k, v in value.items()
        } | {k: t for k, t in defaults.items() if k not in value}
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false")
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where}: must be an integer")
    if hint is str and not isinstance(value, str):
        raise ConfigError(f"{where}: must be a string")
    return value


TENANT_NAMESPACE_PREFIX = "wallet-"
"""The namespace of a tenant without ``spec.namespace`` is ``wallet-<name>`` (``naming.tenant_namespace``)."""
HTTP_URL = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _check_label(key: str, value: str, where: str) -> None:
    """A Kubernetes label (``[prefix/]name`` and a value), as a selector needs it."""
    prefix, _, name = key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix))) or not _LABEL_NAME.match(name):
        raise ConfigError(f"{where}: not a Kubernetes label name")
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ConfigError(f"{where}: {value!r} is not a Kubernetes label value")


def _check_values(cls: type[Any], values: dict[str, Any], where: str) -> None:
    """The rules a type cannot say: a namespace is a DNS label, a port is 1..65535."""
    namespace = values.get("namespace")
    if cls in (Gateway, ParentRef, Dns) and namespace is not None and not is_dns_label(namespace):
        raise ConfigError(f"{_join(where, 'namespace')}: must be a DNS-1123 label (a namespace name)")
    if cls is Monitoring and values.get("prometheusURL") and not HTTP_URL.match(values["prometheusURL"]):
        raise ConfigError(f"{_join(where, 'prometheusURL')}: must be an http:// or https:// URL")
    if cls is LokiStackRef:
        for key in ("name", "namespace"):
            if key in values and not is_dns_label(values[key]):
                raise ConfigError(f"{_join(where, key)}: must be a DNS-1123 label")
    if cls is Logging and "namespace" in values:
        logging_namespace = values["namespace"]
        if not is_dns_label(logging_namespace):
            raise ConfigError(f"{_join(where, 'namespace')}: must be a DNS-1123 label (a namespace name)")
        if logging_namespace.startswith(TENANT_NAMESPACE_PREFIX):
            raise ConfigError(
                f"{_join(where, 'namespace')}: {logging_namespace} is a tenant's namespace "
                f"({TENANT_NAMESPACE_PREFIX}<tenant>): the collector must run where no tenant has rights"
            )
    if cls is LogTLS and values.get("caBundle") and "-----BEGIN CERTIFICATE-----" not in values["caBundle"]:
        raise ConfigError(
            f"{_join(where, 'caBundle')}: must be PEM certificates (-----BEGIN CERTIFICATE-----)"
        )
    if cls is LogOutput:
        kind = values.get("type", "lokiStack")
        url = values.get("url", "")
        scheme = {"http": "https://", "syslog": "tls://"}.get(kind)
        if scheme is None and url:
            raise ConfigError(
                f"{_join(where, 'url')}: not used with type lokiStack (its lokiStack names the store)"
            )
        if scheme is not None and not (
            url.startswith(scheme) and HTTP_URL.match("https://" + url[len(scheme) :])
        ):
            raise ConfigError(
                f"{_join(where, 'url')}: type {kind} needs a {scheme} URL "
                "(the platform's logs travel over TLS)"
            )
    if cls is Dns:
        ports = values.get("ports")
        if ports is not None and (not ports or any(not 1 <= p <= 65535 for p in ports)):
            raise ConfigError(f"{_join(where, 'ports')}: must be a non-empty list of ports 1..65535")
    if cls is Tier:
        for key in _TIER_QUANTITIES:
            if key in values and not _QUANTITY.match(values[key]):
                raise ConfigError(
                    f"{_join(where, key)}: must be a Kubernetes quantity such as 2, 500m or 4Gi"
                )
        for key in _TIER_COUNTS:
            if key in values and values[key] < (1 if key.endswith("Factor") else 0):
                raise ConfigError(
                    f"{_join(where, key)}: must not be below {1 if key.endswith('Factor') else 0}"
                )
        for name in values.get("forbiddenResources", ()):
            if not _RESOURCE_NAME.match(name) or name in ("cpu", "memory", "ephemeral-storage", "storage"):
                raise ConfigError(
                    f"{_join(where, 'forbiddenResources')}: {name!r} is not an extended resource name "
                    "(such as nvidia.com/gpu or hugepages-2Mi)"
                )


_TIER_QUANTITIES = ("ephemeralStorage", "containerMaxCpu", "containerMaxMemory")
_TIER_COUNTS = ("cpuLimitsFactor", "memoryLimitsFactor", "configMaps", "secrets", "services")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_RESOURCE_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _issuer_refs(value: Any, where: str) -> tuple[IssuerRef, ...]:
    """A list of ``{kind: Issuer|ClusterIssuer, name}``, both keys required."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of {{kind: Issuer|ClusterIssuer, name}}")
    refs = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if isinstance(item, dict) and not {"kind", "name"} <= set(item):
            raise ConfigError(f"{at}: must give both kind (Issuer or ClusterIssuer) and name")
        ref = _build(IssuerRef, item, at)
        if len(ref.name) > 253 or not _DNS_SUBDOMAIN.match(ref.name):
            raise ConfigError(f"{at}.name: must be the name of an issuer (a DNS-1123 subdomain)")
        refs.append(ref)
    return tuple(refs)


def _build_gateway_metrics(value: Any, where: str) -> GatewayMetrics:
    """The preset's names, with the keys given overriding them one by one."""
    given = _build(GatewayMetrics, value, where)
    base = GATEWAY_METRICS_PRESETS[given.preset]
    keys = {f.name for f in fields(GatewayMetrics)} & set(value) - {"preset"}
    metrics = replace(base, **{key: getattr(given, key) for key in keys})
    for key in ("namespacePattern", "routePattern"):
        pattern = getattr(metrics, key)
        try:
            compiled = re.compile(pattern.replace("{namespace}", "ns"))
        except re.error as exc:
            raise ConfigError(f"{_join(where, key)}: not a regular expression: {exc}") from None
        if key == "routePattern" and compiled.groups != 1:
            raise ConfigError(f"{_join(where, key)}: must have exactly one capture group")
    if "{namespace}" not in metrics.namespacePattern:
        raise ConfigError(f"{_join(where, 'namespacePattern')}: must contain {{namespace}}")
    return metrics


def _merge_tier(base: Tier | None, value: Any, where: str) -> Tier:
    if isinstance(value, dict):  # a quantity written as a number (containerMaxCpu: 2) is its text
        value = {
            k: str(v)
            if k in _TIER_QUANTITIES and isinstance(v, int | float) and not isinstance(v, bool)
            else v
            for k, v in value.items()
        }
    tier = _build(Tier, value, where)
    if base is None:
        return tier
    given = value if isinstance(value, dict) else {}
    return replace(base, **{f.name: getattr(tier, f.name) for f in fields(Tier) if f.name in given})


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
