"""``greenshift catalog``: the service catalog of the cluster, as the operator serves it on /catalog.

With ``--prometheus-url``, the last hour's traffic of each route too (docs/catalog.md).
"""

import argparse
import asyncio
import json
import sys

import kopf

from greenshift.analytics.prometheus import CatalogAnalytics, Traffic
from greenshift.catalog import (
    Entry,
    catalog_document,
    catalog_entries,
    format_latency,
    format_rate,
    format_ratio,
)
from greenshift.config import HTTP_URL
from greenshift.kube import ROUTES, SOURCES, TENANTS, ApiError, KubeClient
from greenshift.kube.client import connect


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")
    parser.add_argument(
        "--prometheus-url", metavar="URL", help="add each route's last hour of traffic from this Prometheus"
    )
    parser.add_argument("--prometheus-token-file", metavar="FILE", default="", help="a bearer token for it")
    parser.add_argument(
        "--prometheus-ca-file", metavar="FILE", default="", help="PEM certificates to verify it"
    )


def run(args: argparse.Namespace) -> int:
    try:
        connection = connect()
    except kopf.LoginError as exc:
        print(f"greenshift catalog: {exc}", file=sys.stderr)
        return 1
    if args.prometheus_url and not HTTP_URL.match(args.prometheus_url):
        print(
            f"greenshift catalog: --prometheus-url: not an http:// or https:// URL: {args.prometheus_url!r}"
        )
        return 1
    try:
        entries = asyncio.run(fetch_entries(connection))
    except ApiError as exc:
        print(f"greenshift catalog: {exc}", file=sys.stderr)
        return 1
    traffic = None
    if args.prometheus_url:
        analytics = CatalogAnalytics(
            args.prometheus_url, token_file=args.prometheus_token_file, ca_file=args.prometheus_ca_file
        )
        traffic = asyncio.run(analytics.traffic())
        if traffic.status != "ok":
            print(f"greenshift catalog: no traffic figures: {traffic.message}", file=sys.stderr)
    if args.output == "json":
        print(json.dumps(catalog_document(entries, traffic), indent=2))
    else:
        print(format_table(entries, traffic))
    return 0


async def fetch_entries(connection: kopf.ConnectionInfo) -> list[Entry]:
    async with KubeClient(connection) as client:
        tenants = await client.list(TENANTS)
        routes = await client.list(ROUTES)
        sources = await client.list(SOURCES)
    return catalog_entries(tenants, routes, sources)


def format_table(entries: list[Entry], traffic: Traffic | None = None) -> str:
    """One line per route; with ``traffic`` (figures read), its last hour: REQ/S, 5XX, P95."""
    figures = traffic is not None and traffic.status == "ok"
    header: tuple[str, ...] = (
        "AGENCY",
        "TITLE",
        "VERSION",
        "PROTOCOL",
        "URL",
        "AUTH",
        "RATE LIMIT",
        "READY",
        "REASON",
    )
    if figures:
        header += ("REQ/S", "5XX", "P95")
    cells = [header]
    for e in entries:
        rate = f"{e.rateLimit['requestsPerMinute']}/min" if e.rateLimit else "-"
        extra: tuple[str, ...] = ()
        if traffic is not None and figures:
            route = traffic.routes.get((e.tenant or "", e.name))
            extra = (
                (
                    format_rate(route.requestsPerSecond),
                    format_ratio(route.errorRatio),
                    format_latency(route.p95LatencySeconds),
                )
                if route is not None
                else ("-", "-", "-")
            )
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
                *extra,
            )
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )
