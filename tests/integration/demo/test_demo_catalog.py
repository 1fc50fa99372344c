"""`greenshift demo --keep` serves the catalog and metrics, with demo traffic where Prometheus is
installed; without --keep its summary points at --keep and the catalog."""

import json
import signal
import urllib.request
from pathlib import Path

import pytest

from greenshift.analytics.local import binaries

from .test_demo_signals import Demo


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback
        return str(answer.read().decode())


def test_keep_prints_the_catalog_and_metrics_and_shows_traffic() -> None:
    demo = Demo("--keep")
    try:
        if binaries() is not None:
            demo.wait_for(r"Started Prometheus at http://127\.0\.0\.1:\d+ with 30 minutes of synthetic")
        catalog = demo.wait_for(r"Service catalog:\s+(http://127\.0\.0\.1:\d+/catalog)\s").group(1)
        metrics = demo.wait_for(r"Metrics:\s+(http://127\.0\.0\.1:\d+/metrics)").group(1)
        demo.wait_for(r"Press Ctrl-C to stop")
        children = demo.descendants()
        document = json.loads(_get(f"{catalog}.json"))
        [identity] = [e for e in document["entries"] if e["name"] == "identity-v1"]
        assert "Identity" in _get(catalog)
        assert "greenshift_resources" in _get(metrics)
        if binaries() is None:
            assert document["analytics"]["status"] == "disabled"
        else:
            assert document["analytics"]["status"] == "ok"
            assert "Demo data" in document["analytics"]["note"]
            assert identity["traffic"]["requestsPerSecond"] == pytest.approx(12.0, rel=0.02)
            assert [r["name"] for r in document["analytics"]["topByVolume"]] == ["identity-v1"]
            assert "greenshift_prometheus_query_failures_total 0.0" in _get(metrics)
        assert demo.stop(signal.SIGTERM) == 0, "".join(demo.output)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]  # Prometheus included
    finally:
        demo.kill()


def test_without_keep_the_summary_points_at_keep_and_the_catalog() -> None:
    demo = Demo()
    try:
        demo.wait_for(r"GatewayRoute\s+wallet-bosa/identity-v1\s+True")
        code = demo.process.wait(timeout=60)
        demo.reader.join(timeout=10)
        while not demo.lines.empty():
            line = demo.lines.get()
            if line is not None:
                demo.output.append(line)
        assert code == 0, "".join(demo.output)
        last = [line for line in demo.output if line.strip()][-1]
        assert "greenshift demo --keep" in last
        assert "catalog" in last
    finally:
        demo.kill()
