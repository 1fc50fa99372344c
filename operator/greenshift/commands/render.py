"""``greenshift render``: print every child object the platform would create, without a cluster.

Rendered offline, children carry no owner references (the inputs have no uid); see docs/render.md.
"""

import argparse
import json
import sys

import yaml

from greenshift.commands import add_input_arguments
from greenshift.config import ConfigError, PlatformConfig, load_platform_config
from greenshift.loader import LoadError, load_documents
from greenshift.render import RenderError, render_resources


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.add_argument(
        "-o", "--output", choices=("yaml", "json"), default="yaml", help="a YAML stream or a JSON List"
    )


def run(args: argparse.Namespace) -> int:
    try:
        config: PlatformConfig | None = (
            load_platform_config(args.platform_config) if args.platform_config else None
        )
        children = render_resources(load_documents(args.paths), config)
    except (LoadError, ConfigError, RenderError) as exc:
        print(f"greenshift render: {exc}", file=sys.stderr)
        return 1
    if args.output == "json":
        json.dump({"apiVersion": "v1", "kind": "List", "items": children}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        yaml.safe_dump_all(children, sys.stdout, sort_keys=False, explicit_start=True, allow_unicode=True)
    return 0
