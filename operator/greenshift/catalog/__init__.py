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


def catalog_document(entries: list[Entry]) -> dict[str, Any]:
    """The ``/catalog.json`` document (docs/catalog.md)."""
    return {"apiVersion": API_VERSION, "kind": CATALOG_KIND, "entries": [asdict(e) for e in entries]}


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
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )


def render_catalog_html(entries: list[Entry]) -> str:
    """The ``/catalog`` page: grouped by agency, with a protocol filter and a text search."""
    template = _environment().get_template("catalog/catalog.html.j2")
    return template.render(groups=group_by_agency(entries), document=catalog_document(entries))
