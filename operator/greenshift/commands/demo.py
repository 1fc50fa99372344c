"""``greenshift demo``: the whole platform on an embedded API server, no cluster needed.

Starts :mod:`greenshift.devcluster` on loopback (with its switch that marks Deployments
available, since it runs no kubelet), installs the CRDs, runs the operator, applies
``examples/`` as a GitOps tool would, waits until every resource is Ready and prints a table.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kopf

from greenshift.addon_crds import addon_crds
from greenshift.config import ConfigError, PlatformConfig, is_platform_config, parse_platform_config
from greenshift.constants import KIND_TENANT
from greenshift.devcluster import DevCluster
from greenshift.kube import ApiError, KubeClient
from greenshift.loader import LoadError, is_cluster_object, load_documents
from greenshift.runner import OperatorOptions, run_operator
from greenshift.schemas import load_crds
from greenshift.status_table import format_table, rows_from

DEFAULT_EXAMPLES = Path("examples")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
OPERATOR_STOP_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        action="append",
        default=[],
        metavar="PATH",
        help="manifests to apply (default: examples/)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for Ready (default 120)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show the operator's log")
    parser.add_argument(
        "--keep", action="store_true", help="keep serving after Ready and print a kubeconfig for kubectl"
    )


def run(args: argparse.Namespace) -> int:
    paths = args.filename or [DEFAULT_EXAMPLES]
    try:
        docs = load_documents(paths)
        configs = [d.body for d in docs if is_platform_config(d.body)]
        config = parse_platform_config(configs[0]) if configs else parse_platform_config({})
    except (LoadError, ConfigError) as exc:
        print(f"greenshift demo: {exc}", file=sys.stderr)
        return 1
    manifests = [d.body for d in docs if is_cluster_object(d.body)]
    kopf.configure(verbose=args.verbose)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not args.verbose:
        for name in ("kopf", "greenshift"):
            logging.getLogger(name).setLevel(logging.WARNING)
    return asyncio.run(_demo(config, manifests, args.timeout, args.keep))


async def _demo(
    config: PlatformConfig, manifests: list[dict[str, Any]], wait_seconds: float, keep: bool
) -> int:
    """Run the demo; SIGINT and SIGTERM stop it cleanly at any point (exit 0 once serving, else 130).

    The demo takes both signals itself: kopf installs handlers of its own when the operator
    starts (they stop only the operator), so they are taken back once it is running. A signal
    cancels the work, which stops the operator, closes the client and stops the embedded server.
    """
    loop = asyncio.get_running_loop()
    serving = asyncio.Event()
    received: list[str] = []

    def stop(sig: signal.Signals) -> None:
        if not received:
            received.append(sig.name)
            work.cancel()

    def take_signals() -> None:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop, sig)

    work = asyncio.create_task(_run(config, manifests, wait_seconds, keep, serving, take_signals))
    take_signals()
    try:
        return await work
    except asyncio.CancelledError:
        if not received:
            raise
        print(f"Stopped ({received[0]}).", flush=True)
        return 0 if serving.is_set() else 130
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _run(
    config: PlatformConfig,
    manifests: list[dict[str, Any]],
    wait_seconds: float,
    keep: bool,
    serving: asyncio.Event,
    take_signals: Callable[[], None],
) -> int:
    async with DevCluster(available_deployments=True) as cluster:
        print(f"Started the embedded Kubernetes API at {cluster.url}.")
        connection = kopf.ConnectionInfo(server=cluster.url, insecure=True)
        stop = asyncio.Event()
        ready = asyncio.Event()
        async with KubeClient(connection) as client:
            crds = [*load_crds(), *addon_crds(config)]
            for crd in crds:
                await client.apply(crd)
            print(f"Installed {len(crds)} CRDs (Greenshift's and stand-ins for the platform add-ons).")
            operator = asyncio.create_task(
                run_operator(
                    config, connection, OperatorOptions(resync_seconds=60), stop_flag=stop, ready_flag=ready
                )
            )
            started = asyncio.create_task(ready.wait())
            try:
                await asyncio.wait({started, operator}, return_when=asyncio.FIRST_COMPLETED)
                take_signals()  # back from kopf, which took them while starting
                if not ready.is_set():  # kopf's own handler took a signal while it was starting
                    print("Stopped.", flush=True)
                    return 130
                print("Started the operator.", flush=True)
                ok = await _apply_and_wait(client, config, manifests, wait_seconds)
                rows = await rows_from(client, config)
                print(format_table(rows))
                if keep and ok:
                    await _serve(cluster, serving)
                return 0 if ok else 1
            finally:
                started.cancel()
                stop.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(operator), OPERATOR_STOP_SECONDS)


async def _apply_and_wait(
    client: KubeClient, config: PlatformConfig, manifests: list[dict[str, Any]], wait_seconds: float
) -> bool:
    """Apply tenants first, the rest once their namespaces exist, then wait for all Ready."""
    deadline = time.monotonic() + wait_seconds
    pending = sorted(manifests, key=lambda m: m.get("kind") != KIND_TENANT)
    applied = 0
    while pending and time.monotonic() < deadline:
        waiting = []
        for manifest in pending:
            try:
                await client.apply(manifest)
                applied += 1
            except ApiError as exc:
                if exc.status not in (404, 409, 0, 429, 500, 503):
                    print(f"greenshift demo: {manifest['kind']}/{manifest['metadata']['name']}: {exc}")
                    return False
                waiting.append(manifest)  # its namespace does not exist yet
        pending = waiting
        if pending:
            await asyncio.sleep(0.2)
    print(f"Applied {applied} resources from the examples.")
    last = ""
    while time.monotonic() < deadline:
        rows = await rows_from(client, config)
        ready = sum(1 for r in rows if r.ready == "True")
        line = f"Waiting: {ready}/{len(rows)} resources Ready"
        if line != last:
            print(line, flush=True)
            last = line
        if rows and ready == len(rows) and not pending:
            return True
        await asyncio.sleep(0.25)
    print("greenshift demo: timed out; the table shows what is not Ready and why.")
    return False


async def _serve(cluster: DevCluster, serving: asyncio.Event) -> None:
    """Serve until SIGINT or SIGTERM (which cancel the demo's work, and so this wait)."""
    path = Path(tempfile.gettempdir()) / "greenshift-demo.kubeconfig"
    cluster.write_kubeconfig(path)
    print(f"\nServing. Try:  KUBECONFIG={path} kubectl get greenshift -A")
    print("Press Ctrl-C to stop.", flush=True)
    serving.set()
    await asyncio.Event().wait()
