"""``greenshift run``: the operator against the cluster of the kubeconfig or service account."""

import argparse
import logging

import kopf
import uvloop

from greenshift.admission.server import add_webhook_arguments, webhook_options
from greenshift.config import HTTP_URL, ConfigError, load_platform_config
from greenshift.gc_tuning import tune_gc
from greenshift.kube.client import connect
from greenshift.runner import OperatorOptions, run_operator
from greenshift.runtime.leader import LeaseOptions, default_identity, default_namespace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--platform-config", metavar="FILE", help="the PlatformConfig YAML (default: built-in)"
    )
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        metavar="NS",
        help="watch only this namespace (repeatable); tenants are cluster-scoped and always watched",
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch the whole cluster (the default)"
    )
    parser.add_argument(
        "--liveness", metavar="URL", help="serve kopf's liveness probe, e.g. http://0.0.0.0:8081/healthz"
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=8080,
        metavar="PORT",
        help="serve /catalog, /catalog.json, /metrics and /healthz on this port (default 8080; 0: none)",
    )
    parser.add_argument(
        "--http-address",
        default="0.0.0.0",  # noqa: S104 - the pod's port, reached through its Service
        metavar="ADDR",
        help="the address to serve on (default 0.0.0.0)",
    )
    parser.add_argument(
        "--prometheus-url",
        metavar="URL",
        help="the Prometheus whose recorded gateway analytics /catalog shows (default: the "
        "PlatformConfig's monitoring.prometheusURL; none: no analytics)",
    )
    parser.add_argument("--log-format", choices=("plain", "json"), default="plain")
    election = parser.add_mutually_exclusive_group()
    election.add_argument(
        "--leader-election",
        action="store_true",
        help="reconcile only while holding the Lease --lease (the installed Deployment's mode)",
    )
    election.add_argument(
        "--standalone", action="store_true", help="no leader election: this is the only operator (default)"
    )
    parser.add_argument(
        "--lease",
        default="greenshift-operator",
        metavar="[NAMESPACE/]NAME",
        help="the Lease of --leader-election (default greenshift-operator, in POD_NAMESPACE or the "
        "service account's namespace)",
    )
    parser.add_argument("--workers", type=int, default=16, help="concurrent reconciles (default 16)")
    parser.add_argument(
        "--resync-seconds", type=float, default=600.0, help="safety-net resync period (default 600)"
    )
    parser.add_argument(
        "--watch-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="server-side timeout of each watch request; a stalled watch is replaced after 10%% more "
        "(default 300)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG")
    add_webhook_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_platform_config(args.platform_config)
    except ConfigError as exc:
        print(f"greenshift run: {exc}")
        return 1
    kopf.configure(
        debug=args.verbose,
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.PLAIN,
    )
    logging.getLogger("greenshift").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if args.prometheus_url and not HTTP_URL.match(args.prometheus_url):
        print(
            "greenshift run: --prometheus-url: must be an http:// or https:// URL, "
            f"got {args.prometheus_url!r}"
        )
        return 1
    try:
        connection = connect()
    except kopf.LoginError as exc:
        print(f"greenshift run: {exc}")
        return 1
    options = OperatorOptions(
        namespaces=tuple(args.namespace),
        leader_election=_lease(args) if args.leader_election else None,
        liveness=args.liveness,
        workers=args.workers,
        resync_seconds=args.resync_seconds,
        watch_timeout_seconds=args.watch_timeout,
        http_host=args.http_address,
        http_port=args.http_port or None,
        webhook=webhook_options(args),
        prometheus_url=args.prometheus_url,
    )
    tune_gc()
    uvloop.run(run_operator(config, connection, options, login=connect))
    return 0


def _lease(args: argparse.Namespace) -> LeaseOptions:
    namespace, _, name = str(args.lease).rpartition("/")
    return LeaseOptions(namespace or default_namespace(), name, default_identity())
