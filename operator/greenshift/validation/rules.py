"""The platform's semantic rules: pure functions over defaulted resources and the platform config.

The schema (``schema.py``) says what a resource may look like; these rules say what the
platform accepts. The operator (as condition reasons) and the admission webhook reuse them,
so every function here takes plain dicts, never touches the cluster, and tolerates hostile
input: a missing or mistyped field is reported or skipped, never raised.
"""

import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from greenshift.config import PlatformConfig, StyleGuideMode
from greenshift.naming import tenant_namespace
from greenshift.validation.problem import Problem, Severity

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_LOWER_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_MAJOR_VERSION = re.compile(r"^v[0-9]+$")
_MINOR_VERSION = re.compile(r"^v[0-9]+(\.[0-9]+)+$")
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]*$")
RESERVED_NAMESPACES = ("default", "openshift")
"""Namespaces no tenant may take, besides the prefixes below and the gateway's namespace."""
RESERVED_PREFIXES = ("kube-", "openshift-")


def _get(resource: Any, *keys: str) -> Any:
    """``resource[k1][k2]...`` or None when any step is missing or not a mapping."""
    value = resource
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def check_image(image: Any, config: PlatformConfig, field: str = "spec.connector.image") -> list[Problem]:
    """The image comes from a certified registry and is pinned (a tag other than latest, or a digest).

    A registry prefix without a trailing ``/`` still only matches at a path boundary, so
    ``registry.example`` never certifies ``registry.example.evil.com/x``.
    """
    registries = config.images.certifiedRegistries
    if not isinstance(image, str) or not image or any(c.isspace() for c in image):
        return [
            Problem(
                field, "must be a container image reference such as registry/repo:tag", "error", "InvalidSpec"
            )
        ]
    problems: list[Problem] = []
    if not any(_under_registry(image, prefix) for prefix in registries):
        allowed = ", ".join(registries) or "none configured"
        problems.append(
            Problem(
                field,
                f"image {image} is not from a certified registry (allowed: {allowed})",
                "error",
                "ImageNotCertified",
            )
        )
    if not _pinned(image):
        problems.append(
            Problem(
                field,
                f"image {image} is not pinned: use a tag other than latest (:1.4.2) "
                "or a digest (@sha256:...)",
                "error",
                "ImageNotPinned",
            )
        )
    return problems


def _under_registry(image: str, prefix: str) -> bool:
    if not prefix:
        return False
    if prefix.endswith("/"):
        return image.startswith(prefix)
    return image.startswith(prefix + "/")


def _pinned(image: str) -> bool:
    if "@" in image:
        return bool(_DIGEST.search(image))
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    return bool(_TAG.match(tag)) and tag.lower() != "latest"  # tags are case-sensitive: :LATEST floats too


def check_upstream_url(url: Any, field: str = "spec.upstream.url") -> list[Problem]:
    """An ``https://`` URL with a host, no credentials and no whitespace."""
    if not isinstance(url, str):
        return [Problem(field, "must be an https:// URL string", "error", "InvalidSpec")]
    if any(c.isspace() or ord(c) < 32 for c in url):
        return [
            Problem(
                field,
                "must be an https:// URL without whitespace or control characters",
                "error",
                "InvalidSpec",
            )
        ]
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return [
            Problem(field, f"{url!r} is not a valid URL; expected https://host/path", "error", "InvalidSpec")
        ]
    if parts.scheme.lower() != "https":
        return [
            Problem(
                field,
                f"must use https://, got {parts.scheme or 'no'} scheme: {url}",
                "error",
                "InsecureUpstream",
            )
        ]
    if not host:
        return [
            Problem(field, f"must name a host, as in https://host/path, got {url}", "error", "InvalidSpec")
        ]
    if parts.username is not None or parts.password is not None:
        return [
            Problem(
                field,
                "must be an https:// URL without credentials (user:password@); keep them in a Secret",
                "error",
                "InvalidSpec",
            )
        ]
    return []


def host_matches(host: str, pattern: str) -> bool:
    """Whether ``host`` is ``pattern`` or, for ``*.domain``, exactly one label under ``domain``."""
    host = host.lower().rstrip(".")
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        suffix = pattern[1:]
        label = host[: -len(suffix)] if host.endswith(suffix) else ""
        return bool(label) and "." not in label and "*" not in label
    return host == pattern


def patterns_overlap(a: str, b: str) -> bool:
    """Whether two allowedHosts entries admit a common host (exact names, or one-label wildcards)."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if a == b:
        return True
    wildcard_a, wildcard_b = a.startswith("*."), b.startswith("*.")
    if wildcard_a and not wildcard_b:
        return host_matches(b, a)
    if wildcard_b and not wildcard_a:
        return host_matches(a, b)
    return False


def check_hosts_shared(tenant: Mapping[str, Any], others: Iterable[Mapping[str, Any]]) -> list[Problem]:
    """Warnings, one per other tenant whose allowedHosts overlap this one's: both may publish routes
    on the shared hosts (the oldest route keeps each host and path, a nested path of another
    tenant's is a conflict), which the platform team should have meant."""
    name = _get(tenant, "metadata", "name")
    mine = [p for p in _get(tenant, "spec", "allowedHosts") or [] if isinstance(p, str)]
    problems = []
    seen = {name}
    for other in others:
        other_name = _get(other, "metadata", "name")
        if other_name in seen:
            continue
        seen.add(other_name)
        theirs = [p for p in _get(other, "spec", "allowedHosts") or [] if isinstance(p, str)]
        shared = sorted({f"{a} ~ {b}" for a in mine for b in theirs if patterns_overlap(a, b)})
        if shared:
            problems.append(
                Problem(
                    "spec.allowedHosts",
                    f"overlaps the allowedHosts of WalletTenant {other_name} ({', '.join(shared)}): both "
                    "agencies may publish routes there; the oldest route keeps each host and path",
                    "warning",
                    "HostsShared",
                )
            )
    return problems


def check_host_allowed(host: Any, allowed_hosts: Any, field: str = "spec.host") -> list[Problem]:
    """The route's host is one of the tenant's allowedHosts (exact, or a one-label wildcard)."""
    patterns = [p for p in allowed_hosts if isinstance(p, str)] if isinstance(allowed_hosts, list) else []
    if not isinstance(host, str) or not host:
        return [Problem(field, "must be a DNS name", "error", "InvalidSpec")]
    if any(host_matches(host, pattern) for pattern in patterns):
        return []
    if not patterns:
        message = f"host {host} is not allowed: the tenant's allowedHosts is empty, so it may claim no host"
    else:
        message = f"host {host} is not allowed for this tenant (allowedHosts: {', '.join(patterns)})"
    return [Problem(field, message, "error", "HostNotAllowed")]


def check_style_guide(
    path_prefix: Any, protocol: Any, mode: StyleGuideMode, field: str = "spec.pathPrefix"
) -> list[Problem]:
    """The belgif REST guide on a REST path: lowerCamelCase segments, no file extension, major version only.

    ``enforce`` makes violations errors, ``warn`` warnings, ``off`` skips the check; SOAP routes are exempt.
    """
    if mode == "off" or protocol == "SOAP" or not isinstance(path_prefix, str):
        return []
    severity: Severity = "error" if mode == "enforce" else "warning"
    problems: list[Problem] = []
    for segment in (s for s in path_prefix.split("/") if s):
        if _MINOR_VERSION.match(segment):
            major = segment.split(".", 1)[0]
            message = (
                f"segment {segment!r} carries a minor version: only the major version is allowed (/{major})"
            )
        elif _EXTENSION.search(segment):
            message = f"segment {segment!r} has a file extension: paths name resources, not files (drop it)"
        elif not _MAJOR_VERSION.match(segment) and not _LOWER_CAMEL.match(segment):
            message = f"segment {segment!r} is not lowerCamelCase (e.g. documentTypes, v2)"
        else:
            continue
        problems.append(Problem(field, f"{message} [belgif REST guide]", severity, "StyleGuideViolation"))
    return problems


def platform_namespaces(config: PlatformConfig) -> tuple[str, ...]:
    """The namespaces of the platform's own that the configuration names: the gateway's, and the
    logging namespace while the shared log forwarder lives there (docs/logging.md)."""
    logging = config.logging
    return (config.gateway.namespace,) + ((logging.namespace,) if logging.flavor != "none" else ())


def is_reserved_namespace(namespace: str, config: PlatformConfig) -> bool:
    """Kubernetes' and OpenShift's own namespaces, the gateway's and the logging one: never a tenant's.

    The one test of the webhook, ``greenshift validate`` and the operator's reconcile.
    """
    return (
        namespace in RESERVED_NAMESPACES
        or namespace.startswith(RESERVED_PREFIXES)
        or namespace in platform_namespaces(config)
    )


def check_wallet_tenant(tenant: dict[str, Any], config: PlatformConfig) -> list[Problem]:
    """A tenant's namespace is not one the platform or Kubernetes itself uses."""
    namespace = tenant_namespace(tenant)
    if is_reserved_namespace(namespace, config):
        reserved = (*RESERVED_NAMESPACES, *platform_namespaces(config))
        return [
            Problem(
                "spec.namespace",
                f"namespace {namespace} is reserved for the platform or Kubernetes; choose another "
                f"(not {', '.join(reserved)}, nor kube-* or openshift-*)",
                "error",
                "NamespaceNotAllowed",
            )
        ]
    return []


def check_document_source(source: dict[str, Any], config: PlatformConfig) -> list[Problem]:
    """The platform rules of a DocumentSource: certified, pinned image and an https upstream."""
    return [
        *check_image(_get(source, "spec", "connector", "image"), config),
        *check_upstream_url(_get(source, "spec", "upstream", "url")),
    ]


def check_tenant_present(resource: dict[str, Any], tenant: dict[str, Any] | None) -> list[Problem]:
    """A DocumentSource or GatewayRoute lives in a WalletTenant's namespace, else ``NoTenant``."""
    if tenant is not None:
        return []
    kind = _get(resource, "kind") or "resource"
    namespace = _get(resource, "metadata", "namespace")
    if not isinstance(namespace, str) or not namespace:
        message = f"not set: a {kind} must live in the namespace of a WalletTenant"
    else:
        message = (
            f"namespace {namespace} belongs to no WalletTenant: a {kind} must live in a tenant's namespace"
        )
    return [Problem("metadata.namespace", message, "error", "NoTenant")]


def check_gateway_route(
    route: dict[str, Any], tenant: dict[str, Any] | None, config: PlatformConfig
) -> list[Problem]:
    """The platform rules of a GatewayRoute: its tenant's allowedHosts, the REST style guide, the
    OIDC issuer's URL and the TLS issuer (``certificates.allowedIssuers``).

    Without a tenant the route gets a ``NoTenant`` error in place of the host check.
    """
    spec = _get(route, "spec")
    problems = check_tenant_present(route, tenant)
    if tenant is not None:
        problems += check_host_allowed(_get(spec, "host"), _get(tenant, "spec", "allowedHosts"))
    problems += check_style_guide(_get(spec, "pathPrefix"), _get(spec, "protocol"), config.styleGuide)
    issuer = _get(spec, "authentication", "oidc", "issuer")
    if issuer is not None:
        problems += check_upstream_url(issuer, "spec.authentication.oidc.issuer")
    problems += check_issuer_allowed(_get(spec, "tls", "issuerRef"), config)
    return problems


def check_issuer_allowed(
    issuer_ref: Any, config: PlatformConfig, field: str = "spec.tls.issuerRef"
) -> list[Problem]:
    """The route's cert-manager issuer is one the platform allows (``certificates.allowedIssuers``;
    issue 16, item 8): a ClusterIssuer only when listed (it signs for anyone, with the platform's
    account or CA); an Issuer (always in the route's own namespace, so the tenant's business) any,
    unless Issuers are listed, then only those names. The one rule of ``greenshift validate``, the
    webhook and the reconcile; a missing or mistyped ref is the schema's to report."""
    if not isinstance(issuer_ref, dict):
        return []
    kind, name = issuer_ref.get("kind"), issuer_ref.get("name")
    if kind not in ("Issuer", "ClusterIssuer") or not isinstance(name, str):
        return []
    listed = [ref.name for ref in config.certificates.allowedIssuers if ref.kind == kind]
    if name in listed or (kind == "Issuer" and not listed):
        return []
    return [
        Problem(
            field,
            f"{kind} {name} is not allowed for routes; allowed: {describe_allowed_issuers(config)} "
            "(the PlatformConfig's certificates.allowedIssuers)",
            "error",
            "IssuerNotAllowed",
        )
    ]


def describe_allowed_issuers(config: PlatformConfig) -> str:
    """What ``certificates.allowedIssuers`` lets routes name, for people."""
    refs = config.certificates.allowedIssuers
    clusters = [ref.name for ref in refs if ref.kind == "ClusterIssuer"]
    issuers = [ref.name for ref in refs if ref.kind == "Issuer"]
    cluster_text = f"ClusterIssuer {', '.join(clusters)}" if clusters else "no ClusterIssuer"
    issuer_text = (
        f"Issuer {', '.join(issuers)} in the route's namespace"
        if issuers
        else "any Issuer in the route's namespace"
    )
    return f"{cluster_text}; {issuer_text}"


def route_key(route: Mapping[str, Any]) -> tuple[str, str]:
    """What a route claims on the gateway: its host (lower case, no trailing dot) and its path
    prefix without a trailing ``/``. The one key of a claim: validate, the webhook and the
    reconcile compare routes by it, so ``/docs/v1/`` and ``/docs/v1`` are the same claim."""
    host = str(_get(route, "spec", "host") or "").lower().rstrip(".")
    path = str(_get(route, "spec", "pathPrefix") or "/")
    return host, path.rstrip("/") or "/"


def nested(outer: str, inner: str) -> bool:
    """Whether gateway prefix routing sends requests for path ``inner`` to a route of ``outer``
    (both normalised by :func:`route_key`): the same path, or a path below it, segment-wise."""
    return outer == inner or outer == "/" or inner.startswith(outer + "/")


def claims_collide(a: tuple[str, str, str], b: tuple[str, str, str]) -> bool:
    """Whether two routes' claims, (host, path, namespace), cannot both be published: the same
    host and path, or, across namespaces, one path nested in the other (a tenant's sub-path
    published by another tenant would take part of its traffic). Within one namespace a tenant
    may route sub-paths to other backends."""
    (host_a, path_a, ns_a), (host_b, path_b, ns_b) = a, b
    if host_a != host_b:
        return False
    if path_a == path_b:
        return True
    return ns_a != ns_b and (nested(path_a, path_b) or nested(path_b, path_a))


def route_age(route: Mapping[str, Any]) -> tuple[str, str, str]:
    """Order of precedence: oldest creationTimestamp first (absent counts as newest), then namespace/name."""
    created = _get(route, "metadata", "creationTimestamp")
    return (
        str(created) if created is not None else "\uffff",
        str(_get(route, "metadata", "namespace") or ""),
        str(_get(route, "metadata", "name") or ""),
    )


def _claim(route: Mapping[str, Any]) -> tuple[str, str, str]:
    return (*route_key(route), str(_get(route, "metadata", "namespace") or ""))


def conflict_holder(
    route: Mapping[str, Any], others: Iterable[Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    """The oldest of ``others`` older than ``route`` whose claim collides with it: the route that
    keeps the host and path; None when ``route`` may publish."""
    age = route_age(route)
    colliding = [
        other for other in others if route_age(other) < age and claims_collide(_claim(route), _claim(other))
    ]
    return min(colliding, key=route_age) if colliding else None


def describe_conflict(route: Mapping[str, Any], holder: Mapping[str, Any], *, held: str = "held") -> str:
    """What ``route`` loses to ``holder``, for people: the claim and the route that keeps it."""
    host, path = route_key(route)
    held_host, held_path = route_key(holder)
    owner = f"GatewayRoute {_get(holder, 'metadata', 'namespace')}/{_get(holder, 'metadata', 'name')}"
    if held_path == path:
        return f"host {host} path {path} is {held} by {owner}"
    nesting = f"nested with {held_host}{held_path} of another namespace"
    return f"host {host} path {path} is {nesting}, {held} by {owner}"


def conflict_problem(route: Mapping[str, Any], holder: Mapping[str, Any]) -> Problem:
    return Problem(
        "spec.pathPrefix",
        f"{describe_conflict(route, holder, held='already claimed')}; choose another host or pathPrefix",
        "error",
        "RouteConflict",
    )


def route_conflicts(routes: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Problem]:
    """The routes that lose a host + pathPrefix to an older route, keyed by (namespace, name).

    The oldest route (creationTimestamp, then namespace/name) keeps the claim; a prefix nested in
    another namespace's prefix on the same host collides with it (:func:`claims_collide`).
    """
    by_host: dict[str, list[dict[str, Any]]] = {}
    for route in routes:
        by_host.setdefault(route_key(route)[0], []).append(route)
    conflicts: dict[tuple[str, str], Problem] = {}
    for claimants in by_host.values():
        for route in claimants:
            holder = conflict_holder(route, claimants)
            if holder is not None:
                ident = (str(_get(route, "metadata", "namespace")), str(_get(route, "metadata", "name")))
                conflicts[ident] = conflict_problem(route, holder)
    return conflicts


_POD_TEMPLATE_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_OPERATOR_KEY = re.compile(r"^([^/]*\.)?greenshift\.io/")
_MANAGED_BY = ("app.kubernetes.io/managed-by", "greenshift-operator")


def check_tenant_object(body: Any, config: PlatformConfig) -> list[Problem]:
    """What the admission policies of ``deploy/admission-policies.yaml`` refuse when a tenant writes
    ``body`` (any Kubernetes object but Greenshift's) into its namespace (docs/security.md): the
    operator's labels and annotations; a pod or pod template with an image that is not certified
    and pinned; a Service with ``externalIPs``, or of type LoadBalancer or NodePort (the quota's 0)."""
    problems: list[Problem] = []
    if not isinstance(body, dict):
        return problems
    for section in ("labels", "annotations"):
        values = _get(body, "metadata", section)
        for key, value in values.items() if isinstance(values, dict) else ():
            if _OPERATOR_KEY.match(str(key)) or (section == "labels" and (key, value) == _MANAGED_BY):
                problems.append(
                    Problem(
                        f"metadata.{section}",
                        f"{key} is the Greenshift operator's: in a tenant namespace only it sets this",
                        reason="ReservedLabel",
                    )
                )
    path = _POD_TEMPLATE_PATHS.get(str(body.get("kind")))
    spec = _get(body, *path) if path is not None else None
    if isinstance(spec, dict):
        where = ".".join(path or ())
        for group in ("initContainers", "containers", "ephemeralContainers"):
            containers = spec.get(group)
            for index, container in enumerate(containers if isinstance(containers, list) else ()):
                image = container.get("image") if isinstance(container, dict) else None
                problems += check_image(image, config, field=f"{where}.{group}[{index}].image")
    if body.get("kind") == "Service" and str(body.get("apiVersion")) == "v1":
        if _get(body, "spec", "externalIPs"):
            problems.append(
                Problem(
                    "spec.externalIPs",
                    "not allowed in a tenant namespace (CVE-2020-8554): publish through a GatewayRoute",
                    reason="ExternalIPsNotAllowed",
                )
            )
        service_type = _get(body, "spec", "type")
        if service_type in ("LoadBalancer", "NodePort"):
            problems.append(
                Problem(
                    "spec.type",
                    f"{service_type} is not allowed in a tenant namespace (its quota holds them at 0): "
                    "use ClusterIP and a GatewayRoute",
                    reason="ServiceTypeNotAllowed",
                )
            )
    return problems


def check_source_fits_tier(source: Any, tenant: Any, config: PlatformConfig) -> list[Problem]:
    """The connector's ``resources`` within what its tenant's tier allows (issue 16, item 7): no
    resource of ``forbiddenResources`` (the quota holds them at 0), and no cpu or memory above the
    LimitRange's ``max`` per container. Otherwise the Deployment is made and its pods are refused."""
    from greenshift.usage import UsageError, parse_quantity  # usage imports the renderers

    if not isinstance(tenant, dict):
        return []
    tier = config.tier(str(_get(tenant, "spec", "tier") or "standard"))
    maximum = {"cpu": tier.containerMaxCpu, "memory": tier.containerMaxMemory}
    problems: list[Problem] = []
    resources = _get(source, "spec", "connector", "resources")
    for section in ("requests", "limits"):
        values = resources.get(section) if isinstance(resources, dict) else None
        for name, value in values.items() if isinstance(values, dict) else ():
            field = f"spec.connector.resources.{section}.{name}"
            if name in tier.forbiddenResources:
                problems.append(
                    Problem(
                        field,
                        f"{name} is not available to tenants of tier {tier_name(tenant)}",
                        reason="ResourceNotAllowed",
                    )
                )
            elif name in maximum:
                try:
                    over = parse_quantity(value) > parse_quantity(maximum[name])
                except UsageError:
                    continue  # the schema reports a quantity that does not parse
                if over:
                    problems.append(
                        Problem(
                            field,
                            f"{value} is more than a container may have in tier {tier_name(tenant)} "
                            f"(at most {maximum[name]}): the pods would be refused",
                            reason="ResourceNotAllowed",
                        )
                    )
    return problems


def tier_name(tenant: Any) -> str:
    return str(_get(tenant, "spec", "tier") or "standard")
