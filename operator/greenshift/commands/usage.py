"""``greenshift usage``: what each tenant uses, priced from a rate card when one is given."""

import argparse
import asyncio
import sys

import kopf

from greenshift.constants import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from greenshift.controllers.wiring import ROUTES, SOURCES, TENANTS
from greenshift.kube import ApiError, KubeClient, ref_of_kind
from greenshift.kube.client import connect
from greenshift.usage import (
    RateCard,
    TenantUsage,
    UsageError,
    format_csv,
    format_json,
    format_table,
    load_rate_card,
    usage_report,
)

# The children usage is computed from (see greenshift.usage).
CHILD_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "PersistentVolumeClaim"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rates", metavar="FILE", help="a RateCard YAML (docs/usage.md) to price the usage")
    parser.add_argument("-o", "--output", choices=("table", "csv", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    try:
        card = load_rate_card(args.rates) if args.rates else None
        connection = connect()
        rows = asyncio.run(fetch_usage(connection))
    except (UsageError, ApiError, kopf.LoginError) as exc:
        print(f"greenshift usage: {exc}", file=sys.stderr)
        return 1
    print(render(rows, card, args.output))
    return 0


def render(rows: list[TenantUsage], card: RateCard | None, output: str) -> str:
    if output == "json":
        return format_json(rows, card)
    if output == "csv":
        return format_csv(rows, card).rstrip("\n")
    return format_table(rows, card)


async def fetch_usage(connection: kopf.ConnectionInfo) -> list[TenantUsage]:
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
    async with KubeClient(connection) as client:
        tenants = await client.list(TENANTS)
        sources = await client.list(SOURCES)
        routes = await client.list(ROUTES)
        children = []
        for api_version, kind in CHILD_KINDS:
            children += await client.list(ref_of_kind(api_version, kind), label_selector=selector)
    return usage_report(tenants, sources, routes, children)
