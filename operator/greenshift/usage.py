"""Per-tenant usage, and its price from a rate card (pure; docs/usage.md).

What is counted, per tenant (children found by the label ``greenshift.io/tenant``, and only those
in the tenant's own namespace whose owner exists: a label alone proves nothing, as anyone who may
write a Deployment may write it; see :func:`belongs_to`):

- CPU and memory: for every Deployment the operator manages, replicas x the sum over its
  containers of each container's request; a container without a request gets its limit
  (as the API server does), else the tenant LimitRange's default request (100m, 128Mi).
  Replicas are those that run: for an autoscaled Deployment (a HorizontalPodAutoscaler targets
  it) the autoscaler's ``status.currentReplicas``, else its ``minReplicas``, never the
  Deployment's ``spec.replicas`` (the API server sets it to 1 when the operator leaves it to the
  autoscaler); otherwise ``spec.replicas`` (0 for a suspended tenant), else 1.
- Storage: the requested size of every PersistentVolumeClaim the operator manages, including
  the caches retained after their DocumentSource was deleted (they still hold the volume).
- Gateway routes and document sources: the custom resources in the tenant's namespace.

Only what Greenshift manages is counted: workloads an agency deploys itself are not.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from greenshift.constants import TENANT_LABEL
from greenshift.naming import tenant_namespace
from greenshift.render.tenant import DEFAULT_REQUESTS

Body = Mapping[str, Any]
GIB = Decimal(2**30)
MILLION = Decimal(10**6)

_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


class UsageError(ValueError):
    """A rate card or quantity that cannot be used; the message names it."""


def parse_quantity(value: Any) -> Decimal:
    """A Kubernetes quantity (``"250m"``, ``"1Gi"``, ``2``) as a number of base units."""
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        raise UsageError(f"not a Kubernetes quantity: {value!r}")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2)]
    except InvalidOperation:
        raise UsageError(f"not a Kubernetes quantity: {value!r}") from None


@dataclass(frozen=True)
class TenantUsage:
    tenant: str
    agency: str
    namespace: str
    cpu_cores: Decimal
    memory_bytes: int
    storage_bytes: int
    replicas: int
    gateway_routes: int
    document_sources: int
    request_count: int | None = None
    """Requests through the gateway in the billing period (Prometheus); None: not measured."""


@dataclass(frozen=True)
class RateCard:
    """Prices per unit; a month is ``hoursPerMonth`` hours (see examples/pricing/rate-card.yaml)."""

    currency: str
    hoursPerMonth: Decimal = Decimal(730)
    cpuCoreHour: Decimal = Decimal(0)
    memoryGiBHour: Decimal = Decimal(0)
    storageGiBMonth: Decimal = Decimal(0)
    gatewayRouteMonth: Decimal = Decimal(0)
    documentSourceMonth: Decimal = Decimal(0)
    requests: Decimal = Decimal(0)
    """Per million requests through the gateway in the billing period."""


@dataclass(frozen=True)
class PricedUsage:
    usage: TenantUsage
    currency: str
    cpu: Decimal
    memory: Decimal
    storage: Decimal
    routes: Decimal
    sources: Decimal
    requests: Decimal | None = None
    """The period's requests priced; None: not measured (no Prometheus), so not priced."""

    @property
    def total(self) -> Decimal:
        return self.cpu + self.memory + self.storage + self.routes + self.sources + (self.requests or 0)


def load_rate_card(path: str | Path) -> RateCard:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read the rate card: {exc}") from None
    try:
        return parse_rate_card(doc)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


def parse_rate_card(doc: Any) -> RateCard:
    if not isinstance(doc, dict) or doc.get("kind") != "RateCard":
        raise UsageError("not a document of kind RateCard")
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
    known = {f.name for f in fields(RateCard)}
    unknown = sorted(set(body) - known)
    if unknown:
        raise UsageError(f"{unknown[0]}: unknown key (allowed: {', '.join(sorted(known))})")
    currency = body.pop("currency", None)
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise UsageError("currency: required, an ISO 4217 code such as EUR")
    prices: dict[str, Decimal] = {}
    for key, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise UsageError(f"{key}: must be a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise UsageError(f"{key}: must be a number, got {value!r}") from None
        if not number.is_finite() or number < 0 or (key == "hoursPerMonth" and number == 0):
            raise UsageError(f"{key}: must be a positive number, got {value!r}")
        prices[key] = number
    return RateCard(currency=currency, **prices)


def _container_request(container: Body, resource: str) -> Decimal:
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        value = (resources.get(section) or {}).get(resource)
        if value is not None:
            return parse_quantity(value)
    return parse_quantity(DEFAULT_REQUESTS[resource])


def _replicas(deployment: Body, autoscalers: Mapping[tuple[str, str], Body]) -> int:
    meta = deployment.get("metadata") or {}
    hpa = autoscalers.get((str(meta.get("namespace")), str(meta.get("name"))))
    if hpa is not None:
        current = (hpa.get("status") or {}).get("currentReplicas")
        if current is not None:
            return int(current)
        return int((hpa.get("spec") or {}).get("minReplicas") or 1)
    replicas = (deployment.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def _scale_target(hpa: Body) -> tuple[str, str] | None:
    """(namespace, name) of the Deployment a HorizontalPodAutoscaler scales."""
    target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if target.get("kind") != "Deployment" or not target.get("name"):
        return None
    return str((hpa.get("metadata") or {}).get("namespace")), str(target["name"])


BILLED_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "PersistentVolumeClaim"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
)
"""The child kinds ``usage_report`` reads; it passes over any other."""


def usage_report(
    tenants: Iterable[Body], sources: Iterable[Body], routes: Iterable[Body], children: Iterable[Body]
) -> list[TenantUsage]:
    """One row per tenant, sorted by tenant name; ``children`` are the operator's child objects
    (those of ``BILLED_KINDS`` suffice)."""
    by_tenant: dict[str, list[Body]] = {}
    autoscalers: dict[tuple[str, str], Body] = {}
    for child in children:
        meta = child.get("metadata") or {}
        tenant = (meta.get("labels") or {}).get(TENANT_LABEL)
        if tenant is not None:
            by_tenant.setdefault(str(tenant), []).append(child)
        if child.get("kind") == "HorizontalPodAutoscaler":
            target = _scale_target(child)
            if target is not None:
                autoscalers[target] = child
    sources = list(sources)
    source_uids = {
        (str(s["metadata"].get("namespace")), str(s["metadata"].get("name"))): s["metadata"].get("uid")
        for s in sources
    }
    source_count = _count_by_namespace(sources)
    route_count = _count_by_namespace(routes)
    rows = []
    for tenant in tenants:
        name = str(tenant["metadata"]["name"])
        namespace = tenant_namespace(tenant)
        cpu = Decimal(0)
        memory = Decimal(0)
        storage = Decimal(0)
        replicas = 0
        for child in by_tenant.get(name, []):
            if not belongs_to(child, namespace, source_uids):
                continue
            if child.get("kind") == "Deployment":
                count = _replicas(child, autoscalers)
                containers = ((child.get("spec") or {}).get("template") or {}).get("spec", {}).get(
                    "containers"
                ) or []
                replicas += count
                cpu += count * sum((_container_request(c, "cpu") for c in containers), Decimal(0))
                memory += count * sum((_container_request(c, "memory") for c in containers), Decimal(0))
            elif child.get("kind") == "PersistentVolumeClaim":
                requested = ((child.get("spec") or {}).get("resources") or {}).get("requests") or {}
                if "storage" in requested:
                    storage += parse_quantity(requested["storage"])
        rows.append(
            TenantUsage(
                tenant=name,
                agency=str((tenant.get("spec") or {}).get("agency", "")),
                namespace=namespace,
                cpu_cores=cpu,
                memory_bytes=int(memory),
                storage_bytes=int(storage),
                replicas=replicas,
                gateway_routes=route_count.get(namespace, 0),
                document_sources=source_count.get(namespace, 0),
            )
        )
    return sorted(rows, key=lambda row: row.tenant)


def belongs_to(child: Body, namespace: str, source_uids: Mapping[tuple[str, str], Any]) -> bool:
    """Whether ``child`` counts for the tenant of ``namespace`` (issue 16, item 3).

    It must be in that namespace (a Deployment labelled with another tenant's name in the
    attacker's namespace is not the victim's), and its owner must exist: an owner reference to a
    DocumentSource of that namespace that is listed, with the same uid when both carry one. A
    child without owner references counts only when it is a PersistentVolumeClaim: a cache retained
    after its DocumentSource was deleted (``retainOnDelete``), released by the operator and still
    holding its volume in the tenant's namespace.
    """
    meta = child.get("metadata") or {}
    if str(meta.get("namespace")) != namespace:
        return False
    references = meta.get("ownerReferences") or []
    if not references:
        return child.get("kind") == "PersistentVolumeClaim"
    for reference in references:
        if not isinstance(reference, Mapping) or reference.get("kind") != "DocumentSource":
            continue
        key = (namespace, str(reference.get("name")))
        if key not in source_uids:
            continue
        uid = source_uids[key]
        if not uid or reference.get("uid") == uid:
            return True
    return False


def _count_by_namespace(resources: Iterable[Body]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in resources:
        namespace = str(resource["metadata"].get("namespace"))
        counts[namespace] = counts.get(namespace, 0) + 1
    return counts


def decimal_text(value: Decimal) -> str:
    """``0.2`` rather than ``0.200``, ``100`` rather than ``1E+2``."""
    return format(value.normalize(), "f")


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def price(usage: TenantUsage, card: RateCard) -> PricedUsage:
    """What the tenant's current usage costs per month, by line, rounded to cents."""
    hours = card.hoursPerMonth
    return PricedUsage(
        usage=usage,
        currency=card.currency,
        cpu=_money(usage.cpu_cores * card.cpuCoreHour * hours),
        memory=_money(Decimal(usage.memory_bytes) / GIB * card.memoryGiBHour * hours),
        storage=_money(Decimal(usage.storage_bytes) / GIB * card.storageGiBMonth),
        routes=_money(usage.gateway_routes * card.gatewayRouteMonth),
        sources=_money(usage.document_sources * card.documentSourceMonth),
        requests=None
        if usage.request_count is None
        else _money(Decimal(usage.request_count) / MILLION * card.requests),
    )


COLUMNS = (
    "tenant",
    "agency",
    "namespace",
    "cpu_cores",
    "memory_bytes",
    "storage_bytes",
    "replicas",
    "gateway_routes",
    "document_sources",
)
PRICE_COLUMNS = ("currency", "cpu", "memory", "storage", "routes", "sources", "total")
NOT_PRICED = "Requests are not priced: no --prometheus-url (docs/usage.md)."


def _measured(rows: list[TenantUsage]) -> bool:
    """Whether the request counts were read (a Prometheus was given)."""
    return any(row.request_count is not None for row in rows)


def _columns(rows: list[TenantUsage], card: RateCard | None) -> tuple[str, ...]:
    measured = _measured(rows)
    columns = COLUMNS + (("request_count",) if measured else ())
    if card is not None:
        prices = PRICE_COLUMNS[:-1] + (("requests",) if measured else ()) + PRICE_COLUMNS[-1:]
        columns += prices
    return columns


def report_records(rows: list[TenantUsage], card: RateCard | None) -> list[dict[str, Any]]:
    """Rows as flat records (numbers as strings where they are decimals), priced when a card is given."""
    measured = _measured(rows)
    records = []
    for row in rows:
        record: dict[str, Any] = {
            k: decimal_text(v) if isinstance(v, Decimal) else v for k, v in asdict(row).items()
        }
        if not measured:
            del record["request_count"]
        elif record["request_count"] is None:
            record["request_count"] = 0
        if card is not None:
            priced = price(row, card)
            record |= {
                "currency": priced.currency,
                "cpu": str(priced.cpu),
                "memory": str(priced.memory),
                "storage": str(priced.storage),
                "routes": str(priced.routes),
                "sources": str(priced.sources),
            }
            if measured:
                record["requests"] = str(priced.requests or Decimal("0.00"))
            record["total"] = str(priced.total)
        records.append(record)
    return records


def format_json(
    rows: list[TenantUsage], card: RateCard | None, period: Mapping[str, str] | None = None
) -> str:
    """``period``: ``{"from", "to"}`` of the request counts, when they were read."""
    doc: dict[str, Any] = {"kind": "UsageReport", "tenants": report_records(rows, card)}
    doc["requests"] = (
        {"measured": True, "from": period["from"], "to": period["to"]}
        if period is not None and _measured(rows)
        else {"measured": False, "message": NOT_PRICED}
    )
    if card is not None:
        doc["rateCard"] = {k: v if isinstance(v, str) else decimal_text(v) for k, v in asdict(card).items()}
    return json.dumps(doc, indent=2)


def format_csv(rows: list[TenantUsage], card: RateCard | None) -> str:
    columns = _columns(rows, card)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report_records(rows, card))
    return out.getvalue()


def _human_bytes(value: int) -> str:
    for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if value >= size:
            return f"{value / size:.4g}{unit}"
    return str(value)


def format_table(rows: list[TenantUsage], card: RateCard | None) -> str:
    measured = _measured(rows)
    header = ["TENANT", "AGENCY", "CPU", "MEMORY", "STORAGE", "REPLICAS", "ROUTES", "SOURCES"]
    if measured:
        header.append("REQUESTS")
    if card is not None:  # with requests, the period's requests join the month's other lines
        header.append(f"{'TOTAL' if measured else 'MONTHLY'} ({card.currency})")
    cells = [header]
    for row in rows:
        line = [
            row.tenant,
            row.agency,
            decimal_text(row.cpu_cores),
            _human_bytes(row.memory_bytes),
            _human_bytes(row.storage_bytes),
            str(row.replicas),
            str(row.gateway_routes),
            str(row.document_sources),
        ]
        if measured:
            line.append(str(row.request_count or 0))
        if card is not None:
            line.append(str(price(row, card).total))
        cells.append(line)
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    table = "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )
    return table if measured else f"{table}\n{NOT_PRICED}"
