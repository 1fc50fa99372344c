"""The Greenshift benchmark: the operator against the embedded API server, over real HTTP.

The dev cluster and the operator run as separate processes, as in production; this process applies
the fleet, measures and prints the figures (also written to bench/results/). See bench/README.md.

    python bench/run.py                      # N = 100, 500, 1000
    python bench/run.py --sizes 100,500      # chosen sizes
    python bench/run.py --quick              # a fast smoke run (N = 20, few changes)
    python bench/run.py --sizes 1000 --profile   # also sample the operator with py-spy
"""

import argparse
import asyncio
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from client import BenchClient, RequestFailed
from fleet import PLATFORM_CONFIG, document_source, fleet, gateway_route, namespace_of, write_fleet
from fleetwatch import FleetWatch
from greenshift.addon_crds import addon_crds
from greenshift.config import load_platform_config
from greenshift.kube import ref_of_kind
from greenshift.schemas import load_crds
from procs import BIN, ROOT, BenchError, Child, ForeignLoad, Processes, cpu_seconds, status_kib, wait_idle
from profiles import format_summary, summarize
from report import as_rows, by_verb, summary, table, targets, write, writes

RESULTS = Path(__file__).resolve().parent / "results"
CR_RESOURCES = ("wallettenants.greenshift.io", "documentsources.greenshift.io", "gatewayroutes.greenshift.io")
SOURCES = ref_of_kind("greenshift.io/v1alpha1", "DocumentSource")
ROUTES = ref_of_kind("greenshift.io/v1alpha1", "GatewayRoute")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def install_crds(client: BenchClient) -> None:
    config = load_platform_config(str(PLATFORM_CONFIG))
    for crd in [*load_crds(), *addon_crds(config)]:
        await client.apply_crd(crd)


async def apply_all(
    client: BenchClient, objects: list[dict[str, Any]], concurrency: int, within: float
) -> int:
    """Apply with ``concurrency`` requests in flight, in order; a 404 (namespace not there yet) is retried
    at the back of the queue. Returns how many applies were retried."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for obj in objects:
        queue.put_nowait(obj)
    deadline = time.monotonic() + within
    retried = 0
    pending = len(objects)
    done = asyncio.Event()
    if not objects:
        return 0

    async def worker() -> None:
        nonlocal retried, pending
        while not done.is_set():
            try:
                obj = await asyncio.wait_for(queue.get(), 0.5)
            except TimeoutError:
                continue
            try:
                await client.apply(obj)
            except RequestFailed as exc:
                if exc.status != 404 or time.monotonic() > deadline:
                    raise
                retried += 1
                await asyncio.sleep(0.05)
                queue.put_nowait(obj)
                continue
            pending -= 1
            if pending == 0:
                done.set()

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.wait_for(asyncio.gather(*workers), within)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return retried


async def wait_watching(client: BenchClient, operator: Child, within: float) -> None:
    """Until the operator watches the three custom resource kinds (kopf has started)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        operator.check()
        counts = await client.accounting()
        if all(counts.get(("watch", resource), 0) > 0 for resource in CR_RESOURCES):
            return
        await asyncio.sleep(0.2)
    raise BenchError(f"the operator did not watch the custom resources within {within:.0f}s")


def per_cr(counts: dict[tuple[str, str], int], crs: int) -> dict[str, Any]:
    verbs = by_verb(counts)
    return {
        "total": sum(verbs.values()) / crs,
        "by_verb": {verb: count / crs for verb, count in verbs.items()},
    }


async def stop_profiler(procs: Processes, spy: Child | None, raw: Path) -> dict[str, Any] | None:
    if spy is None:
        return None
    await procs.stop(spy, interrupt=True)
    if not await asyncio.to_thread(raw.exists):
        log(f"py-spy wrote no profile (see {spy.log.name})")
        return None
    return summarize(raw)


async def operator_phase(
    procs: Processes, size: int, args: argparse.Namespace, work: Path, result: dict[str, Any]
) -> None:
    kubeconfig = work / f"operator-{size}.kubeconfig"
    cluster, url = await procs.devcluster(kubeconfig, f"devcluster-operator-{size}.log")
    client = BenchClient(url)
    watch = FleetWatch(client)
    operator: Child | None = None
    try:
        await install_crds(client)
        operator = await procs.operator(
            kubeconfig, f"operator-{size}.log", workers=args.workers, resync_seconds=600,
            platform_config=PLATFORM_CONFIG,
        )  # fmt: skip
        await wait_watching(client, operator, 60)
        await wait_idle(operator, quiet_seconds=1.0, within=60)
        await watch.start()
        tenants, namespaced = fleet(size)
        crs = len(tenants) + len(namespaced)
        spy_raw = work / f"profile-create-{size}.txt"
        api_raw = work / f"profile-create-devcluster-{size}.txt"
        spy = api_spy = None
        if size in args.profile:
            spy = await procs.py_spy(operator.pid, spy_raw, args.timeout, f"py-spy-create-{size}.log")
            api_spy = await procs.py_spy(cluster.pid, api_raw, args.timeout, f"py-spy-api-{size}.log")

        # Creation: a GitOps tool applies the fleet; time until every custom resource is Ready.
        await client.reset_accounting()
        cpu0 = cpu_seconds(operator.pid)
        api_cpu0 = cpu_seconds(cluster.pid)
        foreign = ForeignLoad([operator.pid, cluster.pid])
        log(f"N={size}: applying {crs} custom resources")
        started = time.monotonic()
        await apply_all(client, tenants, args.workers, args.timeout)
        retried = await apply_all(client, namespaced, args.workers, args.timeout)
        applied = time.monotonic()
        ready = await watch.wait_all_ready(crs, args.timeout)
        idle = await wait_idle(operator, within=args.timeout)
        counts = await client.operator_counts()
        result["profile_create"] = await stop_profiler(procs, spy, spy_raw)
        result["profile_create_devcluster"] = await stop_profiler(procs, api_spy, api_raw)
        create_writes = writes(counts)
        result["create"] = {
            "seconds": ready - started,
            "apply_seconds": applied - started,
            "idle_after_seconds": idle - started,
            "operator_cpu_seconds": cpu_seconds(operator.pid) - cpu0,
            "api_server_cpu_seconds": cpu_seconds(cluster.pid) - api_cpu0,
            "foreign_cpu_seconds": foreign.seconds(),
            "bench_404_retries": retried,
            "most_status_writes_per_cr": max(watch.status_changes.values(), default=0),
            "over_two_status_writes": watch.most_written(),
            "requests": as_rows(counts),
            "requests_per_cr": per_cr(counts, crs),
            "writes": create_writes,
            "write_budget": result["children"] + 2 * crs,
        }
        log(
            f"N={size}: all Ready after {ready - started:.2f}s (applied in {applied - started:.2f}s), "
            f"{sum(counts.values())} operator requests, writes {create_writes}"
        )

        # Change to Ready: one spec change at a time while the fleet is idle.
        await client.reset_accounting()
        latencies: dict[str, list[float]] = {"DocumentSource": [], "GatewayRoute": []}
        for i in range(args.changes):
            index = (i * 7919) % size
            namespace = namespace_of(index)
            patch: dict[str, Any]
            if i % 2 == 0:
                kind, ref, name = "DocumentSource", SOURCES, document_source(index)["metadata"]["name"]
                patch = {"spec": {"connector": {"replicas": 2 + i}}}
            else:
                kind, ref, name = "GatewayRoute", ROUTES, gateway_route(index)["metadata"]["name"]
                patch = {"spec": {"timeoutSeconds": 16 + i}}
            sent = time.monotonic()
            changed = await client.merge_patch(ref, namespace, name, patch)
            done = await watch.wait_ready(
                (kind, namespace, name), int(changed["metadata"]["generation"]), args.change_timeout
            )
            latencies[kind].append(done - sent)
            await asyncio.sleep(0.2)
        await wait_idle(operator, within=args.timeout)
        change_counts = await client.operator_counts()
        samples = [s for kind in latencies.values() for s in kind]
        result["change"] = {
            "samples": len(samples),
            "seconds": summary(samples),
            "by_kind": {kind: summary(values) for kind, values in latencies.items() if values},
            "operator_requests_per_change": per_cr(change_counts, max(1, len(samples))),
            "operator_writes": writes(change_counts),
        }
        result["rss_mib"] = {
            "peak_create_and_changes": status_kib(operator.pid, "VmHWM") / 1024,
            "idle_after_changes": status_kib(operator.pid, "VmRSS") / 1024,
        }
        log(
            f"N={size}: change to Ready p50 {result['change']['seconds']['p50']:.3f}s "
            f"p99 {result['change']['seconds']['p99']:.3f}s; peak RSS "
            f"{result['rss_mib']['peak_create_and_changes']:.1f} MiB"
        )

        # No-op resync: restart with nothing changed, then let one resync timer fire. The timer must be
        # longer than a full pass over the fleet, or the operator never goes idle: by default it is
        # 1.5 x the operator's CPU time on creation (a pass is CPU-bound).
        resync = args.resync_seconds or max(10.0, round(1.5 * result["create"]["operator_cpu_seconds"]))
        if size > args.timer_max_size:
            resync = 600.0
        await procs.stop(operator)
        await client.reset_accounting()
        restart_started = time.monotonic()
        operator = await procs.operator(
            kubeconfig, f"operator-{size}-restart.log", workers=args.workers,
            resync_seconds=resync, platform_config=PLATFORM_CONFIG,
        )  # fmt: skip
        spy_raw = work / f"profile-restart-{size}.txt"
        spy = (
            await procs.py_spy(operator.pid, spy_raw, args.timeout, f"py-spy-restart-{size}.log")
            if size in args.profile
            else None
        )
        try:
            await wait_watching(client, operator, args.restart_timeout)
            remaining = args.restart_timeout - (time.monotonic() - restart_started)
            restart_idle = await wait_idle(operator, quiet_seconds=2.0, within=max(1.0, remaining))
            restart_settled = True
        except BenchError:  # a finding, not a failure: the figures below are those of the bound
            log(f"N={size}: the restarted operator was still busy after {args.restart_timeout:.0f}s")
            restart_idle, restart_settled = time.monotonic(), False
        restart_counts = await client.operator_counts()
        restart_cpu = cpu_seconds(operator.pid)
        result["profile_restart"] = await stop_profiler(procs, spy, spy_raw)
        restart_peak = status_kib(operator.pid, "VmHWM") / 1024
        timer: dict[str, Any] = {
            "resync_seconds": resync,
            "measured": restart_settled and size <= args.timer_max_size,
        }
        if timer["measured"]:
            await client.reset_accounting()
            # The timer fires resync seconds after kopf's startup, a second or two after the spawn.
            elapsed = time.monotonic() - restart_started
            tick = restart_started + math.ceil((elapsed + 0.5) / resync) * resync
            cpu0 = cpu_seconds(operator.pid)
            await asyncio.sleep(max(0.0, tick - time.monotonic()) + 5.0)
            await wait_idle(operator, quiet_seconds=2.0, within=args.timeout)
            timer_counts = await client.operator_counts()
            timer |= {
                "fired_during_restart": restart_idle - restart_started > resync,
                "operator_cpu_seconds": cpu_seconds(operator.pid) - cpu0,
                "requests": as_rows(timer_counts),
                "writes": writes(timer_counts),
            }
        result["noop"] = {
            "restart": {
                "seconds": restart_idle - restart_started,
                "settled": restart_settled,
                "operator_cpu_seconds": restart_cpu,
                "requests": as_rows(restart_counts),
                "writes": writes(restart_counts),
            },
            "timer": timer,
        }
        result["rss_mib"]["peak_restart"] = restart_peak
        result["rss_mib"]["peak"] = max(restart_peak, result["rss_mib"]["peak_create_and_changes"])
        log(
            f"N={size}: no-op restart idle after {restart_idle - restart_started:.2f}s with "
            f"{result['noop']['restart']['writes']['total']} writes; timer resync "
            f"{timer['writes']['total'] if timer['measured'] else 'not measured'} writes; "
            f"restart peak RSS {restart_peak:.1f} MiB"
        )
    finally:
        await watch.stop()
        await client.close()
        if operator is not None:
            await procs.stop(operator)
        await procs.stop(cluster)


async def baseline_phase(
    procs: Processes, size: int, args: argparse.Namespace, work: Path, children: list[dict[str, Any]]
) -> dict[str, Any]:
    """The same children, server-side applied by a plain client into a fresh dev cluster."""
    cluster, url = await procs.devcluster(
        work / f"baseline-{size}.kubeconfig", f"devcluster-baseline-{size}.log"
    )
    client = BenchClient(url)
    try:
        await install_crds(client)
        await client.reset_accounting()
        api_cpu0 = cpu_seconds(cluster.pid)
        started = time.monotonic()
        retried = await apply_all(client, children, args.workers, args.timeout)
        seconds = time.monotonic() - started
        api_cpu = cpu_seconds(cluster.pid) - api_cpu0
        counts = await client.accounting()
        log(f"N={size}: plain client applied {len(children)} children in {seconds:.2f}s")
        return {
            "seconds": seconds,
            "api_server_cpu_seconds": api_cpu,
            "retried_404": retried,
            "requests": as_rows(counts),
        }
    finally:
        await client.close()
        await procs.stop(cluster)


def render_children(fleet_file: Path, timeout: float) -> list[dict[str, Any]]:
    """The children exactly as ``greenshift render`` prints them."""
    argv = [
        str(BIN / "greenshift"),
        "render",
        "-f",
        str(fleet_file),
        "-f",
        str(PLATFORM_CONFIG),
        "-o",
        "json",
    ]
    done = subprocess.run(argv, capture_output=True, check=True, timeout=timeout, cwd=ROOT)
    items: list[dict[str, Any]] = json.loads(done.stdout)["items"]
    return items


async def run_size(procs: Processes, size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    fleet_file = write_fleet(size, work)
    children = render_children(fleet_file, args.timeout)
    result: dict[str, Any] = {"size": size, "custom_resources": 3 * size, "children": len(children)}
    await operator_phase(procs, size, args, work, result)
    result["baseline"] = await baseline_phase(procs, size, args, work, children)
    result["efficiency_ratio"] = result["baseline"]["seconds"] / result["create"]["seconds"]
    result["targets"] = targets(result)
    return result


PROFILES = {
    "profile_create": "operator, creation",
    "profile_create_devcluster": "dev cluster, creation",
    "profile_restart": "operator, no-op restart",
}


def write_profiles(folder: Path, results: list[dict[str, Any]]) -> Path:
    """The py-spy summaries as text, next to the figures."""
    text = "# py-spy profiles of the last run with --profile\n"
    for result in results:
        for key, title in PROFILES.items():
            if result.get(key):
                text += f"\n## N={result['size']}: {title}\n\n```\n{format_summary(result[key])}\n```\n"
    path = folder / "profile.md"
    path.write_text(text)
    return path


def environment() -> dict[str, Any]:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(
                ["git", *argv], capture_output=True, text=True, check=True, cwd=ROOT, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "cpus": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "operator")),
    }


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="greenshift-bench-"))
    log(f"Logs and inputs in {work}")
    run: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "environment": environment(),
        "settings": {
            "sizes": args.sizes,
            "workers": args.workers,
            "changes": args.changes,
            "resync_seconds": args.resync_seconds,
            "profile": args.profile,
        },
        "results": [],
    }
    failed = False
    async with Processes(work) as procs:
        for size in args.sizes:
            try:
                run["results"].append(await run_size(procs, size, args, work))
            except (BenchError, RequestFailed, subprocess.SubprocessError, TimeoutError) as exc:
                log(f"N={size}: FAILED: {exc!r} (logs in {work})")
                failed = True
                break
    if run["results"]:
        print()
        print(table(run["results"]))
        folder = args.output or RESULTS
        if args.append and (folder / "latest.json").exists():
            earlier = json.loads((folder / "latest.json").read_text())
            kept = [r for r in earlier["results"] if r["size"] not in args.sizes]
            run["results"] = sorted([*kept, *run["results"]], key=lambda r: int(r["size"]))
            run["appended_to"] = earlier["started"]
        paths = list(write(folder, run))
        if args.profile:
            paths.append(write_profiles(folder, run["results"]))
        print(f"\nWritten: {', '.join(str(p) for p in paths)}")
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,1000", help="fleet sizes N, comma-separated")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run: N=20, 4 changes")
    parser.add_argument("--workers", type=int, default=16, help="operator workers = client concurrency")
    parser.add_argument("--changes", type=int, default=20, help="spec changes timed per size")
    parser.add_argument(
        "--resync-seconds",
        type=float,
        help="resync timer of the restarted operator (default: 1.5 x its CPU time on creation, >= 10)",
    )
    parser.add_argument(
        "--timer-max-size",
        type=int,
        default=500,
        help="measure the timer resync up to this N (it waits a full resync period)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="bound of every wait, seconds")
    parser.add_argument("--change-timeout", type=float, default=60.0, help="bound of one change, seconds")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="all",
        default="",
        metavar="SIZES",
        help="sample the operator and the API server with py-spy (all sizes, or these: 500,1000)",
    )
    parser.add_argument(
        "--restart-timeout",
        type=float,
        default=300.0,
        help="bound of the no-op restart; beyond it the restart is reported as not settled",
    )
    parser.add_argument("--output", type=Path, help="results folder (default bench/results)")
    parser.add_argument(
        "--append", action="store_true", help="keep the other sizes of the folder's latest.json"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.changes, args.timeout = "20", 4, 120.0
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    args.profile = (
        list(args.sizes) if args.profile == "all" else [int(s) for s in args.profile.split(",") if s.strip()]
    )
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
