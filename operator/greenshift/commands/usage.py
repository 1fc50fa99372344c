"""``greenshift usage``: what each tenant uses, priced from a rate card when one is given.

With ``--prometheus-url``, each tenant's requests through the gateway in the period (``--month``,
or ``--from``/``--to``; default: this month so far) are read from the recorded request rates.
"""

import argparse
import asyncio
import calendar
import dataclasses
import sys
from datetime import UTC, date, datetime, timedelta

import kopf

from greenshift.analytics.prometheus import PrometheusError, tenant_request_counts
from greenshift.config import HTTP_URL
from greenshift.constants import (
    API_VERSION,
    KIND_ROUTE,
    KIND_SOURCE,
    KIND_TENANT,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
)
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

TENANTS, SOURCES, ROUTES = (ref_of_kind(API_VERSION, k) for k in (KIND_TENANT, KIND_SOURCE, KIND_ROUTE))
# The children usage is computed from (see greenshift.usage).
CHILD_KINDS = (
    ("apps/v1", "Deployment"),
    ("v1", "PersistentVolumeClaim"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rates", metavar="FILE", help="a RateCard YAML (docs/usage.md) to price the usage")
    parser.add_argument("-o", "--output", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--prometheus-url",
        metavar="URL",
        help="count each tenant's requests in the period from this Prometheus (the recorded "
        "greenshift_route:requests:rate5m); without it requests are not priced",
    )
    parser.add_argument(
        "--prometheus-token-file", metavar="FILE", default="", help="a bearer token for that Prometheus"
    )
    parser.add_argument(
        "--prometheus-ca-file",
        metavar="FILE",
        default="",
        help="PEM certificates to verify an https Prometheus",
    )
    period = parser.add_mutually_exclusive_group()
    period.add_argument("--month", metavar="YYYY-MM", help="the period: this calendar month (UTC)")
    period.add_argument(
        "--from", dest="start", metavar="TIME", help="the period's start: YYYY-MM-DD (UTC) or RFC 3339"
    )
    parser.add_argument("--to", dest="end", metavar="TIME", help="the period's end (default: now)")


def parse_time(value: str, what: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 time with its offset (``Z`` or ``+01:00``)."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what}: not a date (YYYY-MM-DD) or an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise UsageError(f"{what}: give the time's offset (Z or +01:00): {value!r}")
    return parsed.astimezone(UTC)


def period(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime]:
    """The billing period: [start, end), ending no later than ``now``."""
    if args.month:
        try:
            year, month = (int(part) for part in args.month.split("-"))
            start = datetime(year, month, 1, tzinfo=UTC)
        except ValueError:
            raise UsageError(f"--month: not a month (YYYY-MM): {args.month!r}") from None
        if args.end:
            raise UsageError("--to: not with --month")
        end = start + timedelta(days=calendar.monthrange(year, month)[1])
    else:
        start = (
            parse_time(args.start, "--from")
            if args.start
            else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        end = parse_time(args.end, "--to") if args.end else now
    end = min(end, now)
    if end <= start:
        raise UsageError(f"the period is empty: from {start.isoformat()} to {end.isoformat()}")
    return start, end


def run(args: argparse.Namespace) -> int:
    try:
        if (args.month or args.start or args.end) and not args.prometheus_url:
            raise UsageError("--month, --from and --to count requests: give --prometheus-url")
        if args.prometheus_url and not HTTP_URL.match(args.prometheus_url):
            raise UsageError(
                f"--prometheus-url: must be an http:// or https:// URL, got {args.prometheus_url!r}"
            )
        card = load_rate_card(args.rates) if args.rates else None
        window = period(args, datetime.now(UTC).replace(microsecond=0)) if args.prometheus_url else None
        connection = connect()
        rows = asyncio.run(fetch_usage(connection))
        if window is not None:
            counts = asyncio.run(
                tenant_request_counts(
                    args.prometheus_url,
                    window[0].timestamp(),
                    window[1].timestamp(),
                    token_file=args.prometheus_token_file,
                    ca_file=args.prometheus_ca_file,
                )
            )
            rows = with_requests(rows, counts)
    except (UsageError, ApiError, kopf.LoginError) as exc:
        print(f"greenshift usage: {exc}", file=sys.stderr)
        return 1
    except PrometheusError as exc:
        print(
            f"greenshift usage: Prometheus did not answer, so requests cannot be counted: {exc}",
            file=sys.stderr,
        )
        return 1
    if window is not None and args.output != "json":
        print(f"Requests from {_text(window[0])} to {_text(window[1])}.", file=sys.stderr)
    print(render(rows, card, args.output, window))
    return 0


def _text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def with_requests(rows: list[TenantUsage], counts: dict[str, int]) -> list[TenantUsage]:
    """The rows with each tenant's request count (0: no traffic recorded)."""
    return [dataclasses.replace(row, request_count=counts.get(row.tenant, 0)) for row in rows]


def render(
    rows: list[TenantUsage],
    card: RateCard | None,
    output: str,
    window: tuple[datetime, datetime] | None = None,
) -> str:
    if output == "json":
        span = None if window is None else {"from": _text(window[0]), "to": _text(window[1])}
        return format_json(rows, card, span)
    if output == "csv":
        if window is None:
            print("greenshift usage: requests are not priced: no --prometheus-url.", file=sys.stderr)
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
