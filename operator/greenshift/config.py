"""The platform configuration (``kind: PlatformConfig``): one YAML document, not a CRD.

Every key is optional; the defaults are those of API.md. Unknown keys are refused so that
a typo in a platform setting never silently falls back to a default.
"""

from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast, get_args, get_origin, get_type_hints

import yaml

from greenshift.constants import API_VERSION

GatewayFlavor = Literal["ingress", "gateway-api", "openshift-route"]
StyleGuideMode = Literal["enforce", "warn", "off"]


class ConfigError(ValueError):
    """A platform configuration that cannot be used; the message names the key."""


@dataclass(frozen=True)
class ParentRef:
    name: str = "wallet-gateway"
    namespace: str = "greenshift-gateway"


@dataclass(frozen=True)
class GatewayMetrics:
    """Names of the gateway's Prometheus series, used by the analytics rules."""

    requests: str = "nginx_ingress_controller_requests"
    duration_bucket: str = "nginx_ingress_controller_request_duration_seconds_bucket"
    host_label: str = "host"
    path_label: str = "path"
    namespace_label: str = "exported_namespace"
    status_label: str = "status"


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


@dataclass(frozen=True)
class Certificates:
    certManager: bool = False


@dataclass(frozen=True)
class Tier:
    minReplicas: int = 1
    podAntiAffinity: bool = False


def _default_tiers() -> dict[str, Tier]:
    return {"standard": Tier(minReplicas=1), "critical": Tier(minReplicas=2, podAntiAffinity=True)}


@dataclass(frozen=True)
class PlatformConfig:
    gateway: Gateway = field(default_factory=Gateway)
    images: Images = field(default_factory=Images)
    storage: Storage = field(default_factory=Storage)
    monitoring: Monitoring = field(default_factory=Monitoring)
    certificates: Certificates = field(default_factory=Certificates)
    styleGuide: StyleGuideMode = "warn"
    tiers: dict[str, Tier] = field(default_factory=_default_tiers)

    def tier(self, name: str) -> Tier:
        return self.tiers.get(name, Tier())


def is_platform_config(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("kind") == "PlatformConfig"


def parse_platform_config(doc: dict[str, Any]) -> PlatformConfig:
    """Build a PlatformConfig from a parsed document, checking every key and type."""
    if doc.get("apiVersion", API_VERSION) != API_VERSION:
        raise ConfigError(f"apiVersion: must be {API_VERSION}, got {doc.get('apiVersion')!r}")
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    return _build(PlatformConfig, body, "")


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


def _build(cls: type[T], value: Any, where: str) -> T:
    if not isinstance(value, dict):
        raise ConfigError(f"{where or 'document'}: must be a mapping")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cast(Any, cls))}
    unknown = sorted(set(value) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise ConfigError(f"{_join(where, unknown[0])}: unknown key (allowed: {allowed})")
    kwargs = {key: _convert(hints[key], item, _join(where, key)) for key, item in value.items()}
    return cls(**kwargs)


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if is_dataclass(hint):
        return _build(cast(type[Any], hint), value, where)
    if origin is Literal:
        options = get_args(hint)
        if value not in options:
            raise ConfigError(f"{where}: must be one of {', '.join(options)}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: must be a list of strings")
        return tuple(value)
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


def _merge_tier(base: Tier | None, value: Any, where: str) -> Tier:
    tier = _build(Tier, value, where)
    if base is None:
        return tier
    given = value if isinstance(value, dict) else {}
    return Tier(
        minReplicas=tier.minReplicas if "minReplicas" in given else base.minReplicas,
        podAntiAffinity=tier.podAntiAffinity if "podAntiAffinity" in given else base.podAntiAffinity,
    )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
