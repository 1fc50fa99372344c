"""The ``greenshift`` command line: dispatches to ``greenshift.commands.<name>``.

Sub-command modules are imported only when used, so ``greenshift render`` never pays
for importing kopf.
"""

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from greenshift import __version__

EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a program that the closed end of a pipe stopped."""

COMMANDS: dict[str, str] = {
    "render": "Print every child object the platform would create for the given resources.",
    "validate": "Check resources offline against the CRD schemas and the platform's rules.",
    "run": "Run the operator against a cluster.",
    "demo": "Start an embedded API server, run the operator on examples/ and show the result.",
    "install": "Print the CRDs and the operator's install manifests, for kubectl apply -f -.",
    "catalog": "Print the service catalog (every published REST and SOAP service) of the cluster.",
    "usage": "Print each tenant's resource usage, priced from a rate card when given.",
    "analytics": "Print the platform-wide PrometheusRule of the gateway analytics.",
}


class CommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _module(name: str) -> CommandModule:
    return cast(CommandModule, importlib.import_module(f"greenshift.commands.{name.replace('-', '_')}"))


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="greenshift", description="The Greenshift wallet platform operator."
    )
    parser.add_argument("--version", action="version", version=f"greenshift {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            _module(name).add_arguments(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((arg for arg in argv if arg in COMMANDS), None)
    args = build_parser(command).parse_args(argv)
    try:
        code = _module(args.command).run(args)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`greenshift render ... | head`): stop quietly, as a program that
        # SIGPIPE ended would, and keep Python's final flush of stdout from failing again.
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass
