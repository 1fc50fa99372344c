"""One module per ``greenshift`` sub-command, each with ``add_arguments(parser)`` and ``run(args)``."""

import argparse


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """``-f PATH...`` and ``--platform-config FILE``, as ``render`` and ``validate`` take them."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="append",
        required=True,
        metavar="PATH",
        help="a YAML file or a folder of them, searched recursively (repeatable); "
        "a PlatformConfig among them is used",
    )
    parser.add_argument(
        "--platform-config", metavar="FILE", help="the platform configuration (kind: PlatformConfig)"
    )
