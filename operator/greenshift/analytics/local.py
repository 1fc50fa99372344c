"""A Prometheus on loopback with known gateway traffic: for ``greenshift demo --keep`` and the tests.

:func:`synthetic_series` writes the gateway's counters and latency buckets (OpenMetrics text, the
names and labels of ``gateway.metrics``) for a set of :class:`RouteLoad` at constant rates;
:class:`LocalPrometheus` turns them into TSDB blocks (``promtool tsdb create-blocks-from
openmetrics``), records the project's rules over them (``promtool tsdb create-blocks-from rules``,
one pass per level of rules that read other rules' series: promtool cannot do both in one) and
serves the result with Debian's ``/usr/bin/prometheus`` on a free loopback port.
"""

import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from greenshift.analytics.rules import INTERVAL, platform_rule_groups, tenant_rule_groups
from greenshift.child_process import die_with_parent
from greenshift.config import GatewayMetrics
from greenshift.loopback import free_port

LATENCY = ((0.05, 0.5), (0.1, 0.8), (0.25, 0.9), (0.5, 1.0), (1.0, 1.0), (2.5, 1.0))
"""Cumulative (bucket bound in seconds, share of requests).

p95 = 0.25 + (0.95 - 0.9) / (1 - 0.9) x (0.5 - 0.25) = 0.375 s (histogram_quantile interpolates)."""
STEP_SECONDS = 15
"""The spacing of the synthetic samples, as a 15 s scrape would give."""


class PrometheusUnavailable(RuntimeError):
    """The prometheus or promtool binary is missing, or Prometheus did not start."""


@dataclass(frozen=True)
class RouteLoad:
    """Constant traffic of one GatewayRoute."""

    tenant: str
    agency: str
    namespace: str
    route: str
    rps: float
    errorRatio: float = 0.0
    """The share of 5xx (answered 503)."""
    clientErrorRatio: float = 0.0
    """The share of 4xx (answered 404)."""
    latency: tuple[tuple[float, float], ...] = LATENCY
    callers: tuple[tuple[str, float], ...] = ()
    """(caller, share of the route's requests), when the gateway names callers."""


def binaries() -> tuple[str, str] | None:
    """(prometheus, promtool), or None when either is missing (Debian's prometheus package)."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    return (prometheus, promtool) if prometheus and promtool else None


def _labels(metrics: GatewayMetrics, load: RouteLoad) -> dict[str, str]:
    """The gateway's labels naming the route's namespace and the route (see the presets)."""
    if metrics.namespaceLabel != metrics.routeLabel:
        if metrics.namespacePattern != "{namespace}" or metrics.routePattern != "(.+)":
            raise ValueError("synthetic traffic needs the namespace and the route as whole label values")
        return {metrics.namespaceLabel: load.namespace, metrics.routeLabel: load.route}
    # one label for both, as Envoy Gateway's cluster name httproute/<namespace>/<name>/rule/<n>
    return {metrics.routeLabel: f"httproute/{load.namespace}/{load.route}/rule/0"}


def _series(name: str, labels: dict[str, str]) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{body}}}"


def counter_rates(
    loads: Iterable[RouteLoad], metrics: GatewayMetrics, extra: dict[str, str] | None = None
) -> list[tuple[str, float]]:
    """Every synthetic series with its rate per second (counters and cumulative buckets)."""
    out: list[tuple[str, float]] = []
    extra = extra or {}
    scale = 1000.0 if metrics.durationUnit == "milliseconds" else 1.0
    for load in loads:
        base = _labels(metrics, load) | extra
        statuses = (
            ("200", 1.0 - load.errorRatio - load.clientErrorRatio),
            ("404", load.clientErrorRatio),
            ("503", load.errorRatio),
        )
        callers = load.callers if metrics.callerLabel and load.callers else (("", 1.0),)
        for status, share in statuses:
            if share <= 0:
                continue
            for caller, caller_share in callers:
                labels = base | {metrics.statusLabel: status}
                if caller:
                    labels[metrics.callerLabel] = caller
                out.append((_series(metrics.requests, labels), load.rps * share * caller_share))
        for bound, share in (*load.latency, (float("inf"), 1.0)):
            le = "+Inf" if bound == float("inf") else repr(bound * scale)
            out.append((_series(metrics.durationBucket, base | {"le": le}), load.rps * share))
    return out


def synthetic_series(
    loads: Sequence[RouteLoad],
    metrics: GatewayMetrics,
    start: int,
    end: int,
    extra: dict[str, str] | None = None,
) -> str:
    """OpenMetrics text: each series from 0 at ``start`` to ``end``, one sample per 15 s."""
    lines = []
    for series, rate in counter_rates(loads, metrics, extra):
        for t in range(start, end + 1, STEP_SECONDS):
            lines.append(f"{series} {rate * (t - start):.6f} {t}")
    return "\n".join(lines) + "\n# EOF\n"


def exposition(rates: Sequence[tuple[str, float]], start: float, now: float) -> str:
    """The same counters as a scrape at ``now`` (the demo's live synthetic gateway)."""
    return "".join(f"{series} {rate * (now - start):.6f}\n" for series, rate in rates)


def recording_groups(loads: Iterable[RouteLoad], metrics: GatewayMetrics) -> list[dict[str, Any]]:
    """The operator's rule groups for the loads' tenants, and the platform's."""
    tenants = {(load.tenant, load.agency, load.namespace) for load in loads}
    groups = [g for t in sorted(tenants) for g in tenant_rule_groups(*t, metrics)]
    return groups + platform_rule_groups()


def _levels(groups: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The recording rules in passes: each pass reads only raw series and earlier passes' records."""
    rules = [(g["name"], r) for g in groups for r in g["rules"] if "record" in r]
    done: set[str] = set()
    levels = []
    while rules:
        names = {r["record"] for _, r in rules}
        ready = [(g, r) for g, r in rules if not any(n in r["expr"] for n in names - done)]
        if not ready:
            raise ValueError("recording rules that read each other in a cycle")
        by_group: dict[str, list[dict[str, Any]]] = {}
        for g, r in ready:
            by_group.setdefault(g, []).append(r)
        levels.append([{"name": g, "interval": INTERVAL, "rules": rs} for g, rs in by_group.items()])
        done |= {r["record"] for _, r in ready}
        rules = [(g, r) for g, r in rules if (g, r) not in ready]
    return levels


class LocalPrometheus:
    """``prometheus`` on ``127.0.0.1:<free port>`` over the data in ``directory``."""

    def __init__(
        self,
        directory: Path,
        groups: list[dict[str, Any]],
        *,
        evaluate_rules: bool = True,
        scrape: str | None = None,
    ) -> None:
        found = binaries()
        if found is None:
            raise PrometheusUnavailable(
                "prometheus and promtool are not installed (Debian's prometheus package)"
            )
        self.prometheus, self.promtool = found
        self.directory = directory
        self.data = directory / "data"
        self.groups = groups
        self.evaluate_rules = evaluate_rules
        self.scrape = scrape
        """host:port of a target to scrape every 15 s (job ``gateway``), if any."""
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def load(self, openmetrics: str, start: int, end: int) -> None:
        """The raw series, then every recorded series from ``start`` + 10 min to ``end``.

        The rules are recorded from 10 minutes after the traffic starts, so that every
        5-minute rate has a full window.
        """
        self.data.mkdir(parents=True, exist_ok=True)
        source = self.directory / "traffic.om"
        source.write_text(openmetrics, encoding="utf-8")
        self._promtool("tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data))
        for number, level in enumerate(_levels(self.groups)):
            rules = self.directory / f"level{number}.rules.yaml"
            rules.write_text(yaml.safe_dump({"groups": level}), encoding="utf-8")
            output = Path(tempfile.mkdtemp(prefix="rules-", dir=self.directory))
            self.start(with_rules=False)
            try:
                self._promtool(
                    "tsdb",
                    "create-blocks-from",
                    "rules",
                    f"--start={start + 600}",
                    f"--end={end}",
                    f"--url={self.url}",
                    f"--eval-interval={INTERVAL}",
                    f"--output-dir={output}",
                    str(rules),
                )
            finally:
                self.stop()
            for block in output.iterdir():
                if block.is_dir():
                    block.rename(self.data / block.name)
            shutil.rmtree(output, ignore_errors=True)

    def _promtool(self, *args: str) -> None:
        result = subprocess.run([self.promtool, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PrometheusUnavailable(f"promtool {' '.join(args[:3])}: {result.stderr.strip()[-500:]}")

    def start(self, *, with_rules: bool | None = None, timeout: float = 30.0, same_port: bool = False) -> str:
        """Start the server; returns its URL once it answers ``/-/ready``.

        ``same_port``: on the port of the last start (a restart, as after an outage)."""
        with_rules = self.evaluate_rules if with_rules is None else with_rules
        config: dict[str, Any] = {"global": {"scrape_interval": "15s", "evaluation_interval": INTERVAL}}
        if with_rules:
            rules = self.directory / "greenshift.rules.yaml"
            rules.write_text(yaml.safe_dump({"groups": self.groups}), encoding="utf-8")
            config["rule_files"] = [str(rules)]
        if self.scrape and with_rules:
            config["scrape_configs"] = [
                {"job_name": "gateway", "honor_labels": True, "static_configs": [{"targets": [self.scrape]}]}
            ]
        path = self.directory / "prometheus.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.port = self.port if same_port and self.port else free_port()
        log = (self.directory / "prometheus.log").open("ab")
        self._process = subprocess.Popen(
            [
                self.prometheus,
                f"--config.file={path}",
                f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrometheusUnavailable(
                    f"prometheus exited {self._process.returncode}: {self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return self.url
            time.sleep(0.1)
        self.stop()
        raise PrometheusUnavailable(f"prometheus was not ready within {timeout:g} s: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.directory / "prometheus.log"
        return path.read_text(errors="replace")[-800:] if path.exists() else ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serving(
    loads: Sequence[RouteLoad],
    metrics: GatewayMetrics,
    *,
    minutes: int = 60,
    end: int | None = None,
    evaluate_rules: bool = False,
    directory: Path | None = None,
) -> Iterator[LocalPrometheus]:
    """A Prometheus holding ``minutes`` of the loads' traffic up to ``end`` (default: now)."""
    end = end if end is not None else int(time.time()) // STEP_SECONDS * STEP_SECONDS
    start = end - minutes * 60
    with contextlib.ExitStack() as stack:
        folder = directory or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="greenshift-prom-"))
        )
        server = LocalPrometheus(folder, recording_groups(loads, metrics), evaluate_rules=evaluate_rules)
        server.load(synthetic_series(loads, metrics, start, end), start, end)
        server.start()
        stack.callback(server.stop)
        yield server


SLOW = ((0.1, 0.2), (0.25, 0.5), (0.5, 0.8), (1.0, 0.9), (2.5, 1.0))
"""p95 = 1.0 + (0.95 - 0.9) / (1 - 0.9) x (2.5 - 1.0) = 1.75 s."""
CALLERS = (("wallet-app-android", 0.6), ("wallet-app-ios", 0.32), ("partner-portal", 0.08))
DEMO_CALLER_LABEL = "consumer"
"""The label naming the caller in the demo's synthetic traffic (``gateway.metrics.callerLabel``)."""

# The demo's traffic for the example routes: (requests/s, 5xx share, 4xx share, latency).
DEMO_TRAFFIC: dict[str, tuple[float, float, float, tuple[tuple[float, float], ...]]] = {
    "identity-v1": (12.0, 0.0005, 0.01, LATENCY),
    "driving-licences-v1": (6.0, 0.0, 0.02, LATENCY),
    "ehic-v1": (4.0, 0.0, 0.01, LATENCY),
    "mybenefits-soap": (3.0, 0.04, 0.0, SLOW),
    "civil-status-certificates-v1": (2.0, 0.0, 0.0, LATENCY),
    "criminal-record-extracts-v1": (1.0, 0.01, 0.0, LATENCY),
    "ehic-verifications-v1": (0.5, 0.0, 0.0, LATENCY),
}
OTHER_ROUTE = (0.2, 0.0, 0.0, LATENCY)
"""A route not in the table above (an example added later)."""


def demo_loads(manifests: Iterable[dict[str, Any]]) -> list[RouteLoad]:
    """The demo's synthetic traffic for the GatewayRoutes among ``manifests`` whose tenant is there."""
    manifests = list(manifests)
    tenants = {}
    for m in manifests:
        if m.get("kind") == "WalletTenant":
            spec = m.get("spec") or {}
            namespace = spec.get("namespace") or f"wallet-{m['metadata']['name']}"
            tenants[namespace] = (m["metadata"]["name"], spec.get("agency", ""))
    loads = []
    for m in manifests:
        namespace = m.get("metadata", {}).get("namespace")
        if m.get("kind") != "GatewayRoute" or namespace not in tenants:
            continue
        name = m["metadata"]["name"]
        rps, errors, client_errors, latency = DEMO_TRAFFIC.get(name, OTHER_ROUTE)
        tenant, agency = tenants[namespace]
        loads.append(RouteLoad(tenant, agency, namespace, name, rps, errors, client_errors, latency, CALLERS))
    return loads


class SyntheticGateway:
    """The demo's live gateway: its counters at the loads' rates, scraped by the demo's Prometheus.

    The same series as :func:`synthetic_series` (with the scrape's ``job`` and ``instance`` labels,
    so the history the demo loads continues without a break), counted from ``start``.
    """

    def __init__(self, loads: Sequence[RouteLoad], metrics: GatewayMetrics, start: int) -> None:
        self.loads = loads
        self.metrics = metrics
        self.start = start
        self.port = free_port()
        self.labels = {"job": "gateway", "instance": f"127.0.0.1:{self.port}"}
        self._rates = counter_rates(loads, metrics, self.labels)
        self._runner: Any = None

    def history(self, end: int) -> str:
        return synthetic_series(self.loads, self.metrics, self.start, end, self.labels)

    async def serve(self) -> None:
        from aiohttp import web

        async def scrape(_: web.Request) -> web.Response:
            return web.Response(text=exposition(self._rates, self.start, time.time()))

        app = web.Application()
        app.router.add_get("/metrics", scrape)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
