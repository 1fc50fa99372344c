"""Per-request pricing: the rate card's ``requests``, the formats, the period options."""

import argparse
import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from greenshift.analytics.prometheus import integrate_query
from greenshift.commands.usage import period, with_requests
from greenshift.usage import (
    NOT_PRICED,
    TenantUsage,
    UsageError,
    format_csv,
    format_json,
    format_table,
    parse_rate_card,
    price,
)

CARD = parse_rate_card({"kind": "RateCard", "currency": "EUR", "gatewayRouteMonth": 5, "requests": "0.40"})
NOW = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


def row(tenant: str = "bosa") -> TenantUsage:
    return TenantUsage(tenant, "BOSA", f"wallet-{tenant}", Decimal(0), 0, 0, 0, 2, 0)


def test_requests_priced_per_million_rounded_to_cents() -> None:
    [measured] = with_requests([row()], {"bosa": 43_200_000})
    priced = price(measured, CARD)
    assert priced.requests == Decimal("17.28")  # 43.2 million x 0.40
    assert priced.total == Decimal("27.28")  # plus two routes at 5
    assert price(row(), CARD).requests is None  # not measured: not priced


def test_formats_with_requests() -> None:
    rows = with_requests([row(), row("fod-mob")], {"bosa": 1_250_000})
    table = format_table(rows, CARD).splitlines()
    assert table[0].split()[-4:] == ["SOURCES", "REQUESTS", "TOTAL", "(EUR)"]
    assert table[1].split()[-2:] == ["1250000", "10.50"]
    assert table[2].split()[-2:] == ["0", "10.00"]  # no traffic recorded: 0 requests
    assert NOT_PRICED not in "\n".join(table)
    records = list(csv.DictReader(io.StringIO(format_csv(rows, CARD))))
    assert (records[0]["request_count"], records[0]["requests"], records[0]["total"]) == (
        "1250000",
        "0.50",
        "10.50",
    )
    doc = json.loads(format_json(rows, CARD, {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}))
    assert doc["requests"] == {"measured": True, "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    assert doc["tenants"][0]["request_count"] == 1250000
    assert doc["rateCard"]["requests"] == "0.4"


def test_without_prometheus_requests_are_not_priced() -> None:
    table = format_table([row()], CARD)
    assert table.splitlines()[-1] == NOT_PRICED
    assert "REQUESTS" not in table
    assert "MONTHLY (EUR)" in table
    assert "request_count" not in format_csv([row()], CARD)
    doc = json.loads(format_json([row()], CARD))
    assert doc["requests"] == {"measured": False, "message": NOT_PRICED}
    assert "request_count" not in doc["tenants"][0]


def args(**given: str | None) -> argparse.Namespace:
    return argparse.Namespace(month=given.get("month"), start=given.get("start"), end=given.get("end"))


def test_periods() -> None:
    assert period(args(), NOW) == (datetime(2026, 12, 1, tzinfo=UTC), NOW)  # this month so far
    assert period(args(month="2026-02"), NOW) == (
        datetime(2026, 2, 1, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert period(args(month="2026-12"), NOW)[1] == NOW  # a month not over yet ends now
    assert period(args(start="2026-11-10", end="2026-11-11T06:00:00+01:00"), NOW) == (
        datetime(2026, 11, 10, tzinfo=UTC),
        datetime(2026, 11, 11, 5, tzinfo=UTC),
    )
    for bad in (
        args(month="2026-13"),
        args(start="yesterday"),
        args(start="2026-11-10T00:00:00"),
        args(start="2027-01-01"),
    ):
        with pytest.raises(UsageError):
            period(bad, NOW)


def test_the_query_integrates_the_recorded_rate() -> None:
    assert integrate_query(0, 3600) == (
        "sum by (tenant) (sum_over_time(greenshift_route:requests:rate5m[3600s])) * 30"
    )
