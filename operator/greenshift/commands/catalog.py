"""``greenshift catalog``: the service catalog of the cluster, as the operator serves it on /catalog."""

import argparse
import asyncio
import json
import sys

import kopf

from greenshift.catalog import Entry, catalog_document, catalog_entries
from greenshift.kube import ROUTES, SOURCES, TENANTS, ApiError, KubeClient
from greenshift.kube.client import connect


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    try:
        connection = connect()
    except kopf.LoginError as exc:
        print(f"greenshift catalog: {exc}", file=sys.stderr)
        return 1
    try:
        entries = asyncio.run(fetch_entries(connection))
    except ApiError as exc:
        print(f"greenshift catalog: {exc}", file=sys.stderr)
        return 1
    if args.output == "json":
        print(json.dumps(catalog_document(entries), indent=2))
    else:
        print(format_table(entries))
    return 0


async def fetch_entries(connection: kopf.ConnectionInfo) -> list[Entry]:
    async with KubeClient(connection) as client:
        tenants = await client.list(TENANTS)
        routes = await client.list(ROUTES)
        sources = await client.list(SOURCES)
    return catalog_entries(tenants, routes, sources)


def format_table(entries: list[Entry]) -> str:
    header = ("AGENCY", "TITLE", "VERSION", "PROTOCOL", "URL", "AUTH", "RATE LIMIT", "READY", "REASON")
    cells = [header]
    for e in entries:
        rate = f"{e.rateLimit['requestsPerMinute']}/min" if e.rateLimit else "-"
        cells.append(
            (
                e.agency or "-",
                e.title,
                e.version or "-",
                e.protocol,
                e.url,
                e.authentication,
                rate,
                e.ready,
                e.reason,
            )
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
