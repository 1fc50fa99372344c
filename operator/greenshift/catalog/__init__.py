"""The service catalog: every REST and SOAP service published through a GatewayRoute (pure).

:func:`catalog_entries` builds the entries from the custom resources (with their status),
:func:`catalog_document` the ``/catalog.json`` document (schema in docs/catalog.md) and
:func:`render_catalog_html` the ``/catalog`` page. The operator feeds them from its indexes,
``greenshift catalog`` from a LIST of the cluster.
"""

import functools
import importlib.resources
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import jinja2

from greenshift.analytics.prometheus import DISABLED, TOP, RouteTraffic, Traffic, traffic_document
from greenshift.constants import API_VERSION
from greenshift.naming import tenant_namespace

Body = Mapping[str, Any]
CATALOG_KIND = "ServiceCatalog"


@dataclass(frozen=True)
class Entry:
    agency: str | None
    """The tenant's agency code; ``None`` when no WalletTenant owns the namespace."""
    agencyName: str | None
    tenant: str | None
    namespace: str
    name: str
    title: str
    version: str | None
    description: str | None
    protocol: str
    url: str
    authentication: str
    rateLimit: dict[str, int] | None
    specUrl: str | None
    documentType: str | None
    """The ``documentType`` of the DocumentSource behind the route, when it has one."""
    ready: str
    reason: str
    message: str


def _ready(body: Body) -> dict[str, Any]:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Ready"), {})


def _spec_url(base: str, spec_path: Any) -> str | None:
    """``api.specPath`` as a link: absolute https URLs as given, paths on the route's host."""
    if not isinstance(spec_path, str) or not spec_path:
        return None
    if spec_path.startswith("/"):
        return f"{base}{spec_path}"
    parts = urlsplit(spec_path)
    return spec_path if parts.scheme == "https" and parts.netloc else None


def catalog_entries(tenants: Iterable[Body], routes: Iterable[Body], sources: Iterable[Body]) -> list[Entry]:
    """One entry per GatewayRoute, sorted by agency, title, version and name."""
    by_namespace: dict[str, Body] = {}
    for tenant in sorted(tenants, key=lambda t: str(t["metadata"].get("creationTimestamp", ""))):
        by_namespace.setdefault(tenant_namespace(tenant), tenant)  # the oldest claimant owns it
    source_types = {
        (str(s["metadata"].get("namespace")), str(s["metadata"]["name"])): (s.get("spec") or {}).get(
            "documentType"
        )
        for s in sources
    }
    entries = []
    for route in routes:
        meta = route["metadata"]
        spec = route.get("spec") or {}
        namespace = str(meta.get("namespace"))
        owner = by_namespace.get(namespace)
        tenant_spec = (owner or {}).get("spec") or {}
        api = spec.get("api") or {}
        base = f"https://{spec.get('host', '')}"
        backend = (spec.get("backend") or {}).get("documentSource") or {}
        rate = spec.get("rateLimit")
        ready = _ready(route)
        document_type = source_types.get((namespace, str(backend.get("name")))) if backend else None
        entries.append(
            Entry(
                agency=str(tenant_spec["agency"]) if owner is not None else None,
                agencyName=str(tenant_spec.get("displayName", "")) if owner is not None else None,
                tenant=str(owner["metadata"]["name"]) if owner is not None else None,
                namespace=namespace,
                name=str(meta["name"]),
                title=str(api.get("title") or meta["name"]),
                version=str(api["version"]) if api.get("version") else None,
                description=str(api["description"]) if api.get("description") else None,
                protocol=str(spec.get("protocol", "REST")),
                url=str((route.get("status") or {}).get("url") or f"{base}{spec.get('pathPrefix', '')}"),
                authentication=str((spec.get("authentication") or {}).get("type", "oidc")),
                rateLimit=(
                    {"requestsPerMinute": int(rate["requestsPerMinute"]), "burst": int(rate.get("burst", 0))}
                    if isinstance(rate, Mapping) and "requestsPerMinute" in rate
                    else None
                ),
                specUrl=_spec_url(base, api.get("specPath")),
                documentType=str(document_type) if document_type else None,
                ready=str(ready.get("status", "Unknown")),
                reason=str(ready.get("reason", "")),
                message=str(ready.get("message", "")),
            )
        )
    return sorted(entries, key=lambda e: (e.agency or "~", e.title.lower(), e.version or "", e.name))


def route_traffic(entry: Entry, traffic: Traffic) -> RouteTraffic | None:
    """The entry's figures: recorded series carry the tenant and the route's name."""
    if entry.tenant is None:
        return None
    return traffic.routes.get((entry.tenant, entry.name))


def _traffic_fields(figures: RouteTraffic | None) -> dict[str, Any] | None:
    if figures is None:
        return None
    return asdict(figures) | {"errorsHigh": figures.errors_high}


def _ranked(entries: list[Entry], traffic: Traffic, key: str) -> list[dict[str, Any]]:
    """The top entries by ``key`` (requestsPerSecond or errorsPerSecond), without zeros."""
    rows = []
    for index, entry in enumerate(entries):
        figures = route_traffic(entry, traffic)
        if figures is not None and getattr(figures, key) > 0:
            rows.append(
                {
                    "index": index,
                    "agency": entry.agency,
                    "tenant": entry.tenant,
                    "name": entry.name,
                    "title": entry.title,
                    "version": entry.version,
                }
                | asdict(figures)
            )
    rows.sort(key=lambda r: (-r[key], r["agency"] or "", r["title"], r["name"]))
    return rows[:TOP]


def catalog_document(entries: list[Entry], traffic: Traffic | None = None) -> dict[str, Any]:
    """The ``/catalog.json`` document (docs/catalog.md); ``traffic``: the analytics, if any."""
    traffic = traffic or DISABLED
    analytics = traffic_document(traffic) or {}
    analytics["topByVolume"] = _ranked(entries, traffic, "requestsPerSecond")
    analytics["topByErrors"] = _ranked(entries, traffic, "errorsPerSecond")
    return {
        "apiVersion": API_VERSION,
        "kind": CATALOG_KIND,
        "analytics": analytics,
        "entries": [asdict(e) | {"traffic": _traffic_fields(route_traffic(e, traffic))} for e in entries],
    }


@dataclass(frozen=True)
class Group:
    agency: str | None
    agencyName: str | None
    entries: list[tuple[int, Entry]]
    """(index in the document's ``entries``, entry)."""


def group_by_agency(entries: list[Entry]) -> list[Group]:
    groups: dict[str | None, Group] = {}
    for index, entry in enumerate(entries):
        group = groups.setdefault(entry.agency, Group(entry.agency, entry.agencyName, []))
        group.entries.append((index, entry))
    return list(groups.values())


def _load_template(name: str) -> str | None:
    entry = importlib.resources.files("greenshift.templates").joinpath(*name.split("/"))
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


@functools.cache
def _environment() -> jinja2.Environment:
    # Every value is untrusted (agencies write the routes): autoescape on, and the data for
    # the script goes through Jinja's tojson, which escapes <, >, & and ' for HTML.
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )
    env.filters.update(rate=format_rate, ratio=format_ratio, latency=format_latency)
    return env


NO_FIGURE = "\u2013"  # an en dash


def format_rate(value: float | None) -> str:
    """Requests per second: three significant figures, at least two decimals below 10."""
    if value is None:
        return NO_FIGURE
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def format_ratio(value: float | None) -> str:
    if value is None:
        return NO_FIGURE
    return f"{value * 100:.2f}%"


def format_latency(value: float | None) -> str:
    if value is None:
        return NO_FIGURE
    return f"{value * 1000:.0f} ms"


def render_catalog_html(entries: list[Entry], traffic: Traffic | None = None) -> str:
    """The ``/catalog`` page: grouped by agency, with a protocol filter, a text search and,
    with ``traffic``, each route's last hour and the platform's top five."""
    template = _environment().get_template("catalog/catalog.html.j2")
    document = catalog_document(entries, traffic)
    return template.render(
        groups=group_by_agency(entries), document=document, analytics=document["analytics"]
    )
