"""Validating a set of loaded manifests together, as ``greenshift validate`` does.

Each Greenshift resource is checked against its CRD schema and the platform rules; the
set is checked as a whole for what only shows across resources: the tenant of each
namespaced resource, tenant quotas on counts, duplicates and host + pathPrefix conflicts.

The platform configuration is the ``--platform-config`` file, or a ``kind: PlatformConfig``
document among the inputs. Both may be given only when they are equal; two different
configurations are an error, because there is no safe way to pick one.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from greenshift.config import ConfigError, PlatformConfig, is_platform_config, parse_platform_config
from greenshift.constants import API_VERSION, GROUP, KIND_ROUTE, KIND_SOURCE, KIND_TENANT, KINDS
from greenshift.loader import Document, is_foreign, is_rate_card
from greenshift.naming import tenant_namespace
from greenshift.schemas import with_defaults
from greenshift.usage import UsageError, parse_rate_card
from greenshift.validation.problem import Problem
from greenshift.validation.rules import (
    check_document_source,
    check_gateway_route,
    check_hosts_shared,
    check_source_fits_tier,
    check_tenant_object,
    check_tenant_present,
    check_wallet_tenant,
    route_conflicts,
)
from greenshift.validation.schema import validate_schema

_QUOTA_KEYS = {KIND_SOURCE: "documentSources", KIND_ROUTE: "gatewayRoutes"}


@dataclass(frozen=True)
class Finding:
    """A problem located in the input: ``FILE:LINE: [warning: ]Kind/name: field: message``."""

    path: str
    line: int
    subject: str
    problem: Problem

    def __str__(self) -> str:
        parts = [f"{self.path}:{self.line}"]
        if self.problem.severity == "warning":
            parts.append("warning")
        if self.subject:
            parts.append(self.subject)
        if self.problem.field:
            parts.append(self.problem.field)
        parts.append(self.problem.message)
        return ": ".join(parts)


@dataclass(frozen=True)
class Report:
    """The outcome of validating a set of documents."""

    findings: tuple[Finding, ...]
    resources: int
    config: PlatformConfig = field(default_factory=PlatformConfig)
    foreign: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.problem.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.problem.severity == "warning")


@dataclass
class _Entry:
    document: Document
    subject: str
    problems: list[Problem]
    resource: dict[str, Any] | None = None

    def add(self, problem: Problem) -> None:
        # A rule's finding on a field the schema already rejected would only repeat it.
        taken = {p.field for p in self.problems if p.severity == "error"}
        if problem.field not in taken or problem.reason not in ("InvalidSpec", "InsecureUpstream"):
            self.problems.append(problem)


def validate_documents(documents: Sequence[Document], config: PlatformConfig | None = None) -> Report:
    """Validate every document; ``config`` is the ``--platform-config`` one, if given."""
    entries = [_Entry(doc, _subject(doc.body), []) for doc in documents]
    chosen = _platform_config(entries, config)
    foreign = [e for e in entries if is_foreign(e.document.body)]
    _check_rate_cards([e for e in entries if is_rate_card(e.document.body)])
    resources = [e for e in entries if _is_resource(e.document.body)]
    for entry in resources:
        _check_single(entry, chosen)
    valid = [e for e in resources if e.resource is not None]
    _check_duplicates(valid)
    tenants = _tenants(valid)
    for entry in valid:
        _check_tenant_rules(entry, tenants, chosen)
    _check_quotas(valid, tenants)
    _check_foreign(foreign, tenants, chosen)
    _check_route_conflicts(valid)
    _check_hosts_shared(valid)
    findings = tuple(
        Finding(e.document.path, e.document.line, e.subject, problem)
        for e in entries
        for problem in e.problems
    )
    return Report(findings, len(resources), chosen, foreign=len(foreign))


def _check_foreign(entries: list[_Entry], tenants: dict[str, _Entry], config: PlatformConfig) -> None:
    """Other Kubernetes objects in the namespace of a tenant among the inputs: what the cluster's
    admission policies and quota would refuse there (``check_tenant_object``)."""
    for entry in entries:
        metadata = entry.document.body.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        if isinstance(namespace, str) and namespace in tenants:
            entry.problems += check_tenant_object(entry.document.body, config)


def _is_resource(body: dict[str, Any]) -> bool:
    return not (is_platform_config(body) or is_foreign(body) or is_rate_card(body))


def _check_rate_cards(entries: list[_Entry]) -> None:
    for entry in entries:
        entry.subject = "RateCard"
        try:
            parse_rate_card(entry.document.body)
        except UsageError as exc:
            entry.problems.append(Problem("", f"invalid rate card: {exc}"))


def _subject(body: dict[str, Any]) -> str:
    kind = body.get("kind")
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return f"{kind if isinstance(kind, str) else '?'}/{name if isinstance(name, str) else '?'}"


def _platform_config(entries: list[_Entry], given: PlatformConfig | None) -> PlatformConfig:
    chosen, origin = given, "--platform-config" if given is not None else ""
    for entry in entries:
        if not is_platform_config(entry.document.body):
            continue
        entry.subject = "PlatformConfig"
        try:
            parsed = parse_platform_config(entry.document.body)
        except ConfigError as exc:
            entry.problems.append(Problem("", f"invalid platform configuration: {exc}"))
            continue
        if chosen is None:
            chosen, origin = parsed, entry.document.where
        elif parsed != chosen:
            entry.problems.append(
                Problem("", f"conflicts with the platform configuration of {origin}; give it only once")
            )
    return chosen if chosen is not None else PlatformConfig()


def _check_single(entry: _Entry, config: PlatformConfig) -> None:
    """Identity, schema and the per-resource rules; sets ``entry.resource`` when it is a Greenshift kind."""
    body = entry.document.body
    api_version, kind = body.get("apiVersion"), body.get("kind")
    allowed = f"apiVersion {API_VERSION} with kind {', '.join(KINDS)} (or PlatformConfig)"
    if not isinstance(kind, str) or not kind:
        entry.problems.append(Problem("kind", f"required: a string; allowed: {allowed}"))
        return
    if kind not in KINDS:
        entry.problems.append(Problem("kind", f"unknown kind {kind!r}; allowed: {allowed}"))
        return
    if api_version != API_VERSION:
        served = (
            " (not served)" if isinstance(api_version, str) and api_version.startswith(f"{GROUP}/") else ""
        )
        entry.problems.append(
            Problem(
                "apiVersion", f"unknown apiVersion {api_version!r}{served} for {kind}; allowed: {API_VERSION}"
            )
        )
        return
    schema_problems = validate_schema(body)
    entry.problems.extend(schema_problems)
    resource = with_defaults(body)
    entry.resource = resource
    if kind == KIND_TENANT:
        rule_problems = check_wallet_tenant(resource, config)
    elif kind == KIND_SOURCE:
        rule_problems = check_document_source(resource, config)
    else:
        rule_problems = []
    for problem in rule_problems:
        entry.add(problem)


def _identity(entry: _Entry) -> tuple[str, str, str]:
    resource = entry.resource or {}
    metadata = resource.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    namespace = "" if resource.get("kind") == KIND_TENANT else str(metadata.get("namespace") or "")
    return str(resource.get("kind")), namespace, str(metadata.get("name"))


def _check_duplicates(entries: list[_Entry]) -> None:
    seen: dict[tuple[str, str, str], _Entry] = {}
    for entry in entries:
        identity = _identity(entry)
        first = seen.setdefault(identity, entry)
        if first is not entry:
            entry.add(
                Problem("metadata.name", f"defined twice: also at {first.document.where}", reason="Duplicate")
            )


def _tenants(entries: list[_Entry]) -> dict[str, _Entry]:
    """Tenants by the namespace they own; a second tenant claiming a namespace is an error."""
    tenants: dict[str, _Entry] = {}
    for entry in entries:
        if entry.resource is None or entry.resource.get("kind") != KIND_TENANT:
            continue
        namespace = tenant_namespace(entry.resource)
        holder = tenants.setdefault(namespace, entry)
        if holder is not entry and _identity(holder) != _identity(entry):
            entry.add(
                Problem(
                    "spec.namespace",
                    f"namespace {namespace} is already the namespace of {holder.subject} "
                    f"({holder.document.where}); every tenant needs its own",
                    reason="NamespaceConflict",
                )
            )
    return tenants


def _tenant_of(entry: _Entry, tenants: dict[str, _Entry]) -> dict[str, Any] | None:
    namespace = _identity(entry)[1]
    holder = tenants.get(namespace) if namespace else None
    return holder.resource if holder is not None else None


def _check_tenant_rules(entry: _Entry, tenants: dict[str, _Entry], config: PlatformConfig) -> None:
    resource = entry.resource or {}
    kind = resource.get("kind")
    tenant = _tenant_of(entry, tenants)
    if kind == KIND_ROUTE:
        problems = check_gateway_route(resource, tenant, config)
    elif kind == KIND_SOURCE:
        problems = check_tenant_present(resource, tenant) + check_source_fits_tier(resource, tenant, config)
    else:
        problems = []
    for problem in problems:
        entry.add(problem)


def _check_hosts_shared(entries: list[_Entry]) -> None:
    """A warning on each of two tenants whose allowedHosts overlap (it is reported on both)."""
    tenants = [e for e in entries if e.resource is not None and e.resource.get("kind") == KIND_TENANT]
    for entry in tenants:
        assert entry.resource is not None
        for problem in check_hosts_shared(entry.resource, (t.resource for t in tenants if t.resource)):
            entry.add(problem)


def _check_quotas(entries: list[_Entry], tenants: dict[str, _Entry]) -> None:
    """More DocumentSources or GatewayRoutes in a namespace than its tenant's quota allows."""
    counts: dict[tuple[str, str], int] = {}
    for entry in entries:
        kind, namespace, _ = _identity(entry)
        tenant = _tenant_of(entry, tenants)
        if kind not in _QUOTA_KEYS or tenant is None:
            continue
        key = _QUOTA_KEYS[kind]
        limit = (
            tenant.get("spec", {}).get("quota", {}).get(key) if isinstance(tenant.get("spec"), dict) else None
        )
        counts[(kind, namespace)] = counts.get((kind, namespace), 0) + 1
        if isinstance(limit, int) and counts[(kind, namespace)] > limit:
            entry.add(
                Problem(
                    "metadata.namespace",
                    f"namespace {namespace} already has {limit} {kind}(s), the tenant's quota.{key}",
                    reason="QuotaExceeded",
                )
            )


def _check_route_conflicts(entries: list[_Entry]) -> None:
    routes = {
        _identity(e)[1:]: e
        for e in entries
        if e.resource is not None
        and e.resource.get("kind") == KIND_ROUTE
        and isinstance(e.resource.get("spec"), dict)
        and isinstance(e.resource["spec"].get("host"), str)
        and isinstance(e.resource["spec"].get("pathPrefix"), str)
    }
    conflicts = route_conflicts(e.resource for e in routes.values() if e.resource is not None)
    for identity, problem in conflicts.items():
        if identity in routes:
            routes[identity].add(problem)
