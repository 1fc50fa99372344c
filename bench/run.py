"""The Greenshift benchmark: the operator against a real Kubernetes API server (or the embedded one).

The API server (a real kube-apiserver with etcd and kube-controller-manager when KUBEBUILDER_ASSETS
names their binaries, the embedded dev cluster otherwise) and the operator run as separate
processes, as in production; this process applies the fleet, measures and prints the figures (also
written to bench/results/). See bench/README.md.

    python bench/run.py                      # N = 100, 500, 1000
    python bench/run.py --sizes 100,500      # chosen sizes
    python bench/run.py --quick              # a fast smoke run (N = 20, few changes)
    python bench/run.py --server embedded    # on the embedded API server even with binaries
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
from fleetwatch import DeploymentWatch, FleetWatch
from greenshift.controllers.watches import USAGE_DELAY_SECONDS
from greenshift.kube import ref_of_kind
from greenshift.loopback import free_port
from procs import (
    BIN,
    ROOT,
    BenchError,
    Child,
    ForeignLoad,
    Processes,
    cpu_seconds,
    status_kib,
    wait_idle,
)
from profiles import format_summary, summarize
from report import as_rows, by_verb, summary, table, targets, write, writes
from server import Server, choose, open_server

RESULTS = Path(__file__).resolve().parent / "results"
QUOTA_UNKNOWN = "status unknown for quota"
SOURCES = ref_of_kind("greenshift.io/v1alpha1", "DocumentSource")
ROUTES = ref_of_kind("greenshift.io/v1alpha1", "GatewayRoute")

SETTLE_SECONDS = USAGE_DELAY_SECONDS + 1.0
"""Quiet this long and the operator has nothing pending: its slowest wake (a tenant's usage) is
delayed USAGE_DELAY_SECONDS. The counts of a phase, and the no-op restart, wait for it."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


async def apply_all(
    client: BenchClient, objects: list[dict[str, Any]], concurrency: int, within: float
) -> dict[str, int]:
    """Apply with ``concurrency`` requests in flight, in order; an apply refused for now is retried at
    the back of the queue, as a GitOps tool retries: a 404 (the namespace does not exist yet) and,
    on the real server, a 403 "status unknown for quota" (a new ResourceQuota the quota controller
    has not computed yet). Returns how many applies were retried, by cause."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for obj in objects:
        queue.put_nowait(obj)
    deadline = time.monotonic() + within
    retried = {"404": 0, "403_quota_unknown": 0}
    pending = len(objects)
    done = asyncio.Event()
    if not objects:
        return retried

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
                if exc.status == 404:
                    retried["404"] += 1
                elif exc.status == 403 and QUOTA_UNKNOWN in str(exc):
                    retried["403_quota_unknown"] += 1
                else:
                    raise
                if time.monotonic() > deadline:
                    raise
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


async def start_operator(
    procs: Processes, server: Server, args: argparse.Namespace, log_name: str, resync_seconds: float
) -> tuple[Child, int]:
    port = free_port()
    operator = await procs.operator(
        server.operator_kubeconfig, log_name, workers=args.workers, resync_seconds=resync_seconds,
        platform_config=PLATFORM_CONFIG, http_port=port,
    )  # fmt: skip
    return operator, port


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: after[role] - before[role] for role in before if role in after}


async def operator_phase(
    procs: Processes, size: int, args: argparse.Namespace, work: Path, result: dict[str, Any]
) -> None:
    server = await open_server(args.server, procs, work, f"operator-{size}", args)
    result["server"] = server.description
    result["server_kind"] = server.short
    client = server.client
    watch = FleetWatch(client)
    operator: Child | None = None
    try:
        operator, port = await start_operator(procs, server, args, f"operator-{size}.log", 600)
        await server.wait_watching(operator, port, 60)
        await wait_idle(operator, quiet_seconds=1.0, within=60)
        await watch.start()
        tenants, namespaced = fleet(size)
        crs = len(tenants) + len(namespaced)
        spy_raw = work / f"profile-create-{size}.txt"
        api_raw = work / f"profile-create-devcluster-{size}.txt"
        spy = api_spy = None
        if size in args.profile:
            spy = await procs.py_spy(operator.pid, spy_raw, args.timeout, f"py-spy-create-{size}.log")
            if not server.real:  # py-spy samples Python: the dev cluster, not kube-apiserver
                api_spy = await procs.py_spy(
                    server.pids()["api_server"], api_raw, args.timeout, f"py-spy-api-{size}.log"
                )

        # Creation: a GitOps tool applies the fleet; time until every custom resource is Ready.
        await server.reset_accounting()
        cpu0 = cpu_seconds(operator.pid)
        server_cpu0 = server.cpu()
        bench_cpu0 = cpu_seconds(os.getpid())
        foreign = ForeignLoad([operator.pid, *server.pids().values()])
        log(f"N={size}: applying {crs} custom resources")
        started = time.monotonic()
        retried_tenants = await apply_all(client, tenants, args.workers, args.timeout)
        retried = await apply_all(client, namespaced, args.workers, args.timeout)
        applied = time.monotonic()
        ready = await watch.wait_all_ready(crs, args.timeout)
        idle = await wait_idle(operator, quiet_seconds=SETTLE_SECONDS, within=args.timeout)
        counts = await server.operator_counts()
        server_cpu = cpu_delta(server_cpu0, server.cpu())
        result["profile_create"] = await stop_profiler(procs, spy, spy_raw)
        result["profile_create_devcluster"] = await stop_profiler(procs, api_spy, api_raw)
        create_writes = writes(counts)
        result["create"] = {
            "seconds": ready - started,
            "apply_seconds": applied - started,
            "idle_after_seconds": idle - started,
            "operator_cpu_seconds": cpu_seconds(operator.pid) - cpu0,
            "api_server_cpu_seconds": server_cpu.get("api_server", 0.0),
            "cluster_cpu_seconds": server_cpu,
            "bench_cpu_seconds": cpu_seconds(os.getpid()) - bench_cpu0,
            "foreign_cpu_seconds": foreign.seconds(),
            "bench_retries": {k: retried_tenants[k] + retried[k] for k in retried},
            "most_status_writes_per_cr": max(watch.status_changes.values(), default=0),
            "over_two_status_writes": watch.most_written(),
            "requests": as_rows(counts),
            "requests_per_cr": per_cr(counts, crs),
            "writes": create_writes,
            "write_budget": result["children"] + 2 * crs,
            **await server.writers(),
        }
        log(
            f"N={size}: all Ready after {ready - started:.2f}s (applied in {applied - started:.2f}s), "
            f"{sum(counts.values())} operator {'writes' if server.real else 'requests'}, "
            f"writes {create_writes}"
        )

        # Change to Ready: one spec change at a time while the fleet is idle.
        await server.reset_accounting()
        latencies: dict[str, list[float]] = {"DocumentSource": [], "GatewayRoute": []}
        for i in range(args.changes):
            index = (i * 7919) % size
            namespace = namespace_of(index)
            patch: dict[str, Any]
            if i % 2 == 0:
                kind, ref, name = "DocumentSource", SOURCES, document_source(index)["metadata"]["name"]
                # 2..19 replicas: within the tenant's quota of 20 Pods on the real server
                patch = {"spec": {"connector": {"replicas": 2 + i % 18}}}
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
        await wait_idle(operator, quiet_seconds=SETTLE_SECONDS, within=args.timeout)
        change_counts = await server.operator_counts()
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
        await server.reset_accounting()
        restart_started = time.monotonic()
        operator, port = await start_operator(procs, server, args, f"operator-{size}-restart.log", resync)
        spy_raw = work / f"profile-restart-{size}.txt"
        spy = (
            await procs.py_spy(operator.pid, spy_raw, args.timeout, f"py-spy-restart-{size}.log")
            if size in args.profile
            else None
        )
        try:
            await server.wait_watching(operator, port, args.restart_timeout)
            remaining = args.restart_timeout - (time.monotonic() - restart_started)
            restart_idle = await wait_idle(operator, quiet_seconds=2.0, within=max(1.0, remaining))
            restart_settled = True
        except BenchError:  # a finding, not a failure: the figures below are those of the bound
            log(f"N={size}: the restarted operator was still busy after {args.restart_timeout:.0f}s")
            restart_idle, restart_settled = time.monotonic(), False
        restart_counts = await server.operator_counts()
        restart_cpu = cpu_seconds(operator.pid)
        result["profile_restart"] = await stop_profiler(procs, spy, spy_raw)
        restart_peak = status_kib(operator.pid, "VmHWM") / 1024
        timer: dict[str, Any] = {
            "resync_seconds": resync,
            "measured": restart_settled and size <= args.timer_max_size,
        }
        if timer["measured"]:
            await server.reset_accounting()
            # The timer fires resync seconds after the operator's startup, a second or two after the spawn.
            elapsed = time.monotonic() - restart_started
            tick = restart_started + math.ceil((elapsed + 0.5) / resync) * resync
            cpu0 = cpu_seconds(operator.pid)
            await asyncio.sleep(max(0.0, tick - time.monotonic()) + 5.0)
            await wait_idle(operator, quiet_seconds=2.0, within=args.timeout)
            timer_counts = await server.operator_counts()
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
        if operator is not None:
            await procs.stop(operator)
        await server.close()


async def baseline_phase(
    procs: Processes, size: int, args: argparse.Namespace, work: Path, children: list[dict[str, Any]]
) -> dict[str, Any]:
    """The same children, server-side applied by a plain client into a fresh cluster of the same kind."""
    server = await open_server(args.server, procs, work, f"baseline-{size}", args)
    client = server.client
    deployments = DeploymentWatch(client)
    try:
        await deployments.start()
        await server.reset_accounting()
        server_cpu0 = server.cpu()
        started = time.monotonic()
        retried = await apply_all(client, children, args.workers, args.timeout)
        seconds = time.monotonic() - started
        server_cpu = cpu_delta(server_cpu0, server.cpu())
        counts = await server.everybody_counts()
        expected = sum(1 for child in children if child["kind"] == "Deployment")
        available = await deployments.wait_available(expected, args.timeout) - started
        log(
            f"N={size}: plain client applied {len(children)} children in {seconds:.2f}s "
            f"(their {expected} Deployments available after {available:.2f}s)"
        )
        return {
            "seconds": seconds,
            "deployments_available_seconds": available,
            "api_server_cpu_seconds": server_cpu.get("api_server", 0.0),
            "cluster_cpu_seconds": server_cpu,
            "retries": retried,
            "requests": as_rows(counts),
            **await server.writers(),
        }
    finally:
        await deployments.stop()
        await server.close()


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
    try:
        args.server, why = choose(args.server)
    except BenchError as exc:
        log(str(exc))
        return 2
    log(f"Measuring on the {'real' if args.server == 'real' else 'EMBEDDED'} API server ({why})")
    run: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "environment": environment(),
        "settings": {
            "sizes": args.sizes,
            "workers": args.workers,
            "changes": args.changes,
            "resync_seconds": args.resync_seconds,
            "profile": args.profile,
            "server": args.server,
            "controller_manager_qps": args.controller_manager_qps if args.server == "real" else None,
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
    parser.add_argument(
        "--server",
        choices=("auto", "real", "embedded"),
        default="auto",
        help="the API server: real (KUBEBUILDER_ASSETS: etcd, kube-apiserver, kube-controller-manager), "
        "embedded (greenshift.devcluster), auto: real when the binaries are there (default)",
    )
    parser.add_argument(
        "--controller-manager-qps",
        type=int,
        default=1000,
        metavar="Q",
        help="real server: kube-controller-manager's --kube-api-qps (burst 2 x Q; 0: its default 20, "
        "burst 30); default 1000",
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
