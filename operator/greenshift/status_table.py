"""The Ready table of every Greenshift resource, as `greenshift demo` prints it."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from greenshift.config import PlatformConfig
from greenshift.controllers.indexes import SERVICES
from greenshift.controllers.keys import key_of, owner_of
from greenshift.controllers.wiring import SELECTOR, child_resources
from greenshift.kube import ROUTES, SOURCES, TENANTS, ApiError, KubeClient


@dataclass(frozen=True)
class ResourceRow:
    kind: str
    name: str
    ready: str
    reason: str
    children: int


async def rows_from(client: KubeClient, config: PlatformConfig | None = None) -> list[ResourceRow]:
    children: Counter[str] = Counter()
    for ref in [*child_resources(config or PlatformConfig()), SERVICES]:
        try:
            items = await client.list(ref, label_selector=SELECTOR)
        except ApiError:
            continue  # a kind this cluster does not serve
        for item in items:
            owner = owner_of(item)
            if owner is not None:
                children[str(owner)] += 1
    rows = []
    for ref in (TENANTS, SOURCES, ROUTES):
        for body in await client.list(ref):
            key = key_of(body)
            ready: dict[str, Any] = next(
                (c for c in (body.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"),
                {},
            )
            name = f"{key.namespace}/{key.name}" if key.namespace else key.name
            rows.append(
                ResourceRow(
                    key.kind,
                    name,
                    str(ready.get("status", "Unknown")),
                    str(ready.get("reason", "")),
                    children[str(key)],
                )
            )
    return rows


def format_table(rows: list[ResourceRow]) -> str:
    header = ("KIND", "NAME", "READY", "REASON", "CHILDREN")
    cells = [header, *((r.kind, r.name, r.ready, r.reason, str(r.children)) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
