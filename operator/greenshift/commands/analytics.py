"""``greenshift analytics``: the platform-wide PrometheusRule (top-5 tenants and routes).

The tenants' own rules and dashboards are children of each WalletTenant, applied by the
operator; this one spans all tenants, so it lives in the gateway namespace. Neither the operator
nor ``greenshift install`` applies it: the platform team pipes this command's output to
``kubectl apply`` (docs/analytics.md).
"""

import argparse
import json
import sys

import yaml

from greenshift.config import ConfigError, load_platform_config
from greenshift.render.analytics import render_platform_analytics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--platform-config", metavar="FILE", help="the PlatformConfig YAML (default: built-in)"
    )
    parser.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_platform_config(args.platform_config)
    except ConfigError as exc:
        print(f"greenshift analytics: {exc}", file=sys.stderr)
        return 1
    manifests = render_platform_analytics(config)
    if args.output == "json":
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}, indent=2))
    else:
        print(yaml.safe_dump_all(manifests, sort_keys=False), end="")
    return 0
