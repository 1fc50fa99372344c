"""``python -m greenshift.devcluster``: serve the dev cluster until SIGTERM or SIGINT."""

import argparse
import asyncio
import logging
import signal

from greenshift.gc_tuning import tune_gc

from .cluster import DevCluster

logger = logging.getLogger("greenshift.devcluster")


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    cluster = DevCluster(host=args.host, port=args.port, available_deployments=args.available_deployments)
    async with cluster:
        if args.kubeconfig:
            cluster.write_kubeconfig(args.kubeconfig)
        logger.info("Serving the dev cluster at %s", cluster.url)
        print(cluster.url, flush=True)  # the one line a parent process waits for
        await stop.wait()
    logger.info("Stopped; requests served: %d", sum(cluster.request_counts.values()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m greenshift.devcluster", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--available-deployments", action="store_true",
                        help="make Deployments available as soon as they are created or changed")  # fmt: skip
    parser.add_argument("--kubeconfig", help="write a kubeconfig for the server to this path")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tune_gc()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
